import { describe, expect, it } from 'vitest';
import { encodeHex, utf8Bytes } from '../base64.js';
import { md5 } from './md5.js';

// RFC 1321 appendix A.5, the test suite.
const RFC_1321_SUITE: Array<[string, string]> = [
  ['', 'd41d8cd98f00b204e9800998ecf8427e'],
  ['a', '0cc175b9c0f1b6a831c399e269772661'],
  ['abc', '900150983cd24fb0d6963f7d28e17f72'],
  ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
  ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
  [
    'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
    'd174ab98d277d9f5a5611c2c9f419d9f',
  ],
  [
    '12345678901234567890123456789012345678901234567890123456789012345678901234567890',
    '57edf4a22be3c955ac49da2e2107b67a',
  ],
];

describe('md5', () => {
  it.each(RFC_1321_SUITE)('hashes %j as in RFC 1321', (input, expected) => {
    expect(encodeHex(md5(utf8Bytes(input)))).toBe(expected);
  });

  // Expected digests computed with node:crypto; lengths 55 to 57 and 119 to 120 are where
  // the length field stops fitting into the last block.
  it.each([
    [55, 'c9e512626618c9980ef21a96597af94c'],
    [56, 'ecde7caa08e9f5657c863df107cac60a'],
    [57, 'b17b1a018dd6a4d1edda8aca15f17846'],
    [63, '2f0301069e1c40af7f6c8f843b1b13f2'],
    [64, 'b6bf87c24b1bc334e2541387a92b981b'],
    [65, 'f168246f08b6134d66bd2a10343fa9f1'],
    [119, 'd5dc3d8264de3aa24dee105910ee27fe'],
    [120, 'bcc139b3848923904860d1eefd6e5923'],
    [128, '3e85b70ffc8df5c735ecf2a8f14f1bee'],
  ])('hashes %i bytes around the padding boundary', (length, expected) => {
    const data = Uint8Array.from({ length }, (_, index) => (index * 31 + 7) & 0xff);
    expect(encodeHex(md5(data))).toBe(expected);
  });
});
