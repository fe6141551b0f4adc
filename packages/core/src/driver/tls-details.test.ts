import { describe, expect, it } from 'vitest';
import { describeCertificate } from './tls-details.js';

describe('describeCertificate', () => {
  it('puts the common name first and escapes special characters', () => {
    const details = describeCertificate({
      subject: { O: 'Example, Inc.', CN: 'mx.example.test' },
      issuer: { CN: 'Test CA', OU: ['Mail', 'Ops'] },
    });

    expect(details.subject).toBe('CN=mx.example.test, O=Example\\, Inc.');
    expect(details.issuer).toBe('CN=Test CA, OU=Mail, OU=Ops');
  });

  it('converts OpenSSL dates to ISO 8601', () => {
    const details = describeCertificate({
      valid_from: 'Jan  1 00:00:00 2026 GMT',
      valid_to: 'not a date',
    });

    expect(details.validFrom).toBe('2026-01-01T00:00:00.000Z');
    expect(details.validTo).toBe('not a date');
  });

  it('leaves every field undefined without a certificate', () => {
    expect(describeCertificate({})).toEqual({
      subject: undefined,
      issuer: undefined,
      validFrom: undefined,
      validTo: undefined,
      fingerprint256: undefined,
    });
  });
});
