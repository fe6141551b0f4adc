/**
 * Opens connections for the driver: plain TCP through `Deno.connect`, or implicit TLS through
 * `Deno.connect` followed by `Deno.startTls`. Failures reject with an `Error` that keeps
 * Deno's `code` (ECONNREFUSED and so on) and names host and port. For a missing permission the
 * message names the `--allow-net` value to add.
 */
import type { ConnectOptions, Connector, ConnectResult } from '@mailwire/core';
import { formatAddress, wrapConnectionError } from '@mailwire/core';
import { DenoSocket } from './socket.ts';
import { tlsError, upgradeTls } from './tls.ts';

/** Connector backed by Deno's TCP and TLS APIs. */
export const denoConnector: Connector = {
  async connect(options: ConnectOptions): Promise<ConnectResult> {
    const { host, port } = options;
    let conn: Deno.TcpConn;
    try {
      conn = await Deno.connect({ hostname: host, port });
    } catch (error) {
      throw connectionError(error, host, port);
    }
    // Commands are small writes; without this, one can wait for a delayed ACK (about 40 ms).
    conn.setNoDelay(true);
    if (!options.secure) return { socket: new DenoSocket(conn) };

    // Deno.connectTls checks the certificate against the dialled host only, so implicit TLS
    // starts TLS on the new TCP connection instead, to let `tls.servername` name another host.
    try {
      const upgrade = await upgradeTls(conn, { ...options.tls, host });
      return { socket: new DenoSocket(upgrade.conn), tls: upgrade.details };
    } catch (error) {
      throw tlsError(error, `${host}:${port}`, options.tls.servername ?? host);
    }
  },
};

/**
 * Deno 2 raises `NotCapable` for a permission the process lacks; Deno 1 raised
 * `PermissionDenied`, which Deno 2 keeps for errors from the operating system.
 */
export function isPermissionError(error: unknown): boolean {
  const { NotCapable, PermissionDenied } = Deno.errors;
  if (NotCapable !== undefined) return error instanceof NotCapable;
  return error instanceof PermissionDenied;
}

/**
 * Wrap a connection failure in an `Error` that keeps Deno's `code` and names the target. A
 * missing permission gets the `--allow-net` value to add.
 */
function connectionError(error: unknown, host: string, port: number): Error {
  if (!isPermissionError(error)) return wrapConnectionError(error, host, port);
  const cause = error instanceof Error ? error : new Error(String(error));
  const address = formatAddress(host, port);
  const message =
    `Connection to ${address} failed: network access is not allowed. ` +
    `Run Deno with --allow-net=${address}`;
  return Object.assign(new Error(message, { cause }), { code: 'EACCES' });
}
