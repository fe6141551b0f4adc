import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ComposedMessage } from '../driver/options.js';
import { type ComposeOptions, composeMessage, formatDate } from './compose.js';
import {
  decodeEncodedWords,
  decodeQuotedPrintable,
  headerValue,
  parseMessage,
} from './decoding.test-helpers.js';

/** 2025-07-01 09:05:00 UTC. */
const NOW = 1751360700000;

/** Returns the bytes 1, 2, 3, … so that identifiers are fixed. */
const fixedRandomBytes = (length: number) =>
  Uint8Array.from({ length }, (_, index) => (index + 1) & 0xff);

const OPTIONS: ComposeOptions = {
  messageIdDomain: 'example.test',
  now: NOW,
  randomBytes: fixedRandomBytes,
};

const MESSAGE_ID = '<0102030405060708090a0b0c0d0e0f10@example.test>';
const BOUNDARY = 'mailwire-0102030405060708090a0b0c';

function composeText(message: ComposedMessage, options: ComposeOptions = OPTIONS): string {
  return new TextDecoder().decode(composeMessage(message, options).bytes);
}

/** Checks the invariants of every composed message: ASCII, CRLF, line lengths. */
function expectWireSafe(bytes: Uint8Array): void {
  const text = new TextDecoder().decode(bytes);

  expect(bytes.every((byte) => byte < 128)).toBe(true);
  expect(text.endsWith('\r\n')).toBe(true);
  expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
  const lines = text.slice(0, -2).split('\r\n');
  expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(998);
}

describe('composeMessage golden output', () => {
  it('writes a plain ASCII message', () => {
    const text = composeText({
      from: { name: 'Alice Example', address: 'alice@example.test' },
      to: 'bob@example.test',
      subject: 'Status report',
      text: 'Hello Bob,\n\nAll systems nominal.\n',
    });

    expect(text).toBe(
      [
        'From: Alice Example <alice@example.test>',
        'To: bob@example.test',
        'Subject: Status report',
        'Date: Tue, 01 Jul 2025 09:05:00 +0000',
        `Message-ID: ${MESSAGE_ID}`,
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 7bit',
        '',
        'Hello Bob,',
        '',
        'All systems nominal.',
        '',
      ].join('\r\n'),
    );
  });

  it('encodes a UTF-8 subject and display name', () => {
    const text = composeText({
      from: { name: 'Jürgen Müller', address: 'juergen@example.test' },
      to: { name: '山田太郎', address: 'yamada@example.test' },
      subject: 'Grüße aus Köln',
      text: 'Hallo',
    });
    const parsed = parseMessage(text);

    expect(text.split('\r\n').slice(0, 3)).toEqual([
      'From: =?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <juergen@example.test>',
      'To: =?UTF-8?B?5bGx55Sw5aSq6YOO?= <yamada@example.test>',
      'Subject: =?UTF-8?B?R3LDvMOfZQ==?= aus =?UTF-8?B?S8O2bG4=?=',
    ]);
    expect(decodeEncodedWords(headerValue(parsed, 'Subject')!)).toBe('Grüße aus Köln');
    expect(decodeEncodedWords(headerValue(parsed, 'From')!)).toBe(
      'Jürgen Müller <juergen@example.test>',
    );
    expect(decodeEncodedWords(headerValue(parsed, 'To')!)).toBe('山田太郎 <yamada@example.test>');
  });

  it('writes a German body as quoted-printable', () => {
    const text = composeText({
      from: 'a@example.test',
      to: 'b@example.test',
      text:
        'Sehr geehrte Frau Müller,\n' +
        'vielen Dank für Ihre Nachricht über die Straßenbahn-Verbindung zwischen Köln und ' +
        'Düsseldorf. \nGrüße',
    });

    expect(parseMessage(text).body).toBe(
      [
        'Sehr geehrte Frau M=C3=BCller,',
        'vielen Dank f=C3=BCr Ihre Nachricht =C3=BCber die Stra=C3=9Fenbahn-Verbindu=',
        'ng zwischen K=C3=B6ln und D=C3=BCsseldorf.=20',
        'Gr=C3=BC=C3=9Fe',
        '',
      ].join('\r\n'),
    );
    expect(headerValue(parseMessage(text), 'Content-Transfer-Encoding')).toBe('quoted-printable');
  });

  it('writes text and html as multipart/alternative', () => {
    const text = composeText({
      from: 'a@example.test',
      to: 'b@example.test',
      subject: 'Both',
      text: 'Plain text',
      html: '<p>HTML text</p>',
    });

    expect(text).toBe(
      [
        'From: a@example.test',
        'To: b@example.test',
        'Subject: Both',
        'Date: Tue, 01 Jul 2025 09:05:00 +0000',
        `Message-ID: ${MESSAGE_ID}`,
        'MIME-Version: 1.0',
        'Content-Type: multipart/alternative;',
        ` boundary="${BOUNDARY}"`,
        '',
        `--${BOUNDARY}`,
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 7bit',
        '',
        'Plain text',
        `--${BOUNDARY}`,
        'Content-Type: text/html; charset=utf-8',
        'Content-Transfer-Encoding: 7bit',
        '',
        '<p>HTML text</p>',
        `--${BOUNDARY}--`,
        '',
      ].join('\r\n'),
    );
  });
});

