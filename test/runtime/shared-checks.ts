/**
 * Smoke checks that the Deno and Bun scripts share, and the harness that runs them. Only
 * web-standard globals are used here (TextEncoder, setTimeout, console, btoa), so each script
 * passes in its adapter's functions, its settings and its way of reading files. Each check
 * prints `ok - NAME` or `not ok - NAME: reason`.
 */
import {
  type Connector,
  type LogFileOptions,
  type LogFormat,
  parseTextLine,
  type SocketLike,
  type TlsDetails,
  type TranscriptEntry,
  type TranscriptSink,
  type Transporter,
  type TransporterOptions,
} from '@mailwire/core';

const CHECK_TIMEOUT_MS = 10_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Servers, files and credentials that the runner passes to a smoke script. */
export interface SmokeSettings {
  host: string;
  starttlsPort: number;
  tlsPort: number;
  closedPort: number;
  smtpPort: number;
  /** PEM text of the CA that signed the test servers' certificates. */
  ca: string;
  logDir: string;
  user: string;
  pass: string;
}

/** The adapter under test and the runtime functions that the shared checks need. */
export interface SmokeAdapter {
  /** Runtime name in capitals, for example `Bun`; it also names the test recipient. */
  name: string;
  connector: Connector;
  processId: number;
  createTransporter(options: TransporterOptions): Transporter;
  openLogFile(path: string, format: LogFormat, options?: LogFileOptions): TranscriptSink;
  globalLogFile(): string | undefined;
  setGlobalLogFile(path: string | undefined): void;
  readTextFile(path: string): Promise<string>;
  /** Size and permission bits of a file; rejects when the file is missing. */
  fileStat(path: string): Promise<{ size: number; mode: number | null }>;
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** Read one whole reply: lines until one whose fourth character is a space. */
export async function readReply(socket: SocketLike): Promise<string> {
  let text = '';
  for (;;) {
    const lines = text.split('\r\n');
    const last = lines.at(-2);
    if (last !== undefined && /^\d{3} /.test(last)) return text;
    const chunk = await socket.read();
    if (chunk === null) throw new Error(`connection closed after ${JSON.stringify(text)}`);
    text += decoder.decode(chunk);
  }
}

export async function command(socket: SocketLike, line: string): Promise<string> {
  await socket.write(encoder.encode(`${line}\r\n`));
  return readReply(socket);
}

export async function expectRejection(promise: Promise<unknown>, pattern: RegExp): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert(error instanceof Error, `rejected with a non-Error: ${String(error)}`);
    assert(pattern.test(error.message), `unexpected message: ${error.message}`);
    return error;
  }
  throw new Error('expected a rejection, but the call succeeded');
}

export function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/** Runs named checks one after another and counts the results. */
export class SmokeRun {
  passed = 0;
  failed = 0;

  constructor(
    readonly settings: SmokeSettings,
    readonly adapter: SmokeAdapter,
  ) {}

