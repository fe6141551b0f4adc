/**
 * Byte helpers shared by the protocol object and the driver, with web-standard globals only.
 */

/** Join byte arrays into one new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const part of parts) total += part.length;
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

/** Largest length `crypto.getRandomValues` fills in one call (the Web Crypto limit). */
const MAX_RANDOM_CHUNK = 65_536;

/**
 * Return cryptographically random bytes from Web Crypto (`crypto.getRandomValues`), which
 * Node.js 20, Deno, Bun and browsers provide. Throws where the runtime has none, because a
 * predictable SCRAM nonce or Message-ID must not pass silently.
 */
export function webRandomBytes(length: number): Uint8Array {
  const source = globalThis.crypto;
  if (source === undefined) {
    throw new TypeError(
      'No crypto.getRandomValues in this runtime: pass randomBytes in the transporter environment',
    );
  }
  const bytes = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += MAX_RANDOM_CHUNK) {
    source.getRandomValues(bytes.subarray(offset, offset + MAX_RANDOM_CHUNK));
  }
  return bytes;
}
