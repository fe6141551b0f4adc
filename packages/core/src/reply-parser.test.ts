import { describe, expect, it } from 'vitest';
import { SmtpProtocolError } from './errors.js';
import { MAX_REPLY_LINE_OCTETS, MAX_REPLY_LINES } from './limits.js';
import type { SmtpReply } from './reply.js';
import { ReplyParser } from './reply-parser.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Every reply the parser returns for the given reads, in order. */
function parseReads(reads: readonly Uint8Array[]): SmtpReply[] {
  const parser = new ReplyParser();
  const replies: SmtpReply[] = [];
  for (const read of reads) {
    parser.push(read);
    for (let reply = parser.next(); reply !== null; reply = parser.next()) replies.push(reply);
  }
  return replies;
}

function parseOne(input: Uint8Array | string): SmtpReply {
  const replies = parseReads([typeof input === 'string' ? bytes(input) : input]);
  expect(replies).toHaveLength(1);
  return replies[0]!;
}

function parseError(input: Uint8Array | string): SmtpProtocolError {
  try {
    parseReads([typeof input === 'string' ? bytes(input) : input]);
  } catch (error) {
    expect(error).toBeInstanceOf(SmtpProtocolError);
    return error as SmtpProtocolError;
  }
  throw new Error('expected a protocol error');
}

