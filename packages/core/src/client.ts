/**
 * The SMTP client protocol object: bytes in, events, bytes and transcript entries out.
 * It never awaits, schedules or writes anywhere. Callers feed received bytes with
 * `receive`, call a method per command, send what `takeOutgoing` returns, and read
 * events with `nextEvent` until it returns null (more bytes needed).
 */
import { concatBytes } from './bytes.js';
import { type Capabilities, parseCapabilities, plainSmtpCapabilities } from './capabilities.js';
import {
  type CommandParameters,
  checkAddress,
  checkParameters,
  formatParameters,
} from './commands.js';
import { DataEncoder } from './data-encoder.js';
import type { LogBody } from './driver/options.js';
import { SmtpProtocolError, SmtpUsageError } from './errors.js';
import type { AwaitedReply, PendingCommand, SmtpEvent } from './events.js';
import { MASK } from './limits.js';
import type { SmtpReply } from './reply.js';
import { ReplyParser } from './reply-parser.js';
import {
  type ClientAction,
  type ClientState,
  COMMAND_TRANSITIONS,
  REPLY_TRANSITIONS,
  replyClass,
} from './state.js';
import { BodyLogger } from './transcript/body-logger.js';
import type { TranscriptRecorder } from './transcript/recorder.js';

const encoder = new TextEncoder();

export interface SmtpClientOptions {
  recorder: TranscriptRecorder;
  /** How much of the message body goes into the transcript. Default `none`. */
  logBody?: LogBody;
  /** True when the connection started with TLS (implicit TLS). */
  secure?: boolean;
  /**
   * Encode body chunks into one buffer per connection, which the first `sendBody` after a
   * `takeOutgoing` starts over. Default false. Set it only when the caller waits until the
   * socket has finished with the bytes `takeOutgoing` returned before it calls `sendBody`
   * again. Several `sendBody` calls in a row then leave adjacent bytes, which
   * `takeOutgoing` returns as one array without copying.
   */
  reuseBodyBuffer?: boolean;
}

/** A body line over the limit given to `sendBody`: its length without the line end, and its number. */
export interface OverlongLine {
  length: number;
  line: number;
}

export class SmtpClient {
  private currentState: ClientState = 'greeting';
  private readonly parser = new ReplyParser();
  private readonly pending: PendingCommand[] = [{ awaiting: 'greeting', line: '' }];
  private readonly events: SmtpEvent[] = [];
  private outgoing: Uint8Array[] = [];
  private outgoingBytes = 0;
  /** True once `takeOutgoing` handed out bytes that a reused body buffer may still hold. */
  private bodyTaken = false;
  /** The encoder of the message being sent; null outside a message body. */
  private encoder: DataEncoder | null = null;
  /** The previous message's encoder, kept for its output buffer when that is reused. */
  private spareEncoder: DataEncoder | null = null;
  private readonly reuseBodyBuffer: boolean;
  private bodyLogger: BodyLogger | null = null;
  private bareLineFeedNoted = false;
  private readonly recorder: TranscriptRecorder;
  private readonly logBody: LogBody;
  /** Capabilities from the last EHLO or HELO; null before it and after STARTTLS. */
  capabilities: Capabilities | null = null;
  /** True once the connection is encrypted. */
  secure: boolean;
  /** The failure that put the client in `failed`. */
  failure: Error | null = null;

  constructor(options: SmtpClientOptions) {
    this.recorder = options.recorder;
    this.logBody = options.logBody ?? 'none';
    this.secure = options.secure ?? false;
    this.reuseBodyBuffer = options.reuseBodyBuffer ?? false;
  }

  get state(): ClientState {
    return this.currentState;
  }

  /** Commands still waiting for their replies, oldest first. */
  get awaiting(): readonly PendingCommand[] {
    return this.pending;
  }

  // ---- input ---------------------------------------------------------------

