/**
 * The client's states and every transition between them, as data. `client.ts` consults
 * these tables and nothing else to decide whether a command is allowed and where a reply
 * leads. This module never touches bytes.
 *
 * Rules:
 * - A command is allowed only where `COMMAND_TRANSITIONS` lists it; the state moves when
 *   the command is sent, so pipelined commands (RFC 2920) chain without waiting.
 * - A reply moves the state only when it answers the last command still awaited; while
 *   pipelined replies are due, the state stays where the last command put it.
 * - 421 closes the session whatever it answers (RFC 5321 §3.8).
 * - A protocol error puts the client in `failed`, and every later call throws.
 */
import type { CommandVerb } from './commands.js';
import type { AwaitedReply, SmtpEventType } from './events.js';

export type ClientState =
  /** Waiting for the server's greeting. */
  | 'greeting'
  /** Greeted, no EHLO accepted yet (also after STARTTLS and after a rejected EHLO). */
  | 'greeted'
  /** The greeting was negative (554): only QUIT is left. */
  | 'refused'
  | 'ehlo-sent'
  /** Between transactions: EHLO done, ready for STARTTLS, AUTH or MAIL. */
  | 'ready'
  | 'tls-requested'
  /** STARTTLS accepted: input is refused until the adapter reports the handshake done. */
  | 'tls-upgrade'
  | 'authenticating'
  | 'mail-sent'
  | 'rcpt-sent'
  | 'data-sent'
  | 'sending-body'
  | 'body-sent'
  | 'quitting'
  /** The server announced it is closing (421) or closed the connection. */
  | 'closing'
  | 'closed'
  | 'failed';

/** Client actions besides command verbs: a SASL response and message data. */
export type ClientAction = CommandVerb | 'AUTH-RESPONSE' | 'BODY' | 'DATA-END';

type CommandTable = Readonly<
  Record<ClientState, Readonly<Partial<Record<ClientAction, ClientState>>>>
>;

const HELLO = { EHLO: 'ehlo-sent', HELO: 'ehlo-sent', LHLO: 'ehlo-sent' } as const;

/** Next state of each allowed client action, by state. */
export const COMMAND_TRANSITIONS: CommandTable = {
  greeting: {},
  greeted: { ...HELLO, NOOP: 'greeted', RSET: 'greeted', QUIT: 'quitting' },
  refused: { QUIT: 'quitting' },
  'ehlo-sent': {},
  ready: {
    ...HELLO,
    STARTTLS: 'tls-requested',
    AUTH: 'authenticating',
    MAIL: 'mail-sent',
    RSET: 'ready',
    NOOP: 'ready',
    QUIT: 'quitting',
  },
  'tls-requested': {},
  'tls-upgrade': {},
  authenticating: { 'AUTH-RESPONSE': 'authenticating' },
  'mail-sent': { RCPT: 'rcpt-sent', RSET: 'ready', QUIT: 'quitting' },
  'rcpt-sent': {
    RCPT: 'rcpt-sent',
    DATA: 'data-sent',
    BDAT: 'sending-body',
    RSET: 'ready',
    QUIT: 'quitting',
  },
  'data-sent': {},
  'sending-body': { BODY: 'sending-body', 'DATA-END': 'body-sent', BDAT: 'sending-body' },
  // RFC 2920 §3.1: with PIPELINING the next envelope may follow the end of data at once.
  'body-sent': { RSET: 'ready', MAIL: 'mail-sent' },
  quitting: {},
  closing: {},
  closed: {},
  failed: {},
};

/** Reply classes: 2xx, 3xx, 4xx, 5xx. */
export type ReplyClass = 2 | 3 | 4 | 5;

interface ReplyRule {
  /** State after the reply, by class; absent means the state does not change. */
  next: Partial<Record<ReplyClass, ClientState>>;
  /** Event type by class; `other` covers every class not listed. */
  events: Partial<Record<ReplyClass, SmtpEventType>> & { other: SmtpEventType };
}

/** Event and next state of each reply, by the command it replies to. */
export const REPLY_TRANSITIONS: Readonly<Record<AwaitedReply, ReplyRule>> = {
  greeting: {
    next: { 2: 'greeted', 4: 'refused', 5: 'refused' },
    events: { 2: 'greeting', other: 'greeting-rejected' },
  },
  EHLO: {
    next: { 2: 'ready', 4: 'greeted', 5: 'greeted' },
    events: { 2: 'capabilities', other: 'ehlo-rejected' },
  },
  HELO: {
    next: { 2: 'ready', 4: 'greeted', 5: 'greeted' },
    events: { 2: 'capabilities', other: 'ehlo-rejected' },
  },
  LHLO: {
    next: { 2: 'ready', 4: 'greeted', 5: 'greeted' },
    events: { 2: 'capabilities', other: 'ehlo-rejected' },
  },
  STARTTLS: {
    next: { 2: 'tls-upgrade', 4: 'ready', 5: 'ready' },
    events: { 2: 'tls-ready', other: 'tls-rejected' },
  },
  AUTH: {
    next: { 2: 'ready', 3: 'authenticating', 4: 'ready', 5: 'ready' },
    events: { 2: 'authenticated', 3: 'auth-challenge', other: 'auth-rejected' },
  },
  'AUTH-RESPONSE': {
    next: { 2: 'ready', 3: 'authenticating', 4: 'ready', 5: 'ready' },
    events: { 2: 'authenticated', 3: 'auth-challenge', other: 'auth-rejected' },
  },
  MAIL: {
    next: { 4: 'ready', 5: 'ready' },
    events: { 2: 'sender-accepted', other: 'sender-rejected' },
  },
  RCPT: {
    next: {},
    events: { 2: 'recipient-accepted', other: 'recipient-rejected' },
  },
  DATA: {
    next: { 3: 'sending-body', 2: 'ready', 4: 'ready', 5: 'ready' },
    events: { 3: 'data-ready', other: 'data-rejected' },
  },
  'DATA-END': {
    next: { 2: 'ready', 4: 'ready', 5: 'ready' },
    events: { 2: 'message-accepted', other: 'message-rejected' },
  },
  BDAT: {
    next: { 4: 'ready', 5: 'ready' },
    events: { 2: 'chunk-accepted', other: 'message-rejected' },
  },
  RSET: { next: {}, events: { other: 'reply' } },
  NOOP: { next: {}, events: { other: 'reply' } },
  QUIT: { next: { 2: 'closed', 4: 'closed', 5: 'closed' }, events: { other: 'reply' } },
};

/** Class of a reply code. */
export const replyClass = (code: number): ReplyClass => Math.floor(code / 100) as ReplyClass;
