/**
 * The transporter: checks options, prepares messages, opens sessions through the
 * adapter's connector and turns their outcome into results and errors. It owns no socket
 * code; see `session.ts` for one connection and `transaction.ts` for one message.
 */
import type { Credentials } from '../auth/index.js';
import { utf8Bytes } from '../base64.js';
import { webRandomBytes } from '../bytes.js';
import { checkAddress } from '../commands.js';
import { inspectMessage } from '../data-encoder.js';
import { SmtpError, SmtpUsageError } from '../errors.js';
import {
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_CONNECTION_TIMEOUT_MS,
  DEFAULT_DATA_TIMEOUT_MS,
  DEFAULT_GREETING_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_MESSAGES,
} from '../limits.js';
import { composeMessage } from '../message/compose.js';
import type { TranscriptSink } from '../transcript/entry.js';
import { TranscriptRecorder } from '../transcript/recorder.js';
import { redactError, SecretScanner } from '../transcript/redact.js';
import type {
  DeliveryOptions,
  MessageInput,
  RawMessage,
  SendResult,
  Transporter,
  TransporterEnvironment,
  TransporterOptions,
  VerifyResult,
} from './options.js';
import { ConnectionPool } from './pool.js';
import { Session, type SessionSettings } from './session.js';
import { SourceError } from './stream-check.js';
import { checkLineLength, type PreparedMessage, sendTransaction } from './transaction.js';
import { validateOptions } from './validate-options.js';

/** Bytes handed to the encoder at a time, so no chunk grows large in memory. */
const CHUNK_BYTES = 64 * 1024;

/**
 * Create a transporter from options and the adapter's environment.
 * @example
 * const transporter = createTransporter({ host: 'smtp.example.test', port: 587 }, environment);
 */
export function createTransporter(
  options: TransporterOptions,
  environment: TransporterEnvironment,
): Transporter {
  validateOptions(options);
  const scanner = new SecretScanner(secretsOf(options));
  const settings = sessionSettings(options, scanner);
  const sinks = collectSinks(options, environment);

  const pool = options.pool
    ? new ConnectionPool(
        () => openSession(),
        attachTranscript,
        settings,
        {
          maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
          maxMessages: options.maxMessages ?? DEFAULT_MAX_MESSAGES,
          idleTimeout: options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT_MS,
        },
        environment.clock,
      )
    : null;

  const openSession = async (): Promise<Session> => {
    const session = new Session(settings, environment, sinks, scanner);
    try {
      await session.open();
    } catch (error) {
      throw await failSession(session, error);
    }
    return session;
  };

  return {
    async send(input: MessageInput): Promise<SendResult> {
      let prepared: PreparedMessage;
      try {
        prepared = prepareMessage(input, environment);
      } catch (error) {
        recordInputError(environment, sinks, error);
        throw error;
      }

      if (pool) return pool.send(prepared);
      const started = environment.clock.now();
      const session = await openSession();
      try {
        const result = await sendTransaction(session, prepared, settings);
        await session.quit();
        result.timings.total = environment.clock.now() - started;
        return result;
      } catch (error) {
        throw await failSession(session, error);
      }
    },

    async verify(): Promise<VerifyResult> {
      const session = await openSession();
      const capabilities = session.client.capabilities;
      await session.quit();
      return {
        greeting: session.greeting,
        extensions: [...(capabilities?.extensions.keys() ?? [])],
        authMechanisms: [...(capabilities?.authMechanisms ?? [])],
        tls: session.tlsDetails,
        authenticated: session.authenticated,
      };
    },

    async close(): Promise<void> {
      await pool?.close();
      await Promise.all(sinks.map((sink) => sink.flush()));
    },
  };
}

/** QUIT where the server still listens, close, and attach the transcript tail. */
async function failSession(session: Session, error: unknown): Promise<unknown> {
  await session.quit();
  return attachTranscript(session, error);
}

/** Mask secrets in an error and attach the last transcript lines of the session to it. */
function attachTranscript(session: Session, error: unknown): unknown {
  if (error instanceof SmtpError) {
    redactError(error, session.scanner);
    error.transcript = session.transcriptTail();
  }
  return error;
}

