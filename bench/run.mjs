/**
 * Runs every benchmark and prints a Markdown report: `node bench/run.mjs [--quick]`.
 * The server runs in its own process, and every client run in a fresh one, pinned to
 * different cores with `taskset` when it exists. After each run the server's counters must
 * match what the client sent, or the run counts as failed. The full run also writes the
 * report into the generated section of bench/RESULTS.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { largeMessagePlan, smallMessage } from './messages.mjs';
import { formatReport } from './report.mjs';

const benchDirectory = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDirectory);
const quick = process.argv.includes('--quick');

const MiB = 1024 * 1024;
const config = quick
  ? { count: 1000, warmup: 500, repeats: 1, largeSizes: [10 * MiB, 100 * MiB], largeRepeats: 1 }
  : {
      count: 3000,
      warmup: 1000,
      repeats: 5,
      largeSizes: [10 * MiB, 100 * MiB, 1024 * MiB],
      largeRepeats: 3,
    };
/**
 * Messages the pipelined client sends before any measurement so that the server's code is
 * compiled by the JIT; a cold smtp-server is several times slower than a warm one.
 */
const SERVER_WARMUP_COUNT = quick ? 10_000 : 30_000;
/** Messages for the runs without a pool: smtp-server delays every greeting by 100 ms. */
const UNPOOLED_COUNT = quick ? 0 : 200;
const SMALL_SIZE = 2048;
/**
 * Untimed message each large-message run sends first on the same connection or transporter;
 * the full run repeats every large case with each size. After 4 MiB a process has compiled
 * its code once, as one that sends a single message would. The first large send of a process
 * costs more CPU than later ones while V8 goes on optimising the code
 * (`node bench/probes/send-in-process.mjs 64 5 0` shows it), so only the 256 MiB warm-up
 * measures the steady state.
 */
const LARGE_WARMUPS = quick ? [4 * MiB] : [4 * MiB, 256 * MiB];
/** Wait before the one retry of a client run that failed. */
const RETRY_DELAY_MS = 3000;
/** Maximum time a client run may take before it is killed and counted as failed. */
const RUN_TIMEOUT_MS = 10 * 60 * 1000;

const cores = availableParallelism();
const pinned = cores >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const timeTool = spawnSync('/usr/bin/time', ['-v', 'true']).status === 0 ? '/usr/bin/time' : null;

function pinnedCommand(core, command) {
  return pinned ? ['taskset', '-c', String(core), ...command] : command;
}

// ---- build ------------------------------------------------------------------------------

