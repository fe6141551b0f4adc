/**
 * CPU per message with and without a log file, against core's in-memory test server, so
 * that no network noise enters the figure. Run it with
 * `npx esbuild bench/probes/log-cost.ts --bundle --platform=node --format=esm --outfile=bench/.scratch/log-cost.mjs && node bench/.scratch/log-cost.mjs`.
 * Each message has eight transcript lines; the in-memory server's own work is in both figures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../packages/core/src/driver/contracts.js';
import { createTransporter } from '../../packages/core/src/driver/transporter.js';
import { FakeServer, type ServerStep } from '../../packages/core/src/testing/fake-server.js';
import { openLogFile } from '../../packages/node/src/file-sink.js';

const MESSAGES = 20_000;
const ROUNDS = 4;
const clock: Clock = {
  now: () => Date.now(),
  setTimer: (delayMs, callback) => setTimeout(callback, delayMs),
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
const body = `Subject: test\r\nMessage-ID: <probe@example.test>\r\n\r\n${'A line of text.\r\n'.repeat(100)}`;
const transaction: ServerStep[] = [
  { expect: /^MAIL/ },
  { send: '250 2.1.0 Ok' },
  { expect: /^RCPT/ },
  { send: '250 2.1.5 Ok' },
  { expect: 'DATA' },
  { send: '354 Go ahead' },
  { expectData: true },
  { send: '250 2.0.0 Ok: queued as ABC' },
];
const directory = mkdtempSync(join(tmpdir(), 'mailwire-log-cost-'));

/** CPU microseconds per message for one pooled run of `MESSAGES` messages. */
async function microsecondsPerMessage(logFile: string | null): Promise<number> {
  const script: ServerStep[] = [
    { send: '220 mx.example.test ESMTP' },
    { expect: /^EHLO/ },
    { send: ['250-mx.example.test', '250 PIPELINING'] },
  ];
  for (let index = 0; index < MESSAGES; index++) script.push(...transaction);
  script.push({ expect: 'QUIT' }, { send: '221 Bye' });
  const server = new FakeServer({ script });
  const sink = logFile === null ? {} : { transcriptSink: openLogFile(logFile, 'text') };
  const transporter = createTransporter(
    {
      host: 'mx.example.test',
      port: 25,
      pool: true,
      maxConnections: 1,
      maxMessages: MESSAGES + 1,
      ...sink,
    },
    { connector: server.connector, clock, processId: process.pid },
  );
  const envelope = { from: 'sender@example.test', to: ['recipient@example.test'] };
  const before = process.cpuUsage();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < MESSAGES) {
      next += 1;
      await transporter.send({ envelope, raw: body });
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  await transporter.close();
  const used = process.cpuUsage(before);
  if (server.mismatch) throw new Error(`The in-memory server expected ${server.mismatch}`);
  return (used.user + used.system) / MESSAGES;
}

for (let round = 0; round < ROUNDS; round++) {
  const off = await microsecondsPerMessage(null);
  const on = await microsecondsPerMessage(join(directory, `round-${round}.log`));
  process.stdout.write(
    `log off ${off.toFixed(1)} µs/msg, log on ${on.toFixed(1)} µs/msg, ` +
      `difference ${(on - off).toFixed(1)}\n`,
  );
}
rmSync(directory, { recursive: true, force: true });