function secretsOf(options: TransporterOptions): {
  user?: string;
  pass?: string;
  tokens: string[];
} {
  const auth = options.auth;
  const tokens = typeof auth?.accessToken === 'string' ? [auth.accessToken] : [];
  return { user: auth?.user, pass: auth?.pass, tokens };
}

function sessionSettings(options: TransporterOptions, scanner: SecretScanner): SessionSettings {
  const secure = options.secure ?? options.port === 465;
  const auth = options.auth;
  const settings: SessionSettings = {
    host: options.host,
    port: options.port ?? (secure ? 465 : 587),
    secure,
    startTls: options.startTls ?? 'opportunistic',
    allowInsecureAuth: options.allowInsecureAuth ?? false,
    tls: options.tls ?? {},
    clientName: options.clientName,
    connectionTimeout: options.connectionTimeout ?? DEFAULT_CONNECTION_TIMEOUT_MS,
    greetingTimeout: options.greetingTimeout ?? DEFAULT_GREETING_TIMEOUT_MS,
    commandTimeout: options.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT_MS,
    dataTimeout: options.dataTimeout ?? DEFAULT_DATA_TIMEOUT_MS,
    logBody: options.logBody ?? 'none',
    lmtp: options.lmtp ?? false,
    chunking: options.chunking ?? true,
  };
  if (auth) {
    settings.credentials = async () => {
      const credentials: Credentials & { method?: string } = { user: auth.user };
      if (auth.pass !== undefined) credentials.pass = auth.pass;
      if (auth.method !== undefined) credentials.method = auth.method;
      if (auth.accessToken !== undefined) {
        const token =
          typeof auth.accessToken === 'function' ? await auth.accessToken() : auth.accessToken;
        if (typeof token !== 'string' || token === '') {
          throw new SmtpUsageError(
            'Invalid auth.accessToken: the function returned no token string',
          );
        }
        // A fresh token joins the secrets before anything can log it.
        scanner.update({ ...secretsOf(options), tokens: [...secretsOf(options).tokens, token] });
        credentials.accessToken = token;
      }
      return credentials;
    };
  }
  return settings;
}

function collectSinks(
  options: TransporterOptions,
  environment: TransporterEnvironment,
): TranscriptSink[] {
  const sinks: TranscriptSink[] = [];
  if (options.transcriptSink) sinks.push(options.transcriptSink);
  const format = options.logFormat ?? 'text';
  if (options.logFile && environment.openLogFile) {
    sinks.push(environment.openLogFile(options.logFile, format));
  }

  // The global log path is looked up per write so that switching it on later takes effect;
  // its sink is opened again only when the path changes.
  if (environment.globalLogFile && environment.openLogFile) {
    const open = environment.openLogFile;
    const lookup = environment.globalLogFile;
    let openPath: string | undefined;
    let openSink: TranscriptSink | undefined;
    const current = (): TranscriptSink | undefined => {
      const path = lookup();
      if (!path || path === options.logFile) return undefined;
      if (path !== openPath) {
        openPath = path;
        openSink = open(path, 'text');
      }
      return openSink;
    };
    sinks.push({
      write: (entries) => current()?.write(entries),
      flush: async () => current()?.flush(),
    });
  }
  return sinks;
}

/** Record why a message was refused before connecting, so the log shows it too. */
function recordInputError(
  environment: TransporterEnvironment,
  sinks: TranscriptSink[],
  error: unknown,
): void {
  const recorder = new TranscriptRecorder({
    now: () => environment.clock.now(),
    processId: environment.processId,
    connectionId: 0,
  });
  recorder.add('event', `Message rejected before connecting: ${(error as Error).message}`);
  const entries = recorder.take();
  for (const sink of sinks) sink.write(entries);
}

const COMPOSED_FIELDS = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'replyTo',
  'subject',
  'text',
  'html',
  'headers',
  'envelope',
  'dsn',
  'requireTls',
]);
const RAW_FIELDS = new Set(['envelope', 'raw', 'dsn', 'requireTls']);