  /** Feed bytes received from the server. Throws a protocol error on malformed input. */
  receive(bytes: Uint8Array): void {
    this.assertUsable();
    if (this.currentState === 'tls-upgrade') {
      // RFC 3207 §6: nothing received between the 220 and the handshake may be used.
      this.recorder.add(
        'event',
        `Discarded ${bytes.length} bytes received before the TLS handshake`,
      );
      return;
    }
    try {
      this.parser.push(bytes);
      for (;;) {
        const reply = this.parser.next();
        if (!reply) break;
        this.handleReply(reply);
        // handleReply may have moved the state; read it through the getter.
        if (this.state === 'tls-upgrade') {
          const dropped = this.parser.reset();
          if (dropped > 0) {
            this.recorder.add(
              'event',
              `Discarded ${dropped} bytes received after the STARTTLS reply`,
            );
          }
          break;
        }
      }
    } catch (error) {
      throw this.fail(error);
    }
    if (this.parser.bareLineFeedSeen && !this.bareLineFeedNoted) {
      this.bareLineFeedNoted = true;
      this.recorder.add(
        'event',
        'Server ends reply lines with a bare LF instead of CRLF; accepted',
      );
    }
  }

  /** Record that the server closed its side. */
  receiveEnd(): void {
    if (this.currentState === 'closed' || this.currentState === 'failed') return;
    this.currentState = 'closed';
    this.events.push({ type: 'closed' });
  }

  /** Record that the adapter finished the TLS handshake after STARTTLS (RFC 3207 §4.2). */
  tlsEstablished(): void {
    this.assertState('tls-upgrade', 'report a finished TLS handshake');
    this.secure = true;
    this.capabilities = null;
    this.currentState = 'greeted';
  }

  /** Take the next event, or null when more bytes are needed. */
  nextEvent(): SmtpEvent | null {
    return this.events.shift() ?? null;
  }

  // ---- commands ------------------------------------------------------------

  ehlo(name: string): void {
    this.command('EHLO', `EHLO ${name}`, 'EHLO');
  }

  helo(name: string): void {
    this.command('HELO', `HELO ${name}`, 'HELO');
  }

  /** LMTP greeting (RFC 2033 §4.1). */
  lhlo(name: string): void {
    this.command('LHLO', `LHLO ${name}`, 'LHLO');
  }

  startTls(): void {
    this.command('STARTTLS', 'STARTTLS', 'STARTTLS');
  }

  /**
   * Start SASL authentication. The initial response (already encoded) is sent on the
   * same line (RFC 4954 §4) and masked in the transcript.
   */
  auth(mechanism: string, initialResponse?: string): void {
    const line =
      initialResponse === undefined ? `AUTH ${mechanism}` : `AUTH ${mechanism} ${initialResponse}`;
    const logged =
      initialResponse === undefined
        ? line
        : `AUTH ${mechanism} ${initialResponse === '=' ? '=' : MASK}`;
    this.command('AUTH', line, 'AUTH', { logged });
  }

  /** Send the response to a 334 challenge, masked unless it is empty or `*` (cancel). */
  authResponse(response: string): void {
    const plain = response === '' || response === '*';
    this.command('AUTH-RESPONSE', response, 'AUTH-RESPONSE', { logged: plain ? response : MASK });
  }

  mailFrom(address: string, parameters: CommandParameters = {}): void {
    checkAddress(address, 'sender address', true);
    checkParameters(parameters, 'MAIL FROM');
    this.command('MAIL', `MAIL FROM:<${address}>${formatParameters(parameters)}`, 'MAIL');
  }

  rcptTo(address: string, parameters: CommandParameters = {}): void {
    checkAddress(address, 'recipient address');
    checkParameters(parameters, 'RCPT TO');
    this.command('RCPT', `RCPT TO:<${address}>${formatParameters(parameters)}`, 'RCPT', {
      recipient: address,
    });
  }

  data(): void {
    this.command('DATA', 'DATA', 'DATA');
  }

