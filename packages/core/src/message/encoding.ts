/**
 * Byte-level encodings for composed messages: line-break normalisation, transfer-encoding
 * choice and quoted-printable (RFC 2045 section 6.7). Base64, hex and UTF-8 come from
 * `../base64.ts`. Everything here returns ASCII text and runs on every runtime without Buffer
 * or btoa.
 */
import { utf8Bytes } from '../base64.js';

/** Line length limit for a 7bit body, as the SMTP line limit recommended by RFC 5322 §2.1.1. */
export const MAX_7BIT_LINE_LENGTH = 78;

/** Maximum length of an encoded line, including a trailing soft line break (RFC 2045 §6.7). */
const MAX_QUOTED_PRINTABLE_LINE_LENGTH = 76;

const HEX_DIGITS = '0123456789ABCDEF';

/** Content-Transfer-Encoding values that the composer emits. */
export type TransferEncoding = '7bit' | 'quoted-printable';

/** Returns the number of UTF-8 bytes of one code point; lone surrogates become U+FFFD (3 bytes). */
export function utf8Length(codePoint: number): number {
  if (codePoint < 0x80) return 1;
  if (codePoint < 0x800) return 2;
  if (codePoint < 0x10000) return 3;
  return 4;
}

/** Replaces every CRLF, bare LF and bare CR with CRLF. */
export function normalizeLineBreaks(text: string): string {
  return text.replace(/\r\n|\r|\n/g, '\r\n');
}

/** Returns the length of the base64 form of `byteCount` bytes, padding included. */
export function base64Length(byteCount: number): number {
  return Math.ceil(byteCount / 3) * 4;
}

/**
 * Chooses the transfer encoding of a text body whose line breaks are already CRLF: 7bit when
 * it is ASCII without NUL and every line fits in 78 characters, otherwise quoted-printable.
 */
export function chooseTransferEncoding(normalizedText: string): TransferEncoding {
  if (/[^\x01-\x7f]/.test(normalizedText)) return 'quoted-printable';

  const hasLongLine = normalizedText
    .split('\r\n')
    .some((line) => line.length > MAX_7BIT_LINE_LENGTH);
  return hasLongLine ? 'quoted-printable' : '7bit';
}

/**
 * Encodes text as quoted-printable (RFC 2045 §6.7). The line breaks of `normalizedText` must
 * already be CRLF, and they stay hard line breaks. Encoded lines are at most 76 characters,
 * long lines get soft line breaks (`=` at the end), `=` becomes `=3D`, and a space or tab at
 * the end of a line is encoded. The bytes of one code point never straddle a soft line break.
 */
export function encodeQuotedPrintable(normalizedText: string): string {
  return normalizedText.split('\r\n').map(encodeQuotedPrintableLine).join('\r\n');
}

function encodeQuotedPrintableLine(line: string): string {
  const tokens: string[] = [];
  for (const character of line) {
    tokens.push(encodeQuotedPrintableCharacter(character));
  }

  // Rule 3 of RFC 2045 §6.7: whitespace at the end of an encoded line must be encoded.
  const last = tokens[tokens.length - 1];
  if (last === ' ') tokens[tokens.length - 1] = '=20';
  if (last === '\t') tokens[tokens.length - 1] = '=09';

  const encodedLines: string[] = [];
  let current = '';
  tokens.forEach((token, index) => {
    const isLastToken = index === tokens.length - 1;
    const length = current.length + token.length;
    // A line that needs a soft break keeps one column for the `=`.
    const fits = isLastToken
      ? length <= MAX_QUOTED_PRINTABLE_LINE_LENGTH
      : length <= MAX_QUOTED_PRINTABLE_LINE_LENGTH - 1;

    if (!fits) {
      encodedLines.push(current + '=');
      current = '';
    }
    current += token;
  });
  encodedLines.push(current);

  return encodedLines.join('\r\n');
}

function encodeQuotedPrintableCharacter(character: string): string {
  const code = character.codePointAt(0)!;
  const isLiteral = code === 0x20 || code === 0x09 || (code >= 33 && code <= 126 && code !== 61);
  if (isLiteral) return character;

  let output = '';
  for (const byte of utf8Bytes(character)) {
    output += '=' + HEX_DIGITS[byte >> 4]! + HEX_DIGITS[byte & 15]!;
  }
  return output;
}
