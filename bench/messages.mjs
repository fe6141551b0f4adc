/**
 * Message generators shared by every benchmark client. Small messages are built up front.
 * Large messages are produced chunk by chunk from one repeating block, so no generator holds
 * more than two copies of that block, whatever the message size.
 */
import { Buffer } from 'node:buffer';

export const SENDER = 'sender@bench.example.test';
export const RECIPIENT = 'rcpt@bench.example.test';

/** Bytes per chunk handed to a client when it streams a large message. */
export const CHUNK_BYTES = 64 * 1024;

const WORDS = (
  'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ' +
  'ut labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco'
).split(' ');

/** A text line of `length` characters built from the word list, starting at word `seed`. */
function textLine(length, seed) {
  let line = '';
  let index = seed;
  while (line.length < length) {
    line += (line === '' ? '' : ' ') + WORDS[index % WORDS.length];
    index += 1;
  }
  return line.slice(0, length);
}

/**
 * One small message of about `size` bytes with CRLF line ends and a unique Message-ID.
 * One body line starts with `.`, so every client has to dot-stuff it.
 */
export function smallMessage(index, size = 2048) {
  const head =
    `From: Bench Sender <${SENDER}>\r\n` +
    `To: <${RECIPIENT}>\r\n` +
    `Subject: Benchmark message ${index}\r\n` +
    'Date: Thu, 04 Dec 2025 12:00:00 +0000\r\n' +
    `Message-ID: <bench-${index}@bench.example.test>\r\n` +
    'MIME-Version: 1.0\r\n' +
    'Content-Type: text/plain; charset=us-ascii\r\n' +
    '\r\n';
  let body = '';
  let line = 0;
  while (head.length + body.length < size - 80) {
    const text = textLine(60 + ((index + line) % 16), index + line);
    body += (line === 3 ? '.' : '') + text + '\r\n';
    line += 1;
  }
  return head + body;
}

/** Wire form of a message after DATA: dot-stuffed, then the `.` terminator line. */
export function stuffed(text) {
  const body = text.replace(/(^|\r\n)\./g, '$1..');
  return `${body}.\r\n`;
}

/**
 * The block a large message repeats: about 256 KiB of CRLF lines 40 to 95 characters long,
 * where one line in six starts with `.`. It begins at a line start and ends with CRLF.
 */
function largeBlock() {
  const lines = [];
  let bytes = 0;
  for (let index = 0; bytes < 256 * 1024; index++) {
    const dot = index % 6 === 0 ? '.' : '';
    const line = `${dot}${textLine(40 + ((index * 7) % 56), index)}\r\n`;
    lines.push(line);
    bytes += line.length;
  }
  return lines.join('');
}

const LARGE_HEAD =
  `From: <${SENDER}>\r\nTo: <${RECIPIENT}>\r\nSubject: Large benchmark message\r\n` +
  'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n';

/**
 * Layout of a large message of at least `targetBytes`: the header section, then the block
 * repeated `repeats` times. `bytes` is the exact size, and also what the server counts,
 * because every line already ends in CRLF.
 */
export function largeMessagePlan(targetBytes) {
  const head = Buffer.from(LARGE_HEAD, 'latin1');
  const block = Buffer.from(largeBlock(), 'latin1');
  const repeats = Math.max(1, Math.ceil((targetBytes - head.length) / block.length));
  return { head, block, repeats, bytes: head.length + block.length * repeats };
}

/**
 * The large message as an async iterable of `CHUNK_BYTES` chunks. Chunks are views into a
 * doubled copy of the block, so producing one costs no copy, and chunk borders fall
 * anywhere inside lines, as they do with a file read.
 */
export async function* largeMessageChunks(plan) {
  const { head, block, repeats } = plan;
  const doubled = Buffer.concat([block, block]);
  yield head;

  const total = block.length * repeats;
  for (let offset = 0; offset < total; offset += CHUNK_BYTES) {
    const start = offset % block.length;
    const length = Math.min(CHUNK_BYTES, total - offset);
    yield doubled.subarray(start, start + length);
  }
}

/** The wire bytes of the block after dot-stuffing, for the pipelined client. */
export function stuffedBlock(plan) {
  return Buffer.from(stuffed(plan.block.toString('latin1')).slice(0, -3), 'latin1');
}
