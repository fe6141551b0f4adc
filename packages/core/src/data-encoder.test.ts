import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DataEncoder, inspectMessage } from './data-encoder.js';

// Tests work on strings whose characters are single bytes (U+0000 to U+00FF), so that the
// wire bytes can be written and compared as readable literals.
const toBytes = (text: string): Uint8Array => Uint8Array.from(text, (char) => char.charCodeAt(0));
const toText = (bytes: Uint8Array): string => String.fromCharCode(...bytes);

interface Encoded {
  wire: string;
  encoder: DataEncoder;
}

/** Encode the chunks in order, then end, and return every byte produced. */
function encodeChunks(chunks: readonly string[]): Encoded {
  const encoder = new DataEncoder();
  let wire = '';
  for (const chunk of chunks) wire += toText(encoder.encode(toBytes(chunk)));
  wire += toText(encoder.end());
  return { wire, encoder };
}

/**
 * The DATA encoding computed on the whole message at once: every line end becomes CRLF,
 * lines starting with "." get a second one, the last line gets its CRLF, then ".\r\n".
 */
function referenceWire(message: string): string {
  const lines = message.replace(/\r\n|\r|\n/g, '\r\n').split('\r\n');
  const body = lines.map((line) => (line.startsWith('.') ? `.${line}` : line)).join('\r\n');
  const lineEnd = body === '' || body.endsWith('\r\n') ? '' : '\r\n';
  return `${body}${lineEnd}.\r\n`;
}

