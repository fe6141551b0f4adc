/**
 * The conformance scenarios: one list that Node, Deno and Bun all run against servers on
 * 127.0.0.1. Each scenario builds its transporter options and message from the settings
 * the test hands over, and states the outcome every runtime must reach. This file uses only
 * web-standard globals and `@mailwire/core`, so that each runtime can load it as it is.
 */
import {
  MemorySink,
  type MessageInput,
  type SendResult,
  type TranscriptEntry,
  type Transporter,
  type TransporterOptions,
} from '@mailwire/core';

/** The servers the test starts for each runtime. */
export type ServerKind =
  /** smtp-server with STARTTLS, AUTH PLAIN and LOGIN, rejecting `REJECTED_RECIPIENT`. */
  | 'starttls'
  /** smtp-server with implicit TLS. */
  | 'implicit-tls'
  /** smtp-server without TLS that hashes each message instead of keeping it. */
  | 'hashing'
  /** Accepts connections and never sends a byte. */
  | 'silent'
  /** Replies up to DATA, then closes the connection after `CLOSE_AFTER_DATA_BYTES`. */
  | 'closing';

/** What a runner needs to know to reach the scenario's server. */
export interface ScenarioSettings {
  host: string;
  port: number;
  /** CA certificate in PEM that signed the servers' certificates. */
  ca: string;
  user: string;
  pass: string;
}

/** What every runtime must reach: a sent message or an error with this code. */
export type ExpectedOutcome =
  | { sent: true; accepted: string[]; rejected: string[] }
  | { sent: false; code: string; responseCode: number | null };

export interface Scenario {
  name: string;
  server: ServerKind;
  /** Whether the runner's process has `MAILWIRE_LOG` set to a file for this scenario. */
  globalLog?: boolean;
  options(settings: ScenarioSettings): TransporterOptions;
  message(): MessageInput;
  expected: ExpectedOutcome;
  /** Normalised transcript lines that must appear, in this order. */
  transcriptIncludes: string[];
}

/** The result of one scenario run, as a runner prints it. */
export type ScenarioResult =
  | { ok: true; value: Omit<SendResult, 'timings'> }
  | { ok: false; error: Record<string, unknown> };

export interface ScenarioRun {
  result: ScenarioResult;
  entries: TranscriptEntry[];
}

/** The part of an adapter a scenario uses; every adapter exports it under this name. */
export interface ScenarioAdapter {
  createTransporter(options: TransporterOptions): Transporter;
}

export const SENDER = 'sender@example.test';
export const RECIPIENTS = ['first@example.test', 'second@example.test', 'third@example.test'];
/** The recipient the `starttls` server rejects with `550 5.1.1`. */
export const REJECTED_RECIPIENT = 'second@example.test';

/** Size of the large message: 50 MiB, dot-stuffing not counted. */
export const LARGE_MESSAGE_BYTES = 50 * 1024 * 1024;
/**
 * Size of the message the `closing` server cuts off: far more than the client's kernel send
 * buffer takes (at most 4 MiB with Linux's default `tcp_wmem`), so that every runtime is
 * still writing when the reset arrives.
 */
export const CLOSED_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Bytes of message data the `closing` server reads before it closes the connection. */
export const CLOSE_AFTER_DATA_BYTES = 64 * 1024;
export const GREETING_TIMEOUT_MS = 500;

const CHUNK_BYTES = 64 * 1024;
const encoder = new TextEncoder();

/** TLS settings for the test CA; the server certificate names localhost and 127.0.0.1. */
function tlsOptions(settings: ScenarioSettings): TransporterOptions['tls'] {
  return { ca: settings.ca, servername: 'localhost' };
}

function shortMessage(name: string, to: string[] = [RECIPIENTS[0]!]): MessageInput {
  const raw =
    `From: Conformance <${SENDER}>\r\n` +
    `To: ${to.join(', ')}\r\n` +
    `Subject: Conformance ${name}\r\n` +
    `Message-ID: <${name}.conformance@example.test>\r\n` +
    'Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n' +
    '\r\n' +
    'A short body.\r\n' +
    '.A line that starts with a dot.\r\n';
  return { envelope: { from: SENDER, to }, raw };
}