  /** Run `body` with a time limit and print its result line. */
  async check(name: string, body: () => Promise<void>): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`timed out after ${CHECK_TIMEOUT_MS} ms`)),
        CHECK_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([body(), deadline]);
      this.passed += 1;
      console.log(`ok - ${name}`);
    } catch (error) {
      this.failed += 1;
      const reason = error instanceof Error ? error.message : String(error);
      console.log(`not ok - ${name}: ${reason.replaceAll('\n', ' ')}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Print the count line and return the exit code: 1 when any check failed. */
  finish(): number {
    console.log(`${this.passed} passed, ${this.failed} failed`);
    return this.failed > 0 ? 1 : 0;
  }

  /** Open a plain connection to the STARTTLS server and read its greeting. */
  async openPlain(): Promise<SocketLike> {
    const { host, starttlsPort } = this.settings;
    const { socket } = await this.adapter.connector.connect({
      host,
      port: starttlsPort,
      secure: false,
      tls: {},
    });
    await readReply(socket);
    return socket;
  }

  /** Plain connection to the STARTTLS server, greeted and past EHLO and STARTTLS. */
  async openForStartTls(): Promise<SocketLike> {
    const socket = await this.openPlain();
    await command(socket, 'EHLO smoke.example.test');
    const reply = await command(socket, 'STARTTLS');
    assert(reply.startsWith('220 '), `STARTTLS reply: ${reply}`);
    return socket;
  }

  entry(text: string, connectionId: number): TranscriptEntry {
    return {
      counter: 1000,
      time: Date.now(),
      elapsedMs: 0,
      processId: this.adapter.processId,
      connectionId,
      direction: 'client',
      text,
      redacted: false,
    };
  }
}

/** Plain TCP: greeting, large writes and reads, and a refused connection. */
export async function checkPlainSockets(run: SmokeRun): Promise<void> {
  const { host, starttlsPort, closedPort } = run.settings;
  const { connector } = run.adapter;

  await run.check('plain connect reads the greeting and writes', async () => {
    const { socket, tls } = await connector.connect({
      host,
      port: starttlsPort,
      secure: false,
      tls: {},
    });
    assert(tls === undefined, 'plain connection reported TLS details');
    assert(socket.remoteAddress === host, `remoteAddress: ${socket.remoteAddress}`);
    assert(socket.localAddress === host, `localAddress: ${socket.localAddress}`);
    const greeting = await readReply(socket);
    assert(greeting.startsWith('220 '), `greeting: ${greeting}`);
    const ehlo = await command(socket, 'EHLO smoke.example.test');
    assert(ehlo.includes('250 STARTTLS'), `EHLO reply: ${ehlo}`);
    const quit = await command(socket, 'QUIT');
    assert(quit.startsWith('221 '), `QUIT reply: ${quit}`);
    socket.close();
    socket.close();
    assert((await socket.read()) === null, 'read after close returned data');
  });

  await run.check('write sends every byte of a large buffer', async () => {
    const socket = await run.openPlain();
    const size = 8 * 1024 * 1024;
    await socket.write(encoder.encode(`SINK ${size}\r\n`));
    await socket.write(new Uint8Array(size).fill(0x61));
    const reply = await readReply(socket);
    assert(reply.startsWith(`250 received ${size}`), `SINK reply: ${reply}`);
    socket.close();
  });

  await run.check('read returns every byte of a large reply', async () => {
    const socket = await run.openPlain();
    const size = 4 * 1024 * 1024;
    await socket.write(encoder.encode(`BLOB ${size}\r\n`));
    // Let the bytes pile up unread first, so that the socket has to pause and resume.
    await sleep(300);
    const tail = '\r\n250 2.0.0 blob sent\r\n';
    let received = 0;
    let last = '';
    while (received < size + tail.length) {
      const chunk = await socket.read();
      if (chunk === null) throw new Error(`connection closed after ${received} bytes`);
      received += chunk.length;
      last = (last + decoder.decode(chunk)).slice(-tail.length);
    }
    assert(received === size + tail.length, `received ${received} bytes`);
    assert(last === tail, `reply after the bytes: ${JSON.stringify(last)}`);
    socket.close();
  });

  await run.check('refused connection keeps ECONNREFUSED', async () => {
    const connecting = connector.connect({ host, port: closedPort, secure: false, tls: {} });
    const error = await expectRejection(connecting, /connection refused/);
    assert((error as { code?: string }).code === 'ECONNREFUSED', `code: ${String(error)}`);
  });
}

/**
 * STARTTLS verification: with the CA, without it and with a wrong name. `checkDetails` runs
 * extra assertions on the details of the verified upgrade.
 */
export async function checkStartTls(
  run: SmokeRun,
  checkDetails: (details: TlsDetails) => void = () => undefined,
): Promise<void> {
  const { host, ca } = run.settings;

  await run.check('STARTTLS with the CA is verified', async () => {
    const plain = await run.openForStartTls();
    const { socket, details } = await plain.upgradeTls({ host, ca, servername: 'localhost' });
    assert(details.authorized === true, 'not authorized');
    assert(details.serverName === 'localhost', `serverName: ${details.serverName}`);
    checkDetails(details);
    assert((await plain.read()) === null, 'the plain socket still reads after the upgrade');
    const ehlo = await command(socket, 'EHLO smoke.example.test');
    assert(ehlo.includes('over TLS'), `EHLO reply over TLS: ${ehlo}`);
    await command(socket, 'QUIT');
    socket.close();
  });

  await run.check('STARTTLS without the CA is rejected', async () => {
    const plain = await run.openForStartTls();
    await expectRejection(plain.upgradeTls({ host, servername: 'localhost' }), /tls\.ca/);
    plain.close();
  });

  await run.check('STARTTLS with a wrong name is rejected', async () => {
    const plain = await run.openForStartTls();
    const upgrading = plain.upgradeTls({ host, ca, servername: 'wrong.example.test' });
    await expectRejection(upgrading, /does not list wrong\.example\.test/);
    plain.close();
  });
}

/** Implicit TLS verification: with the CA, against an IP address and without the CA. */
export async function checkImplicitTls(run: SmokeRun): Promise<void> {
  const { host, tlsPort, ca } = run.settings;
  const { connector } = run.adapter;

  await run.check('implicit TLS with the CA is verified', async () => {
    const { socket, tls } = await connector.connect({
      host,
      port: tlsPort,
      secure: true,
      tls: { ca, servername: 'localhost' },
    });
    assert(tls?.authorized === true, 'not authorized');
    const greeting = await readReply(socket);
    assert(greeting.includes('TLS'), `greeting: ${greeting}`);
    await command(socket, 'QUIT');
    socket.close();
  });

  await run.check('implicit TLS verifies an IP address', async () => {
    const { socket, tls } = await connector.connect({
      host,
      port: tlsPort,
      secure: true,
      tls: { ca },
    });
    assert(tls?.serverName === host, `serverName: ${tls?.serverName}`);
    await readReply(socket);
    socket.close();
  });

  await run.check('implicit TLS without the CA is rejected', async () => {
    const connecting = connector.connect({
      host,
      port: tlsPort,
      secure: true,
      tls: { servername: 'localhost' },
    });
    await expectRejection(connecting, /was rejected.*tls\.ca/);
  });
}

/** A log file path where every write fails, and text the single warning must contain. */
export interface LogWriteFailureCase {
  path: string;
  expectedWarning: string;
}

/** Log files: shared counters, JSON Lines, rotation and a single warning on failure. */
export async function checkLogFiles(run: SmokeRun, failure: LogWriteFailureCase): Promise<void> {
  const { logDir } = run.settings;
  const { openLogFile, readTextFile, fileStat } = run.adapter;

  await run.check('log file shares one counter per path', async () => {
    const path = `${logDir}/shared.log`;
    const first = openLogFile(path, 'text');
    const second = openLogFile(`${logDir}/./sub/../shared.log`, 'text');
    for (let index = 0; index < 5; index += 1) {
      first.write([run.entry(`EHLO first ${index}`, 1)]);
      second.write([run.entry(`EHLO second ${index}`, 2)]);
    }
    await first.flush();
    await second.flush();

    const lines = (await readTextFile(path)).split('\n');
    assert(lines.pop() === '', 'the file does not end with a line feed');
    const counters = lines.map((line) => parseTextLine(line)?.counter);
    assert(counters.join(',') === '1,2,3,4,5,6,7,8,9,10', `counters: ${counters.join(',')}`);
    const mode = (await fileStat(path)).mode;
    assert(mode !== null, 'no file mode');
    assert((mode & 0o777) === 0o600, `mode: ${mode.toString(8)}`);
  });

  await run.check('log file writes JSON Lines', async () => {
    const path = `${logDir}/lines.jsonl`;
    const sink = openLogFile(path, 'jsonl');
    sink.write([
      run.entry('MAIL FROM:<a@example.test>', 3),
      run.entry('RCPT TO:<b@example.test>', 3),
    ]);
    await sink.flush();
    const records = (await readTextFile(path))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert(records.length === 2, `records: ${records.length}`);
    assert(records[1].counter === 2, `second counter: ${records[1].counter}`);
    assert(records[1].text === 'RCPT TO:<b@example.test>', `second text: ${records[1].text}`);
  });

  await run.check('log file rotates by size', async () => {
    const path = `${logDir}/rotating.log`;
    const sink = openLogFile(path, 'text', { maxBytes: 300, maxFiles: 2 });
    for (let index = 0; index < 20; index += 1) sink.write([run.entry(`NOOP ${index}`, 4)]);
    await sink.flush();
    for (const name of ['rotating.log', 'rotating_1.log', 'rotating_2.log']) {
      const size = (await fileStat(`${logDir}/${name}`)).size;
      assert(size > 0, `${name} is empty`);
      assert(size <= 300, `${name} has ${size} bytes`);
    }
    const third = await fileStat(`${logDir}/rotating_3.log`).catch(() => null);
    assert(third === null, 'more rotated files than maxFiles');
  });

  await run.check('log write failure warns once', async () => {
    const warnings: string[] = [];
    const original = console.warn;
    console.warn = (...values: unknown[]) => warnings.push(values.join(' '));
    try {
      const sink = openLogFile(failure.path, 'text');
      sink.write([run.entry('NOOP', 5)]);
      await sink.flush();
      sink.write([run.entry('NOOP', 5)]);
      await sink.flush();
    } finally {
      console.warn = original;
    }
    assert(warnings.length === 1, `warnings: ${warnings.length}`);
    assert(warnings[0]!.includes(failure.expectedWarning), `warning: ${warnings[0]}`);
  });
}

/** `globalLogFile()` starts from `fromEnvironment` (MAILWIRE_LOG) and can be overridden. */
export async function checkGlobalLogFile(
  run: SmokeRun,
  fromEnvironment: string | undefined,
): Promise<void> {
  const { logDir } = run.settings;
  const { globalLogFile, setGlobalLogFile } = run.adapter;

  await run.check('global log file follows MAILWIRE_LOG', async () => {
    assert(fromEnvironment !== undefined, 'MAILWIRE_LOG is not set for this check');
    assert(globalLogFile() === fromEnvironment, `globalLogFile(): ${globalLogFile()}`);
    setGlobalLogFile(`${logDir}/other.log`);
    assert(globalLogFile() === `${logDir}/other.log`, 'setGlobalLogFile is ignored');
    setGlobalLogFile(undefined);
    assert(globalLogFile() === fromEnvironment, 'clearing does not fall back to MAILWIRE_LOG');
  });
}

/** Send a message through the adapter's transporter and check that its log hides the password. */
export async function checkTransporter(run: SmokeRun): Promise<void> {
  const { host, smtpPort, ca, logDir, user, pass } = run.settings;
  const { name, createTransporter, readTextFile } = run.adapter;
  const recipient = `${name.toLowerCase()}@example.test`;

  await run.check('transporter sends over STARTTLS with a masked log', async () => {
    const logFile = `${logDir}/transporter.log`;
    const transporter = createTransporter({
      host,
      port: smtpPort,
      tls: { ca, servername: 'localhost' },
      auth: { user, pass },
      logFile,
    });
    try {
      const result = await transporter.send({
        from: 'sender@example.test',
        to: recipient,
        subject: `${name} smoke`,
        text: `Sent by the ${name} adapter.`,
      });
      assert(result.accepted.includes(recipient), `accepted: ${result.accepted}`);
    } finally {
      await transporter.close();
    }
    const log = await readTextFile(logFile);
    assert(log.includes('C > "STARTTLS"'), 'no STARTTLS line in the log');
    assert(log.includes('C > "AUTH '), 'no AUTH line in the log');
    assert(!log.includes(pass), 'the password is in the log');
    assert(!log.includes(btoa(pass)), 'the encoded password is in the log');
    assert(!log.includes(btoa(`\0${user}\0${pass}`)), 'the encoded credentials are in the log');
  });
}