describe('composeMessage headers', () => {
  it('folds 300-character subject at whitespace', () => {
    const subject = 'Weekly digest of delivery reports and bounce statistics '
      .repeat(6)
      .slice(0, 300);
    const text = composeText({ from: 'a@example.test', to: 'b@example.test', subject });
    const subjectLines: string[] = [];
    for (const line of text.split('\r\n').slice(2)) {
      if (subjectLines.length > 0 && !line.startsWith(' ')) break;
      subjectLines.push(line);
    }

    expect(subjectLines[0]).toMatch(/^Subject: Weekly/);
    expect(subjectLines.length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...subjectLines.map((line) => line.length))).toBeLessThanOrEqual(78);
    expect(headerValue(parseMessage(text), 'Subject')).toBe(subject.trim());
  });

  it('keeps Bcc in envelope only', () => {
    const result = composeMessage(
      {
        from: 'a@example.test',
        to: 'to@example.test',
        cc: ['cc@example.test', 'to@example.test'],
        bcc: [{ name: 'Hidden', address: 'hidden@example.test' }],
        text: 'x',
      },
      OPTIONS,
    );
    const text = new TextDecoder().decode(result.bytes);

    expect(text).not.toMatch(/^Bcc:/im);
    expect(text).not.toContain('hidden@example.test');
    expect(text).toContain('\r\nCc: cc@example.test, to@example.test\r\n');
    expect(result.envelope).toEqual({
      from: 'a@example.test',
      to: ['to@example.test', 'cc@example.test', 'hidden@example.test'],
    });
  });

  it('sends to Bcc recipients alone', () => {
    const result = composeMessage(
      { from: 'a@example.test', bcc: 'hidden@example.test', text: 'x' },
      OPTIONS,
    );
    expect(result.envelope.to).toEqual(['hidden@example.test']);
    expect(new TextDecoder().decode(result.bytes)).not.toMatch(/^To:/m);
  });

  it('uses the envelope override', () => {
    const result = composeMessage(
      {
        from: 'a@example.test',
        to: 'b@example.test',
        envelope: { from: 'bounces@example.test', to: 'archive@example.test' },
      },
      OPTIONS,
    );
    expect(result.envelope).toEqual({ from: 'bounces@example.test', to: ['archive@example.test'] });
  });

  it('writes Reply-To and custom headers', () => {
    const parsed = parseMessage(
      composeText({
        from: 'a@example.test',
        to: 'b@example.test',
        replyTo: { name: 'Support', address: 'support@example.test' },
        headers: { 'X-Campaign': 'Sommer ☀ 2025', 'List-Id': '<news.example.test>' },
      }),
    );

    expect(headerValue(parsed, 'Reply-To')).toBe('Support <support@example.test>');
    expect(headerValue(parsed, 'X-Campaign')).toBe('Sommer =?UTF-8?B?4piA?= 2025');
    expect(decodeEncodedWords(headerValue(parsed, 'X-Campaign')!)).toBe('Sommer ☀ 2025');
    expect(headerValue(parsed, 'List-Id')).toBe('<news.example.test>');
  });

  it('replaces Message-ID and Date from headers', () => {
    const result = composeMessage(
      {
        from: 'a@example.test',
        to: 'b@example.test',
        headers: { 'Message-ID': '<custom@example.test>', Date: 'Mon, 30 Jun 2025 08:00:00 +0200' },
      },
      OPTIONS,
    );
    const parsed = parseMessage(new TextDecoder().decode(result.bytes));

    expect(result.messageId).toBe('<custom@example.test>');
    expect(parsed.headers.filter((header) => header.name.toLowerCase() === 'message-id')).toEqual([
      { name: 'Message-ID', value: '<custom@example.test>' },
    ]);
    expect(parsed.headers.filter((header) => header.name.toLowerCase() === 'date')).toEqual([
      { name: 'Date', value: 'Mon, 30 Jun 2025 08:00:00 +0200' },
    ]);
  });

  it('returns the generated Message-ID', () => {
    const result = composeMessage({ from: 'a@example.test', to: 'b@example.test' }, OPTIONS);
    expect(result.messageId).toBe(MESSAGE_ID);
  });

  it('varies Message-ID without randomBytes', () => {
    const options = { messageIdDomain: 'example.test', now: NOW };
    const message = { from: 'a@example.test', to: 'b@example.test' };
    const first = composeMessage(message, options).messageId;
    const second = composeMessage(message, options).messageId;

    expect(first).toMatch(/^<[a-z0-9.]+@example\.test>$/);
    expect(second).not.toBe(first);
  });
});

