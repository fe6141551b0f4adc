/**
 * The Node transporter against hostile or broken servers over real TCP on 127.0.0.1:
 * oversized and endless replies, garbage, unasked replies, stalls, closes and 421 at each
 * phase, STARTTLS response injection (RFC 3207 §6) and TLS that fails or is missing.
 * Every failure must name its phase and code, close the socket and end the transcript.
 */
import {
  createTransporter,
  isSmtpError,
  MemorySink,
  type SmtpError,
  type SmtpPhase,
  type TransporterOptions,
} from '@mailwire/node';
import { afterEach, describe, expect, it } from 'vitest';
import { testCertificates } from '../support/certs.js';
import { rejectionOf } from '../support/rejection.js';
import { runChildSend } from './child.js';
import {
  ehloReply,
  type RawConnection,
  type RawServer,
  type Reaction,
  type SmtpScript,
  serveSmtp,
  startRawServer,
} from './raw-server.js';

const MESSAGE = { from: 'sender@mw.test', to: 'rcpt@mw.test', subject: 'Test', text: 'Hello' };
const CREDENTIALS = { user: 'user@mw.test', pass: 'hardening-Passw0rd' };

/** Short waits, so that each stall ends quickly against the local server. */
const TIMEOUTS = { greetingTimeout: 300, commandTimeout: 300, dataTimeout: 300 };

/** Lines of the endless reply; each is 102 octets, so about 10 MB in all. */
const ENDLESS_LINES = 100_000;

const servers: RawServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function start(script: SmtpScript | ((connection: RawConnection) => Promise<void>)) {
  const handler =
    typeof script === 'function' ? script : (c: RawConnection) => serveSmtp(c, script);
  const server = await startRawServer(handler);
  servers.push(server);
  return server;
}

interface Failure {
  error: SmtpError;
  sink: MemorySink;
  connection: RawConnection;
  elapsedMs: number;
}

/** Send `MESSAGE` and return the error the send must end with. */
async function fail(
  server: RawServer,
  options: Partial<TransporterOptions> = {},
): Promise<Failure> {
  const sink = new MemorySink();
  const transporter = createTransporter({
    host: '127.0.0.1',
    port: server.port,
    transcriptSink: sink,
    ...TIMEOUTS,
    ...options,
  });
  const started = Date.now();
  const error = await transporter.send(MESSAGE).then(
    () => null,
    (caught: unknown) => caught,
  );
  const elapsedMs = Date.now() - started;
  expect(isSmtpError(error), `expected an SmtpError, got ${(error as Error)?.name}`).toBe(true);
  const connection = await server.connection(0);
  expect(connection).not.toBeNull();
  return { error: error as SmtpError, sink, connection: connection!, elapsedMs };
}