/** Build a package with turbo; returns null on success or the last lines of the output. */
function build(name) {
  const result = spawnSync(
    'npx',
    ['turbo', 'run', 'build', `--filter=${name}`, '--output-logs=errors-only'],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  if (result.status === 0) return null;
  const output = `${result.stdout}\n${result.stderr}`.trim().split('\n');
  return output.slice(-8).join('\n');
}

/** Build the Deno and Bun adapters and return the command for each runtime, or why it has none. */
function runtimes() {
  const bin = (name) => join(root, 'node_modules', '.bin', name);
  const found = {
    node: { command: [process.execPath], version: process.version },
  };
  for (const [name, args] of [
    ['deno', ['run', '-A']],
    ['bun', []],
  ]) {
    if (!existsSync(bin(name))) {
      found[name] = { skipped: `no ${name} binary in node_modules/.bin` };
      continue;
    }
    const failure = build(`@mailwire/${name}`);
    if (failure) {
      found[name] = { skipped: `@mailwire/${name} did not build:\n${failure}` };
      continue;
    }
    const version = spawnSync(bin(name), ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
    found[name] = { command: [bin(name), ...args], version };
  }
  return found;
}

// ---- server -----------------------------------------------------------------------------

function startServer() {
  const command = pinnedCommand(cores >= 2 ? 1 : 0, [
    process.execPath,
    join(benchDirectory, 'server.mjs'),
  ]);
  const child = spawn(command[0], command.slice(1), {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const request = (type) =>
    new Promise((resolve) => {
      const onMessage = (message) => {
        if (message.type !== type) return;
        child.off('message', onMessage);
        resolve(message);
      };
      child.on('message', onMessage);
      child.send({ type });
    });
  const ready = new Promise((resolve, reject) => {
    child.once('message', (message) => resolve(message.port));
    child.once('exit', (code) => reject(new Error(`Benchmark server exited with code ${code}`)));
  });
  return { child, ready, request, stop: () => child.send({ type: 'stop' }) };
}

// ---- client runs ------------------------------------------------------------------------

/** Run one client process; resolves with its JSON result and the peak RSS from `time -v`. */
function runClient(runtime, settings) {
  const client = join(benchDirectory, 'client.mjs');
  const base = [...runtime.command, client, JSON.stringify(settings)];
  const command = pinnedCommand(0, timeTool ? [timeTool, '-v', ...base] : base);

  return new Promise((resolve, reject) => {
    const child = spawn(command[0], command.slice(1), {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = stdout.trim().split('\n');
      if (code !== 0) {
        const reason = signal ? `killed by ${signal}` : `exit code ${code}`;
        reject(
          new Error(
            `Client failed (${reason}): ${stderr.trim().split('\n').slice(0, 6).join(' | ')}`,
          ),
        );
        return;
      }
      const result = JSON.parse(lines.at(-1));
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      if (rss) result.maxRssKiB = Number(rss[1]);
      result.rssSource = rss ? 'time -v' : 'resourceUsage';
      resolve(result);
    });
  });
}

const smallBytes = new Map();
function expectedSmallBytes(total) {
  if (!smallBytes.has(total)) {
    let sum = 0;
    for (let index = 0; index < total; index++) sum += smallMessage(index, SMALL_SIZE).length;
    smallBytes.set(total, sum);
  }
  return smallBytes.get(total);
}

/** Messages and bytes the server must have counted after one run of `settings`. */
function expectedCounts(settings) {
  if (settings.scenario === 'large') {
    const bytes =
      largeMessagePlan(settings.bytes).bytes + largeMessagePlan(settings.warmupBytes).bytes;
    return { messages: 2, bytes };
  }
  const total = settings.count + settings.warmup;
  return { messages: total, bytes: expectedSmallBytes(total) };
}

/**
 * Run one case once against a freshly reset server and check that the server received
 * every message and every byte. Returns the client's result, or `{ failed }`.
 */
async function runOnce(server, runtime, settings) {
  await server.request('reset');
  let result;
  try {
    result = await runClient(runtime, settings);
  } catch (error) {
    // One retry, because a build running in parallel can remove a dist folder for a moment.
    await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
    await server.request('reset');
    try {
      result = await runClient(runtime, settings);
    } catch {
      return { failed: error.message };
    }
  }
  const stats = await server.request('stats');
  const expected = expectedCounts(settings);
  if (stats.messages !== expected.messages || stats.bytes !== expected.bytes) {
    return {
      failed:
        `incomplete: server counted ${stats.messages} messages and ${stats.bytes} bytes, ` +
        `expected ${expected.messages} and ${expected.bytes}`,
    };
  }
  return { ...result, connectionsOpened: stats.connections };
}

/**
 * Run every case `repeats` times, one round over all cases after another, so that load
 * from other processes spreads over all cases alike. Each case reports its median run by
 * wall time, or its first failure.
 */
async function runRounds(server, found, cases, repeats, progress) {
  const runs = cases.map(() => []);
  const failures = cases.map(() => null);
  for (let round = 0; round < repeats; round++) {
    for (const [index, item] of cases.entries()) {
      if (failures[index]) continue;
      progress(`round ${round + 1}/${repeats}: ${item.label}`);
      const result = await runOnce(server, found[item.runtime], item.settings);
      if (result.failed) failures[index] = result.failed;
      else runs[index].push(result);
    }
  }
  return cases.map((item, index) => {
    const base = { settings: item.settings, runtime: item.runtime };
    if (failures[index]) return { ...base, failed: failures[index] };
    const sorted = runs[index].sort((a, b) => a.seconds - b.seconds);
    const seconds = { fastest: sorted[0].seconds, slowest: sorted.at(-1).seconds };
    return {
      ...base,
      ...sorted[Math.floor(sorted.length / 2)],
      repeats: sorted.length,
      spread: seconds,
    };
  });
}

// ---- main -------------------------------------------------------------------------------

function machine(found, load) {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? 'unknown';
  return {
    cores,
    model,
    node: process.version,
    deno: found.deno.version ?? null,
    bun: found.bun.version ?? null,
    pinned,
    timeTool,
    load,
  };
}

function coreBench() {
  const command = pinnedCommand(0, [
    process.execPath,
    join(benchDirectory, 'core.mjs'),
    quick ? '64' : '256',
  ]);
  const result = spawnSync(command[0], command.slice(1), { cwd: root, encoding: 'utf8' });
  if (result.status !== 0)
    return { failed: result.stderr.trim().split('\n').slice(0, 4).join(' | ') };
  return JSON.parse(result.stdout.trim().split('\n').at(-1));
}

async function main() {
  const coreFailure = build('@mailwire/node');
  if (coreFailure)
    throw new Error(`@mailwire/core or @mailwire/node did not build:\n${coreFailure}`);
  const found = runtimes();
  const loadBefore = loadavg()[0];

  const server = startServer();
  const port = await server.ready;
  const logDir = mkdtempSync(join(tmpdir(), 'mailwire-bench-'));
  const results = { small: [], large: [], core: null, skipped: {} };
  const progress = (line) => process.stderr.write(`${line}\n`);

  try {
    progress('server warm-up');
    const warmup = {
      client: 'pipelined',
      scenario: 'small',
      port,
      count: SERVER_WARMUP_COUNT,
      warmup: 0,
    };
    for (const connections of [1, 4]) {
      const result = await runOnce(server, found.node, {
        ...warmup,
        size: SMALL_SIZE,
        connections,
      });
      if (result.failed) throw new Error(`Server warm-up failed: ${result.failed}`);
    }

    const small = (client, runtime, connections, extra = {}) => ({
      runtime,
      label: `${client} ${runtime} small x${connections}${extra.logDir ? ' log' : ''}${extra.pool === false ? ' no pool' : ''}`,
      settings: {
        client,
        scenario: 'small',
        port,
        count: config.count,
        warmup: config.warmup,
        size: SMALL_SIZE,
        connections,
        ...extra,
      },
    });
    const smallCases = [];
    for (const connections of [1, 4]) {
      smallCases.push(small('pipelined', 'node', connections));
      smallCases.push(small('lockstep', 'node', connections));
      smallCases.push(small('nodemailer', 'node', connections));
      for (const name of ['node', 'deno', 'bun']) {
        smallCases.push(small('mailwire', name, connections));
        smallCases.push(small('mailwire', name, connections, { logDir }));
      }
    }
    if (UNPOOLED_COUNT > 0) {
      const unpooled = { pool: false, count: UNPOOLED_COUNT, warmup: 20 };
      smallCases.push(small('nodemailer', 'node', 4, unpooled));
      smallCases.push(small('mailwire', 'node', 4, unpooled));
    }
    const runnable = (item) => !found[item.runtime].skipped;
    results.small = await runRounds(
      server,
      found,
      smallCases.filter(runnable),
      config.repeats,
      progress,
    );

    const largeCases = [];
    for (const warmupBytes of LARGE_WARMUPS) {
      for (const bytes of config.largeSizes) {
        const clients = [
          ['pipelined', 'node'],
          ['mailwire', 'node'],
          ['mailwire', 'deno'],
          ['mailwire', 'bun'],
        ];
        if (bytes === 100 * MiB) clients.push(['nodemailer', 'node']);
        for (const [client, runtime] of clients) {
          const settings = {
            client,
            scenario: 'large',
            port,
            bytes,
            warmupBytes,
          };
          largeCases.push({
            runtime,
            settings,
            label: `${client} ${runtime} large ${bytes / MiB} MiB after ${warmupBytes / MiB} MiB`,
          });
        }
      }
    }
    // Only the 100 MiB cases repeat; the others show how memory scales with size.
    const hundred = largeCases.filter(
      (item) => item.settings.bytes === 100 * MiB && runnable(item),
    );
    const others = largeCases.filter((item) => item.settings.bytes !== 100 * MiB && runnable(item));
    const largeResults = [
      ...(await runRounds(server, found, hundred, config.largeRepeats, progress)),
      ...(await runRounds(server, found, others, 1, progress)),
    ];
    results.large = largeResults.sort(
      (a, b) =>
        a.settings.warmupBytes - b.settings.warmupBytes || a.settings.bytes - b.settings.bytes,
    );

    progress('core');
    results.core = coreBench();
  } finally {
    server.stop();
    rmSync(logDir, { recursive: true, force: true });
  }

  for (const [name, runtime] of Object.entries(found)) {
    if (runtime.skipped) results.skipped[name] = runtime.skipped;
  }
  const command = quick ? 'npm run bench:quick' : 'npm run bench';
  const load = { before: loadBefore, after: loadavg()[0] };
  const report = formatReport(results, machine(found, load), {
    command,
    config: { ...config, largeWarmupsMiB: LARGE_WARMUPS.map((bytes) => bytes / MiB) },
    unpooledCount: UNPOOLED_COUNT,
    serverWarmup: SERVER_WARMUP_COUNT,
  });
  process.stdout.write(`${report}\n`);
  if (!quick) writeResults(report);

  const failures = [...results.small, ...results.large].filter((entry) => entry.failed);
  if (failures.length > 0 || results.core?.failed) process.exitCode = 1;
}

/** Replace the generated section of RESULTS.md, keeping the hand-written notes around it. */
function writeResults(report) {
  const path = join(benchDirectory, 'RESULTS.md');
  const start = '<!-- generated:start -->';
  const end = '<!-- generated:end -->';
  const current = existsSync(path)
    ? readFileSync(path, 'utf8')
    : `# Benchmark results\n\n${start}\n${end}\n`;
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  if (from === -1 || to === -1) {
    process.stderr.write(`RESULTS.md has no ${start} section; the report was only printed\n`);
    return;
  }
  writeFileSync(path, `${current.slice(0, from + start.length)}\n${report}\n${current.slice(to)}`);
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exitCode = 1;
});
