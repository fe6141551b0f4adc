/**
 * Runs one conformance scenario with the adapter of the runtime it runs on (Deno or Bun)
 * and prints the outcome as JSON Lines on stdout: one `{"type":"entry",...}` line per
 * transcript entry, then one `{"type":"result",...}` line. Exits 0 whenever the scenario
 * ran, whatever its outcome, and 1 when the runner itself failed.
 *
 *   deno run --config packages/deno/deno.json --allow-net=127.0.0.1 --allow-env \
 *     test/conformance/runner.ts SCENARIO --host=127.0.0.1 --port=PORT
 *   bun test/conformance/runner.ts SCENARIO --host=127.0.0.1 --port=PORT
 *
 * Settings come from `--name=value` arguments or `MAILWIRE_CONFORMANCE_NAME` variables:
 * host, port, user, ca (the CA certificate in PEM). The password comes only from
 * MAILWIRE_CONFORMANCE_PASS, so that it never shows in a process list.
 */
import {
  findScenario,
  runScenario,
  type ScenarioAdapter,
  type ScenarioSettings,
} from './scenarios.ts';

interface RuntimeAccess {
  args: string[];
  env(name: string): string | undefined;
  adapter(): Promise<ScenarioAdapter>;
}

/** The runtime globals this script reads, typed here so that it needs no runtime typings. */
const runtime = globalThis as unknown as {
  Deno?: { args: string[]; env: { get(name: string): string | undefined } };
  Bun?: unknown;
  process?: { argv: string[]; env: Record<string, string | undefined>; exitCode?: number };
};

function runtimeAccess(): RuntimeAccess {
  const { Deno: deno, Bun: bun, process } = runtime;
  if (deno !== undefined) {
    return {
      args: deno.args,
      env: (name) => deno.env.get(name),
      adapter: () => import('../../packages/deno/src/index.ts'),
    };
  }
  if (bun !== undefined && process !== undefined) {
    return {
      args: process.argv.slice(2),
      env: (name) => process.env[name],
      adapter: () => import('../../packages/bun/src/index.ts'),
    };
  }
  throw new Error('Unsupported runtime: run this script with deno or bun');
}

function readSettings(access: RuntimeAccess): ScenarioSettings {
  const setting = (name: string): string => {
    const prefix = `--${name}=`;
    const fromArgs = access.args.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
    const variable = `MAILWIRE_CONFORMANCE_${name.toUpperCase()}`;
    const value = fromArgs ?? access.env(variable);
    if (!value) throw new Error(`Missing setting: pass --${name}=VALUE or set ${variable}`);
    return value;
  };
  const port = Number(setting('port'));
  if (!Number.isInteger(port) || port <= 0) throw new Error(`Invalid port: ${setting('port')}`);

  return {
    host: setting('host'),
    port,
    ca: setting('ca'),
    user: setting('user'),
    pass: access.env('MAILWIRE_CONFORMANCE_PASS') ?? '',
  };
}

async function main(): Promise<void> {
  const access = runtimeAccess();
  const name = access.args.find((arg) => !arg.startsWith('--'));
  if (name === undefined) throw new Error('Missing scenario name: pass it as the first argument');

  const scenario = findScenario(name);
  const settings = readSettings(access);
  const adapter = await access.adapter();
  const run = await runScenario(adapter, scenario, settings);

  for (const entry of run.entries) console.log(JSON.stringify({ type: 'entry', ...entry }));
  console.log(JSON.stringify({ type: 'result', ...run.result }));
}

try {
  await main();
} catch (error) {
  console.error(`conformance runner failed: ${error instanceof Error ? error.message : error}`);
  // Deno and Bun both provide `process.exitCode`; setting it lets stdout drain first.
  if (runtime.process !== undefined) runtime.process.exitCode = 1;
}
