/**
 * Sends large messages through `@mailwire/node` one after another in one process and prints
 * the CPU time of each send:
 * `node bench/probes/send-in-process.mjs [chunk KiB] [sends] [warm-up MiB]`. Each message is
 * 100 MiB, streamed in chunks of the given size (default 64), after an untimed warm-up
 * message (default 256 MiB, 0 for none). Build the packages first (`npx turbo run build`).
 */
import { spawn } from 'node:child_process';
import { createTransporter } from '@mailwire/node';
import { largeMessagePlan } from '../messages.mjs';

const chunkBytes = Number(process.argv[2] ?? 64) * 1024;
const sends = Number(process.argv[3] ?? 3);
const MiB = 1024 * 1024;
const warmupBytes = Number(process.argv[4] ?? 256) * MiB;

const server = spawn('taskset', ['-c', '1', process.execPath, 'bench/server.mjs'], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const port = await new Promise((resolve) =>
  server.once('message', (message) => resolve(message.port)),
);

/** Yield the plan's bytes in chunks of `chunkBytes`, as views of one doubled block. */
async function* chunksOf(plan) {
  const doubled = Buffer.concat([plan.block, plan.block]);
  yield plan.head;
  const total = plan.block.length * plan.repeats;
  for (let offset = 0; offset < total; offset += chunkBytes) {
    const start = offset % plan.block.length;
    yield doubled.subarray(start, start + Math.min(chunkBytes, total - offset));
  }
}

const envelope = { from: 'sender@example.test', to: ['recipient@example.test'] };
const transporter = createTransporter({ host: '127.0.0.1', port });
if (warmupBytes > 0) {
  await transporter.send({ envelope, raw: chunksOf(largeMessagePlan(warmupBytes)) });
}
const plan = largeMessagePlan(100 * MiB);
for (let send = 0; send < sends; send++) {
  const before = process.cpuUsage();
  await transporter.send({ envelope, raw: chunksOf(plan) });
  const used = process.cpuUsage(before);
  const total = (used.user + used.system) / 1000;
  process.stdout.write(
    `100 MiB in ${chunkBytes / 1024} KiB chunks: ${total.toFixed(0)} ms CPU ` +
      `(${(used.system / 1000).toFixed(0)} ms system)\n`,
  );
}
await transporter.close();
server.kill();
