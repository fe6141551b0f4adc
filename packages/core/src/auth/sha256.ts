/**
 * SHA-256 (FIPS 180-4), HMAC-SHA-256 and PBKDF2-HMAC-SHA-256 in plain TypeScript, for
 * SCRAM-SHA-256. Web Crypto is asynchronous and the SASL exchange is not, so these run
 * synchronously here, in every runtime.
 */
import { type HashAlgorithm, hmac, hmacPads } from './hmac.js';

// FIPS 180-4 §4.2.2: first 32 bits of the fractional parts of the cube roots of the
// first 64 primes.
const ROUND_CONSTANTS = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

// FIPS 180-4 §5.3.3: first 32 bits of the fractional parts of the square roots of the
// first 8 primes.
const INITIAL_STATE = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

const BLOCK_SIZE = 64;
const DIGEST_SIZE = 32;

/** Compute the 32-byte SHA-256 digest of the data. */
export function sha256(data: Uint8Array): Uint8Array {
  const state = INITIAL_STATE.slice();
  const schedule = new Int32Array(64);
  compressBlocks(state, schedule, padMessage(data, 0));
  return stateBytes(state);
}

/** SHA-256 as an HMAC hash (B = 64, L = 32). */
export const SHA256: HashAlgorithm = {
  blockSize: BLOCK_SIZE,
  outputSize: DIGEST_SIZE,
  digest: sha256,
};

/** Compute HMAC-SHA-256(key, message) (RFC 2104 with SHA-256, tested against RFC 4231). */
export function hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array {
  return hmac(SHA256, key, message);
}

/**
 * Derive a key with PBKDF2 (RFC 8018 §5.2) using HMAC-SHA-256 as the pseudorandom function.
 * SCRAM's Hi() (RFC 5802 §2.2) is this function with a length of 32 bytes.
 */
export function pbkdf2HmacSha256(
  password: Uint8Array,
  salt: Uint8Array,
  iterations: number,
  length: number,
): Uint8Array {
  if (!Number.isSafeInteger(iterations) || iterations < 1) {
    throw new RangeError(`Invalid PBKDF2 iteration count ${iterations}: expected an integer >= 1`);
  }
  const pads = precomputePads(password);
  const output = new Uint8Array(length);

  for (let blockIndex = 1, written = 0; written < length; blockIndex++) {
    const block = deriveBlock(pads, salt, blockIndex, iterations);
    output.set(block.subarray(0, Math.min(DIGEST_SIZE, length - written)), written);
    written += DIGEST_SIZE;
  }
  return output;
}

interface PadStates {
  inner: Int32Array;
  outer: Int32Array;
}

/** Hash the two padded key blocks once, so each PBKDF2 iteration costs two compressions. */
function precomputePads(password: Uint8Array): PadStates {
  const { innerKey, outerKey } = hmacPads(SHA256, password);
  const schedule = new Int32Array(64);
  const inner = INITIAL_STATE.slice();
  const outer = INITIAL_STATE.slice();
  compressBlocks(inner, schedule, innerKey);
  compressBlocks(outer, schedule, outerKey);
  return { inner, outer };
}

/** Compute T_i = U_1 XOR U_2 XOR ... XOR U_c for one output block (RFC 8018 §5.2 step 3). */
function deriveBlock(
  pads: PadStates,
  salt: Uint8Array,
  blockIndex: number,
  iterations: number,
): Uint8Array {
  // U_1 = PRF(P, S || INT(i)), with INT(i) a four-byte big-endian integer.
  const first = new Uint8Array(salt.length + 4);
  first.set(salt);
  new DataView(first.buffer).setUint32(salt.length, blockIndex);
  const innerState = pads.inner.slice();
  const schedule = new Int32Array(64);
  compressBlocks(innerState, schedule, padMessage(first, BLOCK_SIZE));
  const current = finishOuter(pads.outer, innerState, schedule);
  const result = current.slice();

  // U_j = PRF(P, U_(j-1)). The message is one 32-byte digest, so the inner and the outer
  // hash each take exactly one padded block: 8 words of data, 0x80, then the bit length.
  const state = new Int32Array(8);
  for (let round = 1; round < iterations; round++) {
    state.set(pads.inner);
    loadDigestBlock(schedule, current);
    compressSchedule(state, schedule);
    const innerDigest = state.slice();
    state.set(pads.outer);
    loadDigestBlock(schedule, innerDigest);
    compressSchedule(state, schedule);
    current.set(state);
    for (let index = 0; index < 8; index++) result[index] = result[index]! ^ current[index]!;
  }
  return stateBytes(result);
}

