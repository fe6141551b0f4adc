/**
 * One mail transaction on an open session: checks against the server's capabilities,
 * MAIL, RCPT for each recipient, DATA and the message, pipelined when the server offers
 * PIPELINING (RFC 2920). Produces the send result or a typed error.
 */
import { concatBytes } from '../bytes.js';
import { hasExtension } from '../capabilities.js';
import { type CommandParameters, encodeXtext } from '../commands.js';
import { DataEncoder } from '../data-encoder.js';
import { SmtpConnectionError, SmtpError, SmtpReplyError, SmtpUsageError } from '../errors.js';
import type { SmtpEvent } from '../events.js';
import { MAX_MESSAGE_LINE_OCTETS } from '../limits.js';
import { parseEnhancedCode, replyText, type SmtpReply } from '../reply.js';
import type { DeliveryOptions, RejectedRecipient, SendResult } from './options.js';
import { parseQueueId } from './queue-id.js';
import { replyOf, type Session } from './session.js';
import { eightBitProblem, overlongLineProblem, SourceError } from './stream-check.js';
import { STILL_PENDING, settledWithin } from './timing.js';

/** A message ready to send: envelope, body source and what is known about its bytes. */
export interface PreparedMessage {
  from: string;
  to: string[];
  messageId: string | null;
  /** Size in octets when known in advance. */
  size: number | null;
  /** True, false, or null when unknown (a stream). */
  eightBit: boolean | null;
  /** True when the message contains NUL octets (BINARYMIME with BDAT only). */
  nul: boolean;
  /** Body chunks in order. */
  chunks: () => AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  delivery: DeliveryOptions;
}

/** Transaction settings taken from the transporter options. */
export interface TransactionSettings {
  commandTimeout: number;
  dataTimeout: number;
  lmtp: boolean;
  chunking: boolean;
}

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Octets of encoded body gathered before a write. Fewer, larger writes cost less CPU per
 * megabyte on Node: before this gathering, `bench/probes/send-in-process.mjs` measured about a
 * fifth less CPU for a 100 MiB message in 256 KiB chunks than in 64 KiB ones.
 */
const BODY_WRITE_BYTES = 256 * 1024;

/** Milliseconds gathered body bytes wait for the next chunk of a slow source. */
const BODY_WRITE_DELAY_MS = 200;

/** Bytes per BDAT chunk; large enough that the command line costs nothing. */
const BDAT_CHUNK_BYTES = 256 * 1024;

/**
 * Run one transaction; the session must be `ready`. With `reset`, RSET goes first
 * (pipelined with the envelope when the server offers PIPELINING).
 */
export async function sendTransaction(
  session: Session,
  message: PreparedMessage,
  settings: TransactionSettings,
  reset = false,
): Promise<SendResult> {
  const finish = await beginTransaction(session, message, settings, reset);
  return finish();
}

/**
 * Send one message up to and including the end of its data, and return the function that
 * reads the final reply. With PIPELINING a pool starts the next message before calling it:
 * that message's envelope goes out right after the end of data (RFC 2920 §3.1), and
 * `beforeReplies` reads the previous final reply, which comes first on the wire.
 */
