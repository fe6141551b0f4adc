/**
 * One SMTP connection driven end to end: connect, greeting, EHLO, STARTTLS, AUTH, then
 * transactions, then QUIT. Async, but it reaches the outside world only through the
 * injected socket, clock and sinks. Policy decisions (when to QUIT, which error to raise)
 * live here; wire details live in the protocol object.
 */
import { type Credentials, chooseMechanism } from '../auth/index.js';
import { webRandomBytes } from '../bytes.js';
import { hasExtension } from '../capabilities.js';
import { SmtpClient } from '../client.js';
import { addressLiteral } from '../commands.js';
import {
  SmtpConnectionError,
  SmtpError,
  type SmtpErrorCode,
  type SmtpPhase,
  SmtpReplyError,
  SmtpUsageError,
} from '../errors.js';
import type { SmtpEvent } from '../events.js';
import { ERROR_TRANSCRIPT_LINES, QUIT_TIMEOUT_MS } from '../limits.js';
import { replyText, type SmtpReply } from '../reply.js';
import type { TranscriptEntry, TranscriptSink } from '../transcript/entry.js';
import { formatTextLine } from '../transcript/format.js';
import { nextConnectionId, TranscriptRecorder } from '../transcript/recorder.js';
import type { SecretScanner } from '../transcript/redact.js';
import type { Clock, SocketLike, TlsDetails } from './contracts.js';
import type { LogBody, SendTimings, StartTlsPolicy, TransporterEnvironment } from './options.js';
import { withDeadline } from './timing.js';
import { describeTls } from './tls-event.js';

export interface SessionSettings {
  host: string;
  port: number;
  secure: boolean;
  startTls: StartTlsPolicy;
  allowInsecureAuth: boolean;
  tls: import('./contracts.js').TlsOptions;
  clientName: string | undefined;
  connectionTimeout: number;
  greetingTimeout: number;
  commandTimeout: number;
  dataTimeout: number;
  logBody: LogBody;
  lmtp: boolean;
  chunking: boolean;
  /** Credentials resolver; called once per login so token functions can refresh. */
  credentials?: () => Promise<Credentials & { method?: string }>;
}

export class Session {
  readonly client: SmtpClient;
  private socket: SocketLike | null = null;
  private readonly recorder: TranscriptRecorder;
  private readonly tail: TranscriptEntry[] = [];
  private closed = false;
  readonly timings: SendTimings = {};
  greeting = '';
  tlsDetails: TlsDetails | null = null;
  authenticated = false;
  /** Messages sent on this connection. */
  messages = 0;

  constructor(
    private readonly settings: SessionSettings,
    private readonly environment: TransporterEnvironment,
    private readonly sinks: readonly TranscriptSink[],
    /** Secrets of the transporter, also masked in the errors of this session. */
    readonly scanner: SecretScanner,
  ) {
    this.recorder = new TranscriptRecorder({
      now: () => environment.clock.now(),
      processId: environment.processId,
      connectionId: nextConnectionId(),
      scanner,
    });
    // The driver waits for each write to finish before it encodes more of the body, which is
    // what reusing one body buffer needs (see `SocketLike.write`).
    this.client = new SmtpClient({
      recorder: this.recorder,
      logBody: settings.logBody,
      reuseBodyBuffer: true,
    });
  }

  /**
   * True when the next message may be written before the last final reply is read: the
   * server offers PIPELINING and the session speaks SMTP, not LMTP.
   */
  canPipelineMessages(lmtp: boolean): boolean {
    return !lmtp && hasExtension(this.client.capabilities, 'PIPELINING');
  }

  /** True while the connection can take another transaction (after RSET if one failed). */
  get reusable(): boolean {
    const state = this.client.state;
    const open =
      state === 'ready' || state === 'mail-sent' || state === 'rcpt-sent' || state === 'body-sent';
    return !this.closed && open;
  }

  // ---- opening -------------------------------------------------------------

  /** Connect and get to the point where MAIL may be sent. */
  async open(): Promise<void> {
    await this.connect();
    await this.readGreeting();
    await this.hello();
    await this.negotiateTls();
    await this.authenticate();
  }

