/**
 * Decoders used only by the tests of this folder, written independently of the encoders so
 * that a round trip checks the encoded form rather than repeating the encoder's logic.
 */

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Decodes padded base64 into bytes. */
export function decodeBase64(text: string): Uint8Array {
  const bytes: number[] = [];
  let buffer = 0;
  let bitCount = 0;
  for (const character of text.replace(/=+$/, '')) {
    const value = BASE64_ALPHABET.indexOf(character);
    if (value < 0) throw new Error(`Invalid base64 character ${JSON.stringify(character)}`);
    buffer = (buffer << 6) | value;
    bitCount += 6;
    if (bitCount >= 8) {
      bitCount -= 8;
      bytes.push((buffer >> bitCount) & 0xff);
    }
  }
  return Uint8Array.from(bytes);
}

/** Removes the CRLF of every fold (RFC 5322 §2.2.3). */
export function unfold(text: string): string {
  return text.replace(/\r\n(?=[ \t])/g, '');
}

/** Decodes the B encoded-words of an unfolded header value (RFC 2047 §6). */
export function decodeEncodedWords(value: string): string {
  const withoutGaps = value.replace(/(\?=)[ \t]+(?==\?)/g, '$1');
  return withoutGaps.replace(/=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=/gi, (_, base64: string) =>
    new TextDecoder('utf-8', { fatal: true }).decode(decodeBase64(base64)),
  );
}

/** Decodes a quoted-printable body with CRLF line breaks into text (RFC 2045 §6.7). */
export function decodeQuotedPrintable(text: string): string {
  const joined = text.replace(/=\r\n/g, '');
  const bytes: number[] = [];
  for (let index = 0; index < joined.length; index += 1) {
    if (joined[index] === '=') {
      bytes.push(Number.parseInt(joined.slice(index + 1, index + 3), 16));
      index += 2;
    } else {
      bytes.push(joined.charCodeAt(index));
    }
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
}

/** A message split into its header fields (unfolded, in order) and its body. */
export interface ParsedMessage {
  headers: Array<{ name: string; value: string }>;
  body: string;
}

/** Splits a message at the first empty line and unfolds its header fields. */
export function parseMessage(text: string): ParsedMessage {
  const end = text.indexOf('\r\n\r\n');
  const headerBlock = end < 0 ? text : text.slice(0, end);
  const body = end < 0 ? '' : text.slice(end + 4);
  const headers = unfold(headerBlock)
    .split('\r\n')
    .map((line) => {
      const colon = line.indexOf(':');
      return { name: line.slice(0, colon), value: line.slice(colon + 1).replace(/^[ \t]+/, '') };
    });
  return { headers, body };
}

/** Returns the value of the first header field with `name`, compared case-insensitively. */
export function headerValue(message: ParsedMessage, name: string): string | undefined {
  const lowerName = name.toLowerCase();
  return message.headers.find((header) => header.name.toLowerCase() === lowerName)?.value;
}