export async function beginTransaction(
  session: Session,
  message: PreparedMessage,
  settings: TransactionSettings,
  reset = false,
  beforeReplies?: () => Promise<void>,
): Promise<() => Promise<SendResult>> {
  const client = session.client;
  const capabilities = client.capabilities;
  const started = session.now();
  const mail = mailParameters(session, message);
  const chunking = settings.chunking && !settings.lmtp && hasExtension(capabilities, 'CHUNKING');
  if (message.nul && !(chunking && hasExtension(capabilities, 'BINARYMIME'))) {
    throw refuse(session, 'Message contains NUL octets, which only BDAT with BINARYMIME can carry');
  }
  if (message.nul) mail.BODY = 'BINARYMIME';

  const pipelining = hasExtension(capabilities, 'PIPELINING');
  const accepted: string[] = [];
  const rejected: RejectedRecipient[] = [];
  const dsn = hasExtension(capabilities, 'DSN') ? message.delivery.dsn : undefined;
  if (message.delivery.dsn && !dsn) {
    session.note('The server does not offer DSN; delivery notification requests are left out');
  }

  if (reset) {
    client.rset();
    if (!pipelining) {
      await beforeReplies?.();
      await session.flush(settings.commandTimeout, 'mail');
      await expectReset(session, settings.commandTimeout);
    }
  }
  client.mailFrom(message.from, { ...mail, ...dsnMailParameters(dsn) });
  session.lastCommand = `MAIL FROM:<${message.from}>`;
  if (!pipelining) {
    await session.flush(settings.commandTimeout, 'mail');
    if (!reset) await beforeReplies?.();
    expectSender(session, await session.nextEvent('mail', settings.commandTimeout));
  }

  for (const recipient of message.to) {
    client.rcptTo(recipient, dsnRecipientParameters(dsn, recipient));
    if (!pipelining) {
      await session.flush(settings.commandTimeout, 'rcpt');
      const event = await session.nextEvent('rcpt', settings.commandTimeout);
      recordRecipient(session, event, accepted, rejected);
    }
  }

  if (pipelining) {
    await readPipelinedEnvelope(session, message, settings, {
      reset,
      chunking,
      accepted,
      rejected,
      beforeReplies,
    });
  } else {
    if (accepted.length === 0) throw noRecipientError(rejected);
    if (!chunking) await openData(session, settings, accepted, rejected);
  }
  session.timings.envelope = session.now() - started;

  const dataStarted = session.now();
  if (chunking) {
    await sendChunks(session, message, settings, pipelining);
  } else {
    await streamBody(session, message, settings.dataTimeout);
    client.endBody(settings.lmtp ? accepted : undefined);
    session.lastCommand = '.';
    await session.flush(settings.dataTimeout, 'message');
  }
  session.timings.data = session.now() - dataStarted;
  session.messages += 1;

  return async () => {
    session.lastCommand = '.';
    const replyStarted = session.now();
    const result = await readFinalReplies(session, settings, accepted, rejected);
    session.timings.finalReply = session.now() - replyStarted;
    return { ...result, messageId: message.messageId, timings: { ...session.timings } };
  };
}

/** Write the pipelined envelope (and DATA) at once, then read every reply in order. */
async function readPipelinedEnvelope(
  session: Session,
  message: PreparedMessage,
  settings: TransactionSettings,
  state: {
    reset: boolean;
    chunking: boolean;
    accepted: string[];
    rejected: RejectedRecipient[];
    beforeReplies?: (() => Promise<void>) | undefined;
  },
): Promise<void> {
  const { accepted, rejected } = state;
  // RFC 2920 §3.1: DATA may close the group; BDAT waits until a recipient is accepted.
  if (!state.chunking) session.client.data();
  await session.flush(settings.commandTimeout, 'mail');
  await state.beforeReplies?.();

  if (state.reset) await expectReset(session, settings.commandTimeout);
  let senderError: SmtpError | null = null;
  try {
    expectSender(session, await session.nextEvent('mail', settings.commandTimeout));
  } catch (error) {
    // Only a negative reply leaves the other replies to read. After 421 (RFC 5321 §3.8), a
    // close or a timeout, no more replies will come.
    const negativeReply = error instanceof SmtpReplyError && error.responseCode !== 421;
    if (!negativeReply) throw error;
    senderError = error;
  }
  for (let index = 0; index < message.to.length; index++) {
    const event = await session.nextEvent('rcpt', settings.commandTimeout);
    recordRecipient(session, event, accepted, rejected);
  }
  if (state.chunking) {
    if (senderError) throw senderError;
    if (accepted.length === 0) throw noRecipientError(rejected);
    return;
  }

  const dataEvent = await session.nextEvent('data', settings.commandTimeout);
  if (dataEvent.type === 'data-ready' && (senderError || accepted.length === 0)) {
    // RFC 2920 §3.1: DATA was accepted although the envelope failed; end it empty.
    session.client.endBody();
    await session.flush(settings.dataTimeout, 'message');
    await session.nextEvent('message', settings.dataTimeout);
  }
  if (senderError) throw senderError;
  if (accepted.length === 0) throw noRecipientError(rejected);
  if (dataEvent.type !== 'data-ready') {
    throw withRecipients(
      session.replyError('EENVELOPE', 'data', replyOf(dataEvent), 'DATA rejected'),
      accepted,
      rejected,
    );
  }
}

