/**
 * Header fields of composed messages: validation of names and values, RFC 2047 encoded-words
 * and folding (RFC 5322 §2.2.3). A field value is built as a list of parts, and folding only
 * ever happens in the whitespace before a part, so unfolding restores the value exactly.
 * Output is ASCII, and every line stays within 998 characters.
 */
import { encodeBase64, utf8Bytes } from '../base64.js';
import { base64Length, utf8Length } from './encoding.js';

/** Line length limit that folding aims for (RFC 5322 §2.1.1). */
const MAX_FOLDED_LINE_LENGTH = 78;

/** Maximum length of a line that contains an encoded-word (RFC 2047 §2). */
const MAX_ENCODED_LINE_LENGTH = 76;

/** Maximum length of one encoded-word (RFC 2047 §2). */
const MAX_ENCODED_WORD_LENGTH = 75;

/** Hard line length limit, CRLF excluded (RFC 5322 §2.1.1). */
export const MAX_LINE_LENGTH = 998;

/** Maximum header name length, so that the name, colon and a space fit on one folded line. */
const MAX_HEADER_NAME_LENGTH = 76;

const ENCODED_WORD_PREFIX = '=?UTF-8?B?';
const ENCODED_WORD_SUFFIX = '?=';

/** Characters that may appear in a header value only through an encoded-word. */
const NEEDS_ENCODING = /[^\x20-\x7e]/;

/** Text that a reader would decode as an encoded-word, so it must itself be encoded. */
const LOOKS_ENCODED = /=\?[^?\s]+\?[bq]\?[^?\s]*\?=/i;

/**
 * One piece of a header field value. `space` is the whitespace written before the piece, where
 * a fold may go, and is never empty. A `text` piece is written as is, and an `encoded` piece
 * is written as one or more encoded-words separated by single spaces.
 */
export interface HeaderPart {
  kind: 'text' | 'encoded';
  space: string;
  text: string;
}

/**
 * Checks a header name: 1 to 76 printable ASCII characters without a colon (RFC 5322 §2.2).
 * @throws TypeError naming the field when the name is invalid.
 */
export function validateHeaderName(name: string, field: string): void {
  if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) {
    throw new TypeError(
      `Invalid ${field} name ${JSON.stringify(name)}: ` +
        'use printable ASCII characters other than ":", without spaces or line breaks',
    );
  }
  if (name.length > MAX_HEADER_NAME_LENGTH) {
    throw new TypeError(
      `Invalid ${field} name ${JSON.stringify(name.slice(0, 20) + '…')}: ` +
        `it has ${name.length} characters, use at most ${MAX_HEADER_NAME_LENGTH}`,
    );
  }
}

/**
 * Checks that a header value is a string without CR, LF or NUL, which would end the field and
 * let the value inject further header fields.
 * @throws TypeError naming the field when the value is invalid.
 */
export function validateHeaderValue(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string') {
    throw new TypeError(`Invalid ${field}: expected a string, got ${typeof value}`);
  }
  if (/[\r\n\0]/.test(value)) {
    throw new TypeError(
      `Invalid ${field}: the value contains CR, LF or NUL. Remove them from the value`,
    );
  }
}

/**
 * Splits unstructured text (RFC 5322 §3.2.5), such as a subject, into header parts. Words with
 * non-ASCII or control characters become encoded-words, together with the whitespace between
 * neighbouring ones. So does a word too long for any line, and a word that could be read as an
 * encoded-word (RFC 2047 §5). Whitespace at both ends of the value is dropped.
 */
export function unstructuredParts(value: string): HeaderPart[] {
  const parts: HeaderPart[] = [];
  const trimmed = value.replace(/^[ \t]+|[ \t]+$/g, '');

  for (const match of trimmed.matchAll(/([ \t]*)([^ \t]+)/g)) {
    const space = match[1] || ' ';
    const word = match[2]!;
    const needsEncoding =
      NEEDS_ENCODING.test(word) ||
      LOOKS_ENCODED.test(word) ||
      space.length + word.length > MAX_LINE_LENGTH;
    const previous = parts[parts.length - 1];

    if (!needsEncoding) {
      parts.push({ kind: 'text', space, text: word });
    } else if (previous?.kind === 'encoded') {
      // Readers drop the whitespace between two encoded-words (RFC 2047 §6.2), so it goes
      // inside the encoded text.
      previous.text += space + word;
    } else {
      // Only one whitespace character stays outside, where folding may use it. The rest of a
      // long run goes inside the encoded text, so it cannot push a line past the hard limit.
      parts.push({ kind: 'encoded', space: space[0]!, text: space.slice(1) + word });
    }
  }
  return parts;
}