  private async connect(): Promise<void> {
    const { host, port, secure, tls, connectionTimeout } = this.settings;
    const started = this.now();
    const attempt = this.environment.connector.connect({ host, port, secure, tls });
    let result: Awaited<typeof attempt>;
    try {
      result = await withDeadline(
        this.environment.clock,
        attempt,
        connectionTimeout,
        'connect',
        (elapsed) => `Connection timed out: no connection to ${host}:${port} after ${elapsed} ms`,
      );
    } catch (error) {
      // A connection that completes after the deadline is closed at once.
      attempt.then(
        (late) => late.socket.close(),
        () => {},
      );
      this.recorder.add(
        'event',
        `SMTP Connection to '${host}' on port ${port} failed: ${messageOf(error)}`,
      );
      this.emit();
      throw this.connectionFailure(error, secure);
    }

    this.socket = result.socket;
    this.client.secure = secure;
    this.timings.connect = this.now() - started;
    this.recorder.add(
      'event',
      `SMTP Connected to '${host}' on port ${port}.${secure ? ' (secured)' : ''}`,
    );
    if (result.tls) this.recordTls(result.tls);
    this.emit();
  }

  private connectionFailure(error: unknown, secure: boolean): SmtpError {
    if (error instanceof SmtpError) return error;
    const code = (error as { code?: unknown }).code;
    const tlsFailure = secure && typeof code === 'string' && !code.startsWith('ECONN');
    const text = messageOf(error).replace(/\s*\n\s*/g, ' ');
    // OpenSSL reports a plain-text greeting on an implicit TLS connection as a wrong version.
    const plainPort = tlsFailure && /wrong version number|WRONG_VERSION_NUMBER/i.test(text);
    const hint = plainPort
      ? `; port ${this.settings.port} seems to expect STARTTLS: set secure: false`
      : '';
    return new SmtpConnectionError(
      tlsFailure ? 'ETLS' : 'ECONNECTION',
      `${tlsFailure ? 'TLS handshake failed' : 'Connection failed'}: ${text}${hint}`,
      { phase: tlsFailure ? 'tls' : 'connect', cause: error },
    );
  }

  private async readGreeting(): Promise<void> {
    const started = this.now();
    const event = await this.nextEvent('greeting', this.settings.greetingTimeout);
    this.timings.greeting = this.now() - started;
    if (event.type === 'greeting') {
      this.greeting = event.reply.lines[0] ?? '';
      return;
    }
    const reply = replyOf(event);
    throw this.replyError('ECONNECTION', 'greeting', reply, 'Server refused the connection');
  }

  private async hello(): Promise<void> {
    const name = this.settings.clientName ?? addressLiteral(this.socket?.localAddress);
    if (this.settings.lmtp) this.client.lhlo(name);
    else this.client.ehlo(name);
    await this.flush();
    const event = await this.nextEvent('ehlo', this.settings.commandTimeout);
    if (event.type === 'capabilities') return;

    const reply = replyOf(event);
    // RFC 5321 §3.2: fall back to HELO only when EHLO is not recognised (500, 502).
    const unrecognised = reply.code === 500 || reply.code === 502;
    if (!unrecognised || this.settings.lmtp || this.client.state !== 'greeted') {
      throw this.replyError('EPROTOCOL', 'ehlo', reply, 'EHLO rejected');
    }
    this.client.helo(name);
    await this.flush();
    const fallback = await this.nextEvent('ehlo', this.settings.commandTimeout);
    if (fallback.type !== 'capabilities') {
      throw this.replyError('EPROTOCOL', 'ehlo', replyOf(fallback), 'HELO rejected');
    }
  }

