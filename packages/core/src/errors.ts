/**
 * One error hierarchy for the whole client. Core throws usage and protocol errors itself;
 * the driver turns negative replies, connection failures and timeouts into the others.
 * Messages say what failed, a colon, then the context; they never contain a credential.
 */
import type { EnhancedStatusCode, SmtpReply } from './reply.js';

/** Stable codes, shared with nodemailer where the meaning matches. */
export type SmtpErrorCode =
  | 'EAUTH'
  | 'EENVELOPE'
  | 'EMESSAGE'
  | 'ETIMEDOUT'
  | 'ETLS'
  | 'ECONNECTION'
  | 'EPROTOCOL'
  | 'EINPUT';

/** Step of a session in which an error happened. */
export type SmtpPhase =
  | 'input'
  | 'connect'
  | 'tls'
  | 'greeting'
  | 'ehlo'
  | 'starttls'
  | 'auth'
  | 'mail'
  | 'rcpt'
  | 'data'
  | 'message'
  | 'quit';

/** Details an error can carry. */
export interface SmtpErrorDetails {
  phase?: SmtpPhase;
  /** The command that got the reply, masked like the transcript. */
  command?: string;
  reply?: SmtpReply;
  cause?: unknown;
  /** Whether trying again later can help. Defaults from the reply code or the error kind. */
  retryable?: boolean;
}

const ERROR_NAMES = new Set([
  'SmtpError',
  'SmtpUsageError',
  'SmtpProtocolError',
  'SmtpReplyError',
  'SmtpConnectionError',
  'SmtpTimeoutError',
]);

/** Base class of every error the client raises. */
export class SmtpError extends Error {
  override name = 'SmtpError';
  readonly code: SmtpErrorCode;
  phase: SmtpPhase | undefined;
  command: string | undefined;
  /** Three-digit code of the reply that caused the error, or null. */
  responseCode: number | null;
  /** RFC 3463 code of that reply, for example `5.7.8`, or null. */
  enhancedCode: string | null;
  /** The same code split into class, subject and detail, or null. */
  enhancedStatus: EnhancedStatusCode | null;
  /** Every line of that reply, or an empty array. */
  response: string[];
  /** True for a 4xx reply: the same request may succeed later. */
  temporary: boolean;
  /** Whether trying again later can help. */
  retryable: boolean;
  /** The last transcript lines of the connection, masked, set by the driver. */
  transcript: string[] = [];
  /** Recipients the server accepted before the failure. */
  accepted: string[] = [];
  /** Recipients the server refused before the failure. */
  rejected: Array<{
    recipient: string;
    code: number;
    enhancedCode: string | null;
    response: string;
  }> = [];

  constructor(code: SmtpErrorCode, message: string, details: SmtpErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.phase = details.phase;
    this.command = details.command;
    this.responseCode = details.reply?.code ?? null;
    this.enhancedCode = details.reply?.enhancedCode ?? null;
    this.enhancedStatus = details.reply?.enhanced ?? null;
    this.response = details.reply ? [...details.reply.lines] : [];
    this.temporary = this.responseCode !== null && this.responseCode < 500;
    this.retryable = details.retryable ?? this.temporary;
  }

  /** Plain data for JSON output; the cause is reduced to its message. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      phase: this.phase ?? null,
      command: this.command ?? null,
      responseCode: this.responseCode,
      enhancedCode: this.enhancedCode,
      enhancedStatus: this.enhancedStatus,
      response: this.response,
      temporary: this.temporary,
      retryable: this.retryable,
      accepted: this.accepted,
      rejected: this.rejected,
    };
  }
}

/** The caller asked for something invalid or something the current state forbids. */
export class SmtpUsageError extends SmtpError {
  override name = 'SmtpUsageError';
  constructor(message: string, details: SmtpErrorDetails = {}) {
    super('EINPUT', message, { phase: 'input', retryable: false, ...details });
  }
}

/** The server sent something malformed or unexpected. */
export class SmtpProtocolError extends SmtpError {
  override name = 'SmtpProtocolError';
  constructor(message: string, details: SmtpErrorDetails = {}) {
    super('EPROTOCOL', message, { retryable: true, ...details });
  }
}

/** A negative reply ended an operation that had to succeed. */
export class SmtpReplyError extends SmtpError {
  override name = 'SmtpReplyError';
  constructor(
    code: SmtpErrorCode,
    message: string,
    details: SmtpErrorDetails & { reply: SmtpReply },
  ) {
    super(code, message, details);
  }
}

/** The connection could not be opened, broke, or TLS failed. */
export class SmtpConnectionError extends SmtpError {
  override name = 'SmtpConnectionError';
  constructor(code: 'ECONNECTION' | 'ETLS', message: string, details: SmtpErrorDetails = {}) {
    super(code, message, { retryable: code === 'ECONNECTION', ...details });
  }
}

/** A wait ran past its deadline. */
export class SmtpTimeoutError extends SmtpError {
  override name = 'SmtpTimeoutError';
  /** Milliseconds waited before giving up. */
  readonly elapsedMs: number;
  constructor(message: string, elapsedMs: number, details: SmtpErrorDetails = {}) {
    super('ETIMEDOUT', message, { retryable: true, ...details });
    this.elapsedMs = elapsedMs;
  }
}

/** True for any mailwire error, also across realms and bundled copies (checks the name). */
export function isSmtpError(value: unknown): value is SmtpError {
  if (value instanceof SmtpError) return true;
  if (typeof value !== 'object' || value === null) return false;
  const { name, code } = value as { name?: unknown; code?: unknown };
  return typeof name === 'string' && ERROR_NAMES.has(name) && typeof code === 'string';
}
