import { describe, expect, it } from 'vitest';
import { decodeQuotedPrintable } from './decoding.test-helpers.js';
import { chooseTransferEncoding, encodeQuotedPrintable, normalizeLineBreaks } from './encoding.js';

describe('normalizeLineBreaks', () => {
  it.each([
    ['a\nb', 'a\r\nb'],
    ['a\rb', 'a\r\nb'],
    ['a\r\nb', 'a\r\nb'],
    ['a\n\rb', 'a\r\n\r\nb'],
    ['a\r\r\nb\n', 'a\r\n\r\nb\r\n'],
    ['no break', 'no break'],
  ])('turns %j into %j', (input, expected) => {
    expect(normalizeLineBreaks(input)).toBe(expected);
  });
});

describe('chooseTransferEncoding', () => {
  it.each([
    ['short ASCII lines', 'Hello\r\nworld', '7bit'],
    ['a 78-character line', 'x'.repeat(78), '7bit'],
    ['a 79-character line', 'x'.repeat(79), 'quoted-printable'],
    ['non-ASCII text', 'Grüße', 'quoted-printable'],
    ['a NUL character', 'a\0b', 'quoted-printable'],
    ['an empty body', '', '7bit'],
  ] as const)('chooses the encoding for %s', (_, input, expected) => {
    expect(chooseTransferEncoding(input)).toBe(expected);
  });
});

describe('encodeQuotedPrintable', () => {
  it.each([
    ['plain ASCII', 'Hello, world', 'Hello, world'],
    ['an equals sign', 'a=b', 'a=3Db'],
    ['a trailing space', 'end ', 'end=20'],
    ['a trailing tab', 'end\t', 'end=09'],
    ['trailing space before a line break', 'a \r\nb', 'a=20\r\nb'],
    ['inner whitespace', 'a \tb', 'a \tb'],
    ['German text', 'Grüße', 'Gr=C3=BC=C3=9Fe'],
    ['Japanese text', '日本', '=E6=97=A5=E6=9C=AC'],
    ['an emoji', '😀', '=F0=9F=98=80'],
    ['a NUL and DEL', '\0\x7f', '=00=7F'],
    ['an empty line', 'a\r\n\r\nb', 'a\r\n\r\nb'],
  ])('encodes %s', (_, input, expected) => {
    expect(encodeQuotedPrintable(input)).toBe(expected);
  });

  it('keeps a 76-character line whole', () => {
    expect(encodeQuotedPrintable('x'.repeat(76))).toBe('x'.repeat(76));
  });

  it('breaks a 77-character line softly', () => {
    expect(encodeQuotedPrintable('x'.repeat(77))).toBe(`${'x'.repeat(75)}=\r\nxx`);
  });

  it('keeps the bytes of a code point together', () => {
    const encoded = encodeQuotedPrintable('x'.repeat(71) + 'üy');
    expect(encoded).toBe(`${'x'.repeat(71)}=\r\n=C3=BCy`);
  });

  it.each([
    ['German', 'Größenänderung der Straßenbahnhaltestelle übermäßig. '.repeat(20)],
    ['Japanese', 'これは日本語のテキストです。改行なしで長く続きます。'.repeat(15)],
    ['long ASCII with trailing spaces', `${'word '.repeat(50)}\r\n${'= '.repeat(60)}`],
  ])('wraps %s text within 76 columns', (_, text) => {
    const encoded = encodeQuotedPrintable(text);
    const lines = encoded.split('\r\n');

    expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(76);
    expect(encoded).toMatch(/^[\x20-\x7e\r\n]*$/);
    expect(lines.every((line) => !/[ \t]$/.test(line))).toBe(true);
    expect(decodeQuotedPrintable(encoded)).toBe(text);
  });
});
