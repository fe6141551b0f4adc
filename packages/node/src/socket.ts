/**
 * `SocketLike` over a Node `net.Socket` or `tls.TLSSocket`: pull-based reads from core's
 * bounded `ReadQueue`, writes that honour backpressure, and an idempotent close. It never
 * parses SMTP: bytes go to core exactly as they arrived.
 */
import type * as net from 'node:net';
import {
  ReadQueue,
  type SocketLike,
  type TlsSocketResult,
  type TlsUpgradeOptions,
} from '@mailwire/core';
import { upgradeTls } from './tls.js';

/** Time between `end()` and `destroy()` in `close()`, so a final QUIT can still leave. */
const CLOSE_GRACE_MS = 1000;

/** `SocketLike` over a connected Node socket. */
export class NodeSocket implements SocketLike {
  readonly localAddress: string | undefined;
  readonly remoteAddress: string | undefined;

  #socket: net.Socket;
  #queue: ReadQueue;
  #closed = false;
  #detached = false;
  #upgrading = false;

  readonly #onData = (chunk: Buffer) => this.#queue.push(chunk);
  readonly #onEnd = () => this.#queue.end();
  readonly #onError = (error: Error) => this.#queue.end(error);

  constructor(socket: net.Socket) {
    this.#socket = socket;
    this.#queue = new ReadQueue({ pause: () => socket.pause(), resume: () => socket.resume() });
    this.localAddress = socket.localAddress;
    this.remoteAddress = socket.remoteAddress;
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onEnd);
    socket.on('error', this.#onError);
  }

  read(): Promise<Uint8Array | null> {
    return this.#queue.read();
  }

  write(bytes: Uint8Array): Promise<void> {
    const failure = this.#queue.failure;
    if (failure) return Promise.reject(failure);
    if (this.#closed || this.#detached || this.#socket.destroyed || !this.#socket.writable) {
      return Promise.reject(closedError());
    }

    let settle: ((error?: Error | null) => void) | undefined;
    // Node runs a write callback later, never during `write()` itself.
    this.#socket.write(bytes, (error) => settle?.(error));
    // Nothing left in Node's buffer: the bytes went to the kernel during the call.
    if (this.#socket.writableLength === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      settle = (error) => (error ? reject(error) : resolve());
    });
  }

  async upgradeTls(options: TlsUpgradeOptions): Promise<TlsSocketResult> {
    const plain = this.#detach();
    this.#upgrading = true;
    try {
      const { socket, details } = await upgradeTls(plain, options);
      return { socket: new NodeSocket(socket), details };
    } finally {
      this.#upgrading = false;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.end();

    const socket = this.#socket;
    // After a finished upgrade the TLS socket owns the connection and closing the plain one
    // would tear it down, but a handshake still running is aborted.
    if (this.#detached) {
      if (this.#upgrading) socket.destroy();
      return;
    }
    if (socket.destroyed) return;
    socket.end();
    const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  }

  /**
   * Stop reading and hand the raw socket over, for a TLS handshake. Chunks still queued are
   * dropped because RFC 3207 §6 forbids using anything received before the handshake after
   * it. This object then reads as ended and rejects writes.
   */
  #detach(): net.Socket {
    const socket = this.#socket;
    this.#detached = true;
    this.#queue.clear();

    socket.off('data', this.#onData);
    socket.off('end', this.#onEnd);
    socket.off('close', this.#onEnd);
    socket.off('error', this.#onError);
    // The TLS socket that takes over reports errors from now on. This listener only keeps an
    // error emitted in between from crashing the process.
    socket.on('error', ignoreError);
    // Node feeds bytes still buffered in the plain socket into the TLS layer, so read them
    // out here and drop them too.
    socket.pause();
    let discarded: unknown = socket.read();
    while (discarded !== null) discarded = socket.read();
    return socket;
  }
}

function closedError(): Error {
  return Object.assign(new Error('Write failed: the connection is closed'), { code: 'EPIPE' });
}

function ignoreError(): void {}
