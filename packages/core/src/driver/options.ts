/**
 * Options, messages and results of the transporter API shared by every adapter.
 * Adapters re-export these types unchanged so that code moves between runtimes as is.
 */
import type { TranscriptSink } from '../transcript/entry.js';
import type { Clock, Connector, TlsOptions } from './contracts.js';

/** STARTTLS policy for a connection that did not start with TLS. */
export type StartTlsPolicy = 'opportunistic' | 'required' | 'never';

/** How much of the message body goes into the transcript. */
export type LogBody = 'none' | 'headers' | 'full';

/** Line format of a log file. */
export type LogFormat = 'text' | 'jsonl';

/** Credentials. Give `pass` for password mechanisms or `accessToken` for OAuth 2.0. */
export interface AuthOptions {
  user: string;
  pass?: string;
  /** OAuth 2.0 bearer token, or a function that returns a fresh one for each login. */
  accessToken?: string | (() => string | Promise<string>);
  /** SASL mechanism to use, for example `PLAIN`; by default the strongest one offered. */
  method?: string;
}

/**
 * Settings of one transporter.
 * @example
 * createTransporter({ host: 'smtp.example.test', port: 587, auth: { user, pass } })
 */
export interface TransporterOptions {
  host: string;
  /** TCP port. Default 465 when `secure` is true, otherwise 587. */
  port?: number;
  /** Implicit TLS from the first byte. Default true on port 465, otherwise false. */
  secure?: boolean;
  /** STARTTLS use on a clear connection. Default `opportunistic`. */
  startTls?: StartTlsPolicy;
  auth?: AuthOptions;
  /** Allow credentials over a connection without TLS. Default false. */
  allowInsecureAuth?: boolean;
  tls?: TlsOptions;
  /** Name sent with EHLO; default the local address as an address literal, `[192.0.2.10]`. */
  clientName?: string;
  /** Milliseconds to wait for TCP (and implicit TLS) to connect. Default 10000. */
  connectionTimeout?: number;
  /** Milliseconds to wait for the server's greeting. Default 30000. */
  greetingTimeout?: number;
  /** Milliseconds to wait for the reply to each command. Default 60000. */
  commandTimeout?: number;
  /**
   * Milliseconds to wait for a write of the message data to finish and for the reply after
   * it. Default 600000. Time spent waiting for a streamed message's next chunk is not
   * limited: a slow source is the caller's to time out.
   */
  dataTimeout?: number;
  /** Path of a log file that receives this transporter's transcript. */
  logFile?: string;
  /** Line format of `logFile`. Default `text`. */
  logFormat?: LogFormat;
  /** How much of each message body is logged. Default `none` (one event gives the size). */
  logBody?: LogBody;
  /** Extra sink that receives every transcript entry, for example an in-memory one. */
  transcriptSink?: TranscriptSink;
  /** Speak LMTP (RFC 2033): LHLO, and one reply per recipient after the data. */
  lmtp?: boolean;
  /** Send with BDAT (RFC 3030) when the server offers CHUNKING. Default true. */
  chunking?: boolean;
  /** Keep connections open and reuse them for later messages. Default false. */
  pool?: boolean;
  /** Most connections open at once when pooling. Default 5. */
  maxConnections?: number;
  /** Messages sent on one connection before it is replaced, when pooling. Default 100. */
  maxMessages?: number;
  /** Milliseconds an idle pooled connection stays open. Default 30000. */
  idleTimeout?: number;
}

/** Delivery status notification requests (RFC 3461). */
export interface DsnOptions {
  /** When to notify: any of SUCCESS, FAILURE, DELAY, or NEVER alone. */
  notify?: Array<'SUCCESS' | 'FAILURE' | 'DELAY'> | 'NEVER';
  /** Return the full message or only its headers in a failure notice. */
  ret?: 'FULL' | 'HDRS';
  /** Envelope id echoed in notifications: 1 to 100 printable ASCII characters, no < or >. */
  envid?: string;
  /** Send each recipient's original address as ORCPT. */
  orcpt?: boolean;
}

/** Per-message delivery settings, accepted by both message forms. */
export interface DeliveryOptions {
  dsn?: DsnOptions;
  /** Ask every hop to use TLS (RFC 8689 REQUIRETLS); fails when the server cannot. */
  requireTls?: boolean;
}

/** One address, either bare or with a display name. */
export type Address = string | { name?: string; address: string };

/** A message composed by the library from its parts. */
export interface ComposedMessage extends DeliveryOptions {
  from: Address;
  to?: Address | Address[];
  cc?: Address | Address[];
  bcc?: Address | Address[];
  replyTo?: Address | Address[];
  subject?: string;
  text?: string;
  html?: string;
  /** Extra header fields; names and values must not contain CR or LF. */
  headers?: Record<string, string>;
  /** Envelope override; by default taken from `from`, `to`, `cc` and `bcc`. */
  envelope?: Envelope;
}

/** A message given as finished RFC 5322 bytes, sent without rewriting. */
export interface RawMessage extends DeliveryOptions {
  envelope: Envelope;
  /** The message, as text or bytes, or as chunks produced one at a time. */
  raw: string | Uint8Array | AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;
}

export interface Envelope {
  from: string;
  to: string | string[];
}

export type MessageInput = ComposedMessage | RawMessage;

/** Outcome for one refused recipient. */
export interface RejectedRecipient {
  recipient: string;
  code: number;
  enhancedCode: string | null;
  response: string;
}

/** Milliseconds spent in each phase of a send. */
export interface SendTimings {
  connect?: number;
  tls?: number;
  greeting?: number;
  auth?: number;
  envelope?: number;
  data?: number;
  finalReply?: number;
  total?: number;
}

export interface SendResult {
  accepted: string[];
  rejected: RejectedRecipient[];
  /** The server's final reply to the message, all lines joined with a newline. */
  response: string;
  /** Message-ID of the message, when known. */
  messageId: string | null;
  /** Queue id found in the final reply (Postfix, Exim, Gmail and Microsoft formats). */
  queueId: string | null;
  timings: SendTimings;
}

/** The runtime parts an adapter supplies to core's transporter. */
export interface TransporterEnvironment {
  connector: Connector;
  clock: Clock;
  /** Process id for transcript lines; 0 where the runtime has none. */
  processId: number;
  /** Opens (or reuses) a sink for a log file path. */
  openLogFile?: (path: string, format: LogFormat) => TranscriptSink;
  /** Path of the process-wide log, from `MAILWIRE_LOG` or the global switch. */
  globalLogFile?: () => string | undefined;
  /** Random bytes for Message-ID values and SASL nonces; default Web Crypto `getRandomValues`. */
  randomBytes?: (length: number) => Uint8Array;
}

/** Result of `verify()`: what the server offered and whether login worked. */
export interface VerifyResult {
  /** Greeting line of the server. */
  greeting: string;
  /** Extension keywords from the last EHLO reply, upper case. */
  extensions: string[];
  /** SASL mechanisms offered after TLS, upper case. */
  authMechanisms: string[];
  /** TLS details when the connection was encrypted. */
  tls: import('./contracts.js').TlsDetails | null;
  /** True when credentials were configured and accepted. */
  authenticated: boolean;
}

/** A configured SMTP client. Each `send` opens a connection, or reuses one when pooling. */
export interface Transporter {
  send(message: MessageInput): Promise<SendResult>;
  /** Connect, EHLO, STARTTLS and AUTH as configured, then QUIT. Sends no mail. */
  verify(): Promise<VerifyResult>;
  /** Flush the transcript sinks and close idle connections. */
  close(): Promise<void>;
}
