/**
 * `SocketLike` over a Bun socket. Bun pushes bytes into callbacks, so they are queued here for
 * pull-based reads. Writes that Bun takes only in part are finished on `drain`, and close is
 * idempotent. It never parses SMTP: bytes go to core exactly as they arrived.
 */
import type { SocketLike, TlsSocketResult, TlsUpgradeOptions } from '@mailwire/core';
import { ReadQueue } from '@mailwire/core';
import { upgradeTls } from './tls.js';

/** Time between `end()` and `terminate()` in `close()`, so a final QUIT can still leave. */
const CLOSE_GRACE_MS = 1000;

interface PendingWrite {
  bytes: Uint8Array;
  resolve(): void;
  reject(error: Error): void;
}

/**
 * Receives the callbacks of one Bun socket. It exists before the socket does, because Bun
 * takes the handlers at connect time and may deliver bytes before `Bun.connect` resolves.
 */
export class SocketEvents {
  /** The socket that delivered the latest bytes; the queue pauses and resumes it. */
  #socket: Bun.Socket | null = null;
  readonly queue = new ReadQueue({
    pause: () => this.#socket?.pause(),
    resume: () => this.#socket?.resume(),
  });
  /** Set once the socket is closed or handed to TLS: later callbacks are ignored. */
  muted = false;
  onDrain: (() => void) | null = null;
  onEnd: (() => void) | null = null;
  onHandshake: ((success: boolean, error: Error | null) => void) | null = null;

  readonly handlers: Bun.SocketHandler = {
    data: (socket, data) => this.#receive(socket, data),
    drain: () => this.onDrain?.(),
    end: () => this.#finish(null),
    close: (_socket, error) => this.#finish(error ?? null),
    error: (_socket, error) => this.#finish(error),
    connectError: (_socket, error) => this.#finish(error),
    handshake: (_socket, success, error) => this.#settleHandshake(success, error),
  };

  #receive(socket: Bun.Socket, data: Uint8Array): void {
    if (this.muted) return;
    this.#socket = socket;
    // Copied so that a buffer Bun might reuse after the callback cannot change queued bytes.
    this.queue.push(new Uint8Array(data));
  }

  #finish(error: Error | null): void {
    this.#settleHandshake(false, error ?? new Error('Connection closed before the TLS handshake'));
    if (this.muted) return;
    this.queue.end(error);
    this.onEnd?.();
  }

  #settleHandshake(success: boolean, error: Error | null): void {
    const settle = this.onHandshake;
    this.onHandshake = null;
    settle?.(success, error);
  }
}

/** `SocketLike` over a connected Bun socket, plain or TLS. */
export class BunSocket implements SocketLike {
  readonly localAddress: string | undefined;
  readonly remoteAddress: string | undefined;

  #socket: Bun.Socket;
  #events: SocketEvents;
  #unsent: PendingWrite[] = [];
  #closed = false;
  #detached = false;
  #upgrading = false;

  constructor(socket: Bun.Socket, events: SocketEvents) {
    this.#socket = socket;
    this.#events = events;
    this.localAddress = socket.localAddress;
    this.remoteAddress = socket.remoteAddress;
    events.onDrain = () => this.#flush();
    events.onEnd = () => this.#rejectUnsent(events.queue.failure ?? closedError());
  }

  read(): Promise<Uint8Array | null> {
    return this.#events.queue.read();
  }

  write(bytes: Uint8Array): Promise<void> {
    const queue = this.#events.queue;
    if (queue.failure) return Promise.reject(queue.failure);
    if (this.#closed || this.#detached || queue.ended) return Promise.reject(closedError());

    let rest = bytes;
    if (this.#unsent.length === 0) {
      const written = this.#socket.write(bytes);
      if (written < 0) return Promise.reject(closedError());
      if (written === bytes.length) return Promise.resolve();
      rest = bytes.subarray(written);
    }
    // Bun took only part of the bytes; `drain` reports room for the rest.
    return new Promise((resolve, reject) => this.#unsent.push({ bytes: rest, resolve, reject }));
  }

  async upgradeTls(options: TlsUpgradeOptions): Promise<TlsSocketResult> {
    const raw = this.#detach();
    const events = new SocketEvents();
    this.#upgrading = true;
    try {
      const { socket, details } = await upgradeTls(raw, options, events);
      return { socket: new BunSocket(socket, events), details };
    } finally {
      this.#upgrading = false;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#rejectUnsent(closedError());
    const events = this.#events;
    events.queue.end();

    // After a finished upgrade the TLS socket owns the connection, but a handshake still
    // running is aborted.
    const socket = this.#socket;
    if (this.#detached) {
      if (this.#upgrading) socket.terminate();
      return;
    }
    events.muted = true;
    socket.end();
    const timer = setTimeout(() => socket.terminate(), CLOSE_GRACE_MS);
    timer.unref?.();
  }

  /**
   * Stop reading and hand the raw socket over, for a TLS handshake. Chunks still queued are
   * dropped, because RFC 3207 forbids using anything received before the handshake after it.
   * This object then reads as ended and rejects writes.
   */
  #detach(): Bun.Socket {
    if (this.#closed || this.#detached) throw closedError();
    this.#detached = true;

    const events = this.#events;
    // Bun keeps calling the plain handlers with the encrypted records, so mute them.
    events.muted = true;
    events.queue.clear();
    this.#rejectUnsent(closedError());
    return this.#socket;
  }

  #flush(): void {
    while (this.#unsent.length > 0) {
      const pending = this.#unsent[0]!;
      const written = this.#socket.write(pending.bytes);
      if (written < 0) {
        this.#rejectUnsent(closedError());
        return;
      }
      if (written < pending.bytes.length) {
        pending.bytes = pending.bytes.subarray(written);
        return;
      }
      this.#unsent.shift();
      pending.resolve();
    }
  }

  #rejectUnsent(error: Error): void {
    for (const pending of this.#unsent.splice(0)) pending.reject(error);
  }
}

function closedError(): Error {
  return Object.assign(new Error('Write failed: the connection is closed'), { code: 'EPIPE' });
}