/** Reject fields the library does not know, so a misspelled or unsupported one is not lost. */
function checkMessageFields(input: object, raw: boolean): void {
  const known = raw ? RAW_FIELDS : COMPOSED_FIELDS;
  for (const name of Object.keys(input)) {
    if (known.has(name)) continue;
    const hint =
      name === 'attachments'
        ? ': attachments are not composed by the library; build the message with a MIME ' +
          'library and send it as { envelope, raw }'
        : `: known fields are ${[...known].join(', ')}`;
    throw new SmtpUsageError(`Unknown message field ${name}${hint}`);
  }
}

function isRaw(input: MessageInput): input is RawMessage {
  return typeof input === 'object' && input !== null && 'raw' in input;
}

/** Turn a message input into envelope, body chunks and facts, checking it on the way. */
function prepareMessage(input: MessageInput, environment: TransporterEnvironment): PreparedMessage {
  if (typeof input !== 'object' || input === null) {
    throw new SmtpUsageError(
      'Invalid message: expected { from, to, subject, text } or { envelope, raw }',
    );
  }
  checkMessageFields(input, isRaw(input));
  if (!isRaw(input)) {
    let composed: ReturnType<typeof composeMessage>;
    try {
      const domain = domainOf(input.envelope?.from ?? input.from);
      const composeOptions: Parameters<typeof composeMessage>[1] = {
        messageIdDomain: domain,
        now: environment.clock.now(),
      };
      composeOptions.randomBytes = environment.randomBytes ?? webRandomBytes;
      composed = composeMessage(input, composeOptions);
    } catch (error) {
      if (error instanceof SmtpError) throw error;
      throw new SmtpUsageError((error as Error).message, { cause: error });
    }
    const facts = inspectMessage(composed.bytes);
    return prepared(
      composed.envelope.from,
      composed.envelope.to,
      composed.messageId,
      composed.bytes,
      facts,
      input,
    );
  }

  const envelope = input.envelope;
  if (typeof envelope !== 'object' || envelope === null) {
    throw new SmtpUsageError('Invalid message: a raw message needs envelope: { from, to }');
  }
  const from = checkAddress(envelope.from, 'envelope.from', true);
  const to = (Array.isArray(envelope.to) ? envelope.to : [envelope.to]).map((address, index) =>
    checkAddress(address, `envelope.to[${index}]`),
  );
  if (to.length === 0)
    throw new SmtpUsageError('Invalid envelope.to: at least one recipient is needed');

  const raw = input.raw;
  if (!(raw instanceof Uint8Array) && (ArrayBuffer.isView(raw) || raw instanceof ArrayBuffer)) {
    throw new SmtpUsageError(
      `Invalid message.raw: got ${describeValue(raw)}; expected a string, a Uint8Array or an ` +
        'iterable of chunks (wrap other binary data in a Uint8Array first)',
    );
  }
  if (typeof raw === 'string' || raw instanceof Uint8Array) {
    const bytes = typeof raw === 'string' ? utf8Bytes(raw) : raw;
    const facts = inspectMessage(bytes);
    checkLineLength(facts.maxLineLength, facts.maxLine);
    return prepared(from, to, messageIdOf(bytes), bytes, facts, input);
  }
  if (raw && (Symbol.asyncIterator in raw || Symbol.iterator in raw)) {
    return {
      from,
      to,
      messageId: null,
      size: null,
      eightBit: null,
      nul: false,
      chunks: () => toByteChunks(raw),
      delivery: deliveryOf(input),
    };
  }
  throw new SmtpUsageError(
    'Invalid message.raw: expected a string, a Uint8Array or an iterable of chunks',
  );
}

function prepared(
  from: string,
  to: string[],
  messageId: string | null,
  bytes: Uint8Array,
  facts: ReturnType<typeof inspectMessage>,
  input: MessageInput,
): PreparedMessage {
  return {
    from,
    to,
    messageId,
    size: facts.size,
    eightBit: facts.eightBit,
    nul: facts.nul,
    delivery: deliveryOf(input),
    chunks: function* () {
      for (let offset = 0; offset < bytes.length; offset += CHUNK_BYTES) {
        yield bytes.subarray(offset, offset + CHUNK_BYTES);
      }
    },
  };
}

/**
 * The chunks of a raw message as bytes. Whatever the source throws, and a chunk of any other
 * type, ends the message with a `SourceError`. Leaving the loop early returns the source.
 */