async function openData(
  session: Session,
  settings: TransactionSettings,
  accepted: string[],
  rejected: RejectedRecipient[],
): Promise<void> {
  session.client.data();
  session.lastCommand = 'DATA';
  await session.flush(settings.commandTimeout, 'data');
  const dataEvent = await session.nextEvent('data', settings.commandTimeout);
  if (dataEvent.type !== 'data-ready') {
    throw withRecipients(
      session.replyError('EENVELOPE', 'data', replyOf(dataEvent), 'DATA rejected'),
      accepted,
      rejected,
    );
  }
}

/**
 * Send the message with BDAT (RFC 3030): line ends normalised, no dot-stuffing, one chunk
 * held back so the last one can carry LAST. Replies to chunks are read as they arrive
 * when pipelining, else after each chunk.
 */
async function sendChunks(
  session: Session,
  message: PreparedMessage,
  settings: TransactionSettings,
  pipelining: boolean,
): Promise<void> {
  const client = session.client;
  const encoder = new DataEncoder({ dotStuff: false });
  let heldSlice: Uint8Array | null = null;
  let awaitingChunks = 0;

  const send = async (chunk: Uint8Array, last: boolean): Promise<void> => {
    client.bdat(chunk, last);
    session.lastCommand = `BDAT ${chunk.length}${last ? ' LAST' : ''}`;
    await session.flush(settings.dataTimeout, 'message');
    if (last) return;
    awaitingChunks += 1;
    if (!pipelining) {
      await expectChunk(session, settings);
      awaitingChunks -= 1;
    }
  };

  const limits = streamLimits(session, message);
  try {
    for await (const input of bdatSlices(message.chunks())) {
      const eightBit = limits.eightBit ? eightBitProblem(input) : null;
      if (eightBit) throw abortStream(session, eightBit);
      const encoded = encoder.encode(input);
      if (encoder.longestLineLength > limits.lineLength) {
        const longest = encoder.longestLine();
        throw abortStream(session, overlongLineProblem(longest.line, longest.length));
      }
      // The encoder may return a view of its input; copy before holding it back.
      const chunk = encoded === input ? encoded.slice() : encoded;
      if (heldSlice) await send(heldSlice, false);
      heldSlice = chunk;
    }
  } catch (error) {
    if (error instanceof SourceError) throw sourceFailure(session, error.original);
    throw error;
  }
  const tail = encoder.end();
  const last = heldSlice ? concatBytes([heldSlice, tail]) : tail;
  await send(last, true);
  for (; awaitingChunks > 0; awaitingChunks--) await expectChunk(session, settings);
  session.note(`Message data sent with BDAT: ${encoder.bytesOut} bytes, ${encoder.lines} lines`);
}

async function expectChunk(session: Session, settings: TransactionSettings): Promise<void> {
  const event = await session.nextEvent('message', settings.dataTimeout);
  if (event.type !== 'chunk-accepted') {
    throw session.replyError('EMESSAGE', 'message', replyOf(event), 'Message rejected');
  }
}

/** Gather the message's chunks into slices of at least `BDAT_CHUNK_BYTES`. */
async function* bdatSlices(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncIterable<Uint8Array> {
  let pending: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    pending.push(chunk);
    size += chunk.length;
    if (size >= BDAT_CHUNK_BYTES) {
      yield pending.length === 1 ? pending[0]! : concatBytes(pending);
      pending = [];
      size = 0;
    }
  }
  if (pending.length > 0) yield pending.length === 1 ? pending[0]! : concatBytes(pending);
}

/** MAIL parameters for DSN (RFC 3461 §4.3, §4.4). */
function dsnMailParameters(dsn: DeliveryOptions['dsn']): CommandParameters {
  if (!dsn) return {};
  const parameters: CommandParameters = {};
  if (dsn.ret) parameters.RET = dsn.ret;
  if (dsn.envid) parameters.ENVID = encodeXtext(dsn.envid);
  return parameters;
}

