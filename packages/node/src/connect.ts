/**
 * Opens connections for the driver: plain TCP, or implicit TLS verified the same way as
 * STARTTLS. Failures reject with an `Error` that keeps Node's `code` and names host and port.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ConnectOptions, Connector, ConnectResult } from '@mailwire/core';
import { NodeSocket } from './socket.js';
import { buildTlsSettings, describeTls, tlsError, waitForSecureConnect } from './tls.js';

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

/** Connector over `node:net` and `node:tls`. */
export const nodeConnector: Connector = {
  connect(options: ConnectOptions): Promise<ConnectResult> {
    return options.secure ? connectTls(options) : connectPlain(options);
  },
};

async function connectPlain({ host, port }: ConnectOptions): Promise<ConnectResult> {
  const socket = net.connect({ host, port });
  try {
    await waitForEvent(socket, 'connect');
  } catch (error) {
    socket.destroy();
    throw connectionError(error, host, port);
  }

  // SMTP exchanges many short lines, which Nagle's algorithm would hold back.
  socket.setNoDelay(true);
  return { socket: new NodeSocket(socket) };
}

async function connectTls({ host, port, tls: tlsOptions }: ConnectOptions): Promise<ConnectResult> {
  const target = `${host}:${port}`;
  const settings = buildTlsSettings(host, tlsOptions);

  let socket: tls.TLSSocket;
  try {
    socket = tls.connect({ ...settings.options, port });
  } catch (error) {
    throw tlsError(error, target, settings.identity);
  }

  // Errors before TCP is up are connection failures, and later ones belong to the handshake.
  let tcpConnected = false;
  socket.once('connect', () => {
    tcpConnected = true;
  });
  try {
    await waitForSecureConnect(socket);
  } catch (error) {
    socket.destroy();
    throw tcpConnected
      ? tlsError(error, target, settings.identity)
      : connectionError(error, host, port);
  }

  socket.setNoDelay(true);
  return { socket: new NodeSocket(socket), tls: describeTls(socket, settings.identity) };
}

function waitForEvent(socket: net.Socket, event: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onEvent = () => {
      socket.off('error', onError);
      resolve();
    };
    const onError = (error: Error) => {
      socket.off(event, onEvent);
      reject(error);
    };
    socket.once(event, onEvent);
    socket.once('error', onError);
  });
}

/** Wrap a connection failure in an `Error` that keeps Node's `code` and names the target. */
function connectionError(error: unknown, host: string, port: number): Error {
  const cause = error instanceof Error ? error : new Error(String(error));
  const code = (cause as { code?: unknown }).code;
  const codeText = typeof code === 'string' ? code : undefined;

  const known = codeText === undefined ? undefined : CONNECT_FAILURES[codeText];
  const reason = known === undefined ? cause.message : `${known} (${codeText})`;
  const message = `Connection to ${host}:${port} failed: ${reason}`;
  return Object.assign(new Error(message, { cause }), { code: codeText });
}
