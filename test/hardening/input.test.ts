import { join } from 'node:path';
import {
  createTransporter,
  isSmtpError,
  type MessageInput,
  openLogFile,
  type SmtpError,
  type TransporterOptions,
} from '@mailwire/node';
import { afterEach, describe, expect, it } from 'vitest';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp-server.js';
import { testDirectory } from '../support/temporary.js';
import { type RawServer, type SmtpScript, serveSmtp, startRawServer } from './raw-server.js';

const FROM = 'sender@mw.test';
const TO = 'rcpt@mw.test';

/** Characters that could end a command line or break an address out of its brackets. */
const INJECTIONS: Array<[string, string]> = [
  ['CR LF', '\r\nRCPT TO:<evil@mw.test>'],
  ['CR', '\rX'],
  ['LF', '\nX'],
  ['NUL', '\0'],
  ['a closing bracket', '> NOTIFY=NEVER'],
  ['an opening bracket', '<evil@mw.test'],
];

/** Would-be ends of the data that lenient servers accept (SMTP smuggling). */
const FAKE_ENDS: Array<[string, string]> = [
  ['LF . LF', '\n.\n'],
  ['CR . CR', '\r.\r'],
  ['CR LF . LF', '\r\n.\n'],
  ['LF . CR LF', '\n.\r\n'],
  ['CR LF . CR LF', '\r\n.\r\n'],
];

/** Text after the fake end: a whole second transaction, if the server took it as commands. */
const SMUGGLED =
  'MAIL FROM:<smuggled@mw.test>\r\nRCPT TO:<victim@mw.test>\r\nDATA\r\n' +
  'From: smuggled@mw.test\r\n\r\nsmuggled body\r\n.\r\nafter the fake end';

const servers: Array<RawServer | TestSmtpServer> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function startRaw(script: SmtpScript = {}): Promise<RawServer> {
  const server = await startRawServer((connection) => serveSmtp(connection, script));
  servers.push(server);
  return server;
}

function transporterFor(server: { port: number }, options: Partial<TransporterOptions> = {}) {
  return createTransporter({
    host: '127.0.0.1',
    port: server.port,
    commandTimeout: 2000,
    ...options,
  });
}

async function sendError(server: RawServer, input: MessageInput): Promise<SmtpError> {
  const error = await transporterFor(server)
    .send(input)
    .then(
      () => null,
      (caught: unknown) => caught,
    );
  expect(isSmtpError(error), `expected an SmtpError, got ${(error as Error)?.name}`).toBe(true);
  return error as SmtpError;
}

/** Wait briefly, so that a connection the client opens late is counted too. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

/** Check that `input` is rejected with `message` and the server saw no connection. */
async function expectRejectedOffline(input: MessageInput, message: RegExp): Promise<void> {
  const server = await startRaw({ extensions: ['DSN', '8BITMIME', 'SMTPUTF8'] });

  const error = await sendError(server, input);

  expect(error.code).toBe('EINPUT');
  expect(error.phase).toBe('input');
  expect(error.message).toMatch(message);
  await settle();
  expect(server.connections).toHaveLength(0);
}

describe('envelope input', () => {
  it.each(INJECTIONS)('rejects a raw envelope sender with %s', async (_, injected) => {
    const input = {
      envelope: { from: `a@mw.test${injected}`, to: TO },
      raw: 'Subject: x\r\n\r\nx\r\n',
    };
    await expectRejectedOffline(input, /^Invalid envelope\.from /);
  });

  it.each(INJECTIONS)('rejects a raw envelope recipient with %s', async (_, injected) => {
    const input = { envelope: { from: FROM, to: [TO, `b@mw.test${injected}`] }, raw: 'x\r\n' };
    await expectRejectedOffline(input, /^Invalid envelope\.to\[1\] /);
  });

  it.each(INJECTIONS)('rejects a composed recipient with %s', async (_, injected) => {
    await expectRejectedOffline(
      { from: FROM, to: `b@mw.test${injected}`, text: 'x' },
      /^Invalid to/,
    );
  });

  it.each(INJECTIONS)('rejects a composed sender with %s', async (_, injected) => {
    await expectRejectedOffline(
      { from: `a@mw.test${injected}`, to: TO, text: 'x' },
      /^Invalid from/,
    );
  });

  it.each(INJECTIONS)('rejects a DSN envelope id with %s', async (_, injected) => {
    const input = { from: FROM, to: TO, text: 'x', dsn: { envid: `id-1${injected}` } };
    await expectRejectedOffline(input, /^Invalid message\.dsn\.envid/);
  });

  it('rejects a DSN notify list with a line break', async () => {
    const notify = ['SUCCESS\r\nRCPT TO:<evil@mw.test>'] as unknown as Array<'SUCCESS'>;
    await expectRejectedOffline({ from: FROM, to: TO, text: 'x', dsn: { notify } }, /dsn\.notify/);
  });

  it('rejects a DSN ret value with a line break', async () => {
    const ret = 'FULL\r\nRSET' as 'FULL';
    await expectRejectedOffline({ from: FROM, to: TO, text: 'x', dsn: { ret } }, /dsn\.ret/);
  });

  it('sends a valid DSN envelope id as xtext', async () => {
    const server = await startRaw({ extensions: ['DSN'] });

    await transporterFor(server).send({
      from: FROM,
      to: TO,
      text: 'x',
      dsn: { envid: 'id 1+2=3' },
    });

    const mail = server.connections[0]?.lines.find((line) => line.startsWith('MAIL'));
    expect(mail).toBe(`MAIL FROM:<${FROM}> ENVID=id+201+2B2+3D3`);
  });
});

