import { describe, expect, it } from 'vitest';
import { encodeHex, utf8Bytes } from '../base64.js';
import { hmacSha256, pbkdf2HmacSha256, sha256 } from './sha256.js';

const repeat = (byte: number, length: number): Uint8Array => new Uint8Array(length).fill(byte);
const fromHex = (hex: string): Uint8Array =>
  Uint8Array.from(hex.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));

// Well-known SHA-256 values, which node:crypto also returns: the empty message, "abc" (one
// block) and a 56-byte message that needs a second block for the length.
const SHA256_CASES: Array<[string, string]> = [
  ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  [
    'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
  ],
];

// RFC 4231 §4, HMAC-SHA-256 results of test cases 1 to 4, 6 and 7. Case 5 is truncated and
// is checked separately below.
const RFC_4231_CASES: Array<[string, Uint8Array, Uint8Array, string]> = [
  [
    'case 1',
    repeat(0x0b, 20),
    utf8Bytes('Hi There'),
    'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
  ],
  [
    'case 2',
    utf8Bytes('Jefe'),
    utf8Bytes('what do ya want for nothing?'),
    '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
  ],
  [
    'case 3',
    repeat(0xaa, 20),
    repeat(0xdd, 50),
    '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe',
  ],
  [
    'case 4',
    Uint8Array.from({ length: 25 }, (_, index) => index + 1),
    repeat(0xcd, 50),
    '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
  ],
  [
    'case 6',
    repeat(0xaa, 131),
    utf8Bytes('Test Using Larger Than Block-Size Key - Hash Key First'),
    '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
  ],
  [
    'case 7',
    repeat(0xaa, 131),
    utf8Bytes(
      'This is a test using a larger than block-size key and a larger than block-size ' +
        'data. The key needs to be hashed before being used by the HMAC algorithm.',
    ),
    '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
  ],
];

describe('sha256', () => {
  it.each(SHA256_CASES)('hashes %j to the published digest', (input, expected) => {
    expect(encodeHex(sha256(utf8Bytes(input)))).toBe(expected);
  });

  it('hashes one million "a" characters', () => {
    const expected = 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0';
    expect(encodeHex(sha256(repeat(0x61, 1_000_000)))).toBe(expected);
  });

  // Expected digests computed with node:crypto; lengths 55 to 57 and 119 to 120 are where
  // the length field stops fitting into the last block.
  it.each([
    [55, '8aa994584139d128848eeebc4e815639ba5ab6e6e39574195a63ac4f14f7c43b'],
    [56, 'ad574708f75c044c9b85de64cb568ee7711ff4f36448c6242f053ba8f6cc2b63'],
    [57, '5b46e502092be01b1100193e089fdda95638c12e19a1d24f308eb2c3d3ae849d'],
    [63, '280ed3e8ff1df845b2e7dfe6ac6cee817bef20e783cc65abc41b818b4d2fe076'],
    [64, 'c6ab9724ade5b6a7a1edfffb12f3aa9181351355af8fd08c919952ad211339dd'],
    [65, '788367c73c7ddf4c53f65e68cc0d943e6227ab55b0e78ba63ace822b1c6301c0'],
    [119, '3d610547d68216dedf7435a4fb6260353911f6b3fd3f18805ddb8be285d726fe'],
    [120, '1f80156a804cb7862ad113e8200e9d74499723e7c7854d5f48776d3148e09656'],
    [128, 'cc548ca2dec1f6fe4f58b2e27aa9c7521607df1130d140b55a4dad0665302356'],
  ])('hashes %i bytes around the padding boundary', (length, expected) => {
    const data = Uint8Array.from({ length }, (_, index) => (index * 31 + 7) & 0xff);
    expect(encodeHex(sha256(data))).toBe(expected);
  });
});

describe('hmacSha256', () => {
  it.each(RFC_4231_CASES)('matches RFC 4231 %s', (_name, key, data, expected) => {
    expect(encodeHex(hmacSha256(key, data))).toBe(expected);
  });

  it('matches the RFC 4231 truncated result of case 5', () => {
    const digest = hmacSha256(repeat(0x0c, 20), utf8Bytes('Test With Truncation'));
    expect(encodeHex(digest.subarray(0, 16))).toBe('a3b6167473100ee06e0c796c2955552b');
  });
});

describe('pbkdf2HmacSha256', () => {
  // RFC 7914 §11, PBKDF2-HMAC-SHA256 test vectors.
  it('matches the RFC 7914 vector with c=1', () => {
    const expected = fromHex(
      '55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc' +
        '49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783',
    );
    const derived = pbkdf2HmacSha256(utf8Bytes('passwd'), utf8Bytes('salt'), 1, 64);
    expect(encodeHex(derived)).toBe(encodeHex(expected));
  });

  it('matches the RFC 7914 vector with c=80000', () => {
    const expected = fromHex(
      '4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56' +
        'a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d',
    );
    const derived = pbkdf2HmacSha256(utf8Bytes('Password'), utf8Bytes('NaCl'), 80_000, 64);
    expect(encodeHex(derived)).toBe(encodeHex(expected));
  });

  // Expected keys computed with node:crypto pbkdf2Sync(password, salt, c, length, 'sha256').
  it.each<[string, Uint8Array, Uint8Array, number, number, string]>([
    [
      'a SCRAM-sized key',
      utf8Bytes('pencil'),
      utf8Bytes('W22ZaJ0SNY7soEsU'),
      4096,
      32,
      'aabb304ba59ba135c9227c15726df5578d0d540707cf38518d718c22a40f1e50',
    ],
    [
      'a long password and salt',
      repeat(0xaa, 131),
      repeat(0x01, 70),
      3,
      33,
      'ca639fc90c644b79fcd46a0b79cfb92a4efda539e9a2823b6503f3ac5fe4a3444c',
    ],
    ['empty inputs', new Uint8Array(0), new Uint8Array(0), 2, 1, '97'],
    [
      'three output blocks',
      utf8Bytes('p\u00e4ss'),
      utf8Bytes('salt'),
      10,
      95,
      'c3a52f78b2ea3b492cd354557d94b6ce095555015e9d0b738ffdaddd14fd5c6e' +
        '773de8a6b1b25c2da41ed36bb86c2fb7f1eefe3dbba7450fb9f3aa524453349a' +
        'e3f3d5cd2fb10f9238b10a59b04a20ea5482b2e4038ed39f2061f15f662859',
    ],
  ])('derives %s', (_name, password, salt, iterations, length, expected) => {
    expect(encodeHex(pbkdf2HmacSha256(password, salt, iterations, length))).toBe(expected);
  });

  it('rejects an iteration count below 1', () => {
    expect(() => pbkdf2HmacSha256(utf8Bytes('p'), utf8Bytes('s'), 0, 32)).toThrow(RangeError);
    expect(() => pbkdf2HmacSha256(utf8Bytes('p'), utf8Bytes('s'), 1.5, 32)).toThrow(RangeError);
  });
});
