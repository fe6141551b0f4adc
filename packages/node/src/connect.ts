/**
 * Opens connections for the driver: plain TCP, or implicit TLS verified the same way as
 * STARTTLS. Failures reject with an `Error` that keeps Node's `code` and names host and port.
 */
import * as net from 'node:net';
import type * as tls from 'node:tls';
import {
  type ConnectOptions,
  type Connector,
  type ConnectResult,
  wrapConnectionError,
  wrapTlsError,
} from '@mailwire/core';
import { NodeSocket } from './socket.js';
import { buildTlsSettings, describeTls, loadTls, waitForSecureConnect } from './tls.js';

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
    throw wrapConnectionError(error, host, port);
  }

  // SMTP exchanges many short lines, which Nagle's algorithm would hold back.
  socket.setNoDelay(true);
  return { socket: new NodeSocket(socket) };
}

async function connectTls({ host, port, tls: tlsOptions }: ConnectOptions): Promise<ConnectResult> {
  const target = `${host}:${port}`;
  const tlsApi = await loadTls();
  const settings = buildTlsSettings(tlsApi, host, tlsOptions);

  let socket: tls.TLSSocket;
  try {
    socket = tlsApi.connect({ ...settings.options, port });
  } catch (error) {
    throw wrapTlsError(error, target, settings.identity);
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
      ? wrapTlsError(error, target, settings.identity)
      : wrapConnectionError(error, host, port);
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