async function* toByteChunks(
  raw: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
): AsyncIterable<Uint8Array> {
  let index = 0;
  try {
    for await (const chunk of raw as AsyncIterable<unknown>) {
      if (typeof chunk === 'string') yield utf8Bytes(chunk);
      else if (chunk instanceof Uint8Array) yield chunk;
      else {
        throw new SmtpUsageError(
          `Invalid message.raw: chunk ${index} is ${describeValue(chunk)}; expected a string ` +
            'or a Uint8Array',
        );
      }
      index += 1;
    }
  } catch (error) {
    throw new SourceError(error);
  }
}

/** Name the type of a value for an error message, without showing the value itself. */
function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return `a ${typeof value}`;
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? `a ${name}` : 'an object';
}

/** Per-message delivery options, checked for type. */
function deliveryOf(input: MessageInput): DeliveryOptions {
  const delivery: DeliveryOptions = {};
  if (input.requireTls !== undefined) {
    if (typeof input.requireTls !== 'boolean') {
      throw new SmtpUsageError('Invalid message.requireTls: expected true or false');
    }
    delivery.requireTls = input.requireTls;
  }
  const dsn = input.dsn;
  if (dsn !== undefined) {
    const notify = dsn.notify;
    const validNotify =
      notify === undefined ||
      notify === 'NEVER' ||
      (Array.isArray(notify) &&
        notify.length > 0 &&
        notify.every((item) => ['SUCCESS', 'FAILURE', 'DELAY'].includes(item)));
    if (!validNotify) {
      throw new SmtpUsageError(
        "Invalid message.dsn.notify: expected 'NEVER' or a list of 'SUCCESS', 'FAILURE', 'DELAY'",
      );
    }
    if (dsn.ret !== undefined && dsn.ret !== 'FULL' && dsn.ret !== 'HDRS') {
      throw new SmtpUsageError("Invalid message.dsn.ret: expected 'FULL' or 'HDRS'");
    }
    // Angle brackets are valid xtext, but `checkParameters` rejects them in MAIL parameters
    // once connected. Rejecting them here keeps the attempt off the wire.
    const envid = dsn.envid;
    if (envid !== undefined && (!/^[\x20-\x7e]{1,100}$/.test(envid) || /[<>]/.test(envid))) {
      throw new SmtpUsageError(
        'Invalid message.dsn.envid: expected 1 to 100 printable ASCII characters without < or >',
      );
    }
    delivery.dsn = dsn;
  }
  return delivery;
}

function domainOf(address: unknown): string {
  const text = typeof address === 'string' ? address : (address as { address?: string })?.address;
  const at = typeof text === 'string' ? text.lastIndexOf('@') : -1;
  return at > 0 ? text!.slice(at + 1).replace(/[^A-Za-z0-9.-]/g, '') || 'localhost' : 'localhost';
}

const headerDecoder = new TextDecoder();

/** Bytes at the start of a raw message searched for the Message-ID header. */
const MESSAGE_ID_SCAN_BYTES = 16384;

/** Message-ID header of a raw message, looked up in the header section only. */
function messageIdOf(bytes: Uint8Array): string | null {
  const head = bytes.subarray(0, Math.min(bytes.length, MESSAGE_ID_SCAN_BYTES));
  // Only the header section is decoded; CR and LF never occur inside a UTF-8 sequence.
  const headers = headerDecoder.decode(head.subarray(0, headerSectionEnd(head)));
  const match = /^message-id:\s*(<[^>\r\n]*>)/im.exec(headers);
  return match?.[1] ?? null;
}

/** Offset of the line break that starts the first empty line (`\r?\n\r?\n`), or the length. */
function headerSectionEnd(bytes: Uint8Array): number {
  let lineFeed = bytes.indexOf(10);
  while (lineFeed !== -1) {
    const next = bytes[lineFeed + 1];
    const emptyLine = next === 10 || (next === 13 && bytes[lineFeed + 2] === 10);
    if (emptyLine) return lineFeed > 0 && bytes[lineFeed - 1] === 13 ? lineFeed - 1 : lineFeed;
    lineFeed = bytes.indexOf(10, lineFeed + 1);
  }
  return bytes.length;
}
