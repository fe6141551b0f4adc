import { describe, expect, it } from 'vitest';
import {
  addressListParts,
  buildEnvelope,
  formatAddress,
  toMailbox,
  toMailboxList,
  validateAddress,
} from './address.js';
import { decodeEncodedWords, unfold } from './decoding.test-helpers.js';
import { foldHeader } from './header.js';

describe('validateAddress', () => {
  it.each([
    ['user@example.test', 'user@example.test'],
    ['  user@example.test ', 'user@example.test'],
    ['first.last+tag@sub.example.test', 'first.last+tag@sub.example.test'],
    ['"john doe"@example.test', '"john doe"@example.test'],
    ['"a@b"@example.test', '"a@b"@example.test'],
    ['user@[192.0.2.1]', 'user@[192.0.2.1]'],
    ['user@[IPv6:2001:db8::1]', 'user@[IPv6:2001:db8::1]'],
    ['user@localhost', 'user@localhost'],
  ])('accepts %j', (input, expected) => {
    expect(validateAddress(input, 'to')).toBe(expected);
  });

  it.each([
    ['CRLF', 'a@example.test\r\nRCPT TO:<b@example.test>', 'CR, LF or NUL'],
    ['a bare LF', 'a@example.test\nb', 'CR, LF or NUL'],
    ['NUL', 'a@example.test\0', 'CR, LF or NUL'],
    ['angle brackets', 'Jane <jane@example.test>', 'pass the bare address'],
    ['a closing bracket', 'a@example.test>', 'pass the bare address'],
    ['no @', 'example.test', 'expected the form local@domain'],
    ['an empty local part', '@example.test', 'expected the form local@domain'],
    ['an empty domain', 'user@', 'expected the form local@domain'],
    ['a space', 'john doe@example.test', 'expected the form local@domain'],
    ['a comma', 'a@example.test,b@example.test', 'expected the form local@domain'],
    ['non-ASCII', 'jürgen@example.test', 'non-ASCII addresses are not supported'],
    ['a long local part', `${'a'.repeat(65)}@example.test`, 'at most 64'],
    ['a long domain', `a@${'d'.repeat(256)}`, 'at most 255'],
  ])('rejects %s', (_, input, message) => {
    expect(() => validateAddress(input, 'to')).toThrow(TypeError);
    expect(() => validateAddress(input, 'to')).toThrow(message);
  });

  it('names the field in the message', () => {
    expect(() => validateAddress('nobody', 'cc[2]')).toThrow('Invalid cc[2] address "nobody"');
  });

  it('rejects a value that is not a string', () => {
    expect(() => validateAddress(undefined, 'from')).toThrow('expected a string, got undefined');
  });
});

describe('toMailboxList', () => {
  it('returns an empty list for a missing field', () => {
    expect(toMailboxList(undefined, 'cc')).toEqual([]);
  });

  it('names list entries by index', () => {
    expect(() => toMailboxList(['a@example.test', 'bad'], 'to')).toThrow('Invalid to[1] address');
  });

  it.each([
    ['CR LF', 'Jane\r\nBcc: victim@example.test'],
    ['NUL', 'Jane\0'],
  ])('rejects a display name with %s', (_, name) => {
    const list = [{ name, address: 'jane@example.test' }];
    expect(() => toMailboxList(list, 'to')).toThrow('Invalid to[0] display name');
  });
});

