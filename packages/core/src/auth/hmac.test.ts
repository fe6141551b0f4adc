import { describe, expect, it } from 'vitest';
import { encodeHex, utf8Bytes } from '../base64.js';
import { hmac } from './hmac.js';
import { MD5 } from './md5.js';

const repeat = (byte: number, length: number): Uint8Array => new Uint8Array(length).fill(byte);
const counting = (length: number): Uint8Array =>
  Uint8Array.from({ length }, (_, index) => index + 1);

// RFC 2202 §2, test cases for HMAC-MD5. Case 5 compares the full digest, and the RFC also
// lists its 96-bit truncation, which is checked separately below.
const RFC_2202_CASES: Array<[string, Uint8Array, Uint8Array, string]> = [
  ['case 1', repeat(0x0b, 16), utf8Bytes('Hi There'), '9294727a3638bb1c13f48ef8158bfc9d'],
  [
    'case 2',
    utf8Bytes('Jefe'),
    utf8Bytes('what do ya want for nothing?'),
    '750c783e6ab0b503eaa86e310a5db738',
  ],
  ['case 3', repeat(0xaa, 16), repeat(0xdd, 50), '56be34521d144c88dbb8c733f0e8b3f6'],
  ['case 4', counting(25), repeat(0xcd, 50), '697eaf0aca3a3aea3a75164746ffaa79'],
  [
    'case 5',
    repeat(0x0c, 16),
    utf8Bytes('Test With Truncation'),
    '56461ef2342edc00f9bab995690efd4c',
  ],
  [
    'case 6',
    repeat(0xaa, 80),
    utf8Bytes('Test Using Larger Than Block-Size Key - Hash Key First'),
    '6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd',
  ],
  [
    'case 7',
    repeat(0xaa, 80),
    utf8Bytes('Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data'),
    '6f630fad67cda0ee1fb1f562db3aa53e',
  ],
];

describe('hmac with MD5', () => {
  it.each(RFC_2202_CASES)('matches RFC 2202 %s', (_name, key, data, expected) => {
    expect(encodeHex(hmac(MD5, key, data))).toBe(expected);
  });

  it('matches the RFC 2202 truncated digest of case 5', () => {
    const digest = hmac(MD5, repeat(0x0c, 16), utf8Bytes('Test With Truncation'));
    expect(encodeHex(digest.subarray(0, 12))).toBe('56461ef2342edc00f9bab995');
  });

  it('uses a key of exactly one block without hashing it', () => {
    // Expected value computed with node:crypto createHmac('md5', key).
    const digest = hmac(MD5, counting(64), utf8Bytes('block-sized key'));
    expect(encodeHex(digest)).toBe('afe3b90c2645b6b4b64bb7d5feb21513');
  });
});
