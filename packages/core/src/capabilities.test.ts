import { describe, expect, it } from 'vitest';
import { hasExtension, parseCapabilities, plainSmtpCapabilities } from './capabilities.js';
import { createReply } from './reply.js';

function ehloReply(...extensions: string[]) {
  const lines = ['mx.example.test greets [192.0.2.10]', ...extensions];
  return createReply(
    250,
    lines.map((text, index) => `250${index === lines.length - 1 ? ' ' : '-'}${text}`),
  );
}

describe('parseCapabilities', () => {
  const capabilities = parseCapabilities(
    ehloReply(
      'SIZE 35882577',
      '8BITMIME',
      'SMTPUTF8',
      'PIPELINING',
      'CHUNKING',
      'DSN',
      'ENHANCEDSTATUSCODES',
      'STARTTLS',
      'AUTH PLAIN LOGIN',
      'AUTH=LOGIN',
    ),
  );

  it('marks the server as ESMTP', () => {
    expect(capabilities.esmtp).toBe(true);
  });

  it('lists every keyword and skips the greeting line', () => {
    expect([...capabilities.extensions.keys()]).toEqual([
      'SIZE',
      '8BITMIME',
      'SMTPUTF8',
      'PIPELINING',
      'CHUNKING',
      'DSN',
      'ENHANCEDSTATUSCODES',
      'STARTTLS',
      'AUTH',
    ]);
  });

  it('reads the SIZE limit in octets', () => {
    expect(capabilities.maxSize).toBe(35882577);
    expect(capabilities.extensions.get('SIZE')).toEqual(['35882577']);
  });

  it('merges AUTH and the legacy AUTH= line', () => {
    expect([...capabilities.authMechanisms]).toEqual(['PLAIN', 'LOGIN']);
    expect(capabilities.extensions.get('AUTH')).toEqual(['PLAIN', 'LOGIN', 'LOGIN']);
  });

  it.each(['STARTTLS', 'starttls', 'Pipelining', 'chunking', 'dsn', 'SMTPUTF8', '8bitmime'])(
    'finds %s in any case',
    (keyword) => {
      expect(hasExtension(capabilities, keyword)).toBe(true);
    },
  );

  it('reports an unannounced extension as absent', () => {
    expect(hasExtension(capabilities, 'BINARYMIME')).toBe(false);
  });

  it('reports nothing for missing capabilities', () => {
    expect(hasExtension(null, 'STARTTLS')).toBe(false);
  });

  it('reads the legacy AUTH= line on its own', () => {
    const legacy = parseCapabilities(ehloReply('AUTH=LOGIN PLAIN'));

    expect([...legacy.authMechanisms]).toEqual(['LOGIN', 'PLAIN']);
  });

  it.each([
    ['an empty AUTH= line', 'AUTH='],
    ['a space after AUTH=', 'AUTH= LOGIN'],
  ])('adds no empty mechanism for %s', (_, line) => {
    const parsed = parseCapabilities(ehloReply(line));

    expect([...parsed.authMechanisms]).not.toContain('');
    expect(parsed.extensions.get('AUTH')).not.toContain('');
  });

  it('upper-cases keywords and mechanisms', () => {
    const lower = parseCapabilities(ehloReply('auth plain xoauth2', 'size 1000'));

    expect([...lower.authMechanisms]).toEqual(['PLAIN', 'XOAUTH2']);
    expect(lower.maxSize).toBe(1000);
  });

  it.each([
    ['SIZE without a value', 'SIZE'],
    ['SIZE 0 (no limit)', 'SIZE 0'],
    ['a SIZE value that is not a number', 'SIZE lots'],
  ])('sets maxSize to 0 for %s', (_, line) => {
    const parsed = parseCapabilities(ehloReply(line));

    expect(parsed.maxSize).toBe(0);
    expect(hasExtension(parsed, 'SIZE')).toBe(true);
  });

  it('ignores blank extension lines and extra white space', () => {
    const parsed = parseCapabilities(ehloReply('', '  PIPELINING  '));

    expect([...parsed.extensions.keys()]).toEqual(['PIPELINING']);
  });

  it('returns no extensions for a one-line EHLO reply', () => {
    const parsed = parseCapabilities(createReply(250, ['250 mx.example.test']));

    expect(parsed.esmtp).toBe(true);
    expect(parsed.extensions.size).toBe(0);
  });
});

describe('plainSmtpCapabilities', () => {
  it('describes a server without ESMTP', () => {
    const plain = plainSmtpCapabilities();

    expect(plain.esmtp).toBe(false);
    expect(plain.extensions.size).toBe(0);
    expect(plain.authMechanisms.size).toBe(0);
    expect(plain.maxSize).toBe(0);
  });
});