/** RCPT parameters for DSN (RFC 3461 §4.1, §4.2). */
function dsnRecipientParameters(dsn: DeliveryOptions['dsn'], recipient: string): CommandParameters {
  if (!dsn) return {};
  const parameters: CommandParameters = {};
  if (dsn.notify) parameters.NOTIFY = dsn.notify === 'NEVER' ? 'NEVER' : dsn.notify.join(',');
  if (dsn.orcpt) parameters.ORCPT = `rfc822;${encodeXtext(recipient)}`;
  return parameters;
}

/** MAIL FROM parameters, and the checks that must pass before MAIL is sent. */
function mailParameters(session: Session, message: PreparedMessage): CommandParameters {
  const capabilities = session.client.capabilities;
  const parameters: CommandParameters = {};
  if (!capabilities?.esmtp) {
    if (message.eightBit) throw refuse(session, eightBitMessage('the server did not accept EHLO'));
    return parameters;
  }

  if (message.size !== null && capabilities.maxSize > 0 && message.size > capabilities.maxSize) {
    throw refuse(
      session,
      `Message too large: ${message.size} octets, but the server accepts at most ` +
        `${capabilities.maxSize} octets (SIZE)`,
    );
  }
  if (message.size !== null && hasExtension(capabilities, 'SIZE')) parameters.SIZE = message.size;

  if (message.eightBit !== false && hasExtension(capabilities, '8BITMIME')) {
    parameters.BODY = '8BITMIME';
  } else if (message.eightBit) {
    throw refuse(session, eightBitMessage('the server does not offer 8BITMIME'));
  }

  const internationalised = [message.from, ...message.to].some((address) =>
    NON_ASCII.test(address),
  );
  if (internationalised) {
    if (!hasExtension(capabilities, 'SMTPUTF8')) {
      throw refuse(
        session,
        'Non-ASCII address: the server does not offer SMTPUTF8 (RFC 6531), so it cannot ' +
          'take internationalised addresses; use an ASCII or punycode address',
        'EENVELOPE',
      );
    }
    parameters.SMTPUTF8 = true;
  }

  if (message.delivery.requireTls) {
    if (!session.client.secure || !hasExtension(capabilities, 'REQUIRETLS')) {
      const reason = session.client.secure
        ? 'the server does not offer REQUIRETLS'
        : 'the connection is not encrypted';
      session.note(
        `Message rejected before the transaction started: REQUIRETLS requested but ${reason}`,
      );
      throw new SmtpConnectionError(
        'ETLS',
        `REQUIRETLS requested but ${reason} (RFC 8689 §4.1): the message was not sent`,
        { phase: 'mail', retryable: false },
      );
    }
    parameters.REQUIRETLS = true;
  }
  return parameters;
}

function eightBitMessage(reason: string): string {
  return (
    `Message has 8-bit content but ${reason} (RFC 6152): encode the body as ` +
    'quoted-printable or base64, or let the library compose the message'
  );
}

/** Raise a local error before MAIL, recorded as an event so the log shows why. */
function refuse(
  session: Session,
  message: string,
  code: 'EMESSAGE' | 'EENVELOPE' = 'EMESSAGE',
): SmtpError {
  session.note(`Message rejected before the transaction started: ${message}`);
  const error = new SmtpError(code, message, { phase: 'input', retryable: false });
  return error;
}

/**
 * Read the reply to RSET. Other negative replies change nothing, but after 421 the server
 * closes the channel (RFC 5321 §3.8), so the message needs another connection.
 */
async function expectReset(session: Session, timeoutMs: number): Promise<void> {
  const reply = replyOf(await session.nextEvent('mail', timeoutMs));
  if (reply.code !== 421) return;
  const error = session.replyError('ECONNECTION', 'mail', reply, 'Connection closed after RSET');
  error.command = 'RSET';
  throw error;
}

function expectSender(session: Session, event: SmtpEvent): void {
  if (event.type === 'sender-accepted') return;
  throw session.replyError('EENVELOPE', 'mail', replyOf(event), 'Sender rejected');
}

