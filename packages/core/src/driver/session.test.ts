import { describe, expect, it } from 'vitest';
import { encodeBase64Text } from '../base64.js';
import { SmtpConnectionError, SmtpError, SmtpTimeoutError, SmtpUsageError } from '../errors.js';
import { QUIT_TIMEOUT_MS } from '../limits.js';
import { FakeClock } from '../testing/fake-clock.js';
import { FakeServer, type ServerStep } from '../testing/fake-server.js';
import { MemorySink } from '../transcript/memory-sink.js';
import type { Connector } from './contracts.js';
import type { MessageInput, RawMessage, Transporter, TransporterOptions } from './options.js';
import { createTransporter } from './transporter.js';

const USER = 'alice@example.test';
const PASS = 'correct horse battery staple';

const MESSAGE: RawMessage = {
  envelope: { from: 'sender@example.test', to: ['rcpt@example.test'] },
  raw: 'Subject: test\r\n\r\nHello\r\n',
};

const GREETING: ServerStep = { send: '220 mx.example.test ESMTP' };
const EHLO: ServerStep = { expect: 'EHLO [192.0.2.10]' };
const QUIT: ServerStep[] = [{ expect: 'QUIT' }, { send: '221 2.0.0 Bye' }];

/** An EHLO reply announcing the given extensions. */
function ehloReply(...extensions: string[]): ServerStep {
  const texts = ['mx.example.test', ...extensions];
  return {
    send: texts.map((text, index) => `250${index === texts.length - 1 ? ' ' : '-'}${text}`),
  };
}

/** MAIL, RCPT, DATA and the message, each answered positively. */
const TRANSACTION: ServerStep[] = [
  { expect: /^MAIL FROM:<sender@example.test>/ },
  { send: '250 2.1.0 Ok' },
  { expect: 'RCPT TO:<rcpt@example.test>' },
  { send: '250 2.1.5 Ok' },
  { expect: 'DATA' },
  { send: '354 End data with <CR><LF>.<CR><LF>' },
  { expectData: true },
  { send: '250 2.0.0 Ok: queued as 4Q1TQs0Xyz' },
];

interface Setup {
  server: FakeServer;
  clock: FakeClock;
  sink: MemorySink;
  transporter: Transporter;
}

function setup(
  script: readonly ServerStep[],
  options: Partial<TransporterOptions> = {},
  connect: ConstructorParameters<typeof FakeServer>[0]['connect'] = 'accept',
): Setup {
  const clock = new FakeClock();
  const server = new FakeServer({ script, clock, connect });
  const sink = new MemorySink();
  const transporter = createTransporter(
    { host: 'mx.example.test', port: 587, transcriptSink: sink, ...options },
    { connector: server.connector, clock, processId: 4242 },
  );
  return { server, clock, sink, transporter };
}