  /**
   * Send a chunk of the message after the 354 reply; dot-stuffed and CRLF-normalised.
   * With `maxLineLength`, a chunk that makes a line longer than that is neither queued nor
   * logged, and the over-long line is returned. The caller must then close the connection,
   * because the data cannot be ended without sending part of the message.
   */
  sendBody(chunk: Uint8Array, maxLineLength = Number.POSITIVE_INFINITY): OverlongLine | null {
    this.take('BODY');
    this.encoder ??= this.newEncoder();
    if (this.bodyTaken) {
      this.bodyTaken = false;
      this.encoder.rewind();
    }
    const encoded = this.encoder.encode(chunk);
    if (this.encoder.longestLineLength > maxLineLength) return this.encoder.longestLine();
    if (this.logBody !== 'none') {
      this.bodyLogger ??= new BodyLogger(this.recorder, this.logBody);
      this.bodyLogger.write(chunk);
    }
    this.queue(encoded);
    return null;
  }

  /**
   * End the message with CRLF . CRLF. For LMTP pass the accepted recipients: the server
   * replies once for each (RFC 2033 §4.2).
   */
  endBody(lmtpRecipients?: readonly string[]): void {
    this.take('DATA-END');
    const encoder = this.encoder ?? this.newEncoder();
    this.queue(encoder.end());
    this.bodyLogger?.end();
    this.recorder.add(
      'event',
      `Message data sent: ${encoder.bytesOut} bytes on the wire, ${encoder.lines} lines`,
    );
    this.encoder = null;
    if (this.reuseBodyBuffer) this.spareEncoder = encoder;
    this.bodyLogger = null;

    if (lmtpRecipients && lmtpRecipients.length > 0) {
      for (const recipient of lmtpRecipients) {
        this.pending.push({ awaiting: 'DATA-END', line: '.', recipient });
      }
    } else {
      this.pending.push({ awaiting: 'DATA-END', line: '.' });
    }
  }

  /** Send one BDAT chunk (RFC 3030 §2); the bytes go as they are, without dot-stuffing. */
  bdat(chunk: Uint8Array, last: boolean): void {
    const line = `BDAT ${chunk.length}${last ? ' LAST' : ''}`;
    this.command('BDAT', line, last ? 'DATA-END' : 'BDAT');
    this.queue(chunk);
    if (this.logBody !== 'none') {
      this.bodyLogger ??= new BodyLogger(this.recorder, this.logBody);
      this.bodyLogger.write(chunk);
      if (last) {
        this.bodyLogger.end();
        this.bodyLogger = null;
      }
    }
    this.recorder.add('event', `Chunk of ${chunk.length} bytes sent`);
  }

  rset(): void {
    this.command('RSET', 'RSET', 'RSET');
  }

  noop(): void {
    this.command('NOOP', 'NOOP', 'NOOP');
  }

  quit(): void {
    this.command('QUIT', 'QUIT', 'QUIT');
  }

  /** True when `action` is allowed in the current state. */
  can(action: ClientAction): boolean {
    return COMMAND_TRANSITIONS[this.currentState][action] !== undefined;
  }

  // ---- output --------------------------------------------------------------

  /** Octets queued to send and not yet taken. */
  get pendingBytes(): number {
    return this.outgoingBytes;
  }

  /** Bytes to send, joined into one array, or null when there are none. */
  takeOutgoing(): Uint8Array | null {
    if (this.outgoing.length === 0) return null;
    const chunks = this.outgoing;
    this.outgoing = [];
    this.outgoingBytes = 0;
    this.bodyTaken = true;
    return chunks.length === 1 ? chunks[0]! : (adjacentView(chunks) ?? concatBytes(chunks));
  }

  /** Record an adapter-level fact (connected, TLS details, timeout) as an event entry. */
  note(text: string): void {
    this.recorder.add('event', text);
  }

  /** Move to `failed` after an error outside the protocol object (write failure, timeout). */
  abort(error: Error): void {
    if (this.currentState !== 'failed') this.fail(error);
  }

  // ---- internals -----------------------------------------------------------

  private command(
    action: ClientAction,
    line: string,
    awaiting: AwaitedReply,
    extra: { logged?: string; recipient?: string } = {},
  ): void {
    if (/[\r\n]/.test(line)) {
      throw new SmtpUsageError(`Invalid command: line breaks are not allowed in ${action}`);
    }
    this.take(action);
    const logged = extra.logged ?? line;
    this.recorder.add('client', logged, logged !== line);
    this.queue(encoder.encode(`${line}\r\n`));
    const record: PendingCommand = { awaiting, line: logged };
    if (extra.recipient !== undefined) record.recipient = extra.recipient;
    this.pending.push(record);
  }

