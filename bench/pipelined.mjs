/**
 * Two reference clients that do the least work needed to deliver the benchmark's messages.
 * The pipelined one writes MAIL, RCPT, DATA, the dot-stuffed body and the end marker for many
 * messages in large batches and never waits for a reply, so its rate is what the server
 * allows. The lock-step one waits for the 354 and for the final reply of every message.
 * Both only count replies. Neither is a usable SMTP client, because they ignore SIZE and
 * 8BITMIME, and any reply other than 2xx or 354 fails the run.
 */
import { Buffer } from 'node:buffer';
import * as net from 'node:net';
import { RECIPIENT, SENDER, stuffed, stuffedBlock } from './messages.mjs';

/** Bytes written per batch before the next `write` call. */
const BATCH_BYTES = 256 * 1024;

const ENVELOPE = Buffer.from(`MAIL FROM:<${SENDER}>\r\nRCPT TO:<${RECIPIENT}>\r\nDATA\r\n`);

/** A connection that counts final reply lines and fails on any reply other than 2xx or 354. */
class CountingConnection {
  constructor(socket) {
    this.socket = socket;
    this.replies = 0;
    this.partial = '';
    this.waiter = null;
    this.error = null;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.receive(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('Connection closed by the server')));
  }

  static open(port) {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => resolve(new CountingConnection(socket)));
      socket.once('error', reject);
    });
  }

  receive(chunk) {
    const text = this.partial + chunk.toString('latin1');
    const lines = text.split('\r\n');
    this.partial = lines.pop();
    for (const line of lines) {
      // A space after the code marks the last line of a reply (RFC 5321 §4.2.1).
      if (line.charCodeAt(3) !== 32) continue;
      if (line[0] !== '2' && !line.startsWith('354')) {
        this.fail(new Error(`Unexpected reply: ${line}`));
        return;
      }
      this.replies += 1;
    }
    this.check();
  }

  fail(error) {
    if (this.error !== null || this.closing) return;
    this.error = error;
    this.check();
  }

  check() {
    if (this.waiter === null) return;
    if (this.error !== null) {
      this.waiter.reject(this.error);
      this.waiter = null;
    } else if (this.replies >= this.waiter.count) {
      this.waiter.resolve();
      this.waiter = null;
    }
  }

  /** Resolve once `count` replies have arrived in total on this connection. */
  waitForReplies(count) {
    return new Promise((resolve, reject) => {
      this.waiter = { count, resolve, reject };
      this.check();
    });
  }

  /** Write and wait for `drain` when the socket buffer is full. */
  async write(bytes) {
    if (this.error !== null) throw this.error;
    if (!this.socket.write(bytes)) {
      await new Promise((resolve) => this.socket.once('drain', resolve));
    }
  }

  async quit() {
    this.closing = true;
    this.socket.end('QUIT\r\n');
    await new Promise((resolve) => this.socket.once('close', resolve));
  }
}

async function openSession(port) {
  const connection = await CountingConnection.open(port);
  // smtp-server rejects a client that talks before the greeting (421 You talk too soon).
  await connection.waitForReplies(1);
  await connection.write('EHLO bench.example.test\r\n');
  await connection.waitForReplies(2);
  return connection;
}

/** Send `messages` (strings) over one connection; resolves once every reply arrived. */
async function sendOn(connection, messages) {
  const base = connection.replies;
  let batch = [];
  let batchBytes = 0;
  for (const message of messages) {
    const body = Buffer.from(stuffed(message), 'latin1');
    batch.push(ENVELOPE, body);
    batchBytes += ENVELOPE.length + body.length;
    if (batchBytes >= BATCH_BYTES) {
      await connection.write(Buffer.concat(batch, batchBytes));
      batch = [];
      batchBytes = 0;
    }
  }
  if (batch.length > 0) await connection.write(Buffer.concat(batch, batchBytes));
  // MAIL, RCPT, DATA and the end of data each get one reply.
  await connection.waitForReplies(base + messages.length * 4);
}

/**
 * Send `messages` one at a time: the envelope and DATA in one write, then wait for their
 * three replies, then the body and end marker in one write, then wait for the final reply.
 * This is the least a client needs that does not pipeline across messages.
 */
async function sendLockstep(connection, messages) {
  for (const message of messages) {
    const before = connection.replies;
    await connection.write(ENVELOPE);
    await connection.waitForReplies(before + 3);
    await connection.write(Buffer.from(stuffed(message), 'latin1'));
    await connection.waitForReplies(before + 4);
  }
}

/**
 * Deliver the small messages over `connections` connections, split evenly, either fully
 * pipelined or in lock step.
 */
export async function pipelinedSmall(port, messages, connections, lockstep = false) {
  const sessions = await Promise.all(Array.from({ length: connections }, () => openSession(port)));
  const shares = sessions.map((_, index) => messages.filter((__, i) => i % connections === index));
  const send = lockstep ? sendLockstep : sendOn;
  await Promise.all(sessions.map((session, index) => send(session, shares[index])));
  await Promise.all(sessions.map((session) => session.quit()));
}

/** Deliver one large message laid out by `largeMessagePlan`, pre-stuffed, in large writes. */
export async function pipelinedLarge(port, plan) {
  const session = await openSession(port);
  const block = stuffedBlock(plan);
  const perBatch = Math.max(1, Math.floor((1024 * 1024) / block.length));
  const batch = Buffer.concat(Array.from({ length: perBatch }, () => block));

  await session.write(Buffer.concat([ENVELOPE, plan.head]));
  let left = plan.repeats;
  while (left >= perBatch) {
    await session.write(batch);
    left -= perBatch;
  }
  for (; left > 0; left--) await session.write(block);
  await session.write('.\r\n');
  await session.waitForReplies(2 + 4);
  await session.quit();
}
