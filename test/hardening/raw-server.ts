/**
 * Raw TCP servers for the hardening tests. Each one listens on 127.0.0.1 only, hands every
 * accepted connection to a handler written in the test, records what the client sent and
 * whether it closed, and destroys every socket at its deadline, so no test can hang on it.
 * `serveSmtp` is a small SMTP responder that such a handler can bend at any command.
 */
import { once } from 'node:events';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { testCertificates } from '../support/certs.js';

const HOST = '127.0.0.1';

/** Client bytes buffered per connection before the server gives up on it. */
const MAX_BUFFERED_BYTES = 32 * 1024 * 1024;

/** Default lifetime of a server in milliseconds. */
const DEFAULT_DEADLINE_MS = 10_000;

/** One accepted connection, seen from the server side. */
export class RawConnection {
  /** Command lines from the client in arrival order, without line ends. */
  readonly lines: string[] = [];
  /** Messages received with DATA or BDAT. */
  readonly messages: Buffer[] = [];
  /** Errors of the socket, the TLS layer or the handler, for diagnosis. */
  readonly errors: string[] = [];
  /** True once the client sent its FIN or the TCP connection closed. */
  clientEnded = false;
  /** True once the TCP connection is closed on both sides. */
  closed = false;

  private buffer: Buffer = Buffer.alloc(0);
  private chunks: Buffer[] = [];
  private stream: Duplex;
  private readonly waiters = new Set<() => void>();
  private readonly whenClosed: Promise<void>;

  constructor(
    readonly socket: net.Socket,
    private readonly signal: AbortSignal,
  ) {
    this.stream = socket;
    this.listen(socket);
    this.whenClosed = new Promise((resolve) => {
      socket.once('close', () => {
        this.closed = true;
        this.clientEnded = true;
        this.notify();
        resolve();
      });
    });
    socket.on('end', () => {
      this.clientEnded = true;
      this.notify();
    });
  }

  /** True while the server may still write. */
  get writable(): boolean {
    return !this.closed && !this.signal.aborted && this.stream.writable;
  }

  /**
   * Write bytes, waiting while the socket buffer is full. Resolves false when the connection
   * ended first, so a writing loop can stop.
   */
  async write(data: string | Buffer): Promise<boolean> {
    if (!this.writable || this.clientEnded) return false;
    if (this.stream.write(data)) return true;
    await this.nextChange('drain');
    return this.writable && !this.clientEnded;
  }

  /** Read one line, or return null when the client closed or the deadline passed. */
  async readLine(): Promise<string | null> {
    const line = await this.read((buffer) => {
      const end = buffer.indexOf(0x0a);
      if (end === -1) return undefined;
      const stop = end > 0 && buffer[end - 1] === 0x0d ? end - 1 : end;
      return { value: buffer.toString('utf8', 0, stop), length: end + 1 };
    });
    if (line !== null) this.lines.push(line);
    return line;
  }

  /**
   * Read a DATA body and record it as a message. The strict end is CRLF . CRLF. The lenient
   * end, as some servers accept it, is a `.` with a CR or LF on each side, which covers
   * `\n.\n`, `\r.\r`, `\r\n.\n` and `\n.\r\n`.
   */
  async readData(lenient: boolean): Promise<Buffer | null> {
    const data = await this.read((buffer) => findDataEnd(buffer, lenient));
    if (data !== null) this.messages.push(data);
    return data;
  }

  /** Read exactly `count` bytes (a BDAT chunk). */
  readBytes(count: number): Promise<Buffer | null> {
    return this.read((buffer) =>
      buffer.length < count
        ? undefined
        : { value: Buffer.from(buffer.subarray(0, count)), length: count },
    );
  }

  /** Add a BDAT chunk. The chunk marked LAST completes a message. */
  addChunk(chunk: Buffer, last: boolean): void {
    this.chunks.push(chunk);
    if (!last) return;
    this.messages.push(Buffer.concat(this.chunks));
    this.chunks = [];
  }

