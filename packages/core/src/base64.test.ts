import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeBase64,
  encodeBase64,
  encodeBase64Text,
  encodeHex,
  utf8Bytes,
  utf8Text,
} from './base64.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('encodeBase64', () => {
  // RFC 4648 §10 test vectors.
  it.each([
    ['', ''],
    ['f', 'Zg=='],
    ['fo', 'Zm8='],
    ['foo', 'Zm9v'],
    ['foob', 'Zm9vYg=='],
    ['fooba', 'Zm9vYmE='],
    ['foobar', 'Zm9vYmFy'],
    ['ü€😀', 'w7zigqzwn5iA'],
  ])('encodes %j as %j', (text, expected) => {
    expect(encodeBase64(bytes(text))).toBe(expected);
  });

  it('encodes every byte value', () => {
    const all = Uint8Array.from({ length: 256 }, (_, index) => index);

    expect(encodeBase64(all)).toBe(Buffer.from(all).toString('base64'));
  });

  it('matches Buffer for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (input) => {
        expect(encodeBase64(input)).toBe(Buffer.from(input).toString('base64'));
      }),
    );
  });
});

describe('encodeBase64Text', () => {
  it('encodes the UTF-8 bytes of the text', () => {
    expect(encodeBase64Text('\0user\0pässword')).toBe(
      Buffer.from('\0user\0pässword', 'utf8').toString('base64'),
    );
  });
});

describe('decodeBase64', () => {
  it.each([
    ['Zm9vYmFy', 'foobar'],
    ['Zm9vYg==', 'foob'],
    ['Zm9vYg', 'foob'],
    ['Zm9v\r\nYmFy', 'foobar'],
    ['  Zm9v YmFy  ', 'foobar'],
    ['', ''],
  ])('decodes %j', (text, expected) => {
    expect(utf8Text(decodeBase64(text)!)).toBe(expected);
  });

  it.each([
    ['a character outside the alphabet', 'Zm9v!'],
    ['base64url characters', 'Zm9v-_'],
    ['padding inside the text', 'Zg==Zg=='],
    ['a length of 4n + 1', 'Zm9vY'],
    ['non-ASCII', 'Zm9vé'],
  ])('returns null for %s', (_, text) => {
    expect(decodeBase64(text)).toBeNull();
  });

  it('reverses encodeBase64 for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (input) => {
        expect(decodeBase64(encodeBase64(input))).toEqual(input);
      }),
    );
  });
});

describe('encodeHex', () => {
  it('writes lower-case hex, two digits per byte', () => {
    expect(encodeHex(Uint8Array.of(0, 15, 16, 171, 255))).toBe('000f10abff');
  });
});

describe('utf8Bytes and utf8Text', () => {
  it('round-trip text', () => {
    expect(utf8Text(utf8Bytes('Grüße ✓ 😀'))).toBe('Grüße ✓ 😀');
  });

  it('replaces invalid UTF-8 with U+FFFD', () => {
    expect(utf8Text(Uint8Array.of(0x61, 0xff, 0x62))).toBe('a\ufffdb');
  });
});
