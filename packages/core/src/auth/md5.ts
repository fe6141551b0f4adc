/**
 * MD5 (RFC 1321) in plain TypeScript, for CRAM-MD5. Web Crypto has no MD5, and the SASL
 * exchange is synchronous, so the digest is computed here. Never use it for new designs:
 * MD5 is broken for collision resistance, and CRAM-MD5 relies only on HMAC-MD5.
 */
import type { HashAlgorithm } from './hmac.js';

// RFC 1321 §3.4: T[i] = floor(2^32 * abs(sin(i))), for i = 1..64.
const SINE_TABLE = new Int32Array(64);
for (let index = 0; index < 64; index++) {
  SINE_TABLE[index] = Math.floor(Math.abs(Math.sin(index + 1)) * 0x100000000) | 0;
}

// Per-round left-rotation amounts, four per round (RFC 1321 §3.4).
const SHIFTS = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];

/** Compute the 16-byte MD5 digest of the data. */
export function md5(data: Uint8Array): Uint8Array {
  const padded = padMessage(data);
  const words = new Int32Array(16);
  const state = new Int32Array([0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476]);

  for (let offset = 0; offset < padded.length; offset += 64) {
    // RFC 1321 §2: words are little-endian.
    for (let index = 0; index < 16; index++) {
      const at = offset + index * 4;
      words[index] =
        padded[at]! | (padded[at + 1]! << 8) | (padded[at + 2]! << 16) | (padded[at + 3]! << 24);
    }
    compress(state, words);
  }

  const digest = new Uint8Array(16);
  for (let index = 0; index < 16; index++) {
    digest[index] = (state[index >> 2]! >>> ((index & 3) * 8)) & 0xff;
  }
  return digest;
}

/** MD5 as an HMAC hash (RFC 2104 uses B = 64, L = 16). */
export const MD5: HashAlgorithm = { blockSize: 64, outputSize: 16, digest: md5 };

/** Append the 0x80 byte, zeros, and the 64-bit little-endian bit length (RFC 1321 §3.1-3.2). */
function padMessage(data: Uint8Array): Uint8Array {
  const length = Math.ceil((data.length + 9) / 64) * 64;
  const padded = new Uint8Array(length);
  padded.set(data);
  padded[data.length] = 0x80;

  const bitsLow = (data.length * 8) >>> 0;
  const bitsHigh = Math.floor(data.length / 0x20000000);
  for (let index = 0; index < 4; index++) {
    padded[length - 8 + index] = (bitsLow >>> (index * 8)) & 0xff;
    padded[length - 4 + index] = (bitsHigh >>> (index * 8)) & 0xff;
  }
  return padded;
}

/** Process one 64-byte block given as 16 words (RFC 1321 §3.4). */
function compress(state: Int32Array, words: Int32Array): void {
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;

  for (let step = 0; step < 64; step++) {
    const round = step >> 4;
    let mixed: number;
    let wordIndex: number;
    if (round === 0) {
      mixed = (b & c) | (~b & d);
      wordIndex = step;
    } else if (round === 1) {
      mixed = (b & d) | (c & ~d);
      wordIndex = (5 * step + 1) & 15;
    } else if (round === 2) {
      mixed = b ^ c ^ d;
      wordIndex = (3 * step + 5) & 15;
    } else {
      mixed = c ^ (b | ~d);
      wordIndex = (7 * step) & 15;
    }

    const sum = (a + mixed + SINE_TABLE[step]! + words[wordIndex]!) | 0;
    const shift = SHIFTS[(round << 2) | (step & 3)]!;
    a = d;
    d = c;
    c = b;
    b = (b + ((sum << shift) | (sum >>> (32 - shift)))) | 0;
  }

  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
}
