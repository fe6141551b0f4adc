import { describe, expect, it } from 'vitest';
import { wrapConnectionError, wrapTlsError } from './connection-errors.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('wrapConnectionError', () => {
  it('words a known code and keeps it', () => {
    const cause = withCode('connect ECONNREFUSED 127.0.0.1:25', 'ECONNREFUSED');
    const error = wrapConnectionError(cause, '127.0.0.1', 25);

    expect(error.message).toBe(
      'Connection to 127.0.0.1:25 failed: connection refused (ECONNREFUSED)',
    );
    expect((error as { code?: string }).code).toBe('ECONNREFUSED');
    expect(error.cause).toBe(cause);
  });

  it('puts an IPv6 address in brackets', () => {
    const error = wrapConnectionError(withCode('refused', 'ECONNREFUSED'), '::1', 25);

    expect(error.message).toBe('Connection to [::1]:25 failed: connection refused (ECONNREFUSED)');
  });

  it('keeps the original message for an unknown code', () => {
    const error = wrapConnectionError('socket gone', 'mx.example.test', 587);

    expect(error.message).toBe('Connection to mx.example.test:587 failed: socket gone');
    expect((error as { code?: string }).code).toBeUndefined();
  });
});

describe('wrapTlsError', () => {
  it.each([
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'does not list mx.example.test'],
    ['CERT_HAS_EXPIRED', 'Renew the server certificate'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'pass its certificate in tls.ca'],
  ])('adds advice for %s', (code, advice) => {
    const error = wrapTlsError(withCode('bad certificate', code), 'host:465', 'mx.example.test');

    expect(error.message).toMatch(/^TLS certificate of host:465 was rejected: bad certificate/);
    expect(error.message).toContain(advice);
    expect((error as { code?: string }).code).toBe(code);
  });

  it('reports other failures as a failed handshake', () => {
    const error = wrapTlsError(withCode('socket hang up', 'ECONNRESET'), 'host:465', 'host');

    expect(error.message).toBe('TLS handshake with host:465 failed: socket hang up (ECONNRESET)');
  });
});
