import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TranscriptDirection, TranscriptEntry } from './entry.js';
import {
  escapeText,
  formatJsonLine,
  formatLocalTime,
  formatText,
  formatTextLine,
} from './format.js';
import { parseTextLine, unescapeText } from './parse.js';

// Times are built from local components, so the expected text holds in every time zone.
const TIME = new Date(2026, 11, 4, 15, 3, 12, 143).getTime();

function entry(direction: TranscriptDirection, text: string, extra: Partial<TranscriptEntry> = {}) {
  return {
    counter: 3,
    time: TIME,
    elapsedMs: 250,
    processId: 4182,
    connectionId: 1,
    direction,
    text,
    redacted: false,
    ...extra,
  } satisfies TranscriptEntry;
}

describe('formatTextLine', () => {
  it.each([
    [
      'a client line',
      entry('client', 'EHLO [127.0.0.1]'),
      '3 2026-12-04T15:03:12.143 4182 1 C > "EHLO [127.0.0.1]"',
    ],
    [
      'a server line',
      entry('server', '250-PIPELINING'),
      '3 2026-12-04T15:03:12.143 4182 1 S < "250-PIPELINING"',
    ],
    [
      'an event',
      entry('event', "SMTP Connected to 'mx.example.test' on port 587."),
      "3 2026-12-04T15:03:12.143 4182 1 ### SMTP Connected to 'mx.example.test' on port 587.",
    ],
    ['an empty client line', entry('client', ''), '3 2026-12-04T15:03:12.143 4182 1 C > ""'],
    [
      'a masked AUTH line',
      entry('client', 'AUTH PLAIN ********', { redacted: true }),
      '3 2026-12-04T15:03:12.143 4182 1 C > "AUTH PLAIN ********"',
    ],
    [
      'a quote in a server line',
      entry('server', '250 "ok"'),
      '3 2026-12-04T15:03:12.143 4182 1 S < "250 \\"ok\\""',
    ],
    [
      'a quote in an event',
      entry('event', 'said "hi"'),
      '3 2026-12-04T15:03:12.143 4182 1 ### said "hi"',
    ],
    [
      'a process id of 0',
      entry('event', 'x', { processId: 0, connectionId: 12 }),
      '3 2026-12-04T15:03:12.143 0 12 ### x',
    ],
  ])('formats %s', (_, value, expected) => {
    expect(formatTextLine(value)).toBe(expected);
  });
});

describe('formatLocalTime', () => {
  it.each([
    [new Date(2026, 0, 2, 3, 4, 5, 6), '2026-01-02T03:04:05.006'],
    [new Date(2026, 8, 9, 0, 0, 0, 50), '2026-09-09T00:00:00.050'],
    [new Date(1999, 11, 31, 23, 59, 59, 999), '1999-12-31T23:59:59.999'],
  ])('formats %s as %s', (date, expected) => {
    expect(formatLocalTime(date.getTime())).toBe(expected);
  });
});

describe('escapeText', () => {
  it.each([
    ['plain text', 'EHLO mx', true, 'EHLO mx'],
    ['a quote in quoted text', 'say "hi"', true, 'say \\"hi\\"'],
    ['a quote in event text', 'say "hi"', false, 'say "hi"'],
    ['a backslash', 'a\\b', true, 'a\\\\b'],
    ['a backslash in event text', 'a\\b', false, 'a\\\\b'],
    ['tab, CR and LF', 'a\tb\rc\nd', true, 'a\\tb\\rc\\nd'],
    ['NUL', '\0', true, '\\x00'],
    ['ESC', '\x1b[31m', true, '\\x1b[31m'],
    ['DEL', '\x7f', false, '\\x7f'],
    ['non-ASCII', 'Grüße ✓ 😀', true, 'Grüße ✓ 😀'],
    ['C1 controls and line separators', '\u0085\u2028', true, '\u0085\u2028'],
  ])('writes %s', (_, text, quoted, expected) => {
    expect(escapeText(text, quoted)).toBe(expected);
  });
});