describe('composeMessage bodies', () => {
  it.each([
    ['German', 'Größenänderung der Straßenbahnhaltestelle übermäßig lang. '.repeat(8)],
    ['Japanese', '拝啓\n来週の会議について、資料を添付いたしましたのでご確認ください。'.repeat(6)],
  ])('encodes %s body as quoted-printable', (_, body) => {
    const parsed = parseMessage(
      composeText({ from: 'a@example.test', to: 'b@example.test', text: body }),
    );
    const lines = parsed.body.slice(0, -2).split('\r\n');

    expect(headerValue(parsed, 'Content-Transfer-Encoding')).toBe('quoted-printable');
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(76);
    expect(decodeQuotedPrintable(parsed.body.slice(0, -2))).toBe(body.replace(/\n/g, '\r\n'));
  });

  it('encodes long ASCII line as quoted-printable', () => {
    const parsed = parseMessage(
      composeText({
        from: 'a@example.test',
        to: 'b@example.test',
        html: `<p>${'x'.repeat(200)}</p>`,
      }),
    );
    expect(headerValue(parsed, 'Content-Type')).toBe('text/html; charset=utf-8');
    expect(headerValue(parsed, 'Content-Transfer-Encoding')).toBe('quoted-printable');
  });

  it('turns bare LF and bare CR into CRLF', () => {
    const parsed = parseMessage(
      composeText({
        from: 'a@example.test',
        to: 'b@example.test',
        text: 'one\ntwo\rthree\r\nfour',
      }),
    );
    expect(parsed.body).toBe('one\r\ntwo\r\nthree\r\nfour\r\n');
  });

  it('writes empty text/plain without body', () => {
    const text = composeText({ from: 'a@example.test', to: 'b@example.test' });
    expect(text).toMatch(
      /Content-Type: text\/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n$/,
    );
  });

  it('picks a boundary that occurs in no part', () => {
    const text = composeText({
      from: 'a@example.test',
      to: 'b@example.test',
      text: `--${BOUNDARY}\n--${BOUNDARY}-1`,
      html: '<p>html</p>',
    });
    const boundary = /boundary="([^"]+)"/.exec(text)![1]!;
    const parts = text.split(`--${boundary}`);

    expect(boundary).toBe(`${BOUNDARY}-2`);
    expect(parts).toHaveLength(4);
    expect(parts[3]).toBe('--\r\n');
  });
});

