/**
 * Opens connections for the driver through `Bun.connect`: plain TCP, or implicit TLS with the
 * handshake finished before the socket is returned. Failures reject with an `Error` that
 * keeps Bun's `code` and names host and port.
 */
import {
  type ConnectOptions,
  type Connector,
  type ConnectResult,
  wrapConnectionError,
  wrapTlsError,
} from '@mailwire/core';
import { BunSocket, SocketEvents } from './socket.js';
import { bunTlsOptions, describeTls, waitForHandshake } from './tls.js';

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
    throw wrapConnectionError(error, host, port);
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
    throw wrapConnectionError(error, host, port);
  }
  try {
    const authorizationError = await handshake;
    const details = describeTls(socket, tlsOptions, host, authorizationError);
    return { socket: new BunSocket(socket, events), tls: details };
  } catch (error) {
    socket.terminate();
    throw wrapTlsError(error, `${host}:${port}`, tls.serverName ?? host);
  }
}
