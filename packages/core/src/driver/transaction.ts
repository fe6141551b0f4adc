/**
 * One mail transaction on an open session: checks against the server's capabilities,
 * MAIL, RCPT for each recipient, DATA and the message, pipelined when the server offers
 * PIPELINING (RFC 2920). Produces the send result or a typed error.
 */
import { hasExtension } from '../capabilities.js';
import type { CommandParameters } from '../commands.js';
import { MAX_MESSAGE_LINE_OCTETS } from '../limits.js';
import { SmtpError, SmtpUsageError } from '../errors.js';
import type { SmtpEvent } from '../events.js';
import { replyText, type SmtpReply } from '../reply.js';
import type { RejectedRecipient, SendResult } from './options.js';
import { parseQueueId } from './queue-id.js';
import { replyOf, type Session } from './session.js';

/** A message ready to send: envelope, body source and what is known about its bytes. */
export interface PreparedMessage {
  from: string;
  to: string[];
  messageId: string | null;
  /** Size in octets when known in advance. */
  size: number | null;
  /** True, false, or null when unknown (a stream). */
  eightBit: boolean | null;
  /** Body chunks in order. */
  chunks: () => AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

const NON_ASCII = /[^\x00-\x7f]/;

/** Run one transaction; the session must be `ready`. */
export async function sendTransaction(
  session: Session,
  message: PreparedMessage,
  settings: { commandTimeout: number; dataTimeout: number; lmtp: boolean },
): Promise<SendResult> {
  const client = session.client;
  const capabilities = client.capabilities;
  const started = session.now();
  const parameters = mailParameters(session, message);

  const pipelining = hasExtension(capabilities, 'PIPELINING');
  const accepted: string[] = [];
  const rejected: RejectedRecipient[] = [];

  client.mailFrom(message.from, parameters);
  session.lastCommand = `MAIL FROM:<${message.from}>`;
  if (!pipelining) {
    await session.flush(settings.commandTimeout, 'mail');
    await expectSender(session, await session.nextEvent('mail', settings.commandTimeout));
  }

  const utf8 = parameters.SMTPUTF8 === true;
  for (const recipient of message.to) {
    client.rcptTo(recipient, utf8 ? {} : {});
    if (!pipelining) {
      await session.flush(settings.commandTimeout, 'rcpt');
      recordRecipient(await session.nextEvent('rcpt', settings.commandTimeout), accepted, rejected);
    }
  }

  if (pipelining) {
    client.data();
    await session.flush(settings.commandTimeout, 'mail');
    const senderEvent = await session.nextEvent('mail', settings.commandTimeout);
    let senderError: SmtpError | null = null;
    try {
      await expectSender(session, senderEvent);
    } catch (error) {
      senderError = error as SmtpError;
    }
    for (let index = 0; index < message.to.length; index++) {
      recordRecipient(await session.nextEvent('rcpt', settings.commandTimeout), accepted, rejected);
    }
    const dataEvent = await session.nextEvent('data', settings.commandTimeout);
    if (senderError) throw senderError;
    if (dataEvent.type === 'data-ready' && accepted.length === 0) {
      // RFC 2920 §3.1: DATA was accepted although no recipient was; end it without content.
      client.endBody();
      await session.flush(settings.dataTimeout, 'message');
      await session.nextEvent('message', settings.dataTimeout);
    }
    if (accepted.length === 0) throw noRecipientError(rejected);
    if (dataEvent.type !== 'data-ready') {
      throw withRecipients(
        session.replyError('EENVELOPE', 'data', replyOf(dataEvent), 'DATA rejected'),
        accepted,
        rejected,
      );
    }
  } else {
    if (accepted.length === 0) throw noRecipientError(rejected);
    client.data();
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
  session.timings.envelope = session.now() - started;

  const dataStarted = session.now();
  await streamBody(session, message, settings.dataTimeout);
  client.endBody(settings.lmtp ? accepted : undefined);
  session.lastCommand = '.';
  await session.flush(settings.dataTimeout, 'message');
  session.timings.data = session.now() - dataStarted;

  const replyStarted = session.now();
  const result = await readFinalReplies(session, settings, accepted, rejected);
  session.timings.finalReply = session.now() - replyStarted;
  session.messages += 1;
  return { ...result, messageId: message.messageId, timings: { ...session.timings } };
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

  const internationalised = [message.from, ...message.to].some((address) => NON_ASCII.test(address));
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
  return parameters;
}

function eightBitMessage(reason: string): string {
  return (
    `Message has 8-bit content but ${reason} (RFC 6152): encode the body as ` +
    'quoted-printable or base64, or let the library compose the message'
  );
}

/** Raise a local error before MAIL, recorded as an event so the log shows why. */
function refuse(session: Session, message: string, code: 'EMESSAGE' | 'EENVELOPE' = 'EMESSAGE'): SmtpError {
  session.note(`Message rejected before MAIL FROM: ${message}`);
  const error = new SmtpError(code, message, { phase: 'input', retryable: false });
  return error;
}

async function expectSender(session: Session, event: SmtpEvent): Promise<void> {
  if (event.type === 'sender-accepted') return;
  throw session.replyError('EENVELOPE', 'mail', replyOf(event), 'Sender rejected');
}

function recordRecipient(event: SmtpEvent, accepted: string[], rejected: RejectedRecipient[]): void {
  if (event.type === 'recipient-accepted') {
    accepted.push(event.recipient);
    return;
  }
  if (event.type === 'recipient-rejected') {
    rejected.push(rejection(event.recipient, event.reply));
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
    error.response = first.response.split('\n');
    error.temporary = first.code < 500;
    error.retryable = error.temporary;
    error.command = `RCPT TO:<${first.recipient}>`;
  }
  error.rejected = rejected;
  return error;
}

function withRecipients(error: SmtpError, accepted: string[], rejected: RejectedRecipient[]): SmtpError {
  error.accepted = [...accepted];
  error.rejected = [...rejected];
  return error;
}

async function streamBody(session: Session, message: PreparedMessage, timeoutMs: number): Promise<void> {
  const client = session.client;
  for await (const chunk of message.chunks()) {
    client.sendBody(chunk);
    await session.flush(timeoutMs, 'message');
  }
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
      const recipient = event.type === 'message-accepted' || event.type === 'message-rejected'
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
    throw withRecipients(session.replyError('EMESSAGE', 'message', reply, 'Message rejected'), [], rejected);
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