  /**
   * Collect whatever arrives for `ms` milliseconds or until the client closes. With
   * `firstChunk`, return as soon as any bytes are there.
   */
  async collect(ms: number, firstChunk = false): Promise<Buffer> {
    const until = AbortSignal.any([this.signal, AbortSignal.timeout(ms)]);
    while (!this.clientEnded && !until.aborted) {
      if (firstChunk && this.buffer.length > 0) break;
      await this.nextChange(undefined, until);
    }
    const taken = this.buffer;
    this.buffer = Buffer.alloc(0);
    return taken;
  }

  /** Read lines without replying until the client closes or the deadline passes. */
  async drain(): Promise<void> {
    while ((await this.readLine()) !== null) {
      // Only recorded: a stalled server sends no reply.
    }
  }

  /**
   * Run the server side of a TLS handshake on this connection. Bytes the client sent before
   * it go to the TLS layer. Resolves false when the handshake fails.
   */
  async startTls(certificate: 'trusted' | 'untrusted' = 'trusted'): Promise<boolean> {
    const certificates = testCertificates();
    const trusted = certificate === 'trusted';
    this.stream.removeAllListeners('data');
    const unread = this.buffer;
    this.buffer = Buffer.alloc(0);
    if (unread.length > 0) this.socket.unshift(unread);

    const secure = new tls.TLSSocket(this.socket, {
      isServer: true,
      secureContext: tls.createSecureContext({
        cert: trusted ? certificates.serverCertPem : certificates.untrustedCertPem,
        key: trusted ? certificates.serverKeyPem : certificates.untrustedKeyPem,
      }),
    });
    this.stream = secure;
    this.listen(secure);
    // `once` rejects on an 'error' event, which counts as a failed handshake too.
    return Promise.race([
      once(secure, 'secure').then(() => true),
      once(secure, 'close').then(() => false),
      this.whenClosed.then(() => false),
    ]).catch(() => false);
  }

  /** Close the server's side (FIN) and keep reading until the client closes. */
  async end(): Promise<void> {
    this.stream.end();
    await this.drain();
  }

  /** Resolve true once the TCP connection is closed, or false after `ms` milliseconds. */
  async waitForClose(ms: number): Promise<boolean> {
    const timeout = new Promise<false>((resolve) => setTimeout(() => resolve(false), ms).unref());
    return Promise.race([this.whenClosed.then(() => true as const), timeout]);
  }

  destroy(): void {
    this.stream.destroy();
    this.socket.destroy();
  }

  private listen(stream: Duplex): void {
    stream.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      if (this.buffer.length > MAX_BUFFERED_BYTES) this.destroy();
      this.notify();
    });
    stream.on('error', (error: Error) => this.errors.push(error.message));
  }

  private async read<T>(
    parse: (buffer: Buffer) => { value: T; length: number } | undefined,
  ): Promise<T | null> {
    // Each pass waits for new bytes, the client's close or the deadline, so the loop ends
    // at the server's deadline at the latest.
    for (;;) {
      const parsed = parse(this.buffer);
      if (parsed) {
        this.buffer = this.buffer.subarray(parsed.length);
        return parsed.value;
      }
      if (this.clientEnded || this.signal.aborted) return null;
      await this.nextChange();
    }
  }

  /** Resolve on the next chunk, the client's close, `event` on the stream, or an abort. */
  private nextChange(event?: string, signal: AbortSignal = this.signal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        if (event) this.stream.off(event, done);
        resolve();
      };
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
      if (event) this.stream.once(event, done);
    });
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** Find the end of a DATA body, as described at `RawConnection.readData`. */
function findDataEnd(
  buffer: Buffer,
  lenient: boolean,
): { value: Buffer; length: number } | undefined {
  if (!lenient) {
    if (buffer.subarray(0, 3).equals(Buffer.from('.\r\n'))) {
      return { value: Buffer.alloc(0), length: 3 };
    }
    const end = buffer.indexOf('\r\n.\r\n');
    if (end === -1) return undefined;
    return { value: Buffer.from(buffer.subarray(0, end + 2)), length: end + 5 };
  }

  for (let index = 0; index < buffer.length; index++) {
    const before = index === 0 ? 0x0a : buffer[index - 1];
    const after = buffer[index + 1];
    if (buffer[index] !== 0x2e || (before !== 0x0d && before !== 0x0a)) continue;
    // Wait for the byte after the dot, and after a CR for a possible LF.
    if (after === undefined || (after === 0x0d && buffer[index + 2] === undefined))
      return undefined;
    if (after !== 0x0d && after !== 0x0a) continue;
    const crlf = after === 0x0d && buffer[index + 2] === 0x0a;
    return { value: Buffer.from(buffer.subarray(0, index)), length: index + (crlf ? 3 : 2) };
  }
  return undefined;
}