/** The checks every failure must pass: code, phase, closed socket, closed transcript. */
async function expectCleanFailure(failure: Failure, code: string, phase: SmtpPhase): Promise<void> {
  expect(failure.error.code).toBe(code);
  expect(failure.error.phase).toBe(phase);
  expect(await failure.connection.waitForClose(3000)).toBe(true);

  const last = failure.sink.entries.at(-1);
  expect(last?.direction).toBe('event');
  expect(last?.text).toBe('SMTP Connection closed');
  expect(failure.error.transcript.at(-1)).toMatch(/### SMTP Connection closed$/);
}

/** Phases a server can break, the words the error uses for each, and where to break it. */
const PHASES: Array<{ phase: SmtpPhase; words: string; verb: string | null }> = [
  { phase: 'greeting', words: 'greeting', verb: null },
  { phase: 'ehlo', words: 'reply to EHLO', verb: 'EHLO' },
  { phase: 'mail', words: 'reply to MAIL FROM', verb: 'MAIL' },
  { phase: 'rcpt', words: 'reply to RCPT TO', verb: 'RCPT' },
  { phase: 'data', words: 'reply to DATA', verb: 'DATA' },
  { phase: 'message', words: 'reply to the message data', verb: null },
];

/** Build a script that behaves normally until `phase` and reacts there with `reaction`. */
function breakAt(phase: SmtpPhase, reaction: Reaction): SmtpScript {
  if (phase === 'greeting') return { greeting: reaction };
  if (phase === 'message') return { afterData: reaction };
  const verb = PHASES.find((entry) => entry.phase === phase)?.verb ?? '';
  return { reply: (line) => (line.toUpperCase().startsWith(verb) ? reaction : undefined) };
}

describe('oversized and malformed replies', () => {
  it('stops reading an endless multi-line reply', async () => {
    let written = 0;
    const server = await start({
      reply: async (line, connection) => {
        if (!line.startsWith('EHLO')) return undefined;
        const batch = `250-${'x'.repeat(96)}\r\n`.repeat(500);
        while (written < ENDLESS_LINES && (await connection.write(batch))) written += 500;
        return { next: 'stall' };
      },
    });

    const failure = await fail(server);

    await expectCleanFailure(failure, 'EPROTOCOL', 'ehlo');
    expect(failure.error.message).toContain('more than 256 lines');
    // The client closed after a bounded number of lines, long before the server ran out.
    expect(written).toBeLessThan(ENDLESS_LINES);
    const serverLines = failure.sink.entries.filter((entry) => entry.direction === 'server');
    expect(serverLines).toHaveLength(1);
  });

  it.each([
    ['with a line end', '\r\n'],
    ['without a line end', ''],
  ])('rejects a 1 MB reply line %s', async (_, ending) => {
    const server = await start({
      reply: async (line, connection) => {
        if (!line.startsWith('EHLO')) return undefined;
        await connection.write(`250 ${'x'.repeat(1024 * 1024)}${ending}`);
        return { next: 'stall' };
      },
    });

    const failure = await fail(server);

    await expectCleanFailure(failure, 'EPROTOCOL', 'ehlo');
    expect(failure.error.message).toMatch(/^Reply line too long/);
  });

  it('times out on a greeting without a line end', async () => {
    const server = await start(async (connection) => {
      await connection.write('220 mw.test ready');
      await connection.drain();
    });

    const failure = await fail(server);

    await expectCleanFailure(failure, 'ETIMEDOUT', 'greeting');
    expect(failure.error.message).toContain('waiting for the greeting');
  });

  it('times out on an unfinished multi-line reply', async () => {
    const server = await start({
      reply: (line) =>
        line.startsWith('EHLO') ? { send: '250-mw.test', next: 'stall' } : undefined,
    });

    const failure = await fail(server);

    await expectCleanFailure(failure, 'ETIMEDOUT', 'ehlo');
  });

  it.each([
    ['an HTTP status line', 'HTTP/1.1 400 Bad Request'],
    ['text', 'hello'],
    ['a four-digit code', '2200 ready'],
    ['a two-digit code', '22 ready'],
    ['no separator', '220ready'],
    ['a code outside 2xx-5xx', '600 ready'],
    ['control bytes', '\x00\x01\x02\x03'],
    ['mixed codes', '220-mw.test\r\n550 go away'],
  ])('rejects a greeting of %s', async (_, greeting) => {
    const server = await start({ greeting: { send: greeting, next: 'stall' } });

    const failure = await fail(server);

    await expectCleanFailure(failure, 'EPROTOCOL', 'greeting');
    expect(failure.error.message).toMatch(/^Malformed/);
    expect(failure.sink.text()).toContain('### Protocol error: Malformed');
    expect(failure.connection.lines).toEqual([]);
  });

  it('rejects a reply right after the greeting', async () => {
    const server = await start({ greeting: '220 mw.test ready\r\n250 2.0.0 unasked' });

    const failure = await fail(server);

    await expectCleanFailure(failure, 'EPROTOCOL', 'greeting');
    expect(failure.error.message).toContain('Unexpected reply');
    expect(failure.connection.lines).toEqual([]);
  });

  it('rejects a second reply to EHLO', async () => {
    const server = await start({
      reply: (line) =>
        line.startsWith('EHLO') ? `${ehloReply([])}\r\n250 2.0.0 unasked` : undefined,
    });

    const failure = await fail(server);

    await expectCleanFailure(failure, 'EPROTOCOL', 'ehlo');
    expect(failure.connection.lines.filter((line) => line.startsWith('MAIL'))).toEqual([]);
  });
});

describe('server that stops at each phase', () => {
  it.each(PHASES)('times out naming the $phase phase on a stall', async ({ phase, words }) => {
    const server = await start(breakAt(phase, { next: 'stall' }));

    const failure = await fail(server);

    await expectCleanFailure(failure, 'ETIMEDOUT', phase);
    expect(failure.error.message).toContain(`waiting for the ${words}`);
    expect(failure.sink.text()).toContain('### Timed out after');
    // The wait, then at most the 2 s that QUIT may take (QUIT_TIMEOUT_MS), then some slack.
    expect(failure.elapsedMs).toBeLessThan(TIMEOUTS.commandTimeout + 2000 + 1500);
  });

  it.each(PHASES)('reports a close in the $phase phase', async ({ phase, words }) => {
    const server = await start(breakAt(phase, { next: 'close' }));

    const failure = await fail(server);

    await expectCleanFailure(failure, 'ECONNECTION', phase);
    expect(failure.error.message).toBe(`Connection closed by the server during ${words}`);
  });

  it.each([
    { phase: 'greeting', code: 'ECONNECTION' },
    { phase: 'ehlo', code: 'EPROTOCOL' },
    { phase: 'mail', code: 'EENVELOPE' },
    { phase: 'rcpt', code: 'EENVELOPE' },
    { phase: 'data', code: 'EENVELOPE' },
    { phase: 'message', code: 'EMESSAGE' },
  ] as const)('closes without QUIT after 421 in the $phase phase', async ({ phase, code }) => {
    // The server keeps the connection open and would never reply to QUIT.
    const server = await start(
      breakAt(phase, { send: '421 4.3.2 mw.test shutting down', next: 'stall' }),
    );

    const failure = await fail(server);

    await expectCleanFailure(failure, code, phase);
    expect(failure.error.responseCode).toBe(421);
    expect(failure.error.retryable).toBe(true);
    expect(failure.connection.lines).not.toContain('QUIT');
    // Waiting for a reply to QUIT would take 2 s (QUIT_TIMEOUT_MS).
    expect(failure.elapsedMs).toBeLessThan(1500);
  });

  it('stops after 421 to the first recipient', async () => {
    const server = await start(
      breakAt('rcpt', { send: '421 4.3.2 mw.test shutting down', next: 'stall' }),
    );

    const sink = new MemorySink();
    const transporter = createTransporter({
      host: '127.0.0.1',
      port: server.port,
      transcriptSink: sink,
    });
    const error = await rejectionOf(
      transporter.send({ ...MESSAGE, to: ['first@mw.test', 'second@mw.test'] }),
    );

    expect(error.responseCode).toBe(421);
    expect(error.phase).toBe('rcpt');
    expect(error.code).toBe('EENVELOPE');
    const connection = (await server.connection(0))!;
    expect(await connection.waitForClose(3000)).toBe(true);
    expect(connection.lines.filter((line) => line.startsWith('RCPT'))).toHaveLength(1);
    expect(connection.lines).not.toContain('QUIT');
  });
});

describe('421 to RSET on a pooled connection', () => {
  it.each([
    ['without PIPELINING', []],
    ['with PIPELINING', ['PIPELINING']],
  ])('sends the next message on a new connection %s', async (_, extensions) => {
    // The first message fails at RCPT, so the pool resets the connection before reusing it.
    let resets = 0;
    const server = await start({
      extensions,
      reply: (line) => {
        if (line.startsWith('RCPT TO:<unknown@')) return '550 5.1.1 mailbox unknown';
        if (line !== 'RSET') return undefined;
        resets += 1;
        return { send: '421 4.3.2 mw.test shutting down', next: 'stall' };
      },
    });
    const sink = new MemorySink();
    const transporter = createTransporter({
      host: '127.0.0.1',
      port: server.port,
      pool: true,
      maxConnections: 1,
      transcriptSink: sink,
      ...TIMEOUTS,
    });

    const rejected = await transporter
      .send({ ...MESSAGE, to: 'unknown@mw.test' })
      .catch((caught: unknown) => caught as SmtpError);
    const result = await transporter.send(MESSAGE);
    await transporter.close();

    expect((rejected as SmtpError).responseCode).toBe(550);
    expect(resets).toBe(1);
    expect(result.accepted).toEqual([MESSAGE.to]);
    expect(server.connections).toHaveLength(2);
    expect(server.connections[1]?.messages).toHaveLength(1);
    expect(server.connections[0]?.lines).not.toContain('QUIT');
  });
});

describe('421 to a pipelined envelope', () => {
  it.each([
    { phase: 'mail', verb: 'MAIL' },
    { phase: 'rcpt', verb: 'RCPT' },
  ] as const)('ends the send at once after 421 to $verb', async ({ phase, verb }) => {
    // With PIPELINING the client writes MAIL, RCPT and DATA together. The server replies 421
    // to the first matching command and then sends nothing more.
    let answered = false;
    const server = await start({
      extensions: ['PIPELINING'],
      reply: (line) => {
        if (answered) return { next: 'stall' };
        if (line.startsWith(verb)) {
          answered = true;
          return { send: '421 4.3.2 mw.test shutting down', next: 'stall' };
        }
        return line.startsWith('EHLO') ? undefined : '250 2.0.0 OK';
      },
    });

    const failure = await fail(server, { commandTimeout: 3000 });

    await expectCleanFailure(failure, 'EENVELOPE', phase);
    expect(failure.error.responseCode).toBe(421);
    expect(failure.connection.lines).not.toContain('QUIT');
    // Waiting for replies that will not come would take the whole command timeout.
    expect(failure.elapsedMs).toBeLessThan(2000);
  });
});

describe('close after a pipelined command', () => {
  // A client that reads on after the end of the stream never yields to its timers, so the
  // send runs in a child process that is killed if it does not finish.
  it.each([
    { phase: 'mail', verb: 'MAIL' },
    { phase: 'rcpt', verb: 'RCPT' },
    { phase: 'data', verb: 'DATA' },
  ] as const)('reports a close after pipelined $verb', async ({ phase, verb }) => {
    const server = await start({
      extensions: ['PIPELINING'],
      reply: (line) => (line.startsWith(verb) ? { next: 'close' } : undefined),
    });
    const options = { host: '127.0.0.1', port: server.port, ...TIMEOUTS };

    const run = await runChildSend({ options, message: MESSAGE }, 5000);

    expect(run.timedOut).toBe(false);
    expect(run.outcome).toMatchObject({ sent: false, error: { code: 'ECONNECTION', phase } });
    expect(await (await server.connection(0))!.waitForClose(3000)).toBe(true);
  });
});

describe('STARTTLS', () => {
  const tls = { ca: testCertificates().caPem };

  it('discards replies injected before the handshake', async () => {
    const injected = '250-FAKE\r\n250 AUTH PLAIN\r\n';
    const server = await start({
      extensions: ['STARTTLS', 'AUTH PLAIN LOGIN'],
      extensionsAfterTls: ['SIZE 1000000', 'AUTH LOGIN'],
      reply: (line) =>
        line === 'STARTTLS'
          ? { send: `220 2.0.0 ready\r\n${injected.slice(0, -2)}`, next: 'tls' }
          : undefined,
    });

    const sink = new MemorySink();
    const transporter = createTransporter({
      host: '127.0.0.1',
      port: server.port,
      startTls: 'required',
      auth: CREDENTIALS,
      tls,
      transcriptSink: sink,
    });
    const result = await transporter.verify();

    expect(result.extensions).toContain('SIZE');
    expect(result.extensions).not.toContain('FAKE');
    expect(result.authMechanisms).toEqual(['LOGIN']);
    const connection = (await server.connection(0))!;
    expect(connection.lines).toContain('AUTH LOGIN');
    expect(connection.lines.some((line) => line.startsWith('AUTH PLAIN'))).toBe(false);
    const text = sink.text();
    expect(text).toContain(
      `### Discarded ${Buffer.byteLength(injected)} bytes received after the STARTTLS reply`,
    );
    expect(text).not.toContain('FAKE');
  });

  it('sends no AUTH without required STARTTLS', async () => {
    const server = await start({ extensions: ['AUTH PLAIN', '8BITMIME'] });

    const failure = await fail(server, { startTls: 'required', auth: CREDENTIALS, tls });

    await expectCleanFailure(failure, 'ETLS', 'starttls');
    expect(failure.connection.lines.map((line) => line.split(' ')[0])).toEqual(['EHLO', 'QUIT']);
  });

  it('sends no MAIL without required STARTTLS', async () => {
    const server = await start({ extensions: ['8BITMIME'] });

    const failure = await fail(server, { startTls: 'required', tls });

    await expectCleanFailure(failure, 'ETLS', 'starttls');
    expect(failure.connection.lines.map((line) => line.split(' ')[0])).toEqual(['EHLO', 'QUIT']);
  });

  it.each(['required', 'opportunistic'] as const)(
    'sends no AUTH after STARTTLS is rejected (%s)',
    async (startTls) => {
      const server = await start({
        extensions: ['STARTTLS', 'AUTH PLAIN'],
        reply: (line) => (line === 'STARTTLS' ? '454 4.7.0 TLS not available' : undefined),
      });

      const failure = await fail(server, { startTls, auth: CREDENTIALS, tls });

      await expectCleanFailure(failure, 'ETLS', 'starttls');
      expect(failure.error.responseCode).toBe(454);
      expect(failure.connection.lines.map((line) => line.split(' ')[0])).toEqual([
        'EHLO',
        'STARTTLS',
        'QUIT',
      ]);
    },
  );

  it('sends no credentials without STARTTLS', async () => {
    const server = await start({ extensions: ['AUTH PLAIN LOGIN'] });

    const failure = await fail(server, { auth: CREDENTIALS, tls });

    await expectCleanFailure(failure, 'EINPUT', 'auth');
    expect(failure.error.message).toMatch(/^Refusing to send credentials without TLS/);
    expect(failure.connection.lines.map((line) => line.split(' ')[0])).toEqual(['EHLO', 'QUIT']);
  });

  it.each([
    ['an untrusted certificate', 'tls-untrusted'],
    ['plain text instead of TLS', 'not-tls'],
  ] as const)('never falls back to clear text after %s', async (_, next) => {
    const afterStartTls: Buffer[] = [];
    const server = await start({
      extensions: ['STARTTLS', 'AUTH PLAIN LOGIN'],
      afterStartTls,
      reply: (line) => (line === 'STARTTLS' ? { send: '220 2.0.0 ready', next } : undefined),
    });

    const failure = await fail(server, { auth: CREDENTIALS, tls });

    await expectCleanFailure(failure, 'ETLS', 'tls');
    expect(failure.connection.lines).toEqual([expect.stringMatching(/^EHLO /), 'STARTTLS']);
    const clearText = Buffer.concat(afterStartTls).toString('latin1');
    for (const verb of ['EHLO', 'AUTH', 'MAIL', 'QUIT']) expect(clearText).not.toContain(verb);
    // A retry over a new connection would show up here.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(server.connections).toHaveLength(1);
  });
});
