/**
 * Events the protocol object emits: one per server reply, named for what it means given
 * the command it replies to. Plain data, so tests can compare them.
 */
import type { Capabilities } from './capabilities.js';
import type { SmtpReply } from './reply.js';

/** The step a reply belongs to: a command verb, the greeting, a SASL step or the end of data. */
export type AwaitedReply =
  | 'greeting'
  | 'EHLO'
  | 'HELO'
  | 'LHLO'
  | 'STARTTLS'
  | 'AUTH'
  | 'AUTH-RESPONSE'
  | 'MAIL'
  | 'RCPT'
  | 'DATA'
  | 'DATA-END'
  | 'BDAT'
  | 'RSET'
  | 'NOOP'
  | 'QUIT';

/** A command waiting for its reply, as a plain record so the queue can be printed. */
export interface PendingCommand {
  awaiting: AwaitedReply;
  /** The command line as logged (credentials masked); empty for the greeting. */
  line: string;
  /** Recipient address for RCPT (and for each LMTP reply after the data). */
  recipient?: string;
}

interface ReplyEventBase {
  reply: SmtpReply;
  command: PendingCommand;
}

export interface GreetingEvent extends ReplyEventBase {
  type: 'greeting' | 'greeting-rejected';
}
export interface CapabilitiesEvent extends ReplyEventBase {
  type: 'capabilities';
  capabilities: Capabilities;
}
export interface RecipientEvent extends ReplyEventBase {
  type: 'recipient-accepted' | 'recipient-rejected';
  recipient: string;
}
export interface MessageEvent extends ReplyEventBase {
  type: 'message-accepted' | 'message-rejected';
  /** Set for LMTP, which replies once per recipient after the data. */
  recipient?: string;
}
export interface PlainReplyEvent extends ReplyEventBase {
  type:
    | 'ehlo-rejected'
    | 'tls-ready'
    | 'tls-rejected'
    | 'auth-challenge'
    | 'authenticated'
    | 'auth-rejected'
    | 'sender-accepted'
    | 'sender-rejected'
    | 'data-ready'
    | 'data-rejected'
    | 'chunk-accepted'
    | 'reply';
}

/** The server closed its side of the connection. */
export interface ClosedEvent {
  type: 'closed';
}

export type SmtpEvent =
  | GreetingEvent
  | CapabilitiesEvent
  | RecipientEvent
  | MessageEvent
  | PlainReplyEvent
  | ClosedEvent;

export type SmtpEventType = SmtpEvent['type'];