describe('composed header input', () => {
  it.each([
    ['a subject with CR LF', { subject: 'Hi\r\nBcc: evil@mw.test' }, /^Invalid subject/],
    ['a subject with LF', { subject: 'Hi\nBcc: evil@mw.test' }, /^Invalid subject/],
    ['a subject with CR', { subject: 'Hi\rBcc: evil@mw.test' }, /^Invalid subject/],
    ['a header value with CR LF', { headers: { 'X-Tag': 'a\r\nBcc: evil@mw.test' } }, /X-Tag/],
    ['a header value with LF', { headers: { 'X-Tag': 'a\nBcc: evil@mw.test' } }, /X-Tag/],
    ['a header name with CR LF', { headers: { 'X-Tag\r\nBcc': 'evil@mw.test' } }, /header name/],
    ['a header name with LF', { headers: { 'X-Tag\nBcc': 'evil@mw.test' } }, /header name/],
    [
      'a display name with CR LF',
      { from: { name: 'A\r\nBcc: evil@mw.test', address: FROM } },
      /display name/,
    ],
  ] as const)('rejects %s', async (_, override, message) => {
    await expectRejectedOffline(
      { from: FROM, to: TO, text: 'x', ...override } as MessageInput,
      message,
    );
  });
});

describe('raw message limits', () => {
  const rawWithLine = (length: number) => ({
    envelope: { from: FROM, to: TO },
    raw: `Subject: long line\r\n\r\n${'a'.repeat(length)}\r\n`,
  });

  it('rejects a 999-octet line', async () => {
    await expectRejectedOffline(rawWithLine(999), /line 3 is 999 octets long/);
  });

  it('sends a 998-octet line unchanged', async () => {
    const server = await startRaw();

    await transporterFor(server).send(rawWithLine(998));

    expect(server.connections[0]?.messages[0]?.toString()).toContain(`\r\n${'a'.repeat(998)}\r\n`);
  });

  it('rejects 8-bit data without 8BITMIME', async () => {
    const server = await startRaw({ extensions: ['PIPELINING', 'SIZE 1000000'] });
    const raw = 'Subject: Gr\u00fc\u00dfe\r\n\r\nGr\u00fc\u00dfe aus K\u00f6ln\r\n';

    const error = await sendError(server, { envelope: { from: FROM, to: TO }, raw });

    expect(error.code).toBe('EMESSAGE');
    expect(error.phase).toBe('input');
    expect(error.message).toContain('8BITMIME');
    expect(server.connections[0]?.lines.map((line) => line.split(' ')[0])).toEqual([
      'EHLO',
      'QUIT',
    ]);
  });

  it('rejects 8-bit data after HELO fallback', async () => {
    const server = await startRaw({
      reply: (line) => (line.startsWith('EHLO') ? '502 5.5.2 EHLO not supported' : undefined),
    });
    const raw = 'Subject: x\r\n\r\nK\u00f6ln\r\n';

    const error = await sendError(server, { envelope: { from: FROM, to: TO }, raw });

    expect(error.code).toBe('EMESSAGE');
    expect(server.connections[0]?.lines.map((line) => line.split(' ')[0])).toEqual([
      'EHLO',
      'HELO',
      'QUIT',
    ]);
  });

  it('sends 8-bit data with BODY=8BITMIME', async () => {
    const server = await startRaw({ extensions: ['8BITMIME'] });
    const raw = 'Subject: x\r\n\r\nK\u00f6ln\r\n';

    await transporterFor(server).send({ envelope: { from: FROM, to: TO }, raw });

    const mail = server.connections[0]?.lines.find((line) => line.startsWith('MAIL'));
    expect(mail).toBe(`MAIL FROM:<${FROM}> BODY=8BITMIME`);
  });
});

/** True when every CR is followed by LF and every LF follows a CR. */
function hasOnlyCrlf(bytes: Buffer): boolean {
  for (let index = 0; index < bytes.length; index++) {
    if (bytes[index] === 0x0d && bytes[index + 1] !== 0x0a) return false;
    if (bytes[index] === 0x0a && bytes[index - 1] !== 0x0d) return false;
  }
  return true;
}

