import * as net from 'node:net';
import * as tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { testCertificates } from '../../../test/support/certs.js';
import { nodeConnector } from './connect.js';

const certificates = testCertificates();
const servers: net.Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((done) => server.close(done))));
});

/** Greet every client with one line, then close, over TLS or plain TCP. */
async function startGreetingServer(secure: boolean): Promise<number> {
  const greet = (socket: net.Socket) => {
    socket.on('error', () => undefined);
    socket.end('220 mx.example.test ESMTP\r\n');
  };
  const server = secure
    ? tls.createServer({ key: certificates.serverKeyPem, cert: certificates.serverCertPem }, greet)
    : net.createServer(greet);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

/** A port on 127.0.0.1 that nothing listens on: listen, note the port, close. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('nodeConnector', () => {
  it('opens a plain connection', async () => {
    const port = await startGreetingServer(false);

    const { socket, tls: details } = await nodeConnector.connect({
      host: '127.0.0.1',
      port,
      secure: false,
      tls: {},
    });

    expect(details).toBeUndefined();
    expect(socket.remoteAddress).toBe('127.0.0.1');
    const greeting = await socket.read();
    expect(Buffer.from(greeting ?? []).toString()).toBe('220 mx.example.test ESMTP\r\n');
    socket.close();
  });

  it('opens implicit TLS verified with the CA', async () => {
    const port = await startGreetingServer(true);

    const { socket, tls: details } = await nodeConnector.connect({
      host: 'localhost',
      port,
      secure: true,
      tls: { ca: certificates.caPem },
    });

    expect(details?.authorized).toBe(true);
    expect(details?.serverName).toBe('localhost');
    expect(details?.subject).toBe('CN=localhost, O=mailwire tests');
    const greeting = await socket.read();
    expect(Buffer.from(greeting ?? []).toString()).toBe('220 mx.example.test ESMTP\r\n');
    socket.close();
  });

  it('rejects implicit TLS without the CA and keeps the code', async () => {
    const port = await startGreetingServer(true);

    const error = await nodeConnector
      .connect({ host: '127.0.0.1', port, secure: true, tls: {} })
      .catch((reason) => reason);

    expect(error.code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).toContain('tls.ca');
  });

  it('names host and port when the connection is refused', async () => {
    const port = await closedPort();

    const error = await nodeConnector
      .connect({ host: '127.0.0.1', port, secure: false, tls: {} })
      .catch((reason) => reason);

    expect(error.code).toBe('ECONNREFUSED');
    expect(error.message).toBe(
      `Connection to 127.0.0.1:${port} failed: connection refused (ECONNREFUSED)`,
    );
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('reports a refused implicit TLS connection as a connection failure', async () => {
    const port = await closedPort();

    const error = await nodeConnector
      .connect({ host: '127.0.0.1', port, secure: true, tls: {} })
      .catch((reason) => reason);

    expect(error.code).toBe('ECONNREFUSED');
    expect(error.message).toContain(`Connection to 127.0.0.1:${port} failed`);
  });
});