  private newEncoder(): DataEncoder {
    const spare = this.spareEncoder;
    if (spare) {
      this.spareEncoder = null;
      spare.reset();
      return spare;
    }
    return new DataEncoder({ reuseOutput: this.reuseBodyBuffer });
  }

  private take(action: ClientAction): void {
    this.assertUsable();
    const next = COMMAND_TRANSITIONS[this.currentState][action];
    if (next === undefined) {
      throw new SmtpUsageError(`Cannot send ${action} in state ${this.currentState}`);
    }
    this.currentState = next;
  }

  private queue(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.outgoing.push(bytes);
    this.outgoingBytes += bytes.length;
  }

  private handleReply(reply: SmtpReply): void {
    for (const line of reply.lines) this.recorder.add('server', line);

    const command = this.pending.shift();
    if (!command) {
      // A 421 may arrive unasked when the server shuts down (RFC 5321 §3.8).
      if (reply.code === 421) {
        this.closing(reply, { awaiting: 'NOOP', line: '' });
        return;
      }
      throw new SmtpProtocolError(
        `Unexpected reply: no command was waiting for "${reply.lines[0]}"`,
      );
    }
    if (reply.code === 421) {
      this.closing(reply, command);
      return;
    }

    const rule = REPLY_TRANSITIONS[command.awaiting];
    const kind = replyClass(reply.code);
    const type = rule.events[kind] ?? rule.events.other;
    if (this.pending.length === 0) {
      const next = rule.next[kind];
      if (next !== undefined) this.currentState = next;
    }

    if (type === 'capabilities') {
      this.capabilities =
        command.awaiting === 'HELO' ? plainSmtpCapabilities() : parseCapabilities(reply);
      this.events.push({ type, reply, command, capabilities: this.capabilities });
    } else if (type === 'recipient-accepted' || type === 'recipient-rejected') {
      this.events.push({ type, reply, command, recipient: command.recipient ?? '' });
    } else if (type === 'message-accepted' || type === 'message-rejected') {
      const event: SmtpEvent = { type, reply, command };
      if (command.recipient !== undefined) event.recipient = command.recipient;
      this.events.push(event);
    } else {
      this.events.push({ type, reply, command } as SmtpEvent);
    }
  }

  /** 421: the server is closing the channel; whatever was awaited will not come. */
  private closing(reply: SmtpReply, command: PendingCommand): void {
    this.pending.length = 0;
    this.currentState = 'closing';
    const rule = REPLY_TRANSITIONS[command.awaiting];
    const type = rule.events[4] ?? rule.events.other;
    if (type === 'recipient-rejected') {
      this.events.push({ type, reply, command, recipient: command.recipient ?? '' });
    } else {
      this.events.push({ type, reply, command } as SmtpEvent);
    }
  }

  private fail(error: unknown): Error {
    const failure = error instanceof Error ? error : new SmtpProtocolError(String(error));
    this.failure = failure;
    this.currentState = 'failed';
    this.pending.length = 0;
    return failure;
  }

  private assertUsable(): void {
    if (this.currentState === 'failed') {
      throw new SmtpUsageError(
        `Cannot use a failed connection: ${this.failure?.message ?? 'unknown error'}`,
      );
    }
  }

  private assertState(expected: ClientState, action: string): void {
    if (this.currentState !== expected) {
      throw new SmtpUsageError(`Cannot ${action} in state ${this.currentState}`);
    }
  }
}

/** Return one view over `chunks` when they follow each other in one buffer, else null. */
function adjacentView(chunks: readonly Uint8Array[]): Uint8Array | null {
  const first = chunks[0]!;
  let end = first.byteOffset + first.length;
  for (let index = 1; index < chunks.length; index++) {
    const chunk = chunks[index]!;
    if (chunk.buffer !== first.buffer || chunk.byteOffset !== end) return null;
    end += chunk.length;
  }
  return new Uint8Array(first.buffer, first.byteOffset, end - first.byteOffset);
}
