/**
 * An SMTP server on 127.0.0.1 that plays the server's side of a recorded connection. Client
 * lines are matched by verb; masked AUTH lines match any. Where the client departs from the
 * recording, the server reports it and replies as sensibly as it can. It serves one
 * connection and stops when the recording ends, after an idle time, or at a fixed maximum.
 * Client lines are never printed in full: AUTH lines and SASL responses are masked.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { ReplayExchange, ReplayScript } from './replay-script.js';

export interface ReplayServerOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Milliseconds without client activity after which the server stops. */
  idleTimeoutMs: number;
  /** Certificate and key for STARTTLS or implicit TLS. */
  tls: { certPem: string; keyPem: string } | null;
  /** Receives each report line: departures, notes and the end of the replay. */
  report: (message: string) => void;
}

/** Outcome of a replay. */
export interface ReplayOutcome {
  /** The client followed the recording to its end. */
  followed: boolean;
  departures: string[];
  /** Reason the server stopped. */
  reason: 'finished' | 'client-closed' | 'idle' | 'time-limit' | 'interrupted';
}

/** Hard limit on a replay's lifetime, whatever the idle time, so no replay runs forever. */
const MAX_LIFETIME_MS = 10 * 60 * 1000;

/** Maximum command line length accepted, in bytes; lenient, as RFC 5321 §4.5.3.1.4 sets 512. */
const MAX_LINE_BYTES = 64 * 1024;

/** Largest message accepted, in bytes; a replay has no reason to store more. */
const MAX_DATA_BYTES = 64 * 1024 * 1024;

/** Milliseconds the client gets to read the last reply and close before the socket is destroyed. */
const CLOSE_GRACE_MS = 2000;

const END_OF_DATA = Buffer.from('\r\n.\r\n');

/** A started replay server. */
export interface ReplayServer {
  port: number;
  /** Resolves when the replay has ended and the server is closed. */
  done: Promise<ReplayOutcome>;
  stop(): void;
}