function recordRecipient(
  session: Session,
  event: SmtpEvent,
  accepted: string[],
  rejected: RejectedRecipient[],
): void {
  if (event.type === 'recipient-accepted') {
    accepted.push(event.recipient);
    return;
  }
  if (event.type === 'recipient-rejected') {
    rejected.push(rejection(event.recipient, event.reply));
    // RFC 5321 §3.8: after 421 the server closes the channel, so no RCPT or DATA may follow.
    if (event.reply.code === 421) {
      const error = session.replyError('EENVELOPE', 'rcpt', event.reply, 'Recipient rejected');
      error.command = `RCPT TO:<${event.recipient}>`;
      throw withRecipients(error, accepted, rejected);
    }
    return;
  }
  throw new SmtpError('EPROTOCOL', `Unexpected ${event.type} while reading RCPT replies`);
}

function rejection(recipient: string, reply: SmtpReply): RejectedRecipient {
  return {
    recipient,
    code: reply.code,
    enhancedCode: reply.enhancedCode,
    response: replyText(reply),
  };
}

function noRecipientError(rejected: RejectedRecipient[]): SmtpError {
  const first = rejected[0];
  const summary = rejected.map((entry) => `${entry.recipient} (${entry.code})`).join(', ');
  const error = new SmtpError('EENVELOPE', `No recipient accepted: ${summary || 'none given'}`, {
    phase: 'rcpt',
  });
  if (first) {
    error.responseCode = first.code;
    error.enhancedCode = first.enhancedCode;
    error.enhancedStatus =
      first.enhancedCode === null ? null : parseEnhancedCode(first.enhancedCode);
    error.response = first.response.split('\n');
    error.temporary = first.code < 500;
    error.retryable = error.temporary;
    error.command = `RCPT TO:<${first.recipient}>`;
  }
  error.rejected = rejected;
  return error;
}

function withRecipients(
  error: SmtpError,
  accepted: string[],
  rejected: RejectedRecipient[],
): SmtpError {
  error.accepted = [...accepted];
  error.rejected = [...rejected];
  return error;
}

/**
 * What to check on each chunk of a message: only a streamed one, whose size and content were
 * unknown before MAIL, needs checks, for 8-bit octets without 8BITMIME and for long lines.
 */
function streamLimits(
  session: Session,
  message: PreparedMessage,
): { eightBit: boolean; lineLength: number } {
  if (message.size !== null) return { eightBit: false, lineLength: Number.POSITIVE_INFINITY };
  const capabilities = session.client.capabilities;
  const eightBitOffered =
    hasExtension(capabilities, '8BITMIME') || hasExtension(capabilities, 'BINARYMIME');
  return { eightBit: !eightBitOffered, lineLength: MAX_MESSAGE_LINE_OCTETS };
}

/**
 * Close the connection after the message source failed in the middle of the data, and return
 * the error for the caller: the source's own `SmtpError`, or one that wraps what it threw.
 */
function sourceFailure(session: Session, error: unknown): SmtpError {
  const reason = error instanceof Error ? error.message : String(error);
  session.note(
    `Message source failed while sending: ${reason}. The connection is closed without ending ` +
      'the data, so the server discards the message',
  );
  session.close();
  if (error instanceof SmtpError) return error;
  return new SmtpError('EMESSAGE', `Message source failed: ${reason}`, {
    phase: 'message',
    retryable: false,
    cause: error,
  });
}

/** Close the connection in the middle of the data, so the server discards the message. */
function abortStream(session: Session, problem: string): SmtpError {
  session.note(
    `Message rejected while sending: ${problem}. The connection is closed without ending ` +
      'the data, so the server discards the message',
  );
  session.close();
  return new SmtpError('EMESSAGE', `Invalid message: ${problem}`, {
    phase: 'message',
    retryable: false,
  });
}

/**
 * Send the body in writes of at least `BODY_WRITE_BYTES`, with the encoded chunks gathered
 * in the connection's body buffer. Whatever is left when the chunks end goes out with the
 * end of data, so a small message takes a single write. A streamed message, whose size and
 * content were unknown before MAIL, is checked chunk by chunk before any of it is written:
 * 8-bit octets without 8BITMIME, and lines over the RFC 5322 limit, which the encoder
 * measures as it goes.
 */