/** Let every pending promise continuation run; in-memory I/O needs nothing else. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Attach handlers at once, so a rejection during `clock.advance` is never unhandled. */
function capture<T>(promise: Promise<T>): Promise<Outcome<T>> {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

async function failureOf(outcome: Promise<Outcome<unknown>>): Promise<SmtpError> {
  const result = await outcome;
  if (result.ok) throw new Error('expected the operation to fail');
  expect(result.error).toBeInstanceOf(SmtpError);
  return result.error as SmtpError;
}

/** Transcript as `C: text`, `S: text` or `E: text`. */
function transcript(sink: MemorySink): string[] {
  const marks = { client: 'C', server: 'S', event: 'E' } as const;
  return sink.entries.map((entry) => `${marks[entry.direction]}: ${entry.text}`);
}

describe('createTransporter send', () => {
  it('sends a message and quits', async () => {
    const { server, clock, sink, transporter } = setup([
      GREETING,
      EHLO,
      ehloReply('SIZE 1000', '8BITMIME'),
      ...TRANSACTION,
      ...QUIT,
    ]);
    const result = await transporter.send(MESSAGE);

    expect(result).toMatchObject({
      accepted: ['rcpt@example.test'],
      rejected: [],
      response: '250 2.0.0 Ok: queued as 4Q1TQs0Xyz',
      queueId: '4Q1TQs0Xyz',
    });
    expect(server.mismatch).toBeNull();
    expect(server.lines).toEqual([
      'EHLO [192.0.2.10]',
      'MAIL FROM:<sender@example.test> SIZE=24',
      'RCPT TO:<rcpt@example.test>',
      'DATA',
      'QUIT',
    ]);
    expect(server.dataBodies).toEqual(['Subject: test\r\n\r\nHello\r\n.\r\n']);
    expect(server.clientClosedConnection).toBe(true);
    expect(clock.pendingDelays).toEqual([]);
    expect(transcript(sink)[0]).toBe("E: SMTP Connected to 'mx.example.test' on port 587.");
    expect(transcript(sink).at(-1)).toBe('E: SMTP Connection closed');
  });

  it('reads pipelined replies in order', async () => {
    const { server, transporter } = setup([
      GREETING,
      EHLO,
      ehloReply('PIPELINING'),
      { expect: 'MAIL FROM:<sender@example.test>' },
      { expect: 'RCPT TO:<rcpt@example.test>' },
      { expect: 'RCPT TO:<gone@example.test>' },
      { expect: 'DATA' },
      { send: ['250 2.1.0 Ok', '250 2.1.5 Ok', '550 5.1.1 No such user', '354 Go ahead'] },
      { expectData: true },
      { send: '250 2.0.0 Ok: queued as ABC' },
      ...QUIT,
    ]);
    const result = await transporter.send({
      ...MESSAGE,
      envelope: { from: 'sender@example.test', to: ['rcpt@example.test', 'gone@example.test'] },
    });

    expect(server.mismatch).toBeNull();
    expect(result.accepted).toEqual(['rcpt@example.test']);
    expect(result.rejected).toEqual([
      {
        recipient: 'gone@example.test',
        code: 550,
        enhancedCode: '5.1.1',
        response: '550 5.1.1 No such user',
      },
    ]);
  });
});

describe('createTransporter timeouts', () => {
  it('times out waiting for the greeting and sends no EHLO', async () => {
    const { server, clock, sink, transporter } = setup([], { greetingTimeout: 5000 });
    const outcome = capture(transporter.send(MESSAGE));
    await settle();
    clock.advance(4999);
    await settle();
    expect(clock.pendingDelays).toEqual([1]);
    clock.advance(1);

    const error = await failureOf(outcome);
    expect(error).toBeInstanceOf(SmtpTimeoutError);
    expect(error.code).toBe('ETIMEDOUT');
    expect(error.phase).toBe('greeting');
    expect((error as SmtpTimeoutError).elapsedMs).toBe(5000);
    expect(error.message).toMatch(/^Timed out after 5000 ms waiting for the greeting; /);
    expect(server.lines).toEqual([]);
    expect(server.clientClosedConnection).toBe(true);
    expect(sink.text()).toMatch(/ 4242 \d+ ### Timed out after 5000 ms waiting for the greeting/);
    expect(error.transcript.some((line) => line.includes('### Timed out after 5000 ms'))).toBe(
      true,
    );
  });

  it('times out waiting for the reply to a command', async () => {
    const { server, clock, transporter } = setup([GREETING, EHLO], { commandTimeout: 3000 });
    const outcome = capture(transporter.send(MESSAGE));
    await settle();
    clock.advance(3000);

    const error = await failureOf(outcome);
    expect(error.code).toBe('ETIMEDOUT');
    expect(error.phase).toBe('ehlo');
    expect(error.message).toBe('Timed out after 3000 ms waiting for the reply to EHLO');
    expect(server.lines).toEqual(['EHLO [192.0.2.10]']);
  });

  it('uses the data timeout for the final reply', async () => {
    const { server, clock, transporter } = setup(
      [GREETING, EHLO, ehloReply(), ...TRANSACTION.slice(0, 7)],
      { commandTimeout: 3000, dataTimeout: 7000 },
    );
    const outcome = capture(transporter.send(MESSAGE));
    await settle();
    expect(server.dataBodies).toHaveLength(1);
    clock.advance(3000);
    await settle();
    expect(clock.pendingDelays).toEqual([4000]);
    clock.advance(4000);

    const error = await failureOf(outcome);
    expect(error.code).toBe('ETIMEDOUT');
    expect(error.phase).toBe('message');
    expect(error.message).toBe('Timed out after 7000 ms waiting for the reply to the message data');
  });

  it('times out connecting', async () => {
    const { clock, sink, transporter } = setup([], { connectionTimeout: 2000 }, 'hang');
    const outcome = capture(transporter.send(MESSAGE));
    await settle();
    clock.advance(2000);

    const error = await failureOf(outcome);
    expect(error.code).toBe('ETIMEDOUT');
    expect(error.phase).toBe('connect');
    expect(error.message).toBe(
      'Connection timed out: no connection to mx.example.test:587 after 2000 ms',
    );
    expect(transcript(sink)[0]).toMatch(
      /^E: SMTP Connection to 'mx.example.test' on port 587 failed/,
    );
  });

  it('logs a reply that arrives after a timeout', async () => {
    const { clock, sink, transporter } = setup(
      [
        GREETING,
        EHLO,
        ehloReply(),
        { expect: 'MAIL FROM:<sender@example.test>' },
        { delayMs: 4000 },
        { send: '250 2.1.0 Late but fine' },
        ...QUIT,
      ],
      { commandTimeout: 3000 },
    );
    const outcome = capture(transporter.send(MESSAGE));
    await settle();
    clock.advance(3000);
    await settle();
    clock.advance(1000);
    await settle();
    clock.advance(QUIT_TIMEOUT_MS);

    const error = await failureOf(outcome);
    expect(error.phase).toBe('mail');
    expect(transcript(sink)).toContain('S: 250 2.1.0 Late but fine');
    expect(transcript(sink).indexOf('S: 250 2.1.0 Late but fine')).toBeGreaterThan(
      transcript(sink).indexOf('E: Timed out after 3000 ms waiting for the reply to MAIL FROM'),
    );
  });
});

describe('createTransporter when the server closes', () => {
  const AUTH_OPTIONS = { auth: { user: USER, pass: PASS }, allowInsecureAuth: true };
  const envelope = (count: number): ServerStep[] => TRANSACTION.slice(0, count);

  it.each([
    ['greeting', 'greeting', [], {}],
    ['ehlo', 'reply to EHLO', [GREETING, EHLO], {}],
    [
      'starttls',
      'reply to STARTTLS',
      [GREETING, EHLO, ehloReply('STARTTLS'), { expect: 'STARTTLS' }],
      {},
    ],
    [
      'auth',
      'reply to AUTH',
      [GREETING, EHLO, ehloReply('AUTH PLAIN'), { expect: /^AUTH PLAIN / }],
      AUTH_OPTIONS,
    ],
    ['mail', 'reply to MAIL FROM', [GREETING, EHLO, ehloReply(), ...envelope(1)], {}],
    ['rcpt', 'reply to RCPT TO', [GREETING, EHLO, ehloReply(), ...envelope(3)], {}],
    ['data', 'reply to DATA', [GREETING, EHLO, ehloReply(), ...envelope(5)], {}],
    ['message', 'reply to the message data', [GREETING, EHLO, ehloReply(), ...envelope(7)], {}],
  ] as const)('reports a connection error in phase %s', async (phase, words, steps, options) => {
    const { server, transporter } = setup([...steps, { close: true }], options);
    const error = await failureOf(capture(transporter.send(MESSAGE)));

    expect(server.mismatch).toBeNull();
    expect(error).toBeInstanceOf(SmtpConnectionError);
    expect(error.code).toBe('ECONNECTION');
    expect(error.phase).toBe(phase);
    expect(error.message).toBe(`Connection closed by the server during ${words}`);
    expect(server.lines.filter((line) => line === 'QUIT')).toEqual([]);
  });

  it('reports a reset connection with its phase', async () => {
    const { transporter } = setup([GREETING, EHLO, { reset: true }]);
    const error = await failureOf(capture(transporter.send(MESSAGE)));

    expect(error.code).toBe('ECONNECTION');
    expect(error.phase).toBe('ehlo');
    expect(error.message).toBe('Connection error: read ECONNRESET');
  });
});

describe('createTransporter negative replies', () => {
  it('sends QUIT after a 554 greeting and reports the code', async () => {
    const { server, transporter } = setup([{ send: '554 5.7.1 No SMTP service here' }, ...QUIT]);
    const error = await failureOf(capture(transporter.send(MESSAGE)));

    expect(error.responseCode).toBe(554);
    expect(error.phase).toBe('greeting');
    expect(error.message).toBe('Server refused the connection: 554 5.7.1 No SMTP service here');
    expect(server.lines).toEqual(['QUIT']);
  });

  it('falls back to HELO after EHLO 500', async () => {
    const { server, transporter } = setup([
      GREETING,
      EHLO,
      { send: '500 5.5.1 Command unrecognized' },
      { expect: 'HELO [192.0.2.10]' },
      { send: '250 mx.example.test' },
      ...TRANSACTION,
      ...QUIT,
    ]);
    const result = await transporter.send(MESSAGE);

    expect(server.mismatch).toBeNull();
    expect(result.accepted).toEqual(['rcpt@example.test']);
    expect(server.lines[2]).toBe('MAIL FROM:<sender@example.test>');
    expect(server.lines[3]).toBe('RCPT TO:<rcpt@example.test>');
  });

  it('stops at EHLO 421 without HELO or QUIT', async () => {
    const { server, clock, sink, transporter } = setup([
      GREETING,
      EHLO,
      { send: '421 4.3.2 Service shutting down' },
    ]);
    const error = await failureOf(capture(transporter.send(MESSAGE)));

    expect(error.responseCode).toBe(421);
    expect(error.phase).toBe('ehlo');
    expect(server.lines).toEqual(['EHLO [192.0.2.10]']);
    expect(clock.pendingDelays).toEqual([]);
    expect(transcript(sink).filter((line) => line.startsWith('C: '))).toEqual([
      'C: EHLO [192.0.2.10]',
    ]);
  });
});

describe('createTransporter 421 and refused connections', () => {
  it('stops at a 421 to MAIL without QUIT', async () => {
    const { server, transporter } = setup([
      GREETING,
      EHLO,
      ehloReply(),
      { expect: 'MAIL FROM:<sender@example.test>' },
      { send: '421 4.7.0 Too many errors, closing' },
    ]);
    const error = await failureOf(capture(transporter.send(MESSAGE)));

    expect(error.code).toBe('EENVELOPE');
    expect(error.responseCode).toBe(421);
    expect(error.temporary).toBe(true);
    expect(server.lines).toEqual(['EHLO [192.0.2.10]', 'MAIL FROM:<sender@example.test>']);
  });

  it('reports a refused connection', async () => {
    const refused = { error: 'connect ECONNREFUSED 192.0.2.25:587', code: 'ECONNREFUSED' };
    const { sink, transporter } = setup([], {}, refused);
    const error = await failureOf(capture(transporter.send(MESSAGE)));

    expect(error).toBeInstanceOf(SmtpConnectionError);
    expect(error.code).toBe('ECONNECTION');
    expect(error.phase).toBe('connect');
    expect(error.message).toBe('Connection failed: connect ECONNREFUSED 192.0.2.25:587');
    expect(transcript(sink)[0]).toBe(
      "E: SMTP Connection to 'mx.example.test' on port 587 failed: " +
        'connect ECONNREFUSED 192.0.2.25:587',
    );
  });
});

describe('createTransporter TLS and credentials', () => {
  it('fails before AUTH when STARTTLS is missing', async () => {
    const { server, sink, transporter } = setup(
      [GREETING, EHLO, ehloReply('AUTH PLAIN LOGIN'), ...QUIT],
      { startTls: 'required', auth: { user: USER, pass: PASS } },
    );
    const error = await failureOf(capture(transporter.send(MESSAGE)));

    expect(error.code).toBe('ETLS');
    expect(error.phase).toBe('starttls');
    expect(error.message).toMatch(/^STARTTLS required but not offered: mx.example.test /);
    expect(server.lines).toEqual(['EHLO [192.0.2.10]', 'QUIT']);
    expect(transcript(sink).filter((line) => line.startsWith('C: AUTH'))).toEqual([]);
  });

  it.each<[string, (transporter: Transporter) => Promise<unknown>]>([
    ['send', (transporter) => transporter.send(MESSAGE)],
    ['verify', (transporter) => transporter.verify()],
  ])('rejects credentials over clear text in %s', async (_, run) => {
    const { server, sink, transporter } = setup(
      [GREETING, EHLO, ehloReply('AUTH PLAIN LOGIN'), ...QUIT],
      { auth: { user: USER, pass: PASS } },
    );
    const error = await failureOf(capture(run(transporter)));

    expect(error).toBeInstanceOf(SmtpUsageError);
    expect(error.phase).toBe('auth');
    expect(error.message).toMatch(/^Refusing to send credentials without TLS: /);
    expect(server.lines).toEqual(['EHLO [192.0.2.10]', 'QUIT']);
    expect(transcript(sink).filter((line) => line.startsWith('C: AUTH'))).toEqual([]);
  });

  it('masks credentials sent with allowInsecureAuth', async () => {
    const blob = encodeBase64Text(`\0${USER}\0${PASS}`);
    const { server, sink, transporter } = setup(
      [
        GREETING,
        EHLO,
        ehloReply('AUTH PLAIN LOGIN'),
        { expect: `AUTH PLAIN ${blob}` },
        { send: '235 2.7.0 Authentication successful' },
        ...QUIT,
      ],
      { auth: { user: USER, pass: PASS }, allowInsecureAuth: true },
    );
    const result = await transporter.verify();

    expect(server.mismatch).toBeNull();
    expect(result.authenticated).toBe(true);
    expect(transcript(sink)).toContain('C: AUTH PLAIN ********');
    expect(sink.text()).not.toContain(blob);
    expect(sink.text()).not.toContain(PASS);
  });

  it('drops injected replies during STARTTLS', async () => {
    const { server, sink, transporter } = setup(
      [
        GREETING,
        EHLO,
        ehloReply('STARTTLS'),
        { expect: 'STARTTLS' },
        { sendRaw: '220 2.0.0 Ready to start TLS\r\n250 injected\r\n' },
        { startTls: true },
        EHLO,
        ehloReply('AUTH PLAIN'),
        { expect: /^AUTH PLAIN / },
        { send: '235 2.7.0 Authentication successful' },
        ...QUIT,
      ],
      { auth: { user: USER, pass: PASS } },
    );
    const result = await transporter.verify();

    expect(server.mismatch).toBeNull();
    expect(server.tlsUpgrades).toMatchObject([{ host: 'mx.example.test' }]);
    expect(result).toMatchObject({ authenticated: true, authMechanisms: ['PLAIN'] });
    expect(result.tls?.protocol).toBe('TLSv1.3');
    expect(transcript(sink)).toContain('E: Discarded 14 bytes received after the STARTTLS reply');
    expect(transcript(sink)).not.toContain('S: 250 injected');
    expect(transcript(sink).filter((line) => line.startsWith('C: EHLO'))).toHaveLength(2);
  });
});

describe('createTransporter message checks', () => {
  const withBody = (raw: string): MessageInput => ({ ...MESSAGE, raw });

  it('rejects an oversized message before MAIL', async () => {
    const { server, sink, transporter } = setup([GREETING, EHLO, ehloReply('SIZE 100'), ...QUIT]);
    const raw = `Subject: big\r\n\r\n${'x'.repeat(200)}\r\n`;
    const error = await failureOf(capture(transporter.send(withBody(raw))));

    expect(error.code).toBe('EMESSAGE');
    expect(error.message).toBe(
      `Message too large: ${raw.length} octets, but the server accepts at most 100 octets (SIZE)`,
    );
    expect(server.lines).toEqual(['EHLO [192.0.2.10]', 'QUIT']);
    expect(transcript(sink)).toContain(
      `E: Message rejected before the transaction started: ${error.message}`,
    );
  });

  it('rejects 8-bit content without 8BITMIME', async () => {
    const { server, transporter } = setup([GREETING, EHLO, ehloReply('SIZE 100000'), ...QUIT]);
    const error = await failureOf(
      capture(transporter.send(withBody('Subject: x\r\n\r\ncafé\r\n'))),
    );

    expect(error.code).toBe('EMESSAGE');
    expect(error.message).toMatch(
      /^Message has 8-bit content but the server does not offer 8BITMIME \(RFC 6152\)/,
    );
    expect(server.lines).toEqual(['EHLO [192.0.2.10]', 'QUIT']);
  });

  it('rejects a 1000-octet line before connecting', async () => {
    const { server, sink, transporter } = setup([GREETING]);
    const raw = `Subject: x\r\n\r\n${'y'.repeat(1000)}\r\n`;
    const error = await failureOf(capture(transporter.send(withBody(raw))));

    expect(error).toBeInstanceOf(SmtpUsageError);
    expect(error.message).toMatch(
      /^Invalid message: line 3 is 1000 octets long, over the 998-octet/,
    );
    expect(server.connects).toEqual([]);
    expect(transcript(sink)).toEqual([`E: Message rejected before connecting: ${error.message}`]);
  });

  it('sends two 600-octet lines split by a bare CR', async () => {
    const { server, transporter } = setup([GREETING, EHLO, ehloReply(), ...TRANSACTION, ...QUIT]);
    await transporter.send(
      withBody(`Subject: x\r\n\r\n${'a'.repeat(600)}\r${'b'.repeat(600)}\r\n`),
    );

    expect(server.dataBodies[0]).toContain(`${'a'.repeat(600)}\r\n${'b'.repeat(600)}\r\n`);
  });
});

describe('createTransporter options', () => {
  const environment = () => {
    const clock = new FakeClock();
    return { connector: new FakeServer({ script: [] }).connector, clock, processId: 1 };
  };

  it('rejects an unknown option, naming it', () => {
    expect(() =>
      createTransporter(
        { host: 'mx.example.test', greetingTimout: 5000 } as TransporterOptions,
        environment(),
      ),
    ).toThrow(/^Unknown option greetingTimout \(did you mean greetingTimeout\?\)/);
  });

  it.each([
    ['a string', '30s', 'got "30s"'],
    ['zero', 0, 'got 0'],
    ['a negative number', -5, 'got -5'],
  ])('rejects a timeout given as %s, naming the unit', (_, value, shown) => {
    expect(() =>
      createTransporter(
        { host: 'mx.example.test', dataTimeout: value } as TransporterOptions,
        environment(),
      ),
    ).toThrow(`Invalid option dataTimeout: ${shown}, expected a positive number of milliseconds`);
  });
});

describe('createTransporter streamed body', () => {
  /** Create a transporter whose socket writes are recorded as text, in order. */
  function recordingSetup() {
    const clock = new FakeClock();
    const server = new FakeServer({
      script: [GREETING, EHLO, ehloReply('8BITMIME'), ...TRANSACTION, ...QUIT],
      clock,
    });
    const writes: string[] = [];
    const connector: Connector = {
      connect: async (options) => {
        const result = await server.connector.connect(options);
        const socket = result.socket;
        const write = socket.write.bind(socket);
        socket.write = (bytes) => {
          writes.push(new TextDecoder().decode(bytes));
          return write(bytes);
        };
        return result;
      },
    };
    const transporter = createTransporter(
      { host: 'mx.example.test', port: 587 },
      { connector, clock, processId: 4242 },
    );
    return { server, clock, writes, transporter };
  }

  it('writes gathered bytes while the source pauses', async () => {
    const { server, clock, writes, transporter } = recordingSetup();
    let resume = (): void => {};
    const paused = new Promise<void>((resolve) => {
      resume = resolve;
    });
    async function* source(): AsyncGenerator<string> {
      yield 'Subject: slow\r\n\r\nfirst\r\n';
      await paused;
      yield 'second\r\n';
    }
    const outcome = capture(transporter.send({ ...MESSAGE, raw: source() }));
    await settle();
    expect(writes.some((text) => text.includes('first'))).toBe(false);

    clock.advance(200);
    await settle();
    expect(writes.some((text) => text.includes('first'))).toBe(true);
    expect(writes.some((text) => text.includes('second'))).toBe(false);

    resume();
    expect((await outcome).ok).toBe(true);
    expect(server.dataBodies).toEqual(['Subject: slow\r\n\r\nfirst\r\nsecond\r\n.\r\n']);
  });

  it('sends a fast source in one write with the end of data', async () => {
    const { server, writes, transporter } = recordingSetup();
    async function* source(): AsyncGenerator<string> {
      yield 'Subject: fast\r\n\r\n';
      yield '.one\r\n';
      yield 'two\r\n';
    }
    await transporter.send({ ...MESSAGE, raw: source() });

    expect(writes.filter((text) => text.includes('one'))).toEqual([
      'Subject: fast\r\n\r\n..one\r\ntwo\r\n.\r\n',
    ]);
    expect(server.dataBodies).toEqual(['Subject: fast\r\n\r\n..one\r\ntwo\r\n.\r\n']);
  });
});

describe('createTransporter message sources', () => {
  const ENVELOPE_AND_DATA: ServerStep[] = TRANSACTION.slice(0, 6);

  it('closes the connection when the source fails', async () => {
    const { server, sink, transporter } = setup([
      GREETING,
      EHLO,
      ehloReply(),
      ...ENVELOPE_AND_DATA,
    ]);
    const failure = new Error('disk read failed');
    async function* source(): AsyncGenerator<string> {
      yield 'Subject: x\r\n\r\npart one\r\n';
      throw failure;
    }
    const error = await failureOf(capture(transporter.send({ ...MESSAGE, raw: source() })));

    expect(error.code).toBe('EMESSAGE');
    expect(error.phase).toBe('message');
    expect(error.message).toBe('Message source failed: disk read failed');
    expect(error.cause).toBe(failure);
    expect(transcript(sink)).toContain(
      'E: Message source failed while sending: disk read failed. The connection is closed ' +
        'without ending the data, so the server discards the message',
    );
    expect(server.dataBodies).toEqual([]);
    expect(server.clientClosedConnection).toBe(true);
  });

  it('rejects a chunk that is neither text nor bytes', async () => {
    const { server, sink, transporter } = setup([
      GREETING,
      EHLO,
      ehloReply(),
      ...ENVELOPE_AND_DATA,
    ]);
    const error = await failureOf(
      capture(transporter.send({ ...MESSAGE, raw: ['Subject: x\r\n\r\n', 42] as never })),
    );

    expect(error).toBeInstanceOf(SmtpUsageError);
    expect(error.message).toBe(
      'Invalid message.raw: chunk 1 is a number; expected a string or a Uint8Array',
    );
    expect(transcript(sink).some((line) => line.startsWith('E: Message source failed'))).toBe(true);
    expect(server.dataBodies).toEqual([]);
  });

  it('rejects other binary views before connecting', async () => {
    const { server, transporter } = setup([GREETING]);
    const error = await failureOf(
      capture(transporter.send({ ...MESSAGE, raw: new Uint16Array([0x4141]) as never })),
    );

    expect(error).toBeInstanceOf(SmtpUsageError);
    expect(error.message).toMatch(/^Invalid message\.raw: got a Uint16Array; expected a string/);
    expect(server.connects).toEqual([]);
  });

  it('closes a BDAT transfer when the source fails', async () => {
    const { server, transporter } = setup([
      GREETING,
      EHLO,
      ehloReply('CHUNKING'),
      { expect: /^MAIL FROM:/ },
      { send: '250 2.1.0 Ok' },
      { expect: 'RCPT TO:<rcpt@example.test>' },
      { send: '250 2.1.5 Ok' },
    ]);
    async function* source(): AsyncGenerator<string> {
      yield 'Subject: x\r\n\r\n';
      throw new Error('socket to the file server reset');
    }
    const error = await failureOf(capture(transporter.send({ ...MESSAGE, raw: source() })));

    expect(error.message).toBe('Message source failed: socket to the file server reset');
    expect(server.clientClosedConnection).toBe(true);
  });
});
