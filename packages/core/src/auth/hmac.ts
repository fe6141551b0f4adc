/**
 * HMAC (RFC 2104) over any block hash, synchronous and without runtime crypto, so that SASL
 * mechanisms can run inside the synchronous exchange interface in every runtime.
 */

/** A hash function as HMAC needs it. */
export interface HashAlgorithm {
  /** Input block size in bytes (64 for MD5 and SHA-256). */
  readonly blockSize: number;
  /** Output size in bytes. */
  readonly outputSize: number;
  digest(data: Uint8Array): Uint8Array;
}

const INNER_PAD = 0x36;
const OUTER_PAD = 0x5c;

/** Compute HMAC(key, message) with the given hash (RFC 2104 §2). */
export function hmac(hash: HashAlgorithm, key: Uint8Array, message: Uint8Array): Uint8Array {
  const { innerKey, outerKey } = hmacPads(hash, key);

  const inner = new Uint8Array(hash.blockSize + message.length);
  inner.set(innerKey);
  inner.set(message, hash.blockSize);
  const innerDigest = hash.digest(inner);

  const outer = new Uint8Array(hash.blockSize + innerDigest.length);
  outer.set(outerKey);
  outer.set(innerDigest, hash.blockSize);
  return hash.digest(outer);
}

/**
 * Build the two padded key blocks, K XOR ipad and K XOR opad. A key longer than the block
 * is hashed first, and a shorter one is padded with zeros (RFC 2104 §2).
 */
export function hmacPads(
  hash: HashAlgorithm,
  key: Uint8Array,
): { innerKey: Uint8Array; outerKey: Uint8Array } {
  const block = new Uint8Array(hash.blockSize);
  block.set(key.length > hash.blockSize ? hash.digest(key) : key);

  const innerKey = new Uint8Array(hash.blockSize);
  const outerKey = new Uint8Array(hash.blockSize);
  for (let index = 0; index < hash.blockSize; index++) {
    innerKey[index] = block[index]! ^ INNER_PAD;
    outerKey[index] = block[index]! ^ OUTER_PAD;
  }
  return { innerKey, outerKey };
}
