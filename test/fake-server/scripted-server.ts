/**
 * A scripted SMTP server for tests: it listens on 127.0.0.1, plays one case's script on the
 * first connection it accepts and records what the client sent. It binds to no other
 * address, and it closes everything by itself at its deadline.
 */
import { once } from 'node:events';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { testCertificates } from '../support/certs.js';

/** One step of a case's script, in the order the server plays them. */
export type ScriptStep =
  | { send: string; exact?: boolean }
  | { expect: string }
  | { expectAuth: string }
  | { expectData: true }
  | { startTls: true }
  | { delayMs: number }
  | { close: true };

/** Settings of one scripted server. */
export interface ScriptedServerOptions {
  /** Start TLS as soon as the client connects, as on port 465. Default false. */
  implicitTls?: boolean;
  /** Milliseconds from the start after which the server closes everything. Default 8000. */
  deadlineMs?: number;
  /** Milliseconds to keep reading after the last step. Default 300. */
  trailingReadMs?: number;
}

/** The first step the client did not satisfy. */
export interface ScriptMismatch {
  /** Index of the step in the script, or -1 for the implicit TLS handshake before step 0. */
  step: number;
  /** Pattern or description of what the step expected. */
  expected: string;
  /** Line that arrived instead, or null when none did. */
  actual: string | null;
  reason: string;
}

/** Everything the server saw during one run. */
export interface ScriptedServerRecord {
  connected: boolean;
  /** Command lines from the client in arrival order, without line ends. DATA bodies excluded. */
  lines: string[];
  /** Command lines that ended in LF without CR before it. */
  bareLfLines: string[];
  /** Raw bytes of each DATA body, up to and including the final CRLF.CRLF. */
  dataBodies: Buffer[];
  /** Bytes of a DATA body that ended before its CRLF.CRLF arrived. */
  incompleteData: Buffer | null;
  /** Base64 credentials read by `expectAuth` steps, from the AUTH line or the line after 334. */
  authResponses: string[];
  /** Number of steps played to the end. */
  stepsPlayed: number;
  mismatch: ScriptMismatch | null;
  /** Lines the script did not read, including allowed RSET, NOOP and QUIT. */
  trailingLines: string[];
  /** Input the script did not read other than RSET, NOOP and QUIT: lines or unterminated bytes. */
  forbiddenTrailingInput: string[];
  /** TLS records the script did not read, as sent by a client trying a handshake. */
  ignoredTlsRecords: number;
  /** Whether the client closed its side of the connection before the run ended. */
  clientClosed: boolean;
  /** Connections after the first, each closed by the server at once. */
  extraConnections: number;
  /** Messages of socket and TLS errors, for diagnosis. */
  socketErrors: string[];
  timedOut: boolean;
}

/** A running scripted server. */
export interface ScriptedServer {
  port: number;
  /** Resolves with the record once the run is over: script done, mismatch, stop or deadline. */
  result(): Promise<ScriptedServerRecord>;
  /** End the run now (as the deadline would) and resolve with the record. */
  stop(): Promise<ScriptedServerRecord>;
}

const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
const CRLF_DOT_CRLF = Buffer.from('\r\n.\r\n');
const DOT_CRLF = Buffer.from('.\r\n');

type Parsed<T> = { value: T; length: number } | undefined;
type ClientLine = { text: string; bareLf: boolean };
type TrailingItem = { kind: 'line'; line: ClientLine } | { kind: 'tls' };

/**
 * Buffers client bytes from one stream at a time and hands out whole lines or DATA bodies.
 * On STARTTLS it gives back the bytes it has not handed out, so that none are lost.
 */
class ByteReader {
  private buffer = Buffer.alloc(0);
  private stream: Duplex | null = null;
  private readonly waiters = new Set<() => void>();
  ended = false;

  constructor(private readonly signal: AbortSignal) {}

  get pending(): Buffer {
    return this.buffer;
  }

  attach(stream: Duplex): void {
    this.stream = stream;
    this.ended = false;
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
  }

  /** Stop reading from the current stream and return the bytes not handed out yet. */
  detach(): Buffer {
    const rest = this.buffer;
    this.stream?.off('data', this.onData).off('end', this.onEnd).off('close', this.onEnd);
    this.stream?.pause();
    this.stream = null;
    this.buffer = Buffer.alloc(0);
    return rest;
  }