/** Lines of the message as the encoder counts them, before stuffing. */
function referenceLines(message: string): string[] {
  if (message === '') return [];
  const lines = message.replace(/\r\n|\r|\n/g, '\n').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** Split `text` at the given offsets (sorted, deduplicated, within bounds). */
function splitAt(text: string, offsets: readonly number[]): string[] {
  const cuts = [...new Set(offsets.map((offset) => offset % (text.length + 1)))].sort(
    (a, b) => a - b,
  );
  const chunks: string[] = [];
  let start = 0;
  for (const cut of cuts) {
    chunks.push(text.slice(start, cut));
    start = cut;
  }
  chunks.push(text.slice(start));
  return chunks;
}

// Messages built mostly from the bytes that matter to the encoding.
const messageArbitrary = fc
  .array(fc.constantFrom('\r', '\n', '.', 'a', ' ', '\xff', '\r\n', '\r\n.\r\n', '\n.\n'), {
    maxLength: 40,
  })
  .map((parts) => parts.join(''));

// Long runs reach the encoder's word-at-a-time scan, which only starts on chunks of 64 bytes or
// more. The other parts sit next to CR and LF in value, or look like them in the low 7 bits.
const longMessageArbitrary = fc
  .array(
    fc.constantFrom(
      'a'.repeat(70),
      'b'.repeat(131),
      '\r\n',
      '\n',
      '\r',
      '.',
      '\r\n.\r\n',
      '\x00\x09\x0b\x0c\x0e\x0f',
      '\x80\x8a\x8d\xff',
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join(''));

describe('DataEncoder', () => {
  describe('wire bytes of one chunk', () => {
    it.each([
      ['an empty message', '', '.\r\n'],
      ['one line with CRLF', 'a\r\n', 'a\r\n.\r\n'],
      ['one line without a final CRLF', 'a', 'a\r\n.\r\n'],
      ['two lines without a final CRLF', 'a\r\nb', 'a\r\nb\r\n.\r\n'],
      ['a blank last line', 'a\r\n\r\n', 'a\r\n\r\n.\r\n'],
      ['a lone "." line', 'a\r\n.\r\nb\r\n', 'a\r\n..\r\nb\r\n.\r\n'],
      ['a lone "." as the whole message', '.', '..\r\n.\r\n'],
      ['a lone "." line at the end', 'a\r\n.\r\n', 'a\r\n..\r\n.\r\n'],
      ['a ".." line', '..\r\n', '...\r\n.\r\n'],
      ['lines starting with "."', '.a\r\n..b\r\n', '..a\r\n...b\r\n.\r\n'],
      ['a "." inside a line', 'a.b\r\n.', 'a.b\r\n..\r\n.\r\n'],
      ['bare LF line ends', 'a\nb\n', 'a\r\nb\r\n.\r\n'],
      ['bare CR line ends', 'a\rb\r', 'a\r\nb\r\n.\r\n'],
      ['a lone LF', '\n', '\r\n.\r\n'],
      ['a lone CR', '\r', '\r\n.\r\n'],
      ['CR CR LF', '\r\r\n', '\r\n\r\n.\r\n'],
      ['LF CR', '\n\r', '\r\n\r\n.\r\n'],
      ['8-bit bytes', 'caf\xe9\r\n', 'caf\xe9\r\n.\r\n'],
      ['a NUL byte', 'a\0b', 'a\0b\r\n.\r\n'],
    ])('encodes %s', (_, message, wire) => {
      expect(encodeChunks([message]).wire).toBe(wire);
    });
  });

  describe('SMTP smuggling inputs', () => {
    it.each([
      ['LF . LF', 'a\n.\nb'],
      ['CR . CR', 'a\r.\rb'],
      ['CRLF . LF', 'a\r\n.\nb'],
      ['LF . CRLF', 'a\n.\r\nb'],
      ['CR . CRLF', 'a\r.\r\nb'],
      ['CRLF . CR', 'a\r\n.\rb'],
    ])('stuffs the "." of %s', (_, message) => {
      const { wire } = encodeChunks([message]);

      expect(wire).toBe('a\r\n..\r\nb\r\n.\r\n');
      expect(wire.indexOf('\r\n.\r\n')).toBe(wire.length - 5);
    });

    it.each([
      ['LF . LF', 'MAIL FROM:<x@example.test>\n.\nRCPT TO:<victim@example.test>\n'],
      ['CR . CR', 'x\r.\rQUIT\r'],
    ])('never ends the data early for %s at any split', (_, message) => {
      for (let split = 0; split <= message.length; split++) {
        const { wire } = encodeChunks([message.slice(0, split), message.slice(split)]);

        expect(wire.indexOf('\r\n.\r\n')).toBe(wire.length - 5);
      }
    });
  });

  describe('chunk boundaries', () => {
    it.each([
      [
        'CR at the end of one chunk and LF at the start of the next',
        ['a\r', '\nb'],
        'a\r\nb\r\n.\r\n',
      ],
      [
        'CR at the end of a chunk and "." at the start of the next',
        ['a\r', '.b'],
        'a\r\n..b\r\n.\r\n',
      ],
      ['CR, then LF and "." in the next chunk', ['a\r', '\n.b'], 'a\r\n..b\r\n.\r\n'],
      ['CRLF, then "." in the next chunk', ['a\r\n', '.b'], 'a\r\n..b\r\n.\r\n'],
      ['bare LF, then "." in the next chunk', ['a\n', '.'], 'a\r\n..\r\n.\r\n'],
      ['a "." that continues a line', ['a', '.b'], 'a.b\r\n.\r\n'],
      ['"." then "." in the next chunk', ['.', '.'], '...\r\n.\r\n'],
      ['CR at the end of the last chunk', ['a\r'], 'a\r\n.\r\n'],
      ['CR, CR, LF in three chunks', ['a\r', '\r', '\n'], 'a\r\n\r\n.\r\n'],
      ['empty chunks between', ['a', '', '\r', '', '\n', ''], 'a\r\n.\r\n'],
      ['an empty chunk only', [''], '.\r\n'],
    ])('handles %s', (_, chunks, wire) => {
      expect(encodeChunks(chunks).wire).toBe(wire);
    });

    it('produces the same bytes at every split', () => {
      const message = '.a\r\nb\n.\r\rc\r\n..\n\r.';
      const whole = encodeChunks([message]).wire;

      for (let split = 0; split <= message.length; split++) {
        expect(encodeChunks([message.slice(0, split), message.slice(split)]).wire).toBe(whole);
      }
    });
  });

  describe('properties', () => {
    it('matches the reference for any splits', () => {
      fc.assert(
        fc.property(messageArbitrary, fc.array(fc.nat(), { maxLength: 6 }), (message, offsets) => {
          const { wire } = encodeChunks(splitAt(message, offsets));

          expect(wire).toBe(referenceWire(message));
        }),
        { numRuns: 2000 },
      );
    });

    it('matches the reference for long chunks', () => {
      fc.assert(
        fc.property(
          longMessageArbitrary,
          fc.array(fc.nat(), { maxLength: 2 }),
          (message, offsets) => {
            const { wire, encoder } = encodeChunks(splitAt(message, offsets));
            const lines = referenceLines(message);

            expect(wire).toBe(referenceWire(message));
            expect(encoder.lines).toBe(lines.length);
            expect(encoder.maxLineLength).toBe(Math.max(0, ...lines.map((line) => line.length)));
          },
        ),
        { numRuns: 1000 },
      );
    });

    it('writes CRLF line ends and one terminator', () => {
      fc.assert(
        fc.property(messageArbitrary, fc.array(fc.nat(), { maxLength: 6 }), (message, offsets) => {
          const { wire } = encodeChunks(splitAt(message, offsets));
          const lines = wire.split('\r\n');

          expect(lines.pop()).toBe('');
          expect(lines.pop()).toBe('.');
          expect(lines).not.toContain('.');
          expect(wire.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
        }),
        { numRuns: 2000 },
      );
    });

    it('counts bytes, lines and the longest line', () => {
      fc.assert(
        fc.property(messageArbitrary, fc.array(fc.nat(), { maxLength: 6 }), (message, offsets) => {
          const { wire, encoder } = encodeChunks(splitAt(message, offsets));
          const lines = referenceLines(message);

          expect(encoder.bytesIn).toBe(message.length);
          expect(encoder.bytesOut).toBe(wire.length);
          expect(encoder.lines).toBe(lines.length);
          expect(encoder.maxLineLength).toBe(Math.max(0, ...lines.map((line) => line.length)));
        }),
        { numRuns: 1000 },
      );
    });
  });

  describe('counters', () => {
    it('counts lines, line length and bytes', () => {
      const { wire, encoder } = encodeChunks(['abc\r\n.defg', 'h\nij']);

      expect(wire).toBe('abc\r\n..defgh\r\nij\r\n.\r\n');
      expect(encoder.lines).toBe(3);
      expect(encoder.maxLineLength).toBe(6);
      expect(encoder.bytesIn).toBe(14);
      expect(encoder.bytesOut).toBe(wire.length);
    });

    it('measures a 998-octet line of dots as 998 octets', () => {
      const { encoder } = encodeChunks([`${'.'.repeat(998)}\r\n`]);

      expect(encoder.maxLineLength).toBe(998);
    });

    it('measures a long line split over many chunks', () => {
      const { encoder } = encodeChunks(Array.from({ length: 10 }, () => 'x'.repeat(100)));

      expect(encoder.maxLineLength).toBe(1000);
      expect(encoder.lines).toBe(1);
    });

    it('counts no lines for an empty message', () => {
      const { encoder } = encodeChunks([]);

      expect(encoder.lines).toBe(0);
      expect(encoder.bytesOut).toBe(3);
    });
  });

  describe('without dot-stuffing (BDAT)', () => {
    it.each([
      ['an empty message', [''], ''],
      ['a line with CRLF', ['a\r\n'], 'a\r\n'],
      ['a line without a final CRLF', ['a'], 'a\r\n'],
      ['a CR at the end of the last chunk', ['a\r'], 'a\r\n'],
      ['lone "." lines', ['.\r\n..\n.'], '.\r\n..\r\n.\r\n'],
      ['bare CR and LF', ['a\rb\nc'], 'a\r\nb\r\nc\r\n'],
      ['CR and LF in separate chunks', ['a\r', '\n.'], 'a\r\n.\r\n'],
    ])('encodes %s', (_, chunks, expected) => {
      const encoder = new DataEncoder({ dotStuff: false });
      let wire = '';
      for (const chunk of chunks) wire += toText(encoder.encode(toBytes(chunk)));
      wire += toText(encoder.end());

      expect(wire).toBe(expected);
      expect(encoder.bytesOut).toBe(expected.length);
    });
  });

  describe('reused output', () => {
    it('matches a fresh output for every chunk', () => {
      fc.assert(
        fc.property(fc.array(fc.stringMatching(/^[.\r\na]{0,40}$/), { maxLength: 8 }), (chunks) => {
          const reused = new DataEncoder({ reuseOutput: true });
          let wire = '';
          for (const chunk of chunks) wire += toText(reused.encode(toBytes(chunk)));
          wire += toText(reused.end());
          expect(wire).toBe(encodeChunks(chunks).wire);
        }),
      );
    });

    it('appends results and keeps earlier ones', () => {
      const encoder = new DataEncoder({ reuseOutput: true });
      const first = encoder.encode(toBytes('.a\r\n'));
      const second = encoder.encode(toBytes('.b\r\n'));
      const third = encoder.encode(toBytes('c\r\n'));

      expect(third.buffer).toBe(second.buffer);
      expect(third.byteOffset).toBe(second.byteOffset + second.length);
      expect(toText(first)).toBe('..a\r\n');
      expect(toText(second)).toBe('..b\r\n');
      expect(toText(third)).toBe('c\r\n');
    });

    it('starts the buffer over on rewind', () => {
      const encoder = new DataEncoder({ reuseOutput: true });
      const first = encoder.encode(toBytes('.a\r\n'));
      encoder.rewind();
      const second = encoder.encode(toBytes('.b\r\n'));

      expect(second.buffer).toBe(first.buffer);
      expect(second.byteOffset).toBe(0);
      expect(toText(second)).toBe('..b\r\n');
    });

    it('keeps the buffer and clears counters on reset', () => {
      const encoder = new DataEncoder({ reuseOutput: true });
      const first = encoder.encode(toBytes('.long line\r\n'));
      encoder.end();
      encoder.reset();
      const second = encoder.encode(toBytes('.b'));

      expect(second.buffer).toBe(first.buffer);
      expect(encoder.bytesIn).toBe(2);
      expect(encoder.lines).toBe(0);
      expect(toText(encoder.end())).toBe('\r\n.\r\n');
    });
  });

  describe('maximum line', () => {
    it('names the longest finished line', () => {
      const encoder = new DataEncoder();
      encoder.encode(toBytes('ab\r\nabcd\nabc\r\n'));

      expect(encoder.longestLine()).toEqual({ length: 4, line: 2 });
    });

    it('counts the open line across chunks', () => {
      const encoder = new DataEncoder();
      encoder.encode(toBytes('ab\r\nabc'));
      encoder.encode(toBytes('def'));

      expect(encoder.maxLineLength).toBe(2);
      expect(encoder.openLineLength).toBe(6);
      expect(encoder.longestLine()).toEqual({ length: 6, line: 2 });
    });

    it('leaves a CR split from its LF out of the length', () => {
      const encoder = new DataEncoder();
      encoder.encode(toBytes('abc\r'));
      encoder.encode(toBytes('\nd'));

      expect(encoder.longestLine()).toEqual({ length: 3, line: 1 });
    });
  });

  it('returns an unchanged chunk as is', () => {
    const encoder = new DataEncoder();
    const chunk = toBytes('plain line\r\n');

    expect(encoder.encode(chunk)).toBe(chunk);
  });
});

describe('inspectMessage', () => {
  it.each([
    ['an empty message', '', { size: 0, eightBit: false, maxLineLength: 0, maxLine: 0 }],
    ['CRLF lines', 'ab\r\ncde\r\n', { size: 9, eightBit: false, maxLineLength: 3, maxLine: 2 }],
    ['bare LF lines', 'a\nbbbb', { size: 6, eightBit: false, maxLineLength: 4, maxLine: 2 }],
    ['bare CR lines', 'aaa\rbb', { size: 6, eightBit: false, maxLineLength: 3, maxLine: 1 }],
    ['an 8-bit byte', 'caf\xe9', { size: 4, eightBit: true, maxLineLength: 4, maxLine: 1 }],
    ['DEL, which is 7-bit', '\x7f', { size: 1, eightBit: false, maxLineLength: 1, maxLine: 1 }],
  ])('inspects %s', (_, message, facts) => {
    expect(inspectMessage(toBytes(message))).toEqual({ ...facts, nul: false });
  });

  it('reports a NUL octet', () => {
    expect(inspectMessage(toBytes('a\0b')).nul).toBe(true);
  });

  it('ends a line at a bare CR', () => {
    const facts = inspectMessage(toBytes(`${'a'.repeat(600)}\r${'b'.repeat(600)}\r\n`));

    expect(facts.maxLineLength).toBe(600);
  });

  it('finds a 1000-octet line and its number', () => {
    const message = `Subject: x\r\n\r\n${'y'.repeat(1000)}\r\nend\r\n`;

    expect(inspectMessage(toBytes(message))).toMatchObject({ maxLineLength: 1000, maxLine: 3 });
  });

  it('reports UTF-8 text as 8-bit', () => {
    expect(inspectMessage(new TextEncoder().encode('Grüße')).eightBit).toBe(true);
  });

  it('measures the longest line as the encoder sends it', () => {
    fc.assert(
      fc.property(fc.oneof(messageArbitrary, longMessageArbitrary), (message) => {
        const { encoder } = encodeChunks([message]);

        expect(inspectMessage(toBytes(message)).maxLineLength).toBe(encoder.maxLineLength);
      }),
      { numRuns: 1000 },
    );
  });
});