describe('SMTP smuggling', () => {
  const rawMessage = (fakeEnd: string): MessageInput => ({
    envelope: { from: FROM, to: TO },
    raw: `Subject: smuggling\r\n\r\nbefore the fake end${fakeEnd}${SMUGGLED}\r\n`,
  });
  const composedMessage = (fakeEnd: string): MessageInput => ({
    from: FROM,
    to: TO,
    subject: 'smuggling',
    text: `before the fake end${fakeEnd}${SMUGGLED}`,
  });

  describe.each([
    ['a raw message', rawMessage],
    ['a composed message', composedMessage],
  ])('in %s', (_, build) => {
    it.each(FAKE_ENDS)(
      'delivers one message across %s to a lenient server',
      async (__, fakeEnd) => {
        const server = await startRaw({ lenientDataEnd: true });

        await transporterFor(server).send(build(fakeEnd));
        await settle();

        const connection = server.connections[0]!;
        expect(connection.messages).toHaveLength(1);
        const received = connection.messages[0]!;
        expect(received.toString()).toContain('before the fake end');
        expect(received.toString()).toContain('MAIL FROM:<smuggled@mw.test>');
        expect(received.toString()).toContain('after the fake end');
        expect(hasOnlyCrlf(received)).toBe(true);
        expect(connection.lines.filter((line) => line.startsWith('MAIL'))).toHaveLength(1);
        expect(connection.lines.filter((line) => line.startsWith('RCPT'))).toHaveLength(1);
      },
    );
  });

  it.each(FAKE_ENDS)('delivers one message across %s with BDAT', async (_, fakeEnd) => {
    const server = await startRaw({ extensions: ['CHUNKING'] });

    await transporterFor(server).send(rawMessage(fakeEnd));

    const connection = server.connections[0]!;
    expect(connection.lines.some((line) => line.startsWith('BDAT'))).toBe(true);
    expect(connection.messages).toHaveLength(1);
    expect(connection.messages[0]!.toString()).toContain('after the fake end');
    expect(hasOnlyCrlf(connection.messages[0]!)).toBe(true);
  });

  it.each(FAKE_ENDS)('delivers one message across %s to smtp-server', async (_, fakeEnd) => {
    const smtp = await startSmtpServer({ startTls: false });
    servers.push(smtp);

    await transporterFor(smtp).send(rawMessage(fakeEnd));
    await settle();

    expect(smtp.messages).toHaveLength(1);
    expect(smtp.messages[0]?.to).toEqual([TO]);
    expect(smtp.messages[0]?.raw.toString()).toContain('after the fake end');
  });
});

describe('transporter options', () => {
  const base = { host: '127.0.0.1', port: 2525 };

  it.each([
    ['connectionTimeout', -1],
    ['greetingTimeout', 0],
    ['commandTimeout', Number.NaN],
    ['dataTimeout', Number.POSITIVE_INFINITY],
    ['idleTimeout', '30000'],
    // Node runs a timer above 2^31 - 1 ms after 1 ms, so such a timeout would fire at once.
    ['commandTimeout', 2 ** 31],
    ['dataTimeout', 1e12],
  ] as const)('rejects %s %s naming milliseconds', (name, value) => {
    const create = () => createTransporter({ ...base, [name]: value } as TransporterOptions);
    expect(create).toThrow(new RegExp(`^Invalid option ${name}: .*milliseconds`));
  });

  it('accepts the largest timer delay', () => {
    expect(() => createTransporter({ ...base, dataTimeout: 2 ** 31 - 1 })).not.toThrow();
  });

  it.each([
    ['port', 0, /from 1 to 65535/],
    ['port', 65536, /from 1 to 65535/],
    ['port', 25.5, /from 1 to 65535/],
    ['port', '25', /from 1 to 65535/],
    ['maxConnections', 0, /whole number of at least 1/],
    ['maxMessages', 1.5, /whole number of at least 1/],
    ['secure', 'yes', /true or false/],
    ['startTls', 'always', /'opportunistic', 'required', 'never'/],
    ['logBody', true, /'none', 'headers', 'full'/],
    ['clientName', 'mw.test\r\nMAIL FROM:<evil@mw.test>', /Invalid clientName/],
    ['host', 'mw.test\r\nQUIT', /Invalid option host/],
  ] as const)('rejects %s %j naming the allowed values', (name, value, message) => {
    const create = () => createTransporter({ ...base, [name]: value } as TransporterOptions);
    expect(create).toThrow(new RegExp(`${name}`));
    expect(create).toThrow(message);
  });

  it('names only the type of auth.pass', () => {
    const auth = { user: 'user@mw.test', pass: 12345678 as unknown as string };
    const create = () => createTransporter({ ...base, auth });
    expect(create).toThrow('Invalid option auth.pass: expected a string, got number');
    expect(create).not.toThrow(/12345678/);
  });

  it.each([
    ['maxBytes', -1, /bytes/],
    ['maxBytes', 0, /bytes/],
    ['maxBytes', '4096', /bytes/],
    ['maxBytes', Number.NaN, /bytes/],
    ['maxFiles', -1, /files/],
    ['maxFiles', '3', /files/],
    ['maxFiles', 1.5, /files/],
  ] as const)('rejects log rotation %s %s naming the unit', (name, value, unit) => {
    const path = join(testDirectory('mailwire-input-'), 'never-written.log');
    const open = () => openLogFile(path, 'text', { [name]: value });
    expect(open).toThrow(new RegExp(`^Invalid ${name} for log file `));
    expect(open).toThrow(unit);
  });
});
