/**
 * TLS for the Node adapter: the STARTTLS handshake on a plain socket, the options shared
 * with implicit TLS, the `TlsDetails` record and readable verification errors. Verification
 * is on unless the caller turns it off, and nothing here falls back to an unverified
 * connection.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { TlsDetails, TlsOptions, TlsUpgradeOptions } from '@mailwire/core';

/** OpenSSL codes for a certificate chain that could not be verified against the trusted CAs. */
const UNTRUSTED_CHAIN_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'INVALID_CA',
  'CERT_SIGNATURE_FAILURE',
]);

const EXPIRY_CODES = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

const NAME_MISMATCH_CODE = 'ERR_TLS_CERT_ALTNAME_INVALID';

/** `tls.connect` options for `host`, plus the name the certificate is checked against. */
export interface TlsConnectSettings {
  options: tls.ConnectionOptions;
  /** Name checked against the certificate: `tls.servername` when given, otherwise the host. */
  identity: string;
}

/** Translate the adapter-neutral TLS options into `tls.connect` options for `host`. */
export function buildTlsSettings(host: string, options: TlsOptions): TlsConnectSettings {
  const identity = options.servername ?? host;
  const connectOptions: tls.ConnectionOptions = {
    host,
    rejectUnauthorized: options.rejectUnauthorized ?? true,
    checkServerIdentity: (_name, certificate) => tls.checkServerIdentity(identity, certificate),
  };

  // RFC 6066 §3: SNI carries host names only, never an address literal. Without a servername
  // the identity check above still runs against the address.
  if (net.isIP(identity) === 0) connectOptions.servername = identity;
  if (options.ca !== undefined) {
    connectOptions.ca = typeof options.ca === 'string' ? options.ca : [...options.ca];
  }
  if (options.minVersion !== undefined) {
    connectOptions.minVersion = options.minVersion as tls.SecureVersion;
  }
  return { options: connectOptions, identity };
}

/**
 * Run the client side of a STARTTLS handshake on `socket`, which must no longer have readers
 * of its own. Rejects with an `Error` that keeps Node's `code` when verification or the
 * handshake fails, and destroys the connection then.
 */
export async function upgradeTls(
  socket: net.Socket,
  options: TlsUpgradeOptions,
): Promise<{ socket: tls.TLSSocket; details: TlsDetails }> {
  const settings = buildTlsSettings(options.host, options);

  let secure: tls.TLSSocket;
  try {
    secure = tls.connect({ ...settings.options, socket });
  } catch (error) {
    socket.destroy();
    throw tlsError(error, options.host, settings.identity);
  }

  try {
    await waitForSecureConnect(secure);
  } catch (error) {
    secure.destroy();
    socket.destroy();
    throw tlsError(error, options.host, settings.identity);
  }
  return { socket: secure, details: describeTls(secure, settings.identity) };
}

/** Resolve on 'secureConnect'; reject on 'error' or when the socket closes first. */
export function waitForSecureConnect(socket: tls.TLSSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: Error) => {
      socket.off('secureConnect', onSecure);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onSecure = () => settle();
    const onError = (error: Error) => settle(error);
    const onClose = () => {
      const message = 'Connection closed before the TLS handshake finished';
      settle(Object.assign(new Error(message), { code: 'ECONNRESET' }));
    };
    socket.on('secureConnect', onSecure);
    socket.on('error', onError);
    socket.on('close', onClose);
  });
}

/** Describe an established TLS connection for the transcript and for `verify()`. */
export function describeTls(socket: tls.TLSSocket, serverName: string): TlsDetails {
  // getPeerCertificate() returns an empty object when the server sent no certificate.
  const certificate: Partial<tls.PeerCertificate> = socket.getPeerCertificate();
  // Node leaves authorizationError null once verification succeeded.
  const authorizationError = socket.authorizationError as Error | string | null | undefined;

  return {
    protocol: socket.getProtocol() ?? undefined,
    cipher: socket.getCipher()?.name,
    serverName,
    subject: formatDistinguishedName(certificate.subject),
    issuer: formatDistinguishedName(certificate.issuer),
    validFrom: formatCertificateDate(certificate.valid_from),
    validTo: formatCertificateDate(certificate.valid_to),
    fingerprint256: certificate.fingerprint256,
    authorized: socket.authorized,
    authorizationError: authorizationError == null ? undefined : String(authorizationError),
  };
}

/**
 * Wrap a TLS failure in an `Error` that keeps Node's `code`, names `target` and, for a
 * certificate that failed verification, adds what to change.
 */
export function tlsError(error: unknown, target: string, identity: string): Error {
  const cause = error instanceof Error ? error : new Error(String(error));
  const code = (cause as { code?: unknown }).code;
  const codeText = typeof code === 'string' ? code : undefined;
  const reason = codeText === undefined ? cause.message : `${cause.message} (${codeText})`;

  const advice = verificationAdvice(codeText, identity);
  const message =
    advice === undefined
      ? `TLS handshake with ${target} failed: ${reason}`
      : `TLS certificate of ${target} was rejected: ${reason}. ${advice}`;
  return Object.assign(new Error(message, { cause }), { code: codeText });
}

function verificationAdvice(code: string | undefined, identity: string): string | undefined {
  if (code === undefined) return undefined;
  if (code === NAME_MISMATCH_CODE) {
    return `The certificate does not list ${identity}. Connect by a name it lists or set tls.servername`;
  }
  if (EXPIRY_CODES.has(code)) {
    return 'Renew the server certificate or correct the clock of this machine';
  }
  if (UNTRUSTED_CHAIN_CODES.has(code)) {
    return 'If the server uses a private or self-signed CA, pass its certificate in tls.ca';
  }
  return undefined;
}

/** Format a subject or issuer as `CN=..., O=...`, common name first, RFC 4514 escaping. */
function formatDistinguishedName(name: tls.Certificate | undefined): string | undefined {
  if (name === undefined) return undefined;
  const entries = Object.entries(name as unknown as Record<string, string | string[]>);
  entries.sort(([a], [b]) => Number(b === 'CN') - Number(a === 'CN'));

  const parts: string[] = [];
  for (const [key, value] of entries) {
    for (const item of Array.isArray(value) ? value : [value]) {
      parts.push(`${key}=${item.replace(/[\\",+;<>]/g, '\\$&')}`);
    }
  }
  return parts.length === 0 ? undefined : parts.join(', ');
}

/** Convert OpenSSL's `Jan  1 00:00:00 2026 GMT` to ISO 8601, or keep it when unparsable. */
function formatCertificateDate(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? value : new Date(time).toISOString();
}