  /** Resolve with the next parsed value, or null at end of stream or when `signal` aborts. */
  async read<T>(parse: (buffer: Buffer) => Parsed<T>, signal = this.signal): Promise<T | null> {
    // Each pass waits for new bytes, the end of the stream or the abort, so the loop ends
    // at the run's deadline at the latest.
    for (;;) {
      const parsed = parse(this.buffer);
      if (parsed) {
        this.buffer = this.buffer.subarray(parsed.length);
        return parsed.value;
      }
      if (this.ended || signal.aborted) return null;
      await this.nextChange(signal);
    }
  }

  /** Resolve after `ms` milliseconds, or earlier when the client closes or the run aborts. */
  async wait(ms: number): Promise<void> {
    const signal = AbortSignal.any([this.signal, AbortSignal.timeout(ms)]);
    while (!this.ended && !signal.aborted) await this.nextChange(signal);
  }

  /** Resolve on the next chunk, end of stream or abort of `signal`. */
  private nextChange(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    if (this.buffer.length > MAX_BUFFERED_BYTES) this.stream?.destroy();
    this.notify();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.notify();
  };

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

function parseLine(buffer: Buffer): Parsed<ClientLine> {
  const lf = buffer.indexOf(0x0a);
  if (lf < 0) return undefined;
  const bareLf = lf === 0 || buffer[lf - 1] !== 0x0d;
  const text = buffer.toString('utf8', 0, bareLf ? lf : lf - 1);
  return { value: { text, bareLf }, length: lf + 1 };
}

/** Parse a DATA body. An empty body is a lone `.` line straight after the 354 reply. */
function parseData(buffer: Buffer): Parsed<Buffer> {
  let length = 3;
  if (!buffer.subarray(0, 3).equals(DOT_CRLF)) {
    const end = buffer.indexOf(CRLF_DOT_CRLF);
    if (end < 0) return undefined;
    length = end + CRLF_DOT_CRLF.length;
  }
  return { value: Buffer.from(buffer.subarray(0, length)), length };
}

/**
 * Parse input left after the script: a whole TLS record (content type 20 to 23, major
 * version 3), as a client sends when it starts a handshake the script did not expect,
 * or else a line.
 */
function parseTrailing(buffer: Buffer): Parsed<TrailingItem> {
  const first = buffer[0];
  const looksLikeTls = first !== undefined && first >= 0x14 && first <= 0x17;
  if (looksLikeTls && (buffer.length < 2 || buffer[1] === 0x03)) {
    if (buffer.length < 5) return undefined;
    const length = 5 + buffer.readUInt16BE(3);
    return buffer.length < length ? undefined : { value: { kind: 'tls' }, length };
  }
  const line = parseLine(buffer);
  return line && { value: { kind: 'line', line: line.value }, length: line.length };
}

/** Match a line against a case-insensitive glob whose only wildcard is `*`. */
export function matchesGlob(line: string, pattern: string): boolean {
  const escaped = pattern.split('*').map((part) => part.replace(/[\\^$.|?+()[\]{}]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`, 'is').test(line);
}

function describeMissingInput(reader: ByteReader, signal: AbortSignal): string {
  if (signal.aborted) return String(signal.reason);
  if (reader.pending.length > 0) return 'connection closed in the middle of a line';
  return 'connection closed by the client';
}

/** One run of a script over one accepted connection. */
class ScriptRun {
  readonly record: ScriptedServerRecord = {
    connected: false,
    lines: [],
    bareLfLines: [],
    dataBodies: [],
    incompleteData: null,
    authResponses: [],
    stepsPlayed: 0,
    mismatch: null,
    trailingLines: [],
    forbiddenTrailingInput: [],
    ignoredTlsRecords: 0,
    clientClosed: false,
    extraConnections: 0,
    socketErrors: [],
    timedOut: false,
  };
  private readonly reader: ByteReader;
  private socket: net.Socket | null = null;
  private stream: Duplex | null = null;

  constructor(
    private readonly script: readonly ScriptStep[],
    private readonly options: Required<ScriptedServerOptions>,
    private readonly signal: AbortSignal,
  ) {
    this.reader = new ByteReader(signal);
  }

  async play(socket: net.Socket): Promise<void> {
    this.socket = socket;
    this.useStream(socket);
    this.reader.attach(socket);
    try {
      if (this.options.implicitTls && !(await this.upgradeTls(-1))) return;
      for (const [index, step] of this.script.entries()) {
        if (!(await this.playStep(index, step))) return;
        this.record.stepsPlayed = index + 1;
      }
      await this.readTrailingInput();
    } finally {
      this.record.clientClosed = this.reader.ended;
    }
  }

  destroy(): void {
    this.stream?.destroy();
    this.socket?.destroy();
  }

  private useStream(stream: Duplex): void {
    this.stream = stream;
    stream.on('error', (error: Error) => this.record.socketErrors.push(error.message));
  }

  /** Play one step. Returns false when a mismatch ends the run. */
  private async playStep(index: number, step: ScriptStep): Promise<boolean> {
    if ('send' in step) {
      await this.write(step.exact ? step.send : `${step.send}\r\n`);
      return true;
    }
    if ('expect' in step) return this.expectLine(index, step.expect);
    if ('expectAuth' in step) return this.expectAuth(index, step.expectAuth);
    if ('expectData' in step) return this.expectData(index);
    if ('startTls' in step) return this.upgradeTls(index);
    if ('delayMs' in step) {
      await this.reader.wait(step.delayMs);
      return true;
    }
    this.stream?.end();
    return true;
  }

  private async readLine(): Promise<ClientLine | null> {
    const line = await this.reader.read(parseLine);
    if (line) this.keepLine(line);
    return line;
  }

  private keepLine(line: ClientLine): void {
    this.record.lines.push(line.text);
    if (line.bareLf) this.record.bareLfLines.push(line.text);
  }

  private async expectLine(index: number, pattern: string): Promise<boolean> {
    const line = await this.readLine();
    if (!line) {
      const reason = describeMissingInput(this.reader, this.signal);
      return this.fail(index, pattern, null, reason);
    }
    if (matchesGlob(line.text, pattern)) return true;
    return this.fail(index, pattern, line.text, 'line does not match the pattern');
  }

  /**
   * Read `AUTH <mechanism>`, with or without an initial response. Without one, request the
   * credentials with `334 ` and read them from the next line.
   */
  private async expectAuth(index: number, mechanism: string): Promise<boolean> {
    const expected = `AUTH ${mechanism} [initial-response]`;
    const line = await this.readLine();
    if (!line) {
      const reason = describeMissingInput(this.reader, this.signal);
      return this.fail(index, expected, null, reason);
    }
    const words = line.text.split(' ');
    const isAuthVerb = words[0]?.toUpperCase() === 'AUTH';
    const isAuth = isAuthVerb && words[1]?.toUpperCase() === mechanism.toUpperCase();
    if (!isAuth || words.length > 3) {
      return this.fail(index, expected, line.text, 'line is not the expected AUTH command');
    }
    if (words[2] !== undefined) {
      this.record.authResponses.push(words[2]);
      return true;
    }

    await this.write('334 \r\n');
    const response = await this.readLine();
    if (!response) {
      const reason = describeMissingInput(this.reader, this.signal);
      return this.fail(index, 'credentials after 334', null, reason);
    }
    this.record.authResponses.push(response.text);
    return true;
  }

  private async expectData(index: number): Promise<boolean> {
    const body = await this.reader.read(parseData);
    if (body) {
      this.record.dataBodies.push(body);
      return true;
    }
    this.record.incompleteData = Buffer.from(this.reader.pending);
    const actual = `${this.reader.pending.length} bytes without CRLF.CRLF`;
    const reason = this.signal.aborted
      ? String(this.signal.reason)
      : 'connection closed before the DATA body ended';
    return this.fail(index, 'DATA body ending in CRLF.CRLF', actual, reason);
  }

  /** Start server-side TLS on the same socket, handing unread bytes to the TLS layer. */
  private async upgradeTls(index: number): Promise<boolean> {
    const socket = this.socket!;
    if (this.reader.ended) return this.fail(index, 'TLS handshake', null, 'connection closed');
    const unread = this.reader.detach();
    if (unread.length > 0) socket.unshift(unread);

    const certificates = testCertificates();
    const secureSocket = new tls.TLSSocket(socket, {
      isServer: true,
      secureContext: tls.createSecureContext({
        cert: certificates.serverCertPem,
        key: certificates.serverKeyPem,
      }),
    });
    this.useStream(secureSocket);
    this.reader.attach(secureSocket);

    const failure = await new Promise<string | null>((resolve) => {
      const onAbort = () => resolve(String(this.signal.reason));
      this.signal.addEventListener('abort', onAbort, { once: true });
      secureSocket.once('secure', () => resolve(null));
      secureSocket.once('error', (error: Error) =>
        resolve(`TLS handshake failed: ${error.message}`),
      );
      secureSocket.once('close', () => resolve('connection closed during the TLS handshake'));
    });
    return failure === null || this.fail(index, 'TLS handshake', null, failure);
  }

  /**
   * Read what the client sends after the last step until it closes or the trailing window
   * ends. RSET and NOOP get 250 and QUIT gets 221 while the connection is still writable.
   */
  private async readTrailingInput(): Promise<void> {
    const reader = this.reader;
    const signal = AbortSignal.any([this.signal, AbortSignal.timeout(this.options.trailingReadMs)]);

    // Ends when the client closes, the trailing window passes or the run aborts.
    for (;;) {
      const item = await reader.read(parseTrailing, signal);
      if (!item) break;
      if (item.kind === 'tls') {
        this.record.ignoredTlsRecords += 1;
        continue;
      }
      this.keepLine(item.line);
      await this.replyToTrailingLine(item.line.text);
    }

    const rest = reader.pending.length;
    if (rest > 0) this.record.forbiddenTrailingInput.push(`${rest} bytes without a line end`);
  }

  private async replyToTrailingLine(text: string): Promise<void> {
    this.record.trailingLines.push(text);
    const verb = text.split(' ')[0]?.toUpperCase();
    const isQuit = text.toUpperCase() === 'QUIT';
    const isReset = text.toUpperCase() === 'RSET' || verb === 'NOOP';
    if (!isQuit && !isReset) {
      this.record.forbiddenTrailingInput.push(text);
      return;
    }
    if (!this.stream?.writable) return;
    await this.write(isQuit ? '221 2.0.0 Bye\r\n' : '250 2.0.0 OK\r\n');
    if (isQuit) this.stream.end();
  }

  private async write(text: string): Promise<void> {
    const stream = this.stream;
    if (!stream?.writable) return;
    await new Promise<void>((resolve) => stream.write(text, () => resolve()));
  }

  failWithoutConnection(reason: string): void {
    this.fail(0, 'a client connection', null, reason);
  }

  private fail(step: number, expected: string, actual: string | null, reason: string): false {
    this.record.mismatch = { step, expected, actual, reason };
    return false;
  }
}

/**
 * Start a server on 127.0.0.1 with a free port that plays `script` on the first connection.
 * Later connections are counted and closed at once. The run ends when the script and the
 * trailing read are done, at the first mismatch, on `stop()` or at the deadline.
 * @example
 * const server = await startScriptedServer([{ send: '220 ready' }, { expect: 'QUIT' }]);
 * // connect a client to server.port, then:
 * const record = await server.result();
 */
export async function startScriptedServer(
  script: readonly ScriptStep[],
  options: ScriptedServerOptions = {},
): Promise<ScriptedServer> {
  const settings = { implicitTls: false, deadlineMs: 8000, trailingReadMs: 300, ...options };
  const controller = new AbortController();
  const run = new ScriptRun(script, settings, controller.signal);
  const deadline = setTimeout(() => {
    run.record.timedOut = true;
    controller.abort('deadline passed');
  }, settings.deadlineMs);

  const server = net.createServer();
  const accepted = new Promise<net.Socket | null>((resolve) => {
    controller.signal.addEventListener('abort', () => resolve(null), { once: true });
    server.on('connection', (socket) => {
      if (controller.signal.aborted) {
        socket.destroy();
        return;
      }
      if (run.record.connected) {
        run.record.extraConnections += 1;
        socket.destroy();
        return;
      }
      run.record.connected = true;
      resolve(socket);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');

  const finished = (async () => {
    try {
      const socket = await accepted;
      if (socket) await run.play(socket);
      else run.failWithoutConnection(String(controller.signal.reason));
      return run.record;
    } finally {
      clearTimeout(deadline);
      run.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  })();

  return {
    port: (server.address() as net.AddressInfo).port,
    result: () => finished,
    stop: () => {
      controller.abort('stopped by the test');
      return finished;
    },
  };
}