describe('parseTextLine', () => {
  it('reads back a client line', () => {
    expect(parseTextLine('3 2026-12-04T15:03:12.143 4182 1 C > "EHLO [127.0.0.1]"')).toEqual({
      counter: 3,
      time: TIME,
      elapsedMs: 0,
      processId: 4182,
      connectionId: 1,
      direction: 'client',
      text: 'EHLO [127.0.0.1]',
      redacted: false,
    });
  });

  it('reads an event with an empty text', () => {
    expect(parseTextLine('1 2026-12-04T15:03:12.143 4182 1 ###')?.text).toBe('');
  });

  it.each([
    ['U+2028 in a server line', 'S < "550 a\u2028b"', '550 a\u2028b'],
    ['U+2029 in an event', '### a\u2029b', 'a\u2029b'],
  ])('reads %s', (_, rest, expected) => {
    expect(parseTextLine(`3 2026-12-04T15:03:12.143 4182 1 ${rest}`)?.text).toBe(expected);
  });

  it('accepts a CRLF line end', () => {
    expect(parseTextLine('3 2026-12-04T15:03:12.143 4182 1 S < "250 OK"\r')?.text).toBe('250 OK');
  });

  it.each([
    ['no quotes around client text', '3 2026-12-04T15:03:12.143 4182 1 C > EHLO x'],
    ['a missing closing quote', '3 2026-12-04T15:03:12.143 4182 1 S < "250 OK'],
    ['an unknown escape', '3 2026-12-04T15:03:12.143 4182 1 S < "a\\qb"'],
    ['a short hex escape', '3 2026-12-04T15:03:12.143 4182 1 S < "a\\x4"'],
    ['a trailing backslash in an event', '3 2026-12-04T15:03:12.143 4182 1 ### a\\'],
    ['an unknown marker', '3 2026-12-04T15:03:12.143 4182 1 X > "a"'],
    ['a time without milliseconds', '3 2026-12-04T15:03:12 4182 1 C > "a"'],
    ['no counter', '2026-12-04T15:03:12.143 4182 1 C > "a"'],
    ['an empty line', ''],
  ])('returns null for %s', (_, line) => {
    expect(parseTextLine(line)).toBeNull();
  });
});

describe('unescapeText', () => {
  it.each([
    ['\\\\', '\\'],
    ['\\"', '"'],
    ['\\t\\r\\n', '\t\r\n'],
    ['\\x00\\x1B\\x7f', '\0\x1b\x7f'],
    ['no escapes', 'no escapes'],
  ])('reads %j', (text, expected) => {
    expect(unescapeText(text)).toBe(expected);
  });
});

describe('quoting rule', () => {
  // Characters that the rule treats specially, mixed with arbitrary Unicode.
  const special = fc.constantFrom(
    ...['"', '\\', '\t', '\r', '\n', '\0', '\x01', '\x1f', '\x7f', ' '],
    ...['é', '✓', '😀', '\u0085', '\u00a0', '\u2028', '\u2029', '\ufeff'],
  );
  const textArbitrary = fc
    .array(fc.oneof(special, fc.string({ unit: 'grapheme', maxLength: 3 })), { maxLength: 20 })
    .map((parts) => parts.join(''));
  const timeArbitrary = fc
    .record({
      year: fc.integer({ min: 2000, max: 2099 }),
      month: fc.integer({ min: 0, max: 11 }),
      day: fc.integer({ min: 1, max: 28 }),
      hour: fc.integer({ min: 0, max: 23 }),
      minute: fc.integer({ min: 0, max: 59 }),
      second: fc.integer({ min: 0, max: 59 }),
      millisecond: fc.integer({ min: 0, max: 999 }),
    })
    .map(({ year, month, day, hour, minute, second, millisecond }) =>
      new Date(year, month, day, hour, minute, second, millisecond).getTime(),
    );

  it('round-trips every entry through formatTextLine and parseTextLine', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<TranscriptDirection>('client', 'server', 'event'),
        textArbitrary,
        fc.nat(),
        timeArbitrary,
        fc.nat(),
        fc.nat(),
        (direction, text, counter, time, processId, connectionId) => {
          const original = entry(direction, text, { counter, time, processId, connectionId });
          const line = formatTextLine(original);

          expect(line).not.toMatch(/[\0-\x1f\x7f]/);
          expect(parseTextLine(line)).toEqual({ ...original, elapsedMs: 0, redacted: false });
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('round-trips text through escapeText and unescapeText', () => {
    fc.assert(
      fc.property(textArbitrary, fc.boolean(), (text, quoted) => {
        expect(unescapeText(escapeText(text, quoted))).toBe(text);
      }),
    );
  });
});

describe('formatJsonLine', () => {
  it('writes every field in a fixed order on one line', () => {
    const value = entry('client', 'AUTH PLAIN ********\r\n"x"', { redacted: true });
    const line = formatJsonLine(value);

    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({
      counter: 3,
      time: new Date(TIME).toISOString(),
      elapsedMs: 250,
      processId: 4182,
      connectionId: 1,
      direction: 'client',
      text: 'AUTH PLAIN ********\r\n"x"',
      redacted: true,
    });
    expect(Object.keys(JSON.parse(line))).toEqual([
      'counter',
      'time',
      'elapsedMs',
      'processId',
      'connectionId',
      'direction',
      'text',
      'redacted',
    ]);
  });

  it('writes the time in UTC with a Z suffix', () => {
    const line = formatJsonLine(
      entry('event', 'x', { time: Date.UTC(2026, 11, 4, 15, 3, 12, 143) }),
    );

    expect(JSON.parse(line).time).toBe('2026-12-04T15:03:12.143Z');
  });
});

describe('formatText', () => {
  it('ends every line with a line feed', () => {
    const text = formatText([entry('client', 'QUIT'), entry('server', '221 Bye', { counter: 4 })]);

    expect(text).toBe(
      '3 2026-12-04T15:03:12.143 4182 1 C > "QUIT"\n' +
        '4 2026-12-04T15:03:12.143 4182 1 S < "221 Bye"\n',
    );
  });

  it('writes nothing for no entries', () => {
    expect(formatText([])).toBe('');
  });
});
