import { X509Certificate } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { testCertificates } from '../../../test/support/certs.js';
import { NodeSocket } from './socket.js';

interface StartTlsServerOptions {
  /** Certificate the server presents. Default `trusted`, signed by the test CA. */
  certificate?: 'trusted' | 'untrusted';
  /** Plain text written after the 220 reply, before the handshake. */
  injected?: string;
  /** Start TLS after STARTTLS. Default true. With false the client's handshake never ends. */
  handshake?: boolean;
}

const certificates = testCertificates();
const servers: net.Server[] = [];
const serverSockets = new Set<net.Socket>();
const encoder = new TextEncoder();

afterEach(async () => {
  for (const socket of serverSockets) socket.destroy();
  serverSockets.clear();
  await Promise.all(servers.splice(0).map((server) => new Promise((done) => server.close(done))));
});

/**
 * A server that greets, replies 220 to STARTTLS, switches to TLS and then writes
 * `250 secured` inside the encrypted connection.
 */
async function startStartTlsServer(options: StartTlsServerOptions = {}): Promise<number> {
  const untrusted = options.certificate === 'untrusted';
  const key = untrusted ? certificates.untrustedKeyPem : certificates.serverKeyPem;
  const cert = untrusted ? certificates.untrustedCertPem : certificates.serverCertPem;

  const server = net.createServer((socket) => {
    serverSockets.add(socket);
    socket.on('error', () => undefined);
    socket.write('220 mx.example.test ESMTP\r\n');
    socket.once('data', async () => {
      socket.write('220 2.0.0 Ready to start TLS\r\n');
      if (options.injected !== undefined) {
        await delay(30);
        socket.write(options.injected);
      }
      if (options.handshake === false) return;

      const secure = new tls.TLSSocket(socket, { isServer: true, key, cert });
      secure.on('error', () => undefined);
      secure.once('secure', () => secure.write('250 secured\r\n'));
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

/** Connect, read the greeting, send STARTTLS and read its 220 reply. */
async function connectAndStartTls(port: number): Promise<NodeSocket> {
  const raw = net.connect({ host: '127.0.0.1', port });
  await new Promise((resolve, reject) => {
    raw.once('connect', resolve);
    raw.once('error', reject);
  });
  const socket = new NodeSocket(raw);

  await readLine(socket, '220 mx.example.test');
  await socket.write(encoder.encode('STARTTLS\r\n'));
  await readLine(socket, '220 2.0.0');
  return socket;
}

async function readLine(socket: Pick<NodeSocket, 'read'>, prefix: string): Promise<string> {
  const chunk = await socket.read();
  const text = chunk === null ? '' : Buffer.from(chunk).toString();
  expect(text.startsWith(prefix)).toBe(true);
  return text;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('upgradeTls', () => {
  it('verifies the server with the CA and fills the details', async () => {
    const port = await startStartTlsServer();
    const plain = await connectAndStartTls(port);

    const { socket, details } = await plain.upgradeTls({
      host: '127.0.0.1',
      ca: certificates.caPem,
    });
    const certificate = new X509Certificate(certificates.serverCertPem);

    expect(details.authorized).toBe(true);
    expect(details.authorizationError).toBeUndefined();
    expect(details.protocol).toBe('TLSv1.3');
    expect(details.cipher).toMatch(/^TLS_/);
    expect(details.serverName).toBe('127.0.0.1');
    expect(details.subject).toBe('CN=localhost, O=mailwire tests');
    expect(details.issuer).toBe('CN=mailwire test CA, O=mailwire tests');
    expect(details.validFrom).toBe(new Date(certificate.validFrom).toISOString());
    expect(details.validTo).toBe(new Date(certificate.validTo).toISOString());
    expect(details.fingerprint256).toBe(certificate.fingerprint256);
    expect(await readLine(socket, '250')).toBe('250 secured\r\n');
    socket.close();
  });

  it('verifies the server by host name', async () => {
    const port = await startStartTlsServer();
    const plain = await connectAndStartTls(port);

    const { socket, details } = await plain.upgradeTls({
      host: 'localhost',
      ca: certificates.caPem,
    });

    expect(details.authorized).toBe(true);
    expect(details.serverName).toBe('localhost');
    socket.close();
  });

  it('rejects a server whose CA is not trusted and keeps the code', async () => {
    const port = await startStartTlsServer();
    const plain = await connectAndStartTls(port);

    const error = await plain.upgradeTls({ host: '127.0.0.1' }).catch((reason) => reason);

    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(error.message).toContain('127.0.0.1');
    expect(error.message).toContain('tls.ca');
  });

  it('rejects a self-signed certificate', async () => {
    const port = await startStartTlsServer({ certificate: 'untrusted' });
    const plain = await connectAndStartTls(port);

    const error = await plain
      .upgradeTls({ host: 'localhost', ca: certificates.caPem })
      .catch((reason) => reason);

    expect(error.code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(error.message).toContain('localhost');
  });

  it('rejects a certificate for another name', async () => {
    const port = await startStartTlsServer();
    const plain = await connectAndStartTls(port);

    const error = await plain
      .upgradeTls({ host: '127.0.0.1', servername: 'mx.example.test', ca: certificates.caPem })
      .catch((reason) => reason);

    expect(error.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(error.message).toContain('mx.example.test');
    expect(error.message).toContain('tls.servername');
  });

  it('reports the failure when verification is off', async () => {
    const port = await startStartTlsServer({ certificate: 'untrusted' });
    const plain = await connectAndStartTls(port);

    const { socket, details } = await plain.upgradeTls({
      host: 'localhost',
      rejectUnauthorized: false,
    });

    expect(details.authorized).toBe(false);
    expect(details.authorizationError).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(details.subject).toBe('CN=localhost, O=mailwire tests');
    socket.close();
  });

  it('discards bytes received before the handshake', async () => {
    const port = await startStartTlsServer({ injected: '250 injected\r\n' });
    const plain = await connectAndStartTls(port);
    // Let the injected line arrive and wait in the queue.
    await delay(100);

    const { socket } = await plain.upgradeTls({ host: '127.0.0.1', ca: certificates.caPem });

    expect(await readLine(socket, '250')).toBe('250 secured\r\n');
    expect(await plain.read()).toBeNull();
    socket.close();
  });

  it('aborts a handshake in progress on close', async () => {
    const port = await startStartTlsServer({ handshake: false });
    const plain = await connectAndStartTls(port);

    const upgrade = plain.upgradeTls({ host: '127.0.0.1', ca: certificates.caPem });
    await delay(50);
    plain.close();

    await expect(upgrade).rejects.toThrow(/TLS handshake with 127\.0\.0\.1 failed/);
  });

  it('rejects an invalid minimum version', async () => {
    const port = await startStartTlsServer();
    const plain = await connectAndStartTls(port);

    const error = await plain
      .upgradeTls({ host: '127.0.0.1', ca: certificates.caPem, minVersion: 'TLSv9' })
      .catch((reason) => reason);

    expect(error.code).toBe('ERR_TLS_INVALID_PROTOCOL_VERSION');
  });
});
