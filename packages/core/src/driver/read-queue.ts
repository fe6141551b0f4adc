/**
 * Pull-based reads over a socket that pushes its bytes through callbacks, as Node's and
 * Bun's do. The adapter calls `push` and `end` from its callbacks and implements
 * `SocketLike.read()` with `read()`. Bytes are handed out in arrival order and never parsed.
 */

/** Queued octets at which the queue pauses the socket through the adapter's `ReadFlow`. */
const DEFAULT_MAX_QUEUED_BYTES = 256 * 1024;

/** Pausing and resuming the socket, supplied by the adapter. */
export interface ReadFlow {
  pause(): void;
  resume(): void;
}

interface PendingRead {
  resolve(chunk: Uint8Array | null): void;
  reject(error: Error): void;
}

export class ReadQueue {
  private chunks: Uint8Array[] = [];
  private queuedBytes = 0;
  private readers: PendingRead[] = [];
  private paused = false;
  private streamEnded = false;
  private endError: Error | null = null;

  constructor(
    private readonly flow: ReadFlow,
    private readonly maxQueuedBytes = DEFAULT_MAX_QUEUED_BYTES,
  ) {}

  /** True once the stream ended, by the peer, an error, `end()` or `clear()`. */
  get ended(): boolean {
    return this.streamEnded;
  }

  /** The error that ended the stream, or null. */
  get failure(): Error | null {
    return this.endError;
  }

  /** Take bytes from the socket: the oldest waiting read gets them, or they are queued. */
  push(chunk: Uint8Array): void {
    if (this.streamEnded) return;
    const reader = this.readers.shift();
    if (reader) {
      reader.resolve(chunk);
      return;
    }
    this.chunks.push(chunk);
    this.queuedBytes += chunk.length;
    if (!this.paused && this.queuedBytes >= this.maxQueuedBytes) {
      this.paused = true;
      this.flow.pause();
    }
  }

  /**
   * Mark the end of the stream, with the error that ended it, if any. Waiting reads get null
   * or the error; queued bytes can still be read first. Later calls change nothing.
   */
  end(error: Error | null = null): void {
    if (this.streamEnded) return;
    this.streamEnded = true;
    this.endError = error;
    for (const reader of this.readers.splice(0)) {
      if (error) reader.reject(error);
      else reader.resolve(null);
    }
  }

  /** Drop the queued bytes and end the stream, as before a TLS handshake takes the socket. */
  clear(): void {
    this.chunks = [];
    this.queuedBytes = 0;
    this.end();
  }

  /** Return the next chunk, or null once the stream ended, or reject with its error. */
  read(): Promise<Uint8Array | null> {
    const chunk = this.chunks.shift();
    if (chunk !== undefined) {
      this.queuedBytes -= chunk.length;
      if (this.paused && this.queuedBytes < this.maxQueuedBytes) {
        this.paused = false;
        this.flow.resume();
      }
      return Promise.resolve(chunk);
    }
    if (this.endError) return Promise.reject(this.endError);
    if (this.streamEnded) return Promise.resolve(null);
    return new Promise((resolve, reject) => this.readers.push({ resolve, reject }));
  }
}
