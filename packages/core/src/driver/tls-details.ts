/**
 * Certificate fields of `TlsDetails`, read from a peer certificate in the shape that Node's
 * `getPeerCertificate()` returns (Bun returns the same shape). Pure formatting: it never
 * touches a socket.
 */
import type { TlsDetails } from './contracts.js';

/** Fields of a Node-style peer certificate object; all are missing when no certificate came. */
export interface PeerCertificateFields {
  subject?: Readonly<Record<string, string | string[]>>;
  issuer?: Readonly<Record<string, string | string[]>>;
  /** OpenSSL date text, for example `Jan  1 00:00:00 2026 GMT`. */
  valid_from?: string;
  valid_to?: string;
  fingerprint256?: string;
}

/** Certificate part of `TlsDetails`: subject, issuer, validity and SHA-256 fingerprint. */
export type CertificateDetails = Pick<
  TlsDetails,
  'subject' | 'issuer' | 'validFrom' | 'validTo' | 'fingerprint256'
>;

/** Convert a Node-style peer certificate into the certificate fields of `TlsDetails`. */
export function describeCertificate(certificate: PeerCertificateFields): CertificateDetails {
  return {
    subject: formatDistinguishedName(certificate.subject),
    issuer: formatDistinguishedName(certificate.issuer),
    validFrom: formatCertificateDate(certificate.valid_from),
    validTo: formatCertificateDate(certificate.valid_to),
    fingerprint256: certificate.fingerprint256,
  };
}

/** Format a subject or issuer as `CN=..., O=...`, common name first, RFC 4514 escaping. */
function formatDistinguishedName(
  name: Readonly<Record<string, string | string[]>> | undefined,
): string | undefined {
  if (name === undefined) return undefined;
  const entries = Object.entries(name);
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