/** Run the outer HMAC hash over an inner digest held as a state. */
function finishOuter(outer: Int32Array, innerDigest: Int32Array, schedule: Int32Array): Int32Array {
  const state = outer.slice();
  loadDigestBlock(schedule, innerDigest);
  compressSchedule(state, schedule);
  return state;
}

/** Fill the first 16 schedule words with a 32-byte digest that follows one 64-byte block. */
function loadDigestBlock(schedule: Int32Array, digest: Int32Array): void {
  schedule.set(digest);
  schedule[8] = 0x80000000 | 0;
  schedule.fill(0, 9, 15);
  schedule[15] = (BLOCK_SIZE + DIGEST_SIZE) * 8;
}

/**
 * Append the 0x80 byte, zeros, and the 64-bit big-endian bit length (FIPS 180-4 §5.1.1).
 * `prefixLength` counts bytes already hashed before this data, as in HMAC's key block.
 */
function padMessage(data: Uint8Array, prefixLength: number): Uint8Array {
  const length = Math.ceil((data.length + 9) / BLOCK_SIZE) * BLOCK_SIZE;
  const padded = new Uint8Array(length);
  padded.set(data);
  padded[data.length] = 0x80;

  const bits = (data.length + prefixLength) * 8;
  const view = new DataView(padded.buffer);
  view.setUint32(length - 8, Math.floor(bits / 0x100000000));
  view.setUint32(length - 4, bits >>> 0);
  return padded;
}

/** Process whole 64-byte blocks of the data. */
function compressBlocks(state: Int32Array, schedule: Int32Array, data: Uint8Array): void {
  for (let offset = 0; offset < data.length; offset += BLOCK_SIZE) {
    for (let index = 0; index < 16; index++) {
      const at = offset + index * 4;
      schedule[index] =
        (data[at]! << 24) | (data[at + 1]! << 16) | (data[at + 2]! << 8) | data[at + 3]!;
    }
    compressSchedule(state, schedule);
  }
}

/** Expand the 16 loaded words to 64 and apply the 64 rounds (FIPS 180-4 §6.2.2). */
function compressSchedule(state: Int32Array, schedule: Int32Array): void {
  for (let index = 16; index < 64; index++) {
    const early = schedule[index - 15]!;
    const late = schedule[index - 2]!;
    const sigma0 = rotate(early, 7) ^ rotate(early, 18) ^ (early >>> 3);
    const sigma1 = rotate(late, 17) ^ rotate(late, 19) ^ (late >>> 10);
    schedule[index] = (schedule[index - 16]! + sigma0 + schedule[index - 7]! + sigma1) | 0;
  }

  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  let e = state[4]!;
  let f = state[5]!;
  let g = state[6]!;
  let h = state[7]!;
  for (let index = 0; index < 64; index++) {
    const sum1 = rotate(e, 6) ^ rotate(e, 11) ^ rotate(e, 25);
    const choice = (e & f) ^ (~e & g);
    const temp1 = (h + sum1 + choice + ROUND_CONSTANTS[index]! + schedule[index]!) | 0;
    const sum0 = rotate(a, 2) ^ rotate(a, 13) ^ rotate(a, 22);
    const majority = (a & b) ^ (a & c) ^ (b & c);
    const temp2 = (sum0 + majority) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + temp1) | 0;
    d = c;
    c = b;
    b = a;
    a = (temp1 + temp2) | 0;
  }

  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

function rotate(value: number, bits: number): number {
  return (value >>> bits) | (value << (32 - bits));
}

/** Write the eight state words big-endian. */
function stateBytes(state: Int32Array): Uint8Array {
  const bytes = new Uint8Array(DIGEST_SIZE);
  const view = new DataView(bytes.buffer);
  for (let index = 0; index < 8; index++) view.setInt32(index * 4, state[index]!);
  return bytes;
}