async function streamBody(
  session: Session,
  message: PreparedMessage,
  timeoutMs: number,
): Promise<void> {
  const client = session.client;
  const chunks = message.chunks();
  if (Symbol.asyncIterator in chunks) {
    const limits = streamLimits(session, message);
    const iterator = chunks[Symbol.asyncIterator]();
    let finished = false;
    try {
      for (;;) {
        let result: IteratorResult<Uint8Array>;
        try {
          result = await nextChunk(session, iterator, timeoutMs);
        } catch (error) {
          if (error instanceof SourceError) throw sourceFailure(session, error.original);
          throw error;
        }
        if (result.done) break;
        const chunk = result.value;
        const eightBit = limits.eightBit ? eightBitProblem(chunk) : null;
        if (eightBit) throw abortStream(session, eightBit);
        const overlong = client.sendBody(chunk, limits.lineLength);
        if (overlong)
          throw abortStream(session, overlongLineProblem(overlong.line, overlong.length));
        if (client.pendingBytes >= BODY_WRITE_BYTES) await session.flush(timeoutMs, 'message');
      }
      finished = true;
    } finally {
      // Like `for await`, tell a source that is left early to clean up.
      if (!finished) await iterator.return?.();
    }
    return;
  }
  for (const chunk of chunks) {
    client.sendBody(chunk);
    if (client.pendingBytes >= BODY_WRITE_BYTES) await session.flush(timeoutMs, 'message');
  }
}

/**
 * Take the next chunk from the source. While encoded bytes wait in the body buffer, a source
 * that takes longer than `BODY_WRITE_DELAY_MS` gets them written first, so gathering never
 * delays data for the server while the source is slow.
 */
async function nextChunk(
  session: Session,
  iterator: AsyncIterator<Uint8Array>,
  timeoutMs: number,
): Promise<IteratorResult<Uint8Array>> {
  const next = iterator.next();
  // A flush below may fail first; the source's own failure then needs no handler.
  next.catch(() => {});
  if (session.client.pendingBytes === 0) return next;
  const early = await settledWithin(session.clock, next, BODY_WRITE_DELAY_MS);
  if (early !== STILL_PENDING) return early;
  await session.flush(timeoutMs, 'message');
  return next;
}

async function readFinalReplies(
  session: Session,
  settings: { dataTimeout: number; lmtp: boolean },
  accepted: string[],
  rejected: RejectedRecipient[],
): Promise<Omit<SendResult, 'messageId' | 'timings'>> {
  if (settings.lmtp) {
    const delivered: string[] = [];
    let last: SmtpReply | null = null;
    for (let index = 0; index < accepted.length; index++) {
      const event = await session.nextEvent('message', settings.dataTimeout);
      const reply = replyOf(event);
      last = reply;
      const recipient =
        event.type === 'message-accepted' || event.type === 'message-rejected'
          ? (event.recipient ?? accepted[index]!)
          : accepted[index]!;
      if (event.type === 'message-accepted') delivered.push(recipient);
      else rejected.push(rejection(recipient, reply));
    }
    if (delivered.length === 0 && last) {
      throw withRecipients(
        session.replyError('EMESSAGE', 'message', last, 'Message rejected'),
        [],
        rejected,
      );
    }
    const text = last ? replyText(last) : '';
    return { accepted: delivered, rejected, response: text, queueId: parseQueueId(text) };
  }

  const event = await session.nextEvent('message', settings.dataTimeout);
  const reply = replyOf(event);
  if (event.type !== 'message-accepted') {
    throw withRecipients(
      session.replyError('EMESSAGE', 'message', reply, 'Message rejected'),
      [],
      rejected,
    );
  }
  const text = replyText(reply);
  return { accepted, rejected, response: text, queueId: parseQueueId(text) };
}

/** Refuse a message with a line over the RFC 5322 limit; raw messages are never rewritten. */
export function checkLineLength(maxLineLength: number, maxLine: number): void {
  if (maxLineLength > MAX_MESSAGE_LINE_OCTETS) {
    throw new SmtpUsageError(
      `Invalid message: line ${maxLine} is ${maxLineLength} octets long, over the ` +
        `${MAX_MESSAGE_LINE_OCTETS}-octet limit of RFC 5322 §2.1.1. Raw messages are sent ` +
        'unchanged, so fold or encode that line before sending',
    );
  }
}