describe('formatAddress', () => {
  it.each([
    ['a bare address', 'jane@example.test', 'jane@example.test'],
    ['an object without name', { address: 'jane@example.test' }, 'jane@example.test'],
    ['an atom name', { name: 'Jane Doe', address: 'j@example.test' }, 'Jane Doe <j@example.test>'],
    ['a comma', { name: 'Doe, Jane', address: 'j@example.test' }, '"Doe, Jane" <j@example.test>'],
    ['a dot', { name: 'J. Doe', address: 'j@example.test' }, '"J. Doe" <j@example.test>'],
    [
      'quotes and a backslash',
      { name: 'Jane "JD" Do\\e', address: 'j@example.test' },
      '"Jane \\"JD\\" Do\\\\e" <j@example.test>',
    ],
    [
      'text that looks encoded',
      { name: '=?UTF-8?B?YQ==?=', address: 'j@example.test' },
      '"=?UTF-8?B?YQ==?=" <j@example.test>',
    ],
    [
      'a non-ASCII name',
      { name: 'Jürgen Müller', address: 'j@example.test' },
      '=?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <j@example.test>',
    ],
    ['an empty name', { name: '', address: 'j@example.test' }, 'j@example.test'],
  ])('formats %s', (_, address, expected) => {
    expect(formatAddress(address)).toBe(expected);
  });

  it('splits a long non-ASCII name into encoded-words', () => {
    const name = '山田太郎（株式会社サンプル 営業部 第一営業課 課長代理）'.repeat(2);
    const formatted = formatAddress({ name, address: 'yamada@example.test' });
    const words = formatted.match(/=\?[^?]*\?B\?[^?]*\?=/g) ?? [];

    expect(words.length).toBeGreaterThan(1);
    expect(Math.max(...words.map((word) => word.length))).toBeLessThanOrEqual(75);
    expect(decodeEncodedWords(formatted)).toBe(`${name} <yamada@example.test>`);
  });
});

describe('addressListParts', () => {
  it('folds address list between mailboxes', () => {
    const list = toMailboxList(
      Array.from({ length: 6 }, (_, index) => ({
        name: `Recipient Number ${index}`,
        address: `recipient${index}@example.test`,
      })),
      'to',
    );
    const field = foldHeader('To', addressListParts(list));
    const lines = field.split('\r\n');

    expect(lines.length).toBeGreaterThan(1);
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(78);
    expect(unfold(field)).toBe(
      `To: ${list.map((mailbox) => `${mailbox.name} <${mailbox.address}>`).join(', ')}`,
    );
  });
});

describe('buildEnvelope', () => {
  const from = { name: 'Sender', address: 'sender@example.test' };
  const mailboxes = (...addresses: string[]) => addresses.map((address) => ({ name: '', address }));

  it('takes recipients in order without duplicates', () => {
    const recipients = mailboxes(
      'b@example.test',
      'a@example.test',
      'b@EXAMPLE.test',
      'c@example.test',
      'a@example.test',
    );
    expect(buildEnvelope(from, recipients, undefined)).toEqual({
      from: 'sender@example.test',
      to: ['b@example.test', 'a@example.test', 'c@example.test'],
    });
  });

  it('keeps local part case significant', () => {
    const envelope = buildEnvelope(from, mailboxes('a@example.test', 'A@example.test'), undefined);
    expect(envelope.to).toEqual(['a@example.test', 'A@example.test']);
  });

  it('uses an override envelope', () => {
    const override = { from: 'bounce@example.test', to: ['x@example.test', 'x@example.test'] };
    expect(buildEnvelope(from, mailboxes('a@example.test'), override)).toEqual({
      from: 'bounce@example.test',
      to: ['x@example.test'],
    });
  });

  it('accepts empty reverse-path override', () => {
    expect(buildEnvelope(from, [], { from: '', to: 'x@example.test' })).toEqual({
      from: '',
      to: ['x@example.test'],
    });
  });

  it('rejects a message without recipients', () => {
    expect(() => buildEnvelope(from, [], undefined)).toThrow('Missing recipient');
    expect(() => buildEnvelope(from, [], { from: 'a@example.test', to: [] })).toThrow(
      'Missing recipient: give at least one address in envelope.to',
    );
  });

  it('validates override addresses', () => {
    const override = { from: 'a@example.test', to: ['x@example.test\r\nDATA'] };
    expect(() => buildEnvelope(from, [], override)).toThrow('Invalid envelope.to[0] address');
  });
});

describe('toMailbox with a display name in the string', () => {
  it.each([
    ['Jane Doe <jane@example.test>', 'Jane Doe', 'jane@example.test'],
    ['"Doe, Jane" <jane@example.test>', 'Doe, Jane', 'jane@example.test'],
    ['<jane@example.test>', '', 'jane@example.test'],
    ['  Grüße <jane@example.test>  ', 'Grüße', 'jane@example.test'],
  ])('splits %s', (input, name, address) => {
    expect(toMailbox(input, 'from')).toEqual({ name, address });
  });

  it('rejects a second pair of angle brackets', () => {
    expect(() => toMailbox('A <b@example.test> <c@example.test>', 'from')).toThrow(TypeError);
  });
});