describe('composeMessage validation', () => {
  const base: ComposedMessage = { from: 'a@example.test', to: 'b@example.test', text: 'x' };

  it.each([
    ['subject CRLF', { subject: 'Hi\r\nBcc: victim@example.test' }, /Invalid subject/],
    ['subject bare LF', { subject: 'Hi\nBcc: victim@example.test' }, /Invalid subject/],
    ['header value', { headers: { 'X-A': 'v\r\nBcc: v@example.test' } }, /headers\["X-A"\]/],
    ['header value NUL', { headers: { 'X-A': 'v\0' } }, /headers\["X-A"\]/],
    ['header name line break', { headers: { 'X-A\r\nBcc': 'v' } }, /Invalid header name/],
    ['header name colon', { headers: { 'Bcc:': 'v' } }, /Invalid header name/],
    ['to address', { to: 'b@example.test\r\nBcc: v@example.test' }, /Invalid to address/],
    ['to list entry', { to: ['b@example.test', 'c@example.test>'] }, /Invalid to\[1\] address/],
    ['cc address', { cc: 'c@example.test\nX' }, /Invalid cc address/],
    ['bcc address', { bcc: 'c@example.test>' }, /Invalid bcc address/],
    ['replyTo address', { replyTo: 'r@example.test\r\n' }, /Invalid replyTo address/],
    ['from address', { from: 'a@example.test\r\nTo: x@example.test' }, /Invalid from address/],
    [
      'from display name',
      { from: { name: 'A\r\nBcc: v@example.test', address: 'a@example.test' } },
      /Invalid from display name/,
    ],
    ['envelope from', { envelope: { from: 'a@x.test\r\nDATA', to: 'b@x.test' } }, /envelope\.from/],
    ['reserved header', { headers: { Bcc: 'v@example.test' } }, /use bcc/],
    ['reserved header case', { headers: { 'content-type': 'text/html' } }, /use text or html/],
    ['non-ASCII Message-ID', { headers: { 'Message-ID': '<ü@example.test>' } }, /must be ASCII/],
    ['text type', { text: 42 as unknown as string }, /Invalid text: expected a string/],
  ] as const)('rejects %s', (_, override, message) => {
    const compose = () => composeMessage({ ...base, ...override } as ComposedMessage, OPTIONS);
    expect(compose).toThrow(TypeError);
    expect(compose).toThrow(message);
  });

  it('requires from', () => {
    const message = { to: 'b@example.test' } as unknown as ComposedMessage;
    expect(() => composeMessage(message, OPTIONS)).toThrow('Missing from');
  });

  it('requires a recipient', () => {
    expect(() => composeMessage({ from: 'a@example.test', to: [] }, OPTIONS)).toThrow(
      'Missing recipient',
    );
  });

  it.each([
    [
      'messageIdDomain with a line break',
      { messageIdDomain: 'x.test\r\nBcc: v' },
      /messageIdDomain/,
    ],
    ['messageIdDomain with @', { messageIdDomain: 'a@x.test' }, /messageIdDomain/],
    ['a non-finite now', { now: Number.NaN }, /Invalid now/],
    ['randomBytes returning nothing', { randomBytes: () => new Uint8Array(0) }, /randomBytes/],
  ])('rejects %s', (_, override, message) => {
    expect(() => composeMessage(base, { ...OPTIONS, ...override })).toThrow(message);
  });
});

describe('formatDate', () => {
  it.each([
    [0, 'Thu, 01 Jan 1970 00:00:00 +0000'],
    [NOW, 'Tue, 01 Jul 2025 09:05:00 +0000'],
    [Date.UTC(2024, 1, 29, 23, 59, 59, 999), 'Thu, 29 Feb 2024 23:59:59 +0000'],
  ])('formats %d as %s', (time, expected) => {
    expect(formatDate(time)).toBe(expected);
  });
});

describe('composeMessage output invariants', () => {
  const text = fc.string({ unit: 'binary', maxLength: 400 });
  const name = fc
    .string({ unit: 'grapheme', maxLength: 80 })
    .map((value) => value.replace(/[\r\n\0]/g, ''));
  const headerText = fc
    .string({ unit: 'binary', maxLength: 300 })
    .map((value) => value.replace(/[\r\n\0]/g, ''));

  it('writes ASCII CRLF lines within 998', () => {
    fc.assert(
      fc.property(
        name,
        headerText,
        headerText,
        text,
        fc.option(text),
        (fromName, subject, custom, body, html) => {
          const result = composeMessage(
            {
              from: { name: fromName, address: 'a@example.test' },
              to: ['b@example.test', { name: fromName, address: 'c@example.test' }],
              subject,
              headers: { 'X-Custom': custom },
              text: body,
              html: html ?? undefined,
            },
            OPTIONS,
          );
          expectWireSafe(result.bytes);

          const parsed = parseMessage(new TextDecoder().decode(result.bytes));
          const expectedSubject = subject.replace(/^[ \t]+|[ \t]+$/g, '');
          expect(decodeEncodedWords(headerValue(parsed, 'Subject')!)).toBe(
            new TextDecoder().decode(new TextEncoder().encode(expectedSubject)),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it.each([
    ['a 5000-character word', 'x'.repeat(5000)],
    ['a 5000-character line of Japanese', '日本語'.repeat(1700)],
    ['many blank lines', '\n'.repeat(50)],
  ])('stays wire-safe with %s', (_, value) => {
    const result = composeMessage(
      {
        from: 'a@example.test',
        to: 'b@example.test',
        subject: value.replace(/\n/g, ' '),
        text: value,
        html: value,
      },
      OPTIONS,
    );
    expectWireSafe(result.bytes);
  });
});