/**
 * Yield the bytes of a generated message in chunks, made on demand. Lines vary
 * between plain text, one leading dot, two leading dots and a lone dot, so the encoder must
 * stuff many of them (RFC 5321 §4.5.2). The total is exactly `totalBytes` and ends in CRLF.
 */
export function* generatedMessageChunks(totalBytes: number): Generator<Uint8Array> {
  const header =
    `From: Conformance <${SENDER}>\r\n` +
    `To: ${RECIPIENTS[0]}\r\n` +
    'Subject: Conformance generated message\r\n' +
    'Message-ID: <generated.conformance@example.test>\r\n' +
    '\r\n';
  let produced = header.length;
  let chunk = header;

  for (let line = 0; totalBytes - produced > 200; line += 1) {
    const text = generatedLine(line);
    chunk += `${text}\r\n`;
    produced += text.length + 2;
    if (chunk.length >= CHUNK_BYTES) {
      yield encoder.encode(chunk);
      chunk = '';
    }
  }
  // The last line takes up the rest, so the size is exact.
  chunk += `${'z'.repeat(totalBytes - produced - 2)}\r\n`;
  yield encoder.encode(chunk);
}

/** Line `index` of a generated message: ASCII, at most 78 characters. */
function generatedLine(index: number): string {
  const number = String(index).padStart(8, '0');
  if (index % 50 === 0) return '.';
  if (index % 7 === 0) return `..two leading dots on line ${number}`;
  if (index % 3 === 0) return `.one leading dot on line ${number} ${'.'.repeat(index % 30)}`;
  return `line ${number} of the generated message ${'-'.repeat(index % 35)}`;
}

function generatedMessage(totalBytes: number): MessageInput {
  return {
    envelope: { from: SENDER, to: [RECIPIENTS[0]!] },
    raw: { [Symbol.iterator]: () => generatedMessageChunks(totalBytes) },
  };
}