  private async negotiateTls(): Promise<void> {
    const { startTls, host } = this.settings;
    if (this.client.secure || startTls === 'never') return;

    if (!hasExtension(this.client.capabilities, 'STARTTLS')) {
      if (startTls === 'required') {
        throw new SmtpConnectionError(
          'ETLS',
          `STARTTLS required but not offered: ${host} did not list STARTTLS in its EHLO reply; ` +
            'check the port (587 usually offers it, 465 needs secure: true)',
          { phase: 'starttls', retryable: false },
        );
      }
      return;
    }

    this.client.startTls();
    await this.flush();
    const event = await this.nextEvent('starttls', this.settings.commandTimeout);
    if (event.type !== 'tls-ready') {
      const reply = replyOf(event);
      if (startTls === 'required' || this.settings.credentials) {
        throw this.replyError('ETLS', 'starttls', reply, 'STARTTLS rejected');
      }
      this.recorder.add(
        'event',
        'STARTTLS rejected; continuing without TLS (startTls: opportunistic)',
      );
      return;
    }

    await this.upgrade();
    await this.hello();
  }

  private async upgrade(): Promise<void> {
    const socket = this.requireSocket();
    const started = this.now();
    const { host, tls, commandTimeout } = this.settings;
    try {
      const upgraded = await withDeadline(
        this.environment.clock,
        socket.upgradeTls({ ...tls, host }),
        commandTimeout,
        'tls',
        (elapsed) => `TLS handshake timed out after ${elapsed} ms`,
      );
      this.socket = upgraded.socket;
      this.pendingRead = null;
      this.timings.tls = this.now() - started;
      this.client.tlsEstablished();
      this.recordTls(upgraded.details);
    } catch (error) {
      this.recorder.add('event', `TLS handshake failed: ${messageOf(error)}`);
      this.client.abort(error instanceof Error ? error : new Error(String(error)));
      throw error instanceof SmtpError
        ? error
        : new SmtpConnectionError('ETLS', `TLS handshake failed: ${messageOf(error)}`, {
            phase: 'tls',
            cause: error,
            retryable: false,
          });
    }
  }

  private recordTls(details: TlsDetails): void {
    this.tlsDetails = details;
    this.recorder.add('event', describeTls(details));
  }

  private async authenticate(): Promise<void> {
    if (!this.settings.credentials) return;
    if (!this.client.secure && !this.settings.allowInsecureAuth) {
      const reason =
        this.settings.startTls === 'never'
          ? "startTls is 'never'. Use 'opportunistic' or 'required'"
          : 'the server offered no STARTTLS. Use secure: true on an implicit TLS port';
      throw new SmtpUsageError(
        `Refusing to send credentials without TLS: ${reason}, or set allowInsecureAuth ` +
          'for a trusted network',
        { phase: 'auth' },
      );
    }

    const started = this.now();
    const credentials = await this.settings.credentials();
    const offered = this.client.capabilities?.authMechanisms ?? new Set<string>();
    const kind = credentials.accessToken !== undefined ? 'token' : 'password';
    const mechanism = chooseMechanism(offered, kind, credentials.method);
    const randomBytes = this.environment.randomBytes ?? webRandomBytes;
    const exchange = mechanism.start(credentials, randomBytes);

    this.client.auth(mechanism.name, exchange.initialResponse);
    await this.flush();
    for (let step = 0; step < 10; step++) {
      const event = await this.nextEvent('auth', this.settings.commandTimeout);
      if (event.type === 'authenticated') {
        exchange.finish?.(event.reply);
        this.authenticated = true;
        this.timings.auth = this.now() - started;
        return;
      }
      if (event.type !== 'auth-challenge') {
        const detail = exchange.serverError ? ` (server reported: ${exchange.serverError})` : '';
        throw this.replyError('EAUTH', 'auth', replyOf(event), `Authentication failed${detail}`);
      }
      this.client.authResponse(exchange.respond(event.reply.texts[0] ?? ''));
      await this.flush();
    }
    throw new SmtpUsageError('Authentication failed: more than 10 challenges', { phase: 'auth' });
  }

  // ---- reading and writing -------------------------------------------------

