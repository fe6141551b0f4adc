import { describe, expect, it } from 'vitest';
import {
  addressOfOption,
  envelopeOf,
  parseAddressList,
  readHeaderFields,
  removeHeaderField,
} from './message-input.js';
import { InputError } from './terminal.js';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('parseAddressList', () => {
  it.each([
    ['a@example.test', ['a@example.test']],
    ['Ann <ann@example.test>, bob@example.test', ['ann@example.test', 'bob@example.test']],
    ['"Doe, Jane" <jane@example.test>', ['jane@example.test']],
    ['jane@example.test (Jane, at work)', ['jane@example.test']],
    [
      'team: a@example.test, b@example.test;, c@example.test',
      ['a@example.test', 'b@example.test', 'c@example.test'],
    ],
    ['undisclosed-recipients:;', []],
    ['"odd local"@example.test', ['"odd local"@example.test']],
    ['', []],
  ])('reads %j', (input, expected) => {
    expect(parseAddressList(input)).toEqual(expected);
  });
});

describe('readHeaderFields', () => {
  it('unfolds continued lines and stops at the body', () => {
    const fields = readHeaderFields(
      bytes(
        'To: a@example.test,\r\n b@example.test\r\nTo: c@example.test\r\n\r\nTo: ' +
          'body@example.test\r\n',
      ),
    );
    expect(fields.get('to')).toEqual(['a@example.test, b@example.test', 'c@example.test']);
  });
});

describe('envelopeOf', () => {
  const raw = bytes(
    'From: Sender <s@example.test>\r\nTo: t@example.test\r\nCc: c@example.test, ' +
      't@example.test\r\n\r\nbody\r\n',
  );

  it('takes the envelope from the header fields', () => {
    expect(envelopeOf({ to: [], cc: [] }, raw)).toEqual({
      from: 's@example.test',
      to: ['t@example.test', 'c@example.test'],
    });
  });

  it('prefers the options over the header fields', () => {
    expect(envelopeOf({ from: 'o@example.test', to: ['x@example.test'], cc: [] }, raw)).toEqual({
      from: 'o@example.test',
      to: ['x@example.test'],
    });
  });

  it('adds Bcc recipients when the header fields give the envelope', () => {
    const withBcc = bytes(
      'From: s@example.test\r\nTo: t@example.test\r\nBcc: b@example.test\r\n\r\n',
    );
    expect(envelopeOf({ to: [], cc: [] }, withBcc).to).toEqual([
      't@example.test',
      'b@example.test',
    ]);
    expect(envelopeOf({ to: ['x@example.test'], cc: [] }, withBcc).to).toEqual(['x@example.test']);
  });

  it('takes the bare address of a --from with a display name', () => {
    expect(envelopeOf({ from: 'Ann <a@example.test>', to: [], cc: [] }, raw).from).toBe(
      'a@example.test',
    );
  });

  it('rejects an invalid address in a header field', () => {
    const broken = bytes('From: s@example.test\r\nTo: t@example.test>\r\n\r\n');
    expect(() => envelopeOf({ to: [], cc: [] }, broken)).toThrow(
      /Invalid address "t@example.test>" in the To header field/,
    );
  });

  it('rejects a message without recipients', () => {
    expect(() => envelopeOf({ to: [], cc: [] }, bytes('From: s@example.test\r\n\r\nbody'))).toThrow(
      InputError,
    );
  });
});

describe('removeHeaderField', () => {
  const text = (value: Uint8Array) => new TextDecoder().decode(value);

  it('removes every field with the name and its continuation lines', () => {
    const message = bytes(
      'From: s@example.test\r\nBCC: a@example.test,\r\n\tb@example.test\r\n' +
        'To: t@example.test\r\nbcc : c@example.test\r\n\r\nBcc: body\r\n',
    );
    expect(text(removeHeaderField(message, 'bcc'))).toBe(
      'From: s@example.test\r\nTo: t@example.test\r\n\r\nBcc: body\r\n',
    );
  });

  it('handles LF line ends and a message without a body', () => {
    expect(text(removeHeaderField(bytes('To: t@example.test\nBcc: b@example.test\n'), 'bcc'))).toBe(
      'To: t@example.test\n',
    );
  });

  it('returns the same bytes when the field is absent', () => {
    const message = bytes('To: t@example.test\r\nX-Bcc-Note: kept\r\n\r\nbody');
    expect(removeHeaderField(message, 'bcc')).toBe(message);
  });
});

describe('addressOfOption', () => {
  it.each([
    ['a@example.test', 'a@example.test'],
    ['Ann <a@example.test>', 'a@example.test'],
    ['"Doe, Jane" <jane@example.test>', 'jane@example.test'],
    ['"odd local"@example.test', '"odd local"@example.test'],
  ])('reads %j', (input, expected) => {
    expect(addressOfOption(input, '--to')).toBe(expected);
  });

  it.each(['not an address', 'Ann <a@example.test', 'a@', '@example.test', 'a@exa mple.test'])(
    'rejects %j with the command line forms',
    (input) => {
      expect(() => addressOfOption(input, '--to')).toThrow(
        "--to user@example.com, or add a display name in quotes for the shell, as --to 'Name <user@example.com>'",
      );
    },
  );
});
