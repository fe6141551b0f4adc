/**
 * Sends messages of growing size through one `@mailwire/node` transporter and prints the
 * process's memory after each send: `node bench/probes/memory-per-send.mjs`. It shows
 * whether resident memory follows the message size or stays level. Build the packages
 * first (`npx turbo run build`).
 */
import { spawn } from 'node:child_process';
import { createTransporter } from '@mailwire/node';
import { largeMessageChunks, largeMessagePlan } from '../messages.mjs';

const MiB = 1024 * 1024;
const sizesMiB = [4, 10, 10, 100, 100, 100, 100, 100];

const server = spawn('taskset', ['-c', '1', process.execPath, 'bench/server.mjs'], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const port = await new Promise((resolve) =>
  server.once('message', (message) => resolve(message.port)),
);

const megabytes = (bytes) => (bytes / MiB).toFixed(1);
function report(label) {
  const memory = process.memoryUsage();
  const peak = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(
    `${label}: RSS ${megabytes(memory.rss)}, peak ${megabytes(peak)}, heap ` +
      `${megabytes(memory.heapTotal)} (used ${megabytes(memory.heapUsed)}), array buffers ` +
      `${megabytes(memory.arrayBuffers)} MiB\n`,
  );
}

const envelope = { from: 'sender@example.test', to: ['recipient@example.test'] };
const transporter = createTransporter({ host: '127.0.0.1', port });
report('before sending');
for (const size of sizesMiB) {
  await transporter.send({ envelope, raw: largeMessageChunks(largeMessagePlan(size * MiB)) });
  report(`after ${size} MiB`);
}
await transporter.close();
server.kill();