describe('ReplyParser', () => {
  it.each([
    ['a single line', '250 OK\r\n', 250, ['250 OK'], ['OK']],
    ['a code without text', '250\r\n', 250, ['250'], ['']],
    ['a code and a space only', '221 \r\n', 221, ['221 '], ['']],
    [
      'a multi-line reply',
      '250-mx.example.test\r\n250-PIPELINING\r\n250 SIZE 1000\r\n',
      250,
      ['250-mx.example.test', '250-PIPELINING', '250 SIZE 1000'],
      ['mx.example.test', 'PIPELINING', 'SIZE 1000'],
    ],
    ['a hyphen line ended by a bare code', '250-a\r\n250\r\n', 250, ['250-a', '250'], ['a', '']],
    ['bare LF line ends', '220-one\n220 two\n', 220, ['220-one', '220 two'], ['one', 'two']],
  ])('parses %s', (_, input, code, lines, texts) => {
    const reply = parseOne(input);

    expect(reply.code).toBe(code);
    expect(reply.lines).toEqual(lines);
    expect(reply.texts).toEqual(texts);
  });

  it('returns null until a reply is complete', () => {
    const parser = new ReplyParser();
    parser.push(bytes('250-first\r\n250 sec'));

    expect(parser.next()).toBeNull();
    expect(parser.inReply).toBe(true);
    expect(parser.bufferedBytes).toBe(7);
    parser.push(bytes('ond\r\n'));
    expect(parser.next()?.lines).toEqual(['250-first', '250 second']);
    expect(parser.next()).toBeNull();
    expect(parser.inReply).toBe(false);
    expect(parser.bufferedBytes).toBe(0);
  });

  it('returns replies of one read in order', () => {
    const replies = parseReads([bytes('250 sender ok\r\n250 rcpt ok\r\n354 go ahead\r\n')]);

    expect(replies.map((reply) => reply.code)).toEqual([250, 250, 354]);
  });

  describe('reads split at every byte position', () => {
    const input = bytes(
      '220 mx.example.test ESMTP Grüße ✓\r\n250-mx\r\n250-SIZE 1000\r\n250 8BITMIME\n' +
        '550 5.1.1 <ghost@example.test>: unknown\r\n',
    );
    const whole = parseReads([input]);

    it('yields three replies for the whole input', () => {
      expect(whole.map((reply) => reply.code)).toEqual([220, 250, 550]);
      expect(whole[0]!.texts[0]).toBe('mx.example.test ESMTP Grüße ✓');
    });

    it.each(Array.from({ length: input.length + 1 }, (_, split) => split))(
      'yields the same replies when split at %i',
      (split) => {
        const replies = parseReads([input.subarray(0, split), input.subarray(split)]);

        expect(replies).toEqual(whole);
      },
    );

    it('yields the same replies byte by byte', () => {
      const reads = Array.from(input, (byte) => Uint8Array.of(byte));

      expect(parseReads(reads)).toEqual(whole);
    });
  });

  describe('bare LF', () => {
    it('sets bareLineFeedSeen for a line ending in LF alone', () => {
      const parser = new ReplyParser();
      parser.push(bytes('250 OK\n'));
      parser.next();

      expect(parser.bareLineFeedSeen).toBe(true);
    });

    it('leaves bareLineFeedSeen unset for CRLF', () => {
      const parser = new ReplyParser();
      parser.push(bytes('250 OK\r\n'));
      parser.next();

      expect(parser.bareLineFeedSeen).toBe(false);
    });

    it('treats CR and LF in separate reads as one CRLF', () => {
      const parser = new ReplyParser();
      parser.push(bytes('250 OK\r'));
      expect(parser.next()).toBeNull();
      parser.push(bytes('\n'));

      expect(parser.next()?.texts).toEqual(['OK']);
      expect(parser.bareLineFeedSeen).toBe(false);
    });
  });

  describe('text decoding', () => {
    it('decodes UTF-8 text', () => {
      expect(parseOne('554 Zugriff verweigert: Größe überschritten ✗\r\n').texts[0]).toBe(
        'Zugriff verweigert: Größe überschritten ✗',
      );
    });

    it.each([
      ['0xE9 as é', [0x63, 0x61, 0x66, 0xe9], 'caf\u00e9'],
      ['0x80 as U+0080', [0x80], '\u0080'],
      ['0x9F as U+009F', [0x9f], '\u009f'],
      ['0xFF as ÿ', [0xff], '\u00ff'],
      ['a truncated UTF-8 sequence', [0x41, 0xe2, 0x9c], 'A\u00e2\u009c'],
    ])('falls back to Latin-1 for invalid UTF-8: %s', (_, text, expected) => {
      const line = Uint8Array.of(0x35, 0x35, 0x30, 0x20, ...text, 0x0d, 0x0a);

      expect(parseOne(line).texts[0]).toBe(expected);
    });

    it('decodes each line separately', () => {
      const input = Uint8Array.of(...bytes('250-caf'), 0xe9, ...bytes('\r\n250 Grüße\r\n'));

      expect(parseOne(input).texts).toEqual(['caf\u00e9', 'Grüße']);
    });
  });

  describe('malformed input', () => {
    it.each([
      ['words instead of a code', 'hello there\r\n'],
      ['a two-digit code', '25 OK\r\n'],
      ['a four-digit code', '2500 OK\r\n'],
      ['a letter after the code', '250XOK\r\n'],
      ['a 1xx code', '150 opening\r\n'],
      ['a 6xx code', '650 what\r\n'],
      ['an empty line', '\r\n'],
      ['leading white space', ' 250 OK\r\n'],
      ['a TLS record', '\x16\x03\x01\x00\x05\r\n'],
    ])('rejects %s', (_, input) => {
      const error = parseError(input);

      expect(error.code).toBe('EPROTOCOL');
      expect(error.message).toMatch(/^Malformed reply line: /);
    });

    it('quotes at most 80 characters of a malformed line', () => {
      const error = parseError(`${'x'.repeat(500)}\r\n`);

      expect(error.message).toBe(`Malformed reply line: "${'x'.repeat(80)}"`);
    });

    it('rejects mixed codes in one reply', () => {
      const error = parseError('250-first\r\n550 second\r\n');

      expect(error.message).toBe('Malformed multi-line reply: code 550 inside a 250 reply');
    });
  });

  describe('limits', () => {
    const maxLine = `250 ${'x'.repeat(MAX_REPLY_LINE_OCTETS - 4)}`;

    it('accepts a line of exactly the maximum length', () => {
      expect(maxLine).toHaveLength(MAX_REPLY_LINE_OCTETS);
      expect(parseOne(`${maxLine}\r\n`).lines[0]).toBe(maxLine);
    });

    it('accepts a maximum-length line split before LF', () => {
      const replies = parseReads([bytes(`${maxLine}\r`), bytes('\n')]);

      expect(replies.map((reply) => reply.lines[0])).toEqual([maxLine]);
    });

    it('rejects a complete line one octet over the maximum', () => {
      const error = parseError(`${maxLine}x\r\n`);

      expect(error.message).toBe(`Reply line too long: ${MAX_REPLY_LINE_OCTETS + 1} octets`);
    });

    it('rejects an unterminated line over the maximum', () => {
      const parser = new ReplyParser();
      parser.push(bytes(maxLine));
      expect(parser.next()).toBeNull();
      parser.push(bytes('x'));

      expect(() => parser.next()).toThrow(
        `Reply line too long: over ${MAX_REPLY_LINE_OCTETS} octets without a line end`,
      );
    });

    it('bounds memory for an endless line fed in small reads', () => {
      const parser = new ReplyParser();
      const read = bytes('2'.repeat(1000));
      let reads = 0;

      expect(() => {
        for (; reads < 1000; reads++) {
          parser.push(read);
          parser.next();
        }
      }).toThrow(SmtpProtocolError);
      expect(reads).toBe(Math.floor(MAX_REPLY_LINE_OCTETS / 1000));
      expect(parser.bufferedBytes).toBeLessThanOrEqual(MAX_REPLY_LINE_OCTETS + read.length);
    });

    it(`accepts a reply of ${MAX_REPLY_LINES} lines`, () => {
      const input = `${'250-line\r\n'.repeat(MAX_REPLY_LINES - 1)}250 last\r\n`;

      expect(parseOne(input).lines).toHaveLength(MAX_REPLY_LINES);
    });

    it(`rejects a reply of more than ${MAX_REPLY_LINES} lines`, () => {
      const error = parseError(`${'250-line\r\n'.repeat(MAX_REPLY_LINES)}250 last\r\n`);

      expect(error.message).toBe(`Reply too long: more than ${MAX_REPLY_LINES} lines`);
    });

    it('rejects an endless multi-line reply before it ends', () => {
      const parser = new ReplyParser();
      parser.push(bytes('250-line\r\n'.repeat(MAX_REPLY_LINES)));
      expect(parser.next()).toBeNull();
      parser.push(bytes('250-line\r\n'));

      expect(() => parser.next()).toThrow(/Reply too long/);
    });
  });

  describe('reset', () => {
    it('drops buffered bytes and a started reply', () => {
      const parser = new ReplyParser();
      parser.push(bytes('250-a\r\n250-b'));
      expect(parser.next()).toBeNull();

      expect(parser.reset()).toBe(5);
      expect(parser.bufferedBytes).toBe(0);
      expect(parser.inReply).toBe(false);
      parser.push(bytes('220 ready\r\n'));
      expect(parser.next()?.lines).toEqual(['220 ready']);
    });

    it('drops complete replies not yet taken', () => {
      const parser = new ReplyParser();
      parser.push(bytes('220 go ahead\r\n250 injected\r\n'));
      expect(parser.next()?.code).toBe(220);

      expect(parser.reset()).toBe('250 injected\r\n'.length);
      expect(parser.next()).toBeNull();
    });

    it('returns 0 when nothing is buffered', () => {
      expect(new ReplyParser().reset()).toBe(0);
    });
  });

  describe('enhanced status codes', () => {
    it.each([
      ['550 5.1.1 User unknown', { class: 5, subject: 1, detail: 1 }, '5.1.1'],
      ['250 2.0.0 Ok: queued as ABC', { class: 2, subject: 0, detail: 0 }, '2.0.0'],
      ['451 4.7.1 Try again later', { class: 4, subject: 7, detail: 1 }, '4.7.1'],
      ['552 5.3.4', { class: 5, subject: 3, detail: 4 }, '5.3.4'],
      ['554 5.123.999 three digits each', { class: 5, subject: 123, detail: 999 }, '5.123.999'],
    ])('parses %j', (line, enhanced, text) => {
      const reply = parseOne(`${line}\r\n`);

      expect(reply.enhanced).toEqual(enhanced);
      expect(reply.enhancedCode).toBe(text);
    });

    it.each([
      ['a class that differs from the reply code', '550 2.1.1 mismatched'],
      ['a 2xx reply with a 4.x.x code', '250 4.0.0 mismatched'],
      ['class 3', '354 3.0.0 no such class'],
      ['a code later in the text', '550 user 5.1.1 unknown'],
      ['a four-digit detail', '550 5.1.1234 too long'],
      ['a letter after the code', '550 5.1.1a'],
      ['no text', '550'],
    ])('ignores %s', (_, line) => {
      const reply = parseOne(`${line}\r\n`);

      expect(reply.enhanced).toBeNull();
      expect(reply.enhancedCode).toBeNull();
    });

    it('reads the code from the first line only', () => {
      const reply = parseOne('550-first line\r\n550 5.1.1 second line\r\n');

      expect(reply.enhanced).toBeNull();
    });
  });
});
