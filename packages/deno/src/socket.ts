/**
 * `SocketLike` over a Deno connection: reads pulled straight from the connection, writes that
 * loop until every byte is taken, and an idempotent close. It never parses SMTP; bytes go to
 * core exactly as they arrived.
 */
import type { SocketLike, TlsSocketResult, TlsUpgradeOptions } from '@mailwire/core';
import { closeQuietly, tlsError, upgradeTls } from './tls.ts';

/** Size of the buffer handed to each `Conn.read`. */
const READ_BUFFER_BYTES = 16 * 1024;

/** `SocketLike` over a connected `Deno.TcpConn` or `Deno.TlsConn`. */
export class DenoSocket implements SocketLike {
  readonly localAddress: string | undefined;
  readonly remoteAddress: string | undefined;

  #conn: Deno.TcpConn | Deno.TlsConn;
  #closed = false;
  #detached = false;
  /** TLS connection whose handshake is running, closed by `close()` to abort it. */
  #handshaking: Deno.TlsConn | null = null;

  constructor(conn: Deno.TcpConn | Deno.TlsConn) {
    this.#conn = conn;
    this.localAddress = conn.localAddr.hostname;
    this.remoteAddress = conn.remoteAddr.hostname;
  }

  async read(): Promise<Uint8Array | null> {
    if (this.#closed || this.#detached) return null;

    const buffer = new Uint8Array(READ_BUFFER_BYTES);
    try {
      const count = await this.#conn.read(buffer);
      return count === null ? null : buffer.subarray(0, count);
    } catch (error) {
      // Closing the connection interrupts a pending read; that is an end, not a failure.
      if (this.#closed || this.#detached) return null;
      throw error;
    }
  }

  async write(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) {
      if (this.#closed || this.#detached) throw closedError();
      offset += await this.#conn.write(bytes.subarray(offset));
    }
  }

  /**
   * Hand the connection to `Deno.startTls`. Deno takes the TCP connection over, so this object
   * then reads as ended and rejects writes.
   */
  async upgradeTls(options: TlsUpgradeOptions): Promise<TlsSocketResult> {
    if (this.#closed || this.#detached) throw closedError();

    // NOTE: Deno.startTls fails while a read() on this socket is still pending, so callers
    // must not have one outstanding. This socket keeps no read buffer, so no plaintext byte
    // received before the handshake can be read after it, as RFC 3207 requires.
    this.#detached = true;
    const track = (conn: Deno.TlsConn) => {
      this.#handshaking = conn;
    };
    try {
      const { conn, details } = await upgradeTls(this.#conn as Deno.TcpConn, options, track);
      return { socket: new DenoSocket(conn), details };
    } catch (error) {
      throw tlsError(error, options.host, options.servername ?? options.host);
    } finally {
      this.#handshaking = null;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // After a finished upgrade the TLS connection owns the socket, but a handshake still
    // running is aborted.
    const conn = this.#detached ? this.#handshaking : this.#conn;
    if (conn) closeQuietly(conn);
  }
}

function closedError(): Error {
  return Object.assign(new Error('Write failed: the connection is closed'), { code: 'EPIPE' });
}
