/**
 * Core alone, no sockets: `DataEncoder` throughput on message text in 64 KiB chunks, and
 * `ReplyParser` throughput on the replies a pipelining client reads. Prints one JSON line.
 * Rates are per CPU-second of this process (`process.cpuUsage`), so time spent waiting for
 * a core that another process uses does not count. For a single-threaded loop that is the
 * same as wall time on an idle machine.
 * Usage: `node bench/core.mjs [megabytes]` (default 256 MB of input per encoder case).
 */
import { Buffer } from 'node:buffer';
import process from 'node:process';
import { DataEncoder, ReplyParser } from '@mailwire/core';
import { CHUNK_BYTES, largeMessageChunks, largeMessagePlan } from './messages.mjs';

const inputBytes = Number(process.argv[2] ?? 256) * 1e6;
const ROUNDS = 5;

/** CPU seconds `work` takes in this process. */
function cpuSeconds(work) {
  const before = process.cpuUsage();
  work();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}

/** Collect `bytes` of large-message text as 64 KiB chunks, with every line end replaced. */
async function textChunks(bytes, lineEnd) {
  const chunks = [];
  for await (const chunk of largeMessageChunks(largeMessagePlan(bytes))) {
    if (lineEnd === '\r\n') chunks.push(chunk);
    else chunks.push(Buffer.from(chunk.toString('latin1').replaceAll('\r\n', lineEnd), 'latin1'));
  }
  return chunks;
}

/** Best of `ROUNDS` rounds of encoding every chunk once, in MB of input per CPU-second. */
function encoderRate(chunks) {
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  let best = 0;
  let outBytes = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // One encoder per round, so the rate includes the per-message setup once.
    const encoder = new DataEncoder();
    const seconds = cpuSeconds(() => {
      for (const chunk of chunks) encoder.encode(chunk);
      encoder.end();
    });
    best = Math.max(best, total / 1e6 / seconds);
    outBytes = encoder.bytesOut;
  }
  return { inputMB: total / 1e6, outputMB: outBytes / 1e6, mbPerSecond: best };
}

/** Replies a client reads when it pipelines small messages, plus one EHLO reply. */
function replyStream(bytes) {
  const ehlo =
    '250-mx.example.test Hello [127.0.0.1]\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n' +
    '250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 SMTPUTF8\r\n';
  const perMessage =
    '250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n' +
    '250 2.0.0 Ok: queued as 4XyZ1b2C3d\r\n';
  const repeats = Math.ceil(bytes / perMessage.length);
  const text = ehlo + perMessage.repeat(repeats);
  const lines = 6 + repeats * 4;
  return { buffer: Buffer.from(text, 'latin1'), lines, replies: 1 + repeats * 4 };
}

/** Best of `ROUNDS` rounds parsing the stream in 16 KiB reads, in lines per CPU-second. */
function parserRate(stream) {
  const reads = [];
  for (let offset = 0; offset < stream.buffer.length; offset += 16 * 1024) {
    reads.push(stream.buffer.subarray(offset, offset + 16 * 1024));
  }
  let best = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const parser = new ReplyParser();
    let replies = 0;
    const seconds = cpuSeconds(() => {
      for (const read of reads) {
        parser.push(read);
        while (parser.next() !== null) replies += 1;
      }
    });
    if (replies !== stream.replies) {
      throw new Error(`ReplyParser returned ${replies} replies, expected ${stream.replies}`);
    }
    best = Math.max(best, stream.lines / seconds);
  }
  return { lines: stream.lines, linesPerSecond: best };
}

const crlf = encoderRate(await textChunks(inputBytes, '\r\n'));
const lf = encoderRate(await textChunks(inputBytes / 4, '\n'));
const parser = parserRate(replyStream(32 * 1024 * 1024));
process.stdout.write(
  `${JSON.stringify({ chunkBytes: CHUNK_BYTES, encoderCrlf: crlf, encoderLf: lf, parser })}\n`,
);
