/**
 * Readable errors for failed connections and TLS handshakes on runtimes that report Node-style
 * error codes (errno names such as `ECONNREFUSED`, OpenSSL names for certificate checks). The
 * returned `Error` keeps the runtime's `code` and the original error as `cause`.
 */

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

/** Write `host` and `port` as one address, with an IPv6 literal in brackets. */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Wrap a connection failure in an `Error` that keeps the runtime's `code` and names the target. */
export function wrapConnectionError(error: unknown, host: string, port: number): Error {
  const cause = toError(error);
  const codeText = readCode(cause);

  const known = codeText === undefined ? undefined : CONNECT_FAILURES[codeText];
  const reason = known === undefined ? cause.message : `${known} (${codeText})`;
  const message = `Connection to ${formatAddress(host, port)} failed: ${reason}`;
  return Object.assign(new Error(message, { cause }), { code: codeText });
}

/**
 * Wrap a TLS failure in an `Error` that keeps the runtime's `code`, names `target` and, for a
 * certificate that failed verification, adds what to change.
 */
export function wrapTlsError(error: unknown, target: string, identity: string): Error {
  const cause = toError(error);
  const codeText = readCode(cause);
  const reason = codeText === undefined ? cause.message : `${cause.message} (${codeText})`;

  const advice = verificationAdvice(codeText, identity);
  const message =
    advice === undefined
      ? `TLS handshake with ${target} failed: ${reason}`
      : `TLS certificate of ${target} was rejected: ${reason}. ${advice}`;
  return Object.assign(new Error(message, { cause }), { code: codeText });
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function readCode(error: Error): string | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
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