  /**
   * Wait for the next protocol event, reading from the socket as needed. An event parsed
   * already, as pipelined replies often are, comes back without an asynchronous step.
   */
  nextEvent(phase: SmtpPhase, timeoutMs: number): Promise<SmtpEvent> {
    const event = this.client.nextEvent();
    if (event === null) return this.readEvent(phase, timeoutMs);
    try {
      return Promise.resolve(this.deliver(event, phase));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Write out the transcript entries and return `event`; a closed connection throws. */
  private deliver(event: SmtpEvent, phase: SmtpPhase): SmtpEvent {
    this.emit();
    if (event.type === 'closed') throw this.closedError(phase);
    return event;
  }

  private async readEvent(phase: SmtpPhase, timeoutMs: number): Promise<SmtpEvent> {
    const started = this.now();
    for (;;) {
      // After the end of the stream every read returns at once, so reading again would spin
      // without ever letting the timer fire.
      if (this.closed) throw this.closedError(phase);
      const remaining = Math.max(0, timeoutMs - (this.now() - started));
      const chunk = await withDeadline(
        this.environment.clock,
        this.readChunk(),
        remaining,
        phase,
        (elapsed) => this.timeoutMessage(phase, this.now() - started || elapsed),
      ).catch((error: unknown) => {
        throw this.readFailure(error, phase);
      });
      if (chunk === null) {
        this.closed = true;
        this.client.receiveEnd();
      } else {
        this.receive(chunk, phase);
      }
      const event = this.client.nextEvent();
      if (event) return this.deliver(event, phase);
    }
  }

  /**
   * Read the next chunk, reusing a read still pending from a wait that timed out. A second
   * read would let the first one take the next chunk, and that reply would be lost from the
   * protocol object and the transcript.
   */
  private readChunk(): Promise<Uint8Array | null> {
    if (this.pendingRead) return this.pendingRead;
    const read = this.requireSocket().read();
    const clear = (): void => {
      if (this.pendingRead === read) this.pendingRead = null;
    };
    read.then(clear, clear);
    this.pendingRead = read;
    return read;
  }

  private pendingRead: Promise<Uint8Array | null> | null = null;

  private receive(chunk: Uint8Array, phase: SmtpPhase): void {
    try {
      this.client.receive(chunk);
    } catch (error) {
      // The parser has no notion of phases, so the error gets the phase being read. The log
      // records the reason, because the error itself is not a transcript entry.
      if (error instanceof SmtpError) {
        error.phase ??= phase;
        this.recorder.add('event', `Protocol error: ${error.message}`);
      }
      throw error;
    } finally {
      this.emit();
    }
  }

  /** Write whatever the protocol object produced. */
  flush(timeoutMs = this.settings.commandTimeout, phase: SmtpPhase = 'data'): Promise<void> {
    this.emit();
    const bytes = this.client.takeOutgoing();
    if (!bytes) return RESOLVED;
    let written: Promise<void>;
    try {
      written = this.requireSocket().write(bytes);
    } catch (error) {
      return Promise.reject(this.readFailure(error, phase));
    }
    return withDeadline(
      this.environment.clock,
      written,
      timeoutMs,
      phase,
      (elapsed) => `Write timed out after ${elapsed} ms: the server stopped reading`,
    ).catch((error: unknown) => {
      throw this.readFailure(error, phase);
    });
  }

  private readFailure(error: unknown, phase: SmtpPhase): SmtpError {
    if (error instanceof SmtpError) {
      if (error.code === 'ETIMEDOUT') this.recorder.add('event', error.message);
      return error;
    }
    this.recorder.add('event', `Connection error: ${messageOf(error)}`);
    return new SmtpConnectionError('ECONNECTION', `Connection error: ${messageOf(error)}`, {
      phase,
      cause: error,
    });
  }

  private closedError(phase: SmtpPhase): SmtpError {
    this.closed = true;
    return new SmtpConnectionError(
      'ECONNECTION',
      `Connection closed by the server during ${phaseName(phase)}`,
      { phase },
    );
  }

  private timeoutMessage(phase: SmtpPhase, elapsed: number): string {
    const { port, secure } = this.settings;
    let hint = '';
    if (phase === 'greeting' && !secure && port === 465) {
      hint = '; port 465 usually expects implicit TLS: set secure: true';
    } else if (phase === 'greeting' && !secure) {
      hint =
        '; a silent server after connect often means the port expects implicit TLS (secure: true)';
    } else if (phase === 'greeting' && secure && (port === 587 || port === 25)) {
      hint = `; port ${port} usually expects STARTTLS: set secure: false`;
    }
    return `Timed out after ${elapsed} ms waiting for the ${phaseName(phase)}${hint}`;
  }

  // ---- closing -------------------------------------------------------------

  /** Send QUIT when the server still listens, read its reply briefly, then close. */
  async quit(): Promise<void> {
    if (!this.closed && this.socket && this.client.can('QUIT')) {
      try {
        this.client.quit();
        await this.flush(QUIT_TIMEOUT_MS, 'quit');
        // Replies still due from before (a late reply after a timeout) come first.
        for (let waited = 0; waited < 16; waited++) {
          const event = await this.nextEvent('quit', QUIT_TIMEOUT_MS);
          if (event.type !== 'closed' && event.command.awaiting === 'QUIT') break;
        }
      } catch {
        // The result is known already; a missing 221 changes nothing.
      }
    }
    this.close();
  }

  /** Close the socket and record the closed event once. */
  close(): void {
    if (this.socket && !this.closedRecorded) {
      this.closedRecorded = true;
      this.socket.close();
      this.recorder.add('event', 'SMTP Connection closed');
    }
    this.closed = true;
    this.emit();
  }

  private closedRecorded = false;

  /** Record a fact as an event entry. */
  note(text: string): void {
    this.recorder.add('event', text);
    this.emit();
  }

  /** Last transcript lines of this connection, formatted, for an error. */
  transcriptTail(): string[] {
    return this.tail.map((entry) => formatTextLine(entry));
  }

  /** Hand new entries to the sinks and keep the tail for errors. */
  emit(): void {
    const entries = this.recorder.take();
    if (entries.length === 0) return;
    for (const sink of this.sinks) {
      try {
        sink.write(entries);
      } catch {
        // A sink must not break sending; sinks report their own failures.
      }
    }
    this.tail.push(...entries);
    if (this.tail.length > ERROR_TRANSCRIPT_LINES) {
      this.tail.splice(0, this.tail.length - ERROR_TRANSCRIPT_LINES);
    }
  }

  replyError(
    code: SmtpErrorCode,
    phase: SmtpPhase,
    reply: SmtpReply,
    what: string,
  ): SmtpReplyError {
    const command = this.lastCommand ?? undefined;
    return new SmtpReplyError(code, `${what}: ${replyText(reply).replace(/\n/g, ' ')}`, {
      phase,
      reply,
      ...(command === undefined ? {} : { command }),
    });
  }

  /** Command line of the reply being handled, masked; set by the transaction code. */
  lastCommand: string | null = null;

  requireSocket(): SocketLike {
    if (!this.socket) throw new SmtpConnectionError('ECONNECTION', 'Not connected');
    return this.socket;
  }

  /** The injected clock. */
  get clock(): Clock {
    return this.environment.clock;
  }

  now(): number {
    return this.environment.clock.now();
  }
}

/** Return the reply of a reply event; `closed` never gets here because nextEvent throws on it. */
export function replyOf(event: SmtpEvent): SmtpReply {
  if (event.type === 'closed') throw new Error('closed event has no reply');
  return event.reply;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Settled promise for a flush with nothing to write. */
const RESOLVED: Promise<void> = Promise.resolve();

const PHASE_NAMES: Record<SmtpPhase, string> = {
  input: 'input check',
  connect: 'connection',
  tls: 'TLS handshake',
  greeting: 'greeting',
  ehlo: 'reply to EHLO',
  starttls: 'reply to STARTTLS',
  auth: 'reply to AUTH',
  mail: 'reply to MAIL FROM',
  rcpt: 'reply to RCPT TO',
  data: 'reply to DATA',
  message: 'reply to the message data',
  quit: 'reply to QUIT',
};

function phaseName(phase: SmtpPhase): string {
  return PHASE_NAMES[phase];
}
