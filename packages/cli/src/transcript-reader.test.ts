import { describe, expect, it } from 'vitest';
import { readTranscript, unescapeLenient } from './transcript-reader.js';

const T = '2026-12-04T15:03:12.143';

describe('readTranscript', () => {
  it('reads each kind of text line', () => {
    const file = readTranscript(
      [
        `1 ${T} 4182 1 ### SMTP Connected to 'mx.example.test' on port 587.`,
        `2 ${T} 4182 1 S < "220 mx.example.test ESMTP"`,
        `3 ${T} 4182 1 C > "EHLO [127.0.0.1]"`,
      ].join('\n'),
    );

    expect(file.format).toBe('text');
    expect(file.warnings).toEqual([]);
    expect(
      file.records.map((record) => [record.line, record.counter, record.direction, record.text]),
    ).toEqual([
      [1, 1, 'event', "SMTP Connected to 'mx.example.test' on port 587."],
      [2, 2, 'server', '220 mx.example.test ESMTP'],
      [3, 3, 'client', 'EHLO [127.0.0.1]'],
    ]);
    expect(file.records[0]?.processId).toBe(4182);
    expect(file.records[0]?.connectionId).toBe(1);
    expect(file.records[0]?.time).toBe(new Date(2026, 11, 4, 15, 3, 12, 143).getTime());
  });

  it('reverses the quoting rule', () => {
    const line = `5 ${T} 1 1 C > "Subject: \\"quoted\\" \\\\ tab\\there \\x01 ünï"`;
    expect(readTranscript(line).records[0]?.text).toBe('Subject: "quoted" \\ tab\there \x01 ünï');
  });

  const damaged: Array<{ name: string; input: string; texts: string[]; warning: RegExp | null }> = [
    {
      name: 'Windows line ends',
      input: `1 ${T} 7 1 C > "QUIT"\r\n2 ${T} 7 1 S < "221 Bye"\r\n`,
      texts: ['QUIT', '221 Bye'],
      warning: null,
    },
    {
      name: 'records glued after a quote',
      input: `1 ${T} 7 1 C > "NOOP"2 ${T} 7 1 S < "250 OK"`,
      texts: ['NOOP', '250 OK'],
      warning: /2 records on one line/,
    },
    {
      name: 'an event ending in digits glued to the next counter',
      input: `9 ${T} 7 1 ### SMTP Connected to 'mx' on port 58710 ${T} 7 1 S < "220 ready"`,
      texts: ["SMTP Connected to 'mx' on port 587", '220 ready'],
      warning: /2 records on one line/,
    },
    {
      name: 'a negative process id',
      input: `1 ${T} -1 3 C > "EHLO x"`,
      texts: ['EHLO x'],
      warning: null,
    },
    {
      name: 'a missing closing quote',
      input: `1 ${T} 7 1 S < "250 OK`,
      texts: ['250 OK'],
      warning: /closing quote missing/,
    },
    {
      name: 'an invalid escape kept as written',
      input: `1 ${T} 7 1 S < "250 C:\\Users\\q"`,
      texts: ['250 C:\\Users\\q'],
      warning: null,
    },
    {
      name: 'a missing time',
      input: '1 7 1 C > "RSET"',
      texts: ['RSET'],
      warning: /time missing/,
    },
    {
      name: 'a line that is not a transcript line',
      input: `garbage here\n1 ${T} 7 1 C > "RSET"`,
      texts: ['RSET'],
      warning: /not a transcript line/,
    },
  ];

  it.each(damaged)('reads a damaged log: $name', ({ input, texts, warning }) => {
    const file = readTranscript(input);
    expect(file.records.map((record) => record.text)).toEqual(texts);
    if (warning) expect(file.warnings.map((item) => item.message).join('\n')).toMatch(warning);
    else expect(file.warnings).toEqual([]);
  });

  it('keeps the physical line number for glued records', () => {
    const file = readTranscript(
      `1 ${T} 7 1 C > "NOOP"\n2 ${T} 7 1 S < "250 OK"3 ${T} 7 1 C > "QUIT"`,
    );
    expect(file.records.map((record) => record.line)).toEqual([1, 2, 2]);
    expect(file.records.map((record) => record.counter)).toEqual([1, 2, 3]);
  });

  it('fills a missing connection id from the line before', () => {
    const file = readTranscript(`1 ${T} 7 4 C > "NOOP"\n2 ${T} S < "250 OK"\n3 ${T} 7 C > "QUIT"`);
    expect(file.records.map((record) => record.connectionId)).toEqual([4, 4, 4]);
    expect(file.records[1]?.processId).toBeNull();
    expect(file.records[2]?.processId).toBe(7);
    expect(file.warnings.map((warning) => warning.line)).toEqual([2, 3]);
  });

  it('reads JSON Lines, also glued together', () => {
    const record = (counter: number, direction: string, text: string) =>
      JSON.stringify({
        counter,
        time: '2026-12-04T14:03:12.143Z',
        processId: 9,
        connectionId: 2,
        direction,
        text,
      });
    const file = readTranscript(
      `${record(1, 'client', 'EHLO x')}${record(2, 'server', '250 ok')}\n`,
    );

    expect(file.format).toBe('jsonl');
    expect(file.records.map((item) => [item.line, item.direction, item.text])).toEqual([
      [1, 'client', 'EHLO x'],
      [1, 'server', '250 ok'],
    ]);
    expect(file.records[0]?.time).toBe(Date.parse('2026-12-04T14:03:12.143Z'));
  });

  it('caps the number of warnings it keeps', () => {
    const file = readTranscript(Array.from({ length: 250 }, () => 'not a log line').join('\n'));
    expect(file.warnings).toHaveLength(200);
    expect(file.omittedWarnings).toBe(50);
  });
});

describe('unescapeLenient', () => {
  it.each([
    ['plain', 'plain'],
    ['a\\"b', 'a"b'],
    ['\\r\\n', '\r\n'],
    ['\\x7f', '\x7f'],
    ['\\q stays', '\\q stays'],
    ['\\x4', '\\x4'],
  ])('reads %j as %j', (input, expected) => {
    expect(unescapeLenient(input)).toBe(expected);
  });
});
