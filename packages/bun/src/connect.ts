/**
 * Opens connections for the driver through `Bun.connect`: plain TCP, or implicit TLS with the
 * handshake finished before the socket is returned. Failures reject with an `Error` that
 * keeps Bun's `code` and names host and port.
 */
import type { ConnectOptions, Connector, ConnectResult } from '@mailwire/core';
import { BunSocket, SocketEvents } from './socket.js';
import { bunTlsOptions, describeTls, tlsError, waitForHandshake } from './tls.js';

/** Plain words for the connection failures users meet most. */
const CONNECT_FAILURES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed temporarily',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/** Connector backed by `Bun.connect`. */
export const bunConnector: Connector = {
  connect(options: ConnectOptions): Promise<ConnectResult> {
    return options.secure ? connectTls(options) : connectPlain(options);
  },
};

async function connectPlain({ host, port }: ConnectOptions): Promise<ConnectResult> {
  const events = new SocketEvents();
  try {
    const socket = await Bun.connect({ hostname: host, port, socket: events.handlers });
    return { socket: new BunSocket(socket, events) };
  } catch (error) {
    throw connectionError(error, host, port);
  }
}

async function connectTls({ host, port, tls: tlsOptions }: ConnectOptions): Promise<ConnectResult> {
  const events = new SocketEvents();
  const tls = bunTlsOptions(tlsOptions, host);
  const handshake = waitForHandshake(events, tls);
  // Bun.connect resolves once TCP is up; the handshake result arrives separately.
  handshake.catch(() => undefined);

  let socket: Bun.Socket;
  try {
    socket = await Bun.connect({ hostname: host, port, tls, socket: events.handlers });
  } catch (error) {
    throw connectionError(error, host, port);
  }
  try {
    const authorizationError = await handshake;
    const details = describeTls(socket, tlsOptions, host, authorizationError);
    return { socket: new BunSocket(socket, events), tls: details };
  } catch (error) {
    socket.terminate();
    throw tlsError(error, `${host}:${port}`, tls.serverName ?? host);
  }
}

/** Wrap a connection failure in an `Error` that keeps Bun's `code` and names the target. */
function connectionError(error: unknown, host: string, port: number): Error {
  const cause = error instanceof Error ? error : new Error(String(error));
  const code = (cause as { code?: unknown }).code;
  const codeText = typeof code === 'string' ? code : undefined;

  const known = codeText === undefined ? undefined : CONNECT_FAILURES[codeText];
  const reason = known === undefined ? cause.message : `${known} (${codeText})`;
  const message = `Connection to ${host}:${port} failed: ${reason}`;
  return Object.assign(new Error(message, { cause }), { code: codeText });
}
