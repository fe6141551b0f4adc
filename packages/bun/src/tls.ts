/**
 * TLS for Bun sockets: the STARTTLS upgrade through `socket.upgradeTLS`, and the handshake
 * result of both STARTTLS and implicit TLS turned into `TlsDetails`. Certificate checks follow
 * `rejectUnauthorized`, which defaults to true whatever NODE_TLS_REJECT_UNAUTHORIZED is set to.
 */
import type { TlsDetails, TlsOptions, TlsUpgradeOptions } from '@mailwire/core';
import type { SocketEvents } from './socket.js';

/** The encrypted socket and what the handshake revealed. */
export interface TlsUpgrade {
  socket: Bun.Socket;
  details: TlsDetails;
}

/** Protocol versions in order, for checking `minVersion`, which Bun cannot set itself. */
const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

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

/** Bun's TLS settings for a connection to `host`. */
export function bunTlsOptions(options: TlsOptions, host: string): Bun.TlsOptions {
  const ca = options.ca === undefined ? undefined : [options.ca].flat();
  const identity = options.servername ?? host;
  // Server Name Indication carries host names only. Without `serverName` Bun checks the
  // certificate against the dialled address, which is the identity in that case.
  const serverName = isAddressLiteral(identity) && identity === host ? undefined : identity;
  return { ca, serverName, rejectUnauthorized: options.rejectUnauthorized !== false };
}

function isAddressLiteral(name: string): boolean {
  return name.includes(':') || /^\d{1,3}(\.\d{1,3}){3}$/.test(name);
}

/**
 * Run a client TLS handshake on the connected plain socket `raw`. `events` receives the
 * callbacks of the encrypted socket; Bun keeps delivering the raw records to the old handlers,
 * which the caller has muted.
 */
export async function upgradeTls(
  raw: Bun.Socket,
  options: TlsUpgradeOptions,
  events: SocketEvents,
): Promise<TlsUpgrade> {
  const tls = bunTlsOptions(options, options.host);
  const handshake = waitForHandshake(events, tls);
  let socket: Bun.Socket | undefined;
  try {
    socket = raw.upgradeTLS({ tls, socket: events.handlers })[1];
    const authorizationError = await handshake;
    return { socket, details: describeTls(socket, options, options.host, authorizationError) };
  } catch (error) {
    (socket ?? raw).terminate();
    throw tlsError(error, options.host, tls.serverName ?? options.host);
  }
}

/**
 * Wait for the handshake on the socket behind `events`. Rejects with Bun's verification error
 * (its `code` is the OpenSSL name, for example `UNABLE_TO_VERIFY_LEAF_SIGNATURE`) or with the
 * error that closed the socket. Resolves with the verification error that `tls` chose to
 * ignore, or null.
 */
export function waitForHandshake(events: SocketEvents, tls: Bun.TlsOptions): Promise<Error | null> {
  return new Promise((resolve, reject) => {
    events.onHandshake = (success, error) => {
      const rejected = !success || (error !== null && tls.rejectUnauthorized !== false);
      if (rejected) reject(error ?? new Error('TLS handshake failed'));
      else resolve(error);
    };
  });
}

/**
 * Read the negotiated version, cipher and peer certificate from a TLS socket whose handshake
 * succeeded. Throws when the version is below `minVersion`; the caller closes the socket.
 */
export function describeTls(
  socket: Bun.Socket,
  options: TlsOptions,
  host: string,
  authorizationError: Error | null,
): TlsDetails {
  const protocol = socket.getTLSVersion?.() ?? undefined;
  checkMinVersion(protocol, options.minVersion);

  const certificate = socket.getPeerCertificate?.() ?? null;
  return {
    protocol,
    cipher: socket.getCipher?.()?.name,
    serverName: options.servername ?? host,
    subject: formatName(certificate?.subject),
    issuer: formatName(certificate?.issuer),
    validFrom: formatDate(certificate?.valid_from),
    validTo: formatDate(certificate?.valid_to),
    fingerprint256: certificate?.fingerprint256,
    // With verification on, a failed check ends the handshake, so only a connection kept
    // with verification off gets here unauthorized.
    authorized: authorizationError === null,
    authorizationError: authorizationError?.message,
  };
}

function checkMinVersion(protocol: string | undefined, minVersion: string | undefined): void {
  if (minVersion === undefined) return;
  const lowest = TLS_VERSIONS.indexOf(minVersion);
  const actual = protocol === undefined ? -1 : TLS_VERSIONS.indexOf(protocol);
  if (lowest < 0 || actual >= lowest) return;

  const chosen = protocol ?? 'an unknown version';
  const message = `the server chose ${chosen}, below minVersion ${minVersion}`;
  throw Object.assign(new Error(message), { code: 'ETLS' });
}

/** Format a subject or issuer as `CN=..., O=...`, common name first, RFC 4514 escaping. */
function formatName(name: Record<string, string | string[]> | undefined): string | undefined {
  if (name === undefined) return undefined;
  const entries = Object.entries(name);
  entries.sort(([a], [b]) => Number(b === 'CN') - Number(a === 'CN'));

  const parts: string[] = [];
  for (const [key, value] of entries) {
    for (const item of [value].flat()) parts.push(`${key}=${item.replace(/[\\",+;<>]/g, '\\$&')}`);
  }
  return parts.length === 0 ? undefined : parts.join(', ');
}

/** Convert OpenSSL's `Jan  1 00:00:00 2026 GMT` to ISO 8601, or keep it when unparsable. */
function formatDate(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? value : new Date(time).toISOString();
}

/**
 * Wrap a TLS failure in an `Error` that keeps Bun's `code`, names `target` and, for a
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
    const fix = 'Connect by a name it lists or set tls.servername';
    return `The certificate does not list ${identity}. ${fix}`;
  }
  if (EXPIRY_CODES.has(code)) {
    return 'Renew the server certificate or correct the clock of this machine';
  }
  if (UNTRUSTED_CHAIN_CODES.has(code)) {
    return 'If the server uses a private or self-signed CA, pass its certificate in tls.ca';
  }
  return undefined;
}
