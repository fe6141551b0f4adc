/**
 * The transcript line that records a TLS handshake: version, cipher, server name,
 * certificate and verification result.
 */
import type { TlsDetails } from './contracts.js';

/** Describe a finished handshake in one event line. */
export function describeTls(details: TlsDetails): string {
  const parts = [`TLS started: ${details.protocol ?? 'unknown protocol'}`];
  if (details.cipher) parts.push(`cipher ${details.cipher}`);
  if (details.serverName) parts.push(`server name '${details.serverName}'`);
  if (details.subject) parts.push(`certificate subject '${details.subject}'`);
  if (details.issuer) parts.push(`issuer '${details.issuer}'`);
  if (details.validFrom || details.validTo) {
    parts.push(`valid ${details.validFrom ?? '?'} to ${details.validTo ?? '?'}`);
  }
  if (details.fingerprint256) parts.push(`SHA-256 ${details.fingerprint256}`);
  parts.push(
    details.authorized
      ? 'verified'
      : `NOT verified (${details.authorizationError ?? 'verification disabled'})`,
  );
  return parts.join(', ');
}
