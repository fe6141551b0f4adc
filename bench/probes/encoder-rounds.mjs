/**
 * Encodes the same 128 MB of message text ten times in one process and prints each round's
 * rate in MB per CPU-second: `node bench/probes/encoder-rounds.mjs`. The spread between
 * rounds shows how much the machine itself moves the figure. Build `@mailwire/core` first.
 */
import process from 'node:process';
import { DataEncoder } from '@mailwire/core';
import { largeMessageChunks, largeMessagePlan } from '../messages.mjs';

const chunks = [];
for await (const chunk of largeMessageChunks(largeMessagePlan(128e6))) chunks.push(chunk);
const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);

const rates = [];
for (let round = 0; round < 10; round++) {
  const encoder = new DataEncoder();
  const before = process.cpuUsage();
  for (const chunk of chunks) encoder.encode(chunk);
  encoder.end();
  const used = process.cpuUsage(before);
  rates.push((total / 1e6 / ((used.user + used.system) / 1e6)).toFixed(0));
}
process.stdout.write(`MB per CPU-second by round: ${rates.join(' ')}\n`);
