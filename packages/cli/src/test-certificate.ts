/**
 * A throwaway certificate authority and a server certificate it signs for localhost and
 * 127.0.0.1, for the replay server. Keys come from node:crypto and certificates are built
 * with node-forge. For local testing only: the keys live in memory and expire in a day.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type forge from 'node-forge';

/** PEM texts of a generated test certificate chain. */
export interface TestCertificate {
  /** CA certificate; clients trust the server with `--ca` pointing at this. */
  caPem: string;
  certPem: string;
  keyPem: string;
}

const HOUR_MS = 60 * 60 * 1000;

/** Generate a CA and a server certificate for localhost and 127.0.0.1. */
export async function generateTestCertificate(): Promise<TestCertificate> {
  // Loaded on demand: only a replay of a TLS recording needs it.
  const { default: forge } = await import('node-forge');

  const keys = () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    return {
      pem: privateKey,
      privateKey: forge.pki.privateKeyFromPem(privateKey),
      publicKey: forge.pki.publicKeyFromPem(publicKey),
    };
  };
  const create = (publicKey: forge.pki.PublicKey, commonName: string) => {
    const certificate = forge.pki.createCertificate();
    certificate.publicKey = publicKey;
    // A positive serial number: the top bit of the first byte is cleared.
    const serial = randomBytes(16);
    serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x01;
    certificate.serialNumber = serial.toString('hex');
    // An hour of slack keeps the certificate valid when clocks differ a little.
    certificate.validity.notBefore = new Date(Date.now() - HOUR_MS);
    certificate.validity.notAfter = new Date(Date.now() + 24 * HOUR_MS);
    certificate.setSubject([
      { name: 'commonName', value: commonName },
      { name: 'organizationName', value: 'mailwire replay' },
    ]);
    return certificate;
  };

  const caKeys = keys();
  const ca = create(caKeys.publicKey, 'mailwire replay test CA');
  ca.setIssuer(ca.subject.attributes);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKeys.privateKey as forge.pki.rsa.PrivateKey, forge.md.sha256.create());

  const serverKeys = keys();
  const server = create(serverKeys.publicKey, 'localhost');
  server.setIssuer(ca.subject.attributes);
  server.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 2, value: 'localhost' },
        { type: 7, ip: '127.0.0.1' },
      ],
    },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
  ]);
  server.sign(caKeys.privateKey as forge.pki.rsa.PrivateKey, forge.md.sha256.create());

  return {
    caPem: forge.pki.certificateToPem(ca),
    certPem: forge.pki.certificateToPem(server),
    keyPem: serverKeys.pem,
  };
}