export interface RawServer {
  port: number;
  /** Connections in the order they were accepted. */
  connections: RawConnection[];
  /** Resolve with the connection at `index` once it is accepted, or null at the deadline. */
  connection(index?: number): Promise<RawConnection | null>;
  close(): Promise<void>;
}

export interface RawServerOptions {
  /** Milliseconds after which every socket is destroyed. Default 10000. */
  deadlineMs?: number;
}

/**
 * Start a TCP server on 127.0.0.1 and a free port that runs `handler` for every connection.
 * A handler that throws has its error recorded on the connection, which is then destroyed.
 */
export async function startRawServer(
  handler: (connection: RawConnection) => Promise<void>,
  options: RawServerOptions = {},
): Promise<RawServer> {
  const controller = new AbortController();
  const connections: RawConnection[] = [];
  const arrivals = new Set<() => void>();
  const deadline = setTimeout(
    () => controller.abort('deadline passed'),
    options.deadlineMs ?? DEFAULT_DEADLINE_MS,
  );
  deadline.unref();

  const server = net.createServer((socket) => {
    const connection = new RawConnection(socket, controller.signal);
    connections.push(connection);
    for (const notify of [...arrivals]) notify();
    handler(connection).then(
      () => connection.drain(),
      (error: unknown) => {
        connection.errors.push(`handler failed: ${String(error)}`);
        connection.destroy();
      },
    );
  });
  controller.signal.addEventListener('abort', () => {
    for (const connection of connections) connection.destroy();
  });
  server.listen(0, HOST);
  await once(server, 'listening');

  const connection = (index = 0): Promise<RawConnection | null> => {
    return new Promise((resolve) => {
      const check = () => {
        const found = connections[index];
        if (!found && !controller.signal.aborted) return;
        arrivals.delete(check);
        resolve(found ?? null);
      };
      arrivals.add(check);
      controller.signal.addEventListener('abort', check, { once: true });
      check();
    });
  };

  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    connection,
    close: async () => {
      clearTimeout(deadline);
      controller.abort('server closed');
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** What the responder does at one point of the conversation. */
export type Reaction =
  /** Send this reply (a line end is added) and carry on. */
  | string
  /** Send `send` (if given, with a line end added), then do `next`. */
  | { send?: string; next: ReactionStep };

/**
 * `stall`: send no more replies but keep reading. `close`: close the server's side.
 * `tls` and `tls-untrusted`: run a TLS handshake with the CA-signed or the self-signed test
 * certificate, then carry on. `not-tls`: reply to the handshake with plain text and record
 * every byte the client sends after it in `SmtpScript.afterStartTls`.
 */
export type ReactionStep = 'continue' | 'stall' | 'close' | 'tls' | 'tls-untrusted' | 'not-tls';

export interface SmtpScript {
  /** First reaction after the connection opens. Default `220 mw.test ESMTP ready`. */
  greeting?: Reaction;
  /** EHLO keywords before TLS, such as `STARTTLS` or `8BITMIME`. Default none. */
  extensions?: string[];
  /** EHLO keywords after STARTTLS. Default the same as `extensions` without STARTTLS. */
  extensionsAfterTls?: string[];
  /** Reaction to a command line, or undefined for the default reply. */
  reply?: (
    line: string,
    connection: RawConnection,
  ) => Reaction | undefined | Promise<Reaction | undefined>;
  /** Reaction after a message's data. Default `250 2.0.0 queued`. */
  afterData?: Reaction;
  /** End DATA bodies the way a lenient server does (see `RawConnection.readData`). */
  lenientDataEnd?: boolean;
  /** Filled in by the responder: bytes the client sent after a `not-tls` answer. */
  afterStartTls?: Buffer[];
}

/**
 * Speak enough SMTP to take mail: greeting, EHLO or HELO, STARTTLS, AUTH (accepted), MAIL,
 * RCPT, DATA, BDAT, RSET, NOOP and QUIT. `script.reply` can replace any reply.
 */
export async function serveSmtp(connection: RawConnection, script: SmtpScript = {}): Promise<void> {
  let secure = false;
  if (!(await react(connection, script.greeting ?? '220 mw.test ESMTP ready', script))) return;

  for (;;) {
    const line = await connection.readLine();
    if (line === null) return;
    const custom = await script.reply?.(line, connection);
    const verb = (line.split(' ')[0] ?? '').toUpperCase();
    let reaction: Reaction = custom ?? defaultReply(verb, secure, script);

    if (custom === undefined && verb === 'DATA') {
      if (!(await connection.write('354 end data with <CR><LF>.<CR><LF>\r\n'))) return;
      if ((await connection.readData(script.lenientDataEnd ?? false)) === null) return;
      reaction = script.afterData ?? '250 2.0.0 queued';
    } else if (custom === undefined && verb === 'BDAT') {
      const [, size = '0', last] = line.split(' ');
      const chunk = await connection.readBytes(Number(size));
      if (chunk === null) return;
      connection.addChunk(chunk, last?.toUpperCase() === 'LAST');
      if (last?.toUpperCase() === 'LAST') reaction = script.afterData ?? '250 2.0.0 queued';
    }
    if (typeof reaction === 'object' && reaction.next.startsWith('tls')) secure = true;
    if (!(await react(connection, reaction, script))) return;
    if (verb === 'QUIT' && custom === undefined) {
      await connection.end();
      return;
    }
  }
}

function defaultReply(verb: string, secure: boolean, script: SmtpScript): Reaction {
  switch (verb) {
    case 'EHLO': {
      const before = script.extensions ?? [];
      const after = script.extensionsAfterTls ?? before.filter((item) => item !== 'STARTTLS');
      return ehloReply(secure ? after : before);
    }
    case 'HELO':
    case 'MAIL':
    case 'RCPT':
    case 'RSET':
    case 'NOOP':
      return '250 2.0.0 OK';
    case 'STARTTLS':
      return { send: '220 2.0.0 ready to start TLS', next: 'tls' };
    case 'AUTH':
      return '235 2.7.0 accepted';
    case 'BDAT':
      return '250 2.0.0 chunk received';
    case 'QUIT':
      return '221 2.0.0 bye';
    default:
      return '502 5.5.2 command not recognised';
  }
}

/** Build an EHLO reply that lists `extensions`. */
export function ehloReply(extensions: readonly string[]): string {
  const lines = ['mw.test greets you', ...extensions];
  return lines
    .map((text, index) => `250${index === lines.length - 1 ? ' ' : '-'}${text}`)
    .join('\r\n');
}

/** Carry out one reaction. Returns false when the conversation is over. */
async function react(
  connection: RawConnection,
  reaction: Reaction,
  script: SmtpScript,
): Promise<boolean> {
  const step =
    typeof reaction === 'string' ? { send: reaction, next: 'continue' as const } : reaction;
  if (step.send !== undefined && !(await connection.write(`${step.send}\r\n`))) return false;

  switch (step.next) {
    case 'continue':
      return true;
    case 'stall':
      await connection.drain();
      return false;
    case 'close':
      await connection.end();
      return false;
    case 'tls':
    case 'tls-untrusted':
      return connection.startTls(step.next === 'tls' ? 'trusted' : 'untrusted');
    case 'not-tls': {
      // Wait for the ClientHello, reply to it with text, then record what follows.
      const hello = await connection.collect(1000, true);
      await connection.write('this is not TLS\r\n');
      const rest = await connection.collect(500);
      script.afterStartTls?.push(hello, rest);
      return false;
    }
  }
}