const SENT_TO_FIRST: ExpectedOutcome = { sent: true, accepted: [RECIPIENTS[0]!], rejected: [] };

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'starttls-auth-plain',
    server: 'starttls',
    options: (settings) => ({
      host: settings.host,
      port: settings.port,
      tls: tlsOptions(settings),
      startTls: 'required',
      auth: { user: settings.user, pass: settings.pass, method: 'PLAIN' },
    }),
    message: () => shortMessage('starttls-auth-plain'),
    expected: SENT_TO_FIRST,
    transcriptIncludes: ['C > "STARTTLS"', '### TLS started', 'C > "AUTH PLAIN', 'S < "235'],
  },
  {
    name: 'auth-login',
    server: 'starttls',
    options: (settings) => ({
      host: settings.host,
      port: settings.port,
      tls: tlsOptions(settings),
      auth: { user: settings.user, pass: settings.pass, method: 'LOGIN' },
    }),
    message: () => shortMessage('auth-login'),
    expected: SENT_TO_FIRST,
    transcriptIncludes: ['### TLS started', 'C > "AUTH LOGIN"', 'S < "334', 'S < "235'],
  },
  {
    name: 'implicit-tls',
    server: 'implicit-tls',
    options: (settings) => ({
      host: settings.host,
      port: settings.port,
      secure: true,
      tls: tlsOptions(settings),
    }),
    message: () => shortMessage('implicit-tls'),
    expected: SENT_TO_FIRST,
    transcriptIncludes: ['### TLS started', 'S < "220', 'C > "EHLO <client-name>"'],
  },
  {
    name: 'wrong-password',
    server: 'starttls',
    options: (settings) => ({
      host: settings.host,
      port: settings.port,
      tls: tlsOptions(settings),
      auth: { user: settings.user, pass: `${settings.pass}-wrong`, method: 'PLAIN' },
    }),
    message: () => shortMessage('wrong-password'),
    expected: { sent: false, code: 'EAUTH', responseCode: 535 },
    transcriptIncludes: ['C > "AUTH PLAIN', 'S < "535', 'C > "QUIT"'],
  },
  {
    name: 'partial-recipients',
    server: 'starttls',
    options: (settings) => ({
      host: settings.host,
      port: settings.port,
      tls: tlsOptions(settings),
    }),
    message: () => shortMessage('partial-recipients', RECIPIENTS),
    expected: {
      sent: true,
      accepted: RECIPIENTS.filter((address) => address !== REJECTED_RECIPIENT),
      rejected: [REJECTED_RECIPIENT],
    },
    // The server offers PIPELINING, so DATA leaves before the RCPT replies arrive.
    transcriptIncludes: [
      `C > "RCPT TO:<${REJECTED_RECIPIENT}>"`,
      'C > "DATA"',
      'S < "550 5.1.1',
      'S < "354',
    ],
  },
  {
    name: 'large-dotted-message',
    server: 'hashing',
    options: (settings) => ({ host: settings.host, port: settings.port, startTls: 'never' }),
    message: () => generatedMessage(LARGE_MESSAGE_BYTES),
    expected: SENT_TO_FIRST,
    transcriptIncludes: ['C > "DATA"', 'S < "354', '### Message data sent:', 'S < "250'],
  },
  {
    name: 'greeting-timeout',
    server: 'silent',
    options: (settings) => ({
      host: settings.host,
      port: settings.port,
      greetingTimeout: GREETING_TIMEOUT_MS,
    }),
    message: () => shortMessage('greeting-timeout'),
    expected: { sent: false, code: 'ETIMEDOUT', responseCode: null },
    transcriptIncludes: [
      '### SMTP Connected',
      '### Timed out after <ms> ms',
      '### SMTP Connection closed',
    ],
  },
  {
    name: 'closed-during-data',
    server: 'closing',
    options: (settings) => ({ host: settings.host, port: settings.port, startTls: 'never' }),
    message: () => generatedMessage(CLOSED_MESSAGE_BYTES),
    expected: { sent: false, code: 'ECONNECTION', responseCode: null },
    transcriptIncludes: [
      'C > "DATA"',
      'S < "354',
      '### Connection error: <reason>',
      '### SMTP Connection closed',
    ],
  },
  {
    name: 'global-log',
    server: 'starttls',
    globalLog: true,
    options: (settings) => ({
      host: settings.host,
      port: settings.port,
      tls: tlsOptions(settings),
    }),
    message: () => shortMessage('global-log'),
    expected: SENT_TO_FIRST,
    transcriptIncludes: ['### TLS started', 'C > "DATA"', 'C > "QUIT"'],
  },
];

/** Look up a scenario by name; throws with the known names when there is none. */
export function findScenario(name: string): Scenario {
  const scenario = SCENARIOS.find((candidate) => candidate.name === name);
  if (scenario !== undefined) return scenario;
  const known = SCENARIOS.map((candidate) => candidate.name).join(', ');
  throw new Error(`Unknown scenario: ${name} (expected one of ${known})`);
}

/**
 * Run one scenario with an adapter and return its result and transcript. Errors the
 * transporter throws become a result; only a failure of the runner itself rejects.
 */
export async function runScenario(
  adapter: ScenarioAdapter,
  scenario: Scenario,
  settings: ScenarioSettings,
): Promise<ScenarioRun> {
  const transcript = new MemorySink();
  const transporter = adapter.createTransporter({
    ...scenario.options(settings),
    transcriptSink: transcript,
  });

  let result: ScenarioResult;
  try {
    const { timings: _timings, ...value } = await transporter.send(scenario.message());
    result = { ok: true, value };
  } catch (error) {
    result = { ok: false, error: errorRecord(error) };
  } finally {
    await transporter.close();
  }
  return { result, entries: transcript.entries };
}

/** Plain data of an error: `toJSON()` of an SmtpError, else its name and message. */
function errorRecord(error: unknown): Record<string, unknown> {
  const withJson = error as { toJSON?: () => Record<string, unknown> } | null;
  if (typeof withJson?.toJSON === 'function') return withJson.toJSON();
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'unknown', message: String(error) };
}
