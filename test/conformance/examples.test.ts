/**
 * Runs the send examples for Node, Deno and Bun next to a local SMTP server on 127.0.0.1
 * (examples/with-local-server.mjs), and the core embedding example, which starts its own.
 * Each must exit 0 and print a conversation log that ends the session with QUIT. They
 * import the built packages, so `npm run build` comes first. A missing runtime binary fails
 * its test rather than skipping it.
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const DENO = join(ROOT, 'node_modules/.bin/deno');
const BUN = join(ROOT, 'node_modules/.bin/bun');
const WITH_LOCAL_SERVER = 'examples/with-local-server.mjs';

/** Time for one example to start its runtime and send one message. */
const EXAMPLE_TIMEOUT_MS = 30_000;

interface Example {
  name: string;
  command: string[];
  /** Whether with-local-server.mjs runs it, and so reports the messages it received. */
  localServer: boolean;
}

const EXAMPLES: Example[] = [
  {
    name: 'node-send-basic',
    command: [WITH_LOCAL_SERVER, process.execPath, 'examples/node-send-basic/send.mjs'],
    localServer: true,
  },
  {
    name: 'deno-send-basic',
    command: [
      WITH_LOCAL_SERVER,
      DENO,
      'run',
      '--no-prompt',
      '--config',
      'packages/deno/deno.json',
      '--allow-net=127.0.0.1',
      '--allow-env=SMTP_HOST,SMTP_PORT',
      'examples/deno-send-basic/send.ts',
    ],
    localServer: true,
  },
  {
    name: 'bun-send-basic',
    command: [WITH_LOCAL_SERVER, BUN, 'examples/bun-send-basic/send.ts'],
    localServer: true,
  },
  {
    name: 'core-embedding',
    command: ['examples/core-embedding/send-by-hand.mjs'],
    localServer: false,
  },
];

interface ExampleRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

const runs = new Map<string, ExampleRun>();

function runExample(example: Example): Promise<ExampleRun> {
  // Update checks and telemetry stay off to keep all traffic on 127.0.0.1.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DENO_NO_UPDATE_CHECK: '1',
    DO_NOT_TRACK: '1',
    NO_COLOR: '1',
  };
  delete env.MAILWIRE_LOG;
  const options = { cwd: ROOT, env, timeout: EXAMPLE_TIMEOUT_MS };

  return new Promise((resolveRun) => {
    execFile(process.execPath, example.command, options, (error, stdout, stderr) => {
      let exitCode: number | null = 0;
      if (error) exitCode = typeof error.code === 'number' ? error.code : null;
      resolveRun({ exitCode, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  const results = await Promise.all(EXAMPLES.map(runExample));
  for (const [index, example] of EXAMPLES.entries()) runs.set(example.name, results[index]!);
}, EXAMPLE_TIMEOUT_MS + 5_000);

describe.each(EXAMPLES.map((example) => [example.name, example] as const))(
  'example %s',
  (name, example) => {
    it('exits 0', () => {
      const run = runs.get(name)!;
      expect(run.exitCode, `${run.stdout}\n${run.stderr}`).toBe(0);
    });

    it('prints a transcript that ends with QUIT', () => {
      const run = runs.get(name)!;
      const lines = run.stdout.split('\n');
      const quit = lines.findIndex((line) => / C > "QUIT"$/.test(line));
      expect(quit, run.stdout + run.stderr).toBeGreaterThan(-1);
      expect(lines.slice(0, quit).some((line) => / C > "DATA"$/.test(line))).toBe(true);
    });

    if (example.localServer) {
      it('delivers one message to the local server', () => {
        expect(runs.get(name)!.stderr).toContain('local server received 1 message(s)');
      });
    }
  },
);