/** Start the replay server; it listens on 127.0.0.1 only. */
export async function startReplayServer(
  script: ReplayScript,
  options: ReplayServerOptions,
): Promise<ReplayServer> {
  if (script.usesTls && !options.tls)
    throw new Error('The recording used TLS, but no certificate was given');
  let session: ReplaySession | null = null;
  let finish: (outcome: ReplayOutcome) => void = () => undefined;
  const done = new Promise<ReplayOutcome>((resolve) => {
    finish = resolve;
  });

  const departures: string[] = [];
  let stopped = false;
  const stop = (reason: ReplayOutcome['reason']) => {
    if (stopped) return;
    stopped = true;
    clearTimeout(idleTimer);
    clearTimeout(lifetimeTimer);
    server.close();
    const current = session as ReplaySession | null;
    if (reason === 'idle' || reason === 'time-limit' || reason === 'interrupted')
      current?.destroy();
    // Otherwise the last reply is still on its way; the client gets a moment to read it.
    else setTimeout(() => current?.destroy(), CLOSE_GRACE_MS).unref();
    const followed =
      reason === 'finished' && departures.length === 0 && (current?.complete ?? false);
    finish({ followed, departures, reason });
  };
  let idleTimer = setTimeout(() => stop('idle'), options.idleTimeoutMs);
  const lifetimeTimer = setTimeout(() => stop('time-limit'), MAX_LIFETIME_MS);
  const touch = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => stop('idle'), options.idleTimeoutMs);
  };

  const onConnection = (socket: net.Socket) => {
    socket.on('error', () => undefined);
    if (session) {
      socket.end('421 4.3.2 This replay serves one connection only\r\n');
      return;
    }
    const report = (message: string) => {
      departures.push(message);
      options.report(message);
    };
    const note = (message: string) => options.report(`note: ${message}`);
    session = new ReplaySession(script, socket, options.tls, { report, note, touch, stop });
    touch();
    session.start();
  };
  const server = script.implicitTls
    ? tls.createServer({ key: options.tls!.keyPem, cert: options.tls!.certPem }, onConnection)
    : net.createServer(onConnection);
  // A failed TLS handshake on an implicit TLS port still counts as the one connection.
  server.on('tlsClientError', (error: Error) => {
    options.report(`the TLS handshake with the client failed: ${error.message}`);
    stop('client-closed');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as net.AddressInfo;
  return { port, done, stop: () => stop('interrupted') };
}

interface SessionHooks {
  /** A departure from the recording. */
  report: (message: string) => void;
  /** An equivalent variation that the replay replied to as recorded, such as BDAT for DATA. */
  note: (message: string) => void;
  touch: () => void;
  stop: (reason: ReplayOutcome['reason']) => void;
}

/** One client connection played against the script. */
class ReplaySession {
  private cursor = 0;
  private buffer = Buffer.alloc(0);
  private mode: 'lines' | 'data' | 'bdat' | 'closed' = 'lines';
  private bdatRemaining = 0;
  private chunk = { size: 0, last: false, shown: '' };
  /** The client sent DATA where the recording has BDAT chunks. */
  private dataForBdat = false;
  private data: Buffer[] = [];
  private dataBytes = 0;
  private inSaslExchange = false;
  private clientLine = 0;
  private currentVerb = '';
  private readonly onData = (chunk: Buffer) => {
    this.hooks.touch();
    this.buffer = Buffer.concat([this.buffer, chunk]);
    this.process();
  };
  private readonly onClose = () => this.closed();
  /** Every recorded exchange got its reply. */
  complete = false;

  constructor(
    private readonly script: ReplayScript,
    private socket: net.Socket,
    private readonly certificate: { certPem: string; keyPem: string } | null,
    private readonly hooks: SessionHooks,
  ) {}

  start(): void {
    this.listen();
    this.send(this.script.greeting);
    // A recording without commands (a silent server, a 421 greeting) is complete at once.
    this.complete = this.script.exchanges.length === 0;
    if (this.script.closeAfterGreeting) this.end();
  }

  destroy(): void {
    this.mode = 'closed';
    this.socket.destroy();
  }

  private listen(): void {
    this.socket.on('data', this.onData);
    this.socket.on('close', this.onClose);
  }

  private closed(): void {
    if (this.mode === 'closed') return;
    this.mode = 'closed';
    if (!this.complete) {
      const next = this.script.exchanges[this.cursor];
      if (next)
        this.hooks.report(
          `the client closed the connection; the recording continues with ${describe(next)}`,
        );
    }
    this.hooks.stop(this.complete ? 'finished' : 'client-closed');
  }

  /** Handle whatever complete input the buffer holds. */
  private process(): void {
    while (this.mode !== 'closed' && this.buffer.length > 0) {
      if (this.mode === 'bdat') {
        const taken = Math.min(this.bdatRemaining, this.buffer.length);
        this.buffer = this.buffer.subarray(taken);
        this.bdatRemaining -= taken;
        if (this.bdatRemaining > 0) return;
        this.finishChunk();
        continue;
      }
      if (this.mode === 'data') {
        if (!this.readData()) return;
        continue;
      }
      const end = this.buffer.indexOf(0x0a);
      if (end === -1) {
        if (this.buffer.length > MAX_LINE_BYTES)
          this.fail(`a client line longer than ${MAX_LINE_BYTES} bytes`);
        return;
      }
      const line = this.buffer.subarray(0, end).toString('utf8').replace(/\r$/, '');
      this.buffer = this.buffer.subarray(end + 1);
      this.readLine(line);
    }
  }

  /** Collect message data; true when the end of the data was found. */
  private readData(): boolean {
    this.data.push(this.buffer);
    this.dataBytes += this.buffer.length;
    this.buffer = Buffer.alloc(0);
    const joined = Buffer.concat([Buffer.from('\r\n'), ...this.data]);
    const end = joined.indexOf(END_OF_DATA);
    if (end === -1) {
      if (this.dataBytes > MAX_DATA_BYTES) this.fail(`message data over ${MAX_DATA_BYTES} bytes`);
      this.data = [joined.subarray(2)];
      return false;
    }
    // Bytes after the end of the data are the next commands (pipelining).
    this.buffer = joined.subarray(end + END_OF_DATA.length);
    this.data = [];
    this.dataBytes = 0;
    this.mode = 'lines';
    if (this.dataForBdat) this.replyToDataAsBdat();
    else this.reply(this.take('.', 'the end of the message data'));
    return true;
  }

  private readLine(line: string): void {
    this.clientLine++;
    const verb = this.inSaslExchange
      ? 'AUTH-RESPONSE'
      : (/^[A-Za-z]+/.exec(line)?.[0] ?? '').toUpperCase();
    const shown = maskClientLine(line, verb);
    this.currentVerb = verb;
    const chunk = /^BDAT\s+(\d+)(\s+LAST)?\s*$/i.exec(line);
    if (chunk) {
      this.chunk = { size: Number(chunk[1]), last: chunk[2] !== undefined, shown };
      this.mode = 'bdat';
      this.bdatRemaining = this.chunk.size;
      if (this.bdatRemaining === 0) this.finishChunk();
      return;
    }
    if (verb === 'DATA' && this.script.exchanges[this.cursor]?.verb === 'BDAT') {
      this.hooks.note(
        `client line ${this.clientLine}: the client sent DATA where the recording has BDAT; the ` +
          `recorded reply to the last chunk is the reply to the message`,
      );
      this.dataForBdat = true;
      this.send(['354 Start mail input; end with <CRLF>.<CRLF> (the recording used BDAT)']);
      this.mode = 'data';
      return;
    }
    this.reply(this.take(verb, shown));
  }

  /** Reply to a BDAT chunk once it is read in full (RFC 3030 §2). */
  private finishChunk(): void {
    this.mode = 'lines';
    const expected = this.script.exchanges[this.cursor];
    if (expected?.verb !== 'DATA') {
      this.reply(this.take('BDAT', this.chunk.shown));
      return;
    }
    // The recording sent DATA and the message; BDAT carries the same message in chunks.
    if (!this.chunk.last) {
      this.send([`250 2.0.0 ${this.chunk.size} octets received (the recording used DATA)`]);
      return;
    }
    this.hooks.note(
      `client line ${this.clientLine}: the client sent BDAT where the recording has DATA ` +
        `(line ${expected.line ?? '?'}); replied with the recorded reply to the message`,
    );
    const end = this.script.exchanges[this.cursor + 1];
    const dataAccepted = expected.expectData && end?.verb === '.';
    this.cursor += dataAccepted ? 2 : 1;
    // When the recorded server rejected DATA, that rejection is the reply to the whole message.
    this.reply({ ...(dataAccepted ? end! : expected), expectData: false });
  }

  /** Reply to a message sent with DATA where the recording has BDAT chunks. */
  private replyToDataAsBdat(): void {
    this.dataForBdat = false;
    const exchanges = this.script.exchanges;
    const last = exchanges.findIndex(
      (exchange, index) =>
        index >= this.cursor && exchange.verb === 'BDAT' && /\bLAST\b/i.test(exchange.recorded),
    );
    if (last === -1) {
      this.reply(this.take('.', 'the end of the message data'));
      return;
    }
    this.cursor = last + 1;
    this.reply(exchanges[last]!);
  }

  /** Find the recorded exchange for this verb, skipping ahead when the client left some out. */
  private take(verb: string, shown: string): ReplayExchange | null {
    const exchanges = this.script.exchanges;
    const expected = exchanges[this.cursor];
    const where = `client line ${this.clientLine}`;
    if (expected && matches(expected, verb)) {
      this.cursor++;
      return expected;
    }
    const ahead = exchanges.findIndex(
      (exchange, index) => index > this.cursor && matches(exchange, verb),
    );
    if (ahead !== -1) {
      const skipped = exchanges.slice(this.cursor, ahead).map(describe).join(', ');
      this.hooks.report(`${where}: the client sent ${shown} and skipped ${skipped}`);
      this.cursor = ahead + 1;
      return exchanges[ahead]!;
    }
    const instead = expected ? describe(expected) : 'the end of the recording';
    this.hooks.report(`${where}: the client sent ${shown} where the recording has ${instead}`);
    return null;
  }

  private reply(exchange: ReplayExchange | null): void {
    if (!exchange) {
      this.replyToUnrecorded();
      return;
    }
    this.send(exchange.reply);
    const last = exchange.reply[exchange.reply.length - 1] ?? '';
    this.inSaslExchange = /^334/.test(last);
    if (this.cursor >= this.script.exchanges.length) this.complete = true;
    if (exchange.expectData) this.mode = 'data';
    if (exchange.close) this.end();
    else if (exchange.startTls) this.upgrade();
  }

  /** Reply to a command the recording does not have. */
  private replyToUnrecorded(): void {
    this.inSaslExchange = false;
    const verb = this.currentVerb;
    if (verb === 'QUIT') {
      this.send(['221 2.0.0 Bye (not in the recording)']);
      this.end();
    } else if (verb === 'NOOP' || verb === 'RSET') {
      this.send(['250 2.0.0 OK (not in the recording)']);
    } else {
      this.send(['502 5.5.1 Command not in the recording']);
    }
  }

  private upgrade(): void {
    const plain = this.socket;
    plain.off('data', this.onData);
    plain.off('close', this.onClose);
    // RFC 3207 §4.2: the client must not send anything after STARTTLS before the handshake.
    this.buffer = Buffer.alloc(0);
    const secure = new tls.TLSSocket(plain, {
      isServer: true,
      key: this.certificate!.keyPem,
      cert: this.certificate!.certPem,
    });
    secure.on('error', () => undefined);
    this.socket = secure;
    this.listen();
  }

  private send(lines: string[]): void {
    if (lines.length === 0 || this.mode === 'closed') return;
    this.socket.write(lines.map((line) => `${line}\r\n`).join(''));
  }

  private end(): void {
    this.mode = 'closed';
    this.socket.end();
    this.hooks.stop(this.complete ? 'finished' : 'client-closed');
  }

  private fail(reason: string): void {
    this.hooks.report(`stopped: ${reason}`);
    this.end();
  }
}

function matches(exchange: ReplayExchange, verb: string): boolean {
  return exchange.verb === verb;
}

function describe(exchange: ReplayExchange): string {
  const at = exchange.line === null ? '' : ` (line ${exchange.line})`;
  return `"${exchange.recorded}"${at}`;
}

/** Return a client line for a report; AUTH arguments and SASL responses never appear. */
export function maskClientLine(line: string, verb: string): string {
  if (verb === 'AUTH-RESPONSE') return '"********"';
  if (verb === 'AUTH') {
    const mechanism = /^AUTH\s+(\S+)/i.exec(line)?.[1] ?? '';
    const hasResponse = /^AUTH\s+\S+\s+\S/i.test(line);
    return `"AUTH ${mechanism}${hasResponse ? ' ********' : ''}"`;
  }
  const shown = line.length > 200 ? `${line.slice(0, 200)}…` : line;
  return JSON.stringify(shown);
}