/**
 * Writes a header field, folded before 78 characters wherever a part boundary allows. Lines
 * that contain encoded-words stay within 76 characters. A single part that cannot be split may
 * make its line longer than 78 characters, but never longer than 998.
 * @throws TypeError when a line would still exceed 998 characters.
 */
export function foldHeader(name: string, parts: readonly HeaderPart[]): string {
  const lines: string[] = [];
  let line = name + ':';
  let lineHasParts = false;
  let lineHasEncodedWord = false;

  const startLine = () => {
    lines.push(line);
    line = '';
    lineHasEncodedWord = false;
  };

  for (const part of parts) {
    if (part.kind === 'text') {
      const limit = lineHasEncodedWord ? MAX_ENCODED_LINE_LENGTH : MAX_FOLDED_LINE_LENGTH;
      const length = line.length + part.space.length + part.text.length;
      // The first part stays beside the name when it fits the hard limit, because a name
      // alone on its line is harder to read.
      const keepOnLine = length <= limit || (!lineHasParts && length <= MAX_LINE_LENGTH);
      if (!keepOnLine && line !== '') startLine();
      line += part.space + part.text;
    } else {
      line = appendEncodedWords(line, part, lines);
      lineHasEncodedWord = true;
    }
    lineHasParts = true;
    if (line.length > MAX_LINE_LENGTH) {
      throw new TypeError(
        `Invalid ${name} header: a line would exceed ${MAX_LINE_LENGTH} characters`,
      );
    }
  }
  lines.push(line);
  return lines.join('\r\n');
}

/**
 * Appends the encoded-words of `part` to `line`, moving finished lines to `lines`, and returns
 * the line in progress. Each word takes as many whole code points as fit in the line.
 */
function appendEncodedWords(line: string, part: HeaderPart, lines: string[]): string {
  const codePoints = Array.from(part.text);
  let space = part.space;
  let start = 0;

  while (start < codePoints.length) {
    const room = MAX_ENCODED_LINE_LENGTH - line.length - space.length;
    const end = findEncodedWordEnd(codePoints, start, Math.min(room, MAX_ENCODED_WORD_LENGTH));
    if (end === start) {
      // Not even one code point fits here, but a fresh line has room for 75 characters.
      lines.push(line);
      line = '';
      continue;
    }
    line += space + encodeWord(codePoints.slice(start, end).join(''));
    space = ' ';
    start = end;
  }
  return line;
}

/** Returns the index after the last code point that fits in an encoded-word of `maxLength`. */
function findEncodedWordEnd(codePoints: string[], start: number, maxLength: number): number {
  const overhead = ENCODED_WORD_PREFIX.length + ENCODED_WORD_SUFFIX.length;
  let byteCount = 0;
  let end = start;
  while (end < codePoints.length) {
    const next = byteCount + utf8Length(codePoints[end]!.codePointAt(0)!);
    if (overhead + base64Length(next) > maxLength) break;
    byteCount = next;
    end += 1;
  }
  return end;
}

function encodeWord(text: string): string {
  return ENCODED_WORD_PREFIX + encodeBase64(utf8Bytes(text)) + ENCODED_WORD_SUFFIX;
}

/**
 * Joins header parts on one line without folding. Encoded text is split into encoded-words of at
 * most 75 characters.
 */
export function joinParts(parts: readonly HeaderPart[]): string {
  let output = '';
  parts.forEach((part, index) => {
    const space = index === 0 ? '' : part.space;
    if (part.kind === 'text') {
      output += space + part.text;
      return;
    }
    const codePoints = Array.from(part.text);
    const words: string[] = [];
    for (let start = 0; start < codePoints.length; ) {
      const end = findEncodedWordEnd(codePoints, start, MAX_ENCODED_WORD_LENGTH);
      words.push(encodeWord(codePoints.slice(start, end).join('')));
      start = end;
    }
    output += space + words.join(' ');
  });
  return output;
}
