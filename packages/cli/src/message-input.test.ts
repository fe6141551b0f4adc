import { describe, expect, it } from 'vitest';
import { envelopeOf, parseAddressList, readHeaderFields } from './message-input.js';
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

  it('rejects a message without recipients', () => {
    expect(() => envelopeOf({ to: [], cc: [] }, bytes('From: s@example.test\r\n\r\nbody'))).toThrow(
      InputError,
    );
  });
});
