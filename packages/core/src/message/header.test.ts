import { describe, expect, it } from 'vitest';
import { decodeEncodedWords, unfold } from './decoding.test-helpers.js';
import {
  foldHeader,
  joinParts,
  unstructuredParts,
  validateHeaderName,
  validateHeaderValue,
} from './header.js';

function foldUnstructured(name: string, value: string): string {
  return foldHeader(name, unstructuredParts(value));
}

function lineLengths(field: string): number[] {
  return field.split('\r\n').map((line) => line.length);
}

describe('validateHeaderName', () => {
  it.each(['X-Mailer', 'List-Unsubscribe', 'x', '!#$%&*+-.^_`|~'])('accepts %j', (name) => {
    expect(() => validateHeaderName(name, 'header')).not.toThrow();
  });

  it.each([
    ['an empty name', ''],
    ['a colon', 'X-Bad:'],
    ['a space', 'X Bad'],
    ['a line break', 'X-Bad\r\nBcc'],
    ['non-ASCII', 'X-Grüße'],
    ['77 characters', 'X'.repeat(77)],
  ])('rejects %s', (_, name) => {
    expect(() => validateHeaderName(name, 'header')).toThrow(TypeError);
  });
});

describe('validateHeaderValue', () => {
  it.each([
    ['CRLF', 'value\r\nBcc: victim@example.test'],
    ['a bare LF', 'value\nBcc: victim@example.test'],
    ['a bare CR', 'value\rBcc: victim@example.test'],
    ['NUL', 'value\0'],
  ])('rejects %s and names the field', (_, value) => {
    expect(() => validateHeaderValue(value, 'subject')).toThrow(/Invalid subject: .*CR, LF/);
  });

  it('rejects a value that is not a string', () => {
    expect(() => validateHeaderValue(42, 'subject')).toThrow('expected a string, got number');
  });

  it('accepts tabs and non-ASCII text', () => {
    expect(() => validateHeaderValue('a\tb ü', 'subject')).not.toThrow();
  });
});

describe('foldHeader with unstructured text', () => {
  it.each([
    ['short ASCII', 'Subject', 'Hello world', 'Subject: Hello world'],
    ['surrounding whitespace', 'Subject', '  Hello  ', 'Subject: Hello'],
    ['an empty value', 'Subject', '', 'Subject:'],
    ['one non-ASCII word', 'Subject', 'Grüße', 'Subject: =?UTF-8?B?R3LDvMOfZQ==?='],
    [
      'ASCII between non-ASCII words',
      'Subject',
      'Grüße aus Köln',
      'Subject: =?UTF-8?B?R3LDvMOfZQ==?= aus =?UTF-8?B?S8O2bG4=?=',
    ],
    ['adjacent non-ASCII words', 'Subject', 'ä ö', 'Subject: =?UTF-8?B?w6Qgw7Y=?='],
    [
      'text that looks encoded',
      'Subject',
      '=?UTF-8?B?YQ==?=',
      'Subject: =?UTF-8?B?PT9VVEYtOD9CP1lRPT0/PQ==?=',
    ],
    ['a control character', 'X-Note', 'a\x01b', 'X-Note: =?UTF-8?B?YQFi?='],
  ])('writes %s', (_, name, value, expected) => {
    expect(foldUnstructured(name, value)).toBe(expected);
  });

  it('folds 300-character subject before 78', () => {
    const words = ['Quarterly', 'report', 'on', 'delivery', 'latency', 'and', 'bounces'];
    let subject = '';
    for (let index = 0; subject.length < 300; index += 1) {
      subject += (subject === '' ? '' : ' ') + words[index % words.length];
    }
    subject = subject.slice(0, 300).trimEnd();

    const field = foldUnstructured('Subject', subject);

    expect(field.split('\r\n').length).toBeGreaterThan(3);
    expect(Math.max(...lineLengths(field))).toBeLessThanOrEqual(78);
    expect(unfold(field)).toBe(`Subject: ${subject}`);
  });

  it('keeps the exact whitespace between words', () => {
    const value = `${'a '.repeat(40)}b\t\tc  d`;
    const field = foldUnstructured('Subject', value);
    expect(unfold(field)).toBe(`Subject: ${value}`);
  });

  it('keeps a long word whole on its own line', () => {
    const url = `<https://example.test/unsubscribe/${'a'.repeat(100)}>`;
    const field = foldUnstructured('List-Unsubscribe', `one ${url}`);
    expect(field).toBe(`List-Unsubscribe: one\r\n ${url}`);
  });

  it('keeps a long first word beside the name', () => {
    const word = 'x'.repeat(100);
    expect(foldUnstructured('X-Token', word)).toBe(`X-Token: ${word}`);
  });

  it('encodes a word too long for any line', () => {
    const word = 'x'.repeat(1200);
    const field = foldUnstructured('X-Token', word);

    expect(Math.max(...lineLengths(field))).toBeLessThanOrEqual(76);
    expect(decodeEncodedWords(unfold(field))).toBe(`X-Token: ${word}`);
  });

  it('moves a long whitespace run into encoded text', () => {
    const value = `a${' '.repeat(1000)}b`;
    const field = foldUnstructured('X-Note', value);

    expect(Math.max(...lineLengths(field))).toBeLessThanOrEqual(998);
    expect(decodeEncodedWords(unfold(field))).toBe(`X-Note: ${value}`);
  });

  it.each([
    ['German', 'Einladung zur Besprechung über die Größenänderung der Straßenbahn '.repeat(5)],
    ['Japanese', '来週の会議についてのお知らせと資料の確認のお願い'.repeat(6)],
    ['emoji', '🎉 Release 2.0 🚀 with 🌍 support '.repeat(8)],
    ['mixed', 'Réunion — 会議 — meeting '.repeat(10)],
  ])('encodes %s text in short encoded-words', (_, value) => {
    const field = foldUnstructured('Subject', value);
    const encodedWords = field.match(/=\?[^?]*\?B\?[^?]*\?=/g) ?? [];

    expect(encodedWords.length).toBeGreaterThan(1);
    expect(Math.max(...encodedWords.map((word) => word.length))).toBeLessThanOrEqual(75);
    expect(Math.max(...lineLengths(field))).toBeLessThanOrEqual(76);
    expect(field).toMatch(/^[\x20-\x7e\r\n]*$/);
    expect(decodeEncodedWords(unfold(field))).toBe(`Subject: ${value.trim()}`);
  });

  it('rejects line over 998 characters', () => {
    const parts = [{ kind: 'text' as const, space: ' ', text: 'x'.repeat(998) }];
    expect(() => foldHeader('X-Long', parts)).toThrow('exceed 998 characters');
  });
});

describe('joinParts', () => {
  it('joins parts with their whitespace and no folds', () => {
    const value = `${'word '.repeat(30)}Grüße`;
    const joined = joinParts(unstructuredParts(value));

    expect(joined).not.toContain('\r\n');
    expect(decodeEncodedWords(joined)).toBe(value);
  });
});
