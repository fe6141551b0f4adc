/**
 * Base64 (RFC 4648 §4) and UTF-8 helpers without runtime globals such as Buffer or btoa.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const LOOKUP = new Int16Array(128).fill(-1);
for (let index = 0; index < ALPHABET.length; index++) LOOKUP[ALPHABET.charCodeAt(index)] = index;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 bytes of a string. */
export const utf8Bytes = (text: string): Uint8Array => encoder.encode(text);

/** String from UTF-8 bytes; invalid sequences become U+FFFD. */
export const utf8Text = (bytes: Uint8Array): string => decoder.decode(bytes);

/** Encode bytes as base64 with padding. */
export function encodeBase64(bytes: Uint8Array): string {
  let text = '';
  let index = 0;
  for (; index + 2 < bytes.length; index += 3) {
    const triple = (bytes[index]! << 16) | (bytes[index + 1]! << 8) | bytes[index + 2]!;
    text +=
      ALPHABET[triple >> 18]! +
      ALPHABET[(triple >> 12) & 63]! +
      ALPHABET[(triple >> 6) & 63]! +
      ALPHABET[triple & 63]!;
  }
  const rest = bytes.length - index;
  if (rest === 1) {
    const single = bytes[index]!;
    text += `${ALPHABET[single >> 2]}${ALPHABET[(single & 3) << 4]}==`;
  } else if (rest === 2) {
    const pair = (bytes[index]! << 8) | bytes[index + 1]!;
    text += `${ALPHABET[pair >> 10]}${ALPHABET[(pair >> 4) & 63]}${ALPHABET[(pair & 15) << 2]}=`;
  }
  return text;
}

/** Encode the UTF-8 bytes of a string as base64. */
export const encodeBase64Text = (text: string): string => encodeBase64(utf8Bytes(text));

/** Decode base64, ignoring white space; null when the text is not valid base64. */
export function decodeBase64(text: string): Uint8Array | null {
  const clean = text.replace(/\s+/g, '').replace(/=+$/, '');
  if (clean.length % 4 === 1) return null;

  const bytes = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let written = 0;
  for (let index = 0; index < clean.length; index++) {
    const code = clean.charCodeAt(index);
    const digit = code < 128 ? LOOKUP[code]! : -1;
    if (digit === -1) return null;
    value = (value << 6) | digit;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[written++] = (value >> bits) & 0xff;
    }
  }
  return bytes.subarray(0, written);
}

/** Lower-case hex of bytes. */
export function encodeHex(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += byte.toString(16).padStart(2, '0');
  return text;
}
