import { X509Certificate } from 'node:crypto';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCertificates } from './certs.ts';

interface HandshakeOutcome {
  authorized: boolean;
  error?: string;
}

function handshake(port: number, host: string, ca?: string): Promise<HandshakeOutcome> {
  return new Promise((resolve) => {
    const servername = host === '127.0.0.1' ? undefined : host;
    const socket = tls.connect({ host: '127.0.0.1', port, servername, ca });
    // Check the name under test, not the address the socket dials.
    socket.once('secureConnect', () => {
      resolve({ authorized: socket.authorized });
      socket.destroy();
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      resolve({ authorized: false, error: error.code });
      socket.destroy();
    });
  });
}

function listen(key: string, cert: string): Promise<tls.Server> {
  const server = tls.createServer({ key, cert }, (socket) => socket.end());
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('testCertificates', () => {
  let trusted: tls.Server;
  let untrusted: tls.Server;
  const certificates = testCertificates();
  const port = (server: tls.Server) => (server.address() as { port: number }).port;

  beforeAll(async () => {
    trusted = await listen(certificates.serverKeyPem, certificates.serverCertPem);
    untrusted = await listen(certificates.untrustedKeyPem, certificates.untrustedCertPem);
  });

  afterAll(() => {
    trusted.close();
    untrusted.close();
  });

  it('returns the same certificates on every call', () => {
    expect(testCertificates()).toBe(certificates);
  });

  it('verifies the server certificate for 127.0.0.1 with the CA', async () => {
    expect(await handshake(port(trusted), '127.0.0.1', certificates.caPem)).toEqual({
      authorized: true,
    });
  });

  it('verifies the server certificate for localhost with the CA', async () => {
    expect(await handshake(port(trusted), 'localhost', certificates.caPem)).toEqual({
      authorized: true,
    });
  });

  it('rejects the server certificate without the CA', async () => {
    const outcome = await handshake(port(trusted), 'localhost');
    expect(outcome.error).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('rejects the server certificate for another name', async () => {
    const outcome = await handshake(port(trusted), 'mx.example.test', certificates.caPem);
    expect(outcome.error).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('rejects the self-signed certificate even with the CA', async () => {
    const outcome = await handshake(port(untrusted), 'localhost', certificates.caPem);
    expect(outcome.error).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  it('sets CA and server extensions', () => {
    const ca = new X509Certificate(certificates.caPem);
    const server = new X509Certificate(certificates.serverCertPem);
    expect(ca.ca).toBe(true);
    expect(server.ca).toBe(false);
    expect(server.checkIssued(ca)).toBe(true);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.keyUsage).toContain('1.3.6.1.5.5.7.3.1');
    expect(server.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
  });

  it('starts validity a day in the past', () => {
    const server = new X509Certificate(certificates.serverCertPem);
    const startsAgo = Date.now() - Date.parse(server.validFrom);
    expect(startsAgo).toBeGreaterThan(23 * 60 * 60 * 1000);
  });
});
