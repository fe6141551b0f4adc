/**
 * Test certificates made at run time: a CA, a server certificate it signs for localhost and
 * 127.0.0.1, and an unrelated self-signed certificate. The extensions follow what strict
 * verifiers (rustls in Deno, BoringSSL in Bun, OpenSSL in Node) require of a CA and a leaf.
 * For tests only: the keys live in memory and are not protected.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface TestCertificates {
  /** CA certificate to pass as `tls.ca`. */
  caPem: string;
  /** Server certificate signed by the CA, valid for DNS localhost and IP 127.0.0.1. */
  serverCertPem: string;
  serverKeyPem: string;
  /** Self-signed certificate for localhost and 127.0.0.1 that no CA vouches for. */
  untrustedCertPem: string;
  untrustedKeyPem: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Days a certificate stays valid, counted from one day before it was made. */
const VALIDITY_DAYS = 365;

const SERVER_NAMES = [
  { type: 2, value: 'localhost' },
  { type: 7, ip: '127.0.0.1' },
];

let cached: TestCertificates | undefined;

/** Return the test certificates, generating them on the first call in this process. */
export function testCertificates(): TestCertificates {
  cached ??= generateCertificates();
  return cached;
}

function generateCertificates(): TestCertificates {
  const caKeys = generateKeys();
  const ca = createCertificate(caKeys, 'mailwire test CA');
  ca.setIssuer(ca.subject.attributes);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKeys.forgePrivate, forge.md.sha256.create());

  const serverKeys = generateKeys();
  const server = createCertificate(serverKeys, 'localhost');
  server.setIssuer(ca.subject.attributes);
  server.setExtensions([
    ...leafExtensions(),
    {
      name: 'authorityKeyIdentifier',
      keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes(),
    },
  ]);
  server.sign(caKeys.forgePrivate, forge.md.sha256.create());

  const untrustedKeys = generateKeys();
  const untrusted = createCertificate(untrustedKeys, 'localhost');
  untrusted.setIssuer(untrusted.subject.attributes);
  untrusted.setExtensions(leafExtensions());
  untrusted.sign(untrustedKeys.forgePrivate, forge.md.sha256.create());

  return {
    caPem: forge.pki.certificateToPem(ca),
    serverCertPem: forge.pki.certificateToPem(server),
    serverKeyPem: serverKeys.pem,
    untrustedCertPem: forge.pki.certificateToPem(untrusted),
    untrustedKeyPem: untrustedKeys.pem,
  };
}

interface KeyPair {
  /** PKCS #8 private key in PEM, the form every runtime's TLS stack reads. */
  pem: string;
  forgePrivate: forge.pki.rsa.PrivateKey;
  forgePublic: forge.pki.rsa.PublicKey;
}

function generateKeys(): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    pem: privateKey,
    forgePrivate: forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey,
    forgePublic: forge.pki.publicKeyFromPem(publicKey) as forge.pki.rsa.PublicKey,
  };
}

function createCertificate(keys: KeyPair, commonName: string): forge.pki.Certificate {
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = keys.forgePublic;
  certificate.serialNumber = serialNumber();

  // Starting a day early keeps the certificate valid on a machine whose clock runs behind.
  const now = Date.now();
  certificate.validity.notBefore = new Date(now - DAY_MS);
  certificate.validity.notAfter = new Date(now + VALIDITY_DAYS * DAY_MS);
  certificate.setSubject([
    { name: 'commonName', value: commonName },
    { name: 'organizationName', value: 'mailwire tests' },
  ]);
  return certificate;
}

function leafExtensions(): object[] {
  return [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: SERVER_NAMES },
    { name: 'subjectKeyIdentifier' },
  ];
}

/** 16 random bytes as hex with the top bit cleared, so the DER integer stays positive. */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString('hex');
}
