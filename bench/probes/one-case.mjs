/**
 * Runs one benchmark case several times against a fresh server, without the full report:
 * `node bench/probes/one-case.mjs '<settings JSON>' [runs]`. The settings are those of
 * `bench/client.mjs` without the port, for example
 * `'{"client":"mailwire","scenario":"large","bytes":104857600,"warmupBytes":4194304}'`.
 * Each run prints its rate, client CPU and peak RSS (from `/usr/bin/time -v`). Build the
 * packages first (`npx turbo run build`).
 */
import { spawn, spawnSync } from 'node:child_process';

const [settingsText, runsText = '3'] = process.argv.slice(2);
if (!settingsText) {
  process.stderr.write("Usage: node bench/probes/one-case.mjs '<settings JSON>' [runs]\n");
  process.exit(2);
}
const runs = Number(runsText);
const server = spawn('taskset', ['-c', '1', process.execPath, 'bench/server.mjs'], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const port = await new Promise((resolve) =>
  server.once('message', (message) => resolve(message.port)),
);

// The server's code is compiled by the JIT before any measured run, as in `bench/run.mjs`.
const warmServer = {
  client: 'pipelined',
  scenario: 'small',
  count: 20000,
  warmup: 0,
  connections: 1,
  size: 2048,
  port,
};
spawnSync('taskset', ['-c', '0', process.execPath, 'bench/client.mjs', JSON.stringify(warmServer)]);

for (let run = 0; run < runs; run++) {
  const settings = { ...JSON.parse(settingsText), port };
  const runtime = settings.runtime ?? 'node';
  const command = {
    node: [process.execPath],
    deno: ['node_modules/.bin/deno', 'run', '-A'],
    bun: ['node_modules/.bin/bun'],
  }[runtime];
  const args = [
    '-c',
    '0',
    '/usr/bin/time',
    '-v',
    ...command,
    'bench/client.mjs',
    JSON.stringify(settings),
  ];
  const output = spawnSync('taskset', args, { encoding: 'utf8' });
  const rssKiB = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(output.stderr)?.[1]);
  const line = output.stdout.trim().split('\n').at(-1);
  if (output.status !== 0 || !line) {
    process.stderr.write(`Run ${run + 1} failed: ${output.stderr.slice(0, 2000)}\n`);
    continue;
  }
  const result = JSON.parse(line);
  const rss = `peak RSS ${(rssKiB / 1024).toFixed(1)} MB`;
  if (settings.scenario === 'small') {
    const rate = settings.count / result.seconds;
    const cpu = result.cpuMicros / settings.count;
    process.stdout.write(`msg/s ${rate.toFixed(0)}, client CPU ${cpu.toFixed(0)} µs/msg, ${rss}\n`);
  } else {
    const megabytes = settings.bytes / 1e6;
    const rate = megabytes / result.seconds;
    const perCpu = megabytes / (result.cpuMicros / 1e6);
    process.stdout.write(
      `MB/s ${rate.toFixed(0)}, MB per CPU-second ${perCpu.toFixed(0)}, ${rss}\n`,
    );
  }
}
server.kill();
