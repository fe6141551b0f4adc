/**
 * Composition of a message from its parts into RFC 5322 bytes that are 7-bit safe: ASCII only,
 * CRLF line breaks, no line over 998 characters. It never touches the network and takes the
 * time and randomness from its caller.
 *
 * NOTE: this is our own composer because mimetext 3.0.28 fell short when checked. It wrote a
 * UTF-8 subject as one unfolded encoded-word of over 400 characters, and sent a UTF-8 body with
 * a 1200-character line raw under `Content-Transfer-Encoding: 7bit`. Its Node entry uses Buffer.
 */
import { encodeHex, utf8Bytes } from '../base64.js';
import type { ComposedMessage } from '../driver/options.js';
import {
  addressListParts,
  buildEnvelope,
  type ComposedEnvelope,
  DOMAIN,
  type Mailbox,
  toMailbox,
  toMailboxList,
} from './address.js';
import { chooseTransferEncoding, encodeQuotedPrintable, normalizeLineBreaks } from './encoding.js';
import {
  foldHeader,
  type HeaderPart,
  unstructuredParts,
  validateHeaderName,
  validateHeaderValue,
} from './header.js';

/** Settings of `composeMessage`. */
export interface ComposeOptions {
  /** Domain after the `@` of generated Message-ID values, such as the sender's domain. */
  messageIdDomain: string;
  /** Source of random bytes for the Message-ID and the multipart boundary. */
  randomBytes?: (length: number) => Uint8Array;
  /** Current time in milliseconds since the Unix epoch, used for the Date field. */
  now: number;
}

/** A composed message, ready to be sent. */
export interface ComposeResult {
  /** The message in RFC 5322 form: ASCII, CRLF line breaks, ending in CRLF. */
  bytes: Uint8Array;
  envelope: ComposedEnvelope;
  /** The Message-ID field value, angle brackets included. */
  messageId: string;
}

/** Header fields that the composer writes from message fields, so `headers` may not set them. */
const FIELD_FOR_HEADER: Record<string, string> = {
  from: 'from',
  to: 'to',
  cc: 'cc',
  bcc: 'bcc',
  'reply-to': 'replyTo',
  subject: 'subject',
  'mime-version': 'text or html',
  'content-type': 'text or html',
  'content-transfer-encoding': 'text or html',
};

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTH_NAMES = [
  'Jan',
  'Feb',
  'Mar',
  'Apr',
  'May',
  'Jun',
  'Jul',
  'Aug',
  'Sep',
  'Oct',
  'Nov',
  'Dec',
];

/** Counter that keeps fallback identifiers from one process apart. */
let identifierCounter = 0;

/**
 * Composes a message into RFC 5322 bytes and its SMTP envelope. Adds Date, Message-ID and
 * MIME-Version fields, leaves Bcc out of the header, and writes `text` and `html` together as
 * multipart/alternative. Custom `headers` may replace the generated Date and Message-ID.
 * Without `randomBytes`, identifiers come from the time, a counter and `Math.random`, which is
 * unique enough for Message-ID values but not unpredictable.
 * @example
 * const { bytes, envelope } = composeMessage(
 *   { from: 'a@example.test', to: 'b@example.test', subject: 'Hi', text: 'Hello' },
 *   { messageIdDomain: 'example.test', now: Date.now() },
 * );
 * @throws TypeError naming the field and the fix when the message or the options are invalid.
 */
export function composeMessage(message: ComposedMessage, options: ComposeOptions): ComposeResult {
  if (typeof message !== 'object' || message === null) {
    throw new TypeError('Invalid message: expected an object with from, to, subject and text');
  }
  validateOptions(options);
  if (message.from === undefined || message.from === null) {
    throw new TypeError('Missing from: give the sender address in from');
  }

  const from = toMailbox(message.from, 'from');
  const to = toMailboxList(message.to, 'to');
  const cc = toMailboxList(message.cc, 'cc');
  const bcc = toMailboxList(message.bcc, 'bcc');
  const replyTo = toMailboxList(message.replyTo, 'replyTo');
  const envelope = buildEnvelope(from, [...to, ...cc, ...bcc], message.envelope);
  const customHeaders = readCustomHeaders(message.headers);

  const generatedId = `<${createIdentifier(options, 16)}@${options.messageIdDomain}>`;
  const customId = customHeaders.find((header) => header.name.toLowerCase() === 'message-id');
  const messageId = customId === undefined ? generatedId : customId.value.trim();

  const headerLines = [
    ...addressHeader('From', [from]),
    ...addressHeader('To', to),
    ...addressHeader('Cc', cc),
    ...addressHeader('Reply-To', replyTo),
    ...subjectHeader(message.subject),
    ...generatedHeaders(customHeaders, formatDate(options.now), generatedId),
    ...customHeaders.map((header) => foldHeader(header.name, unstructuredParts(header.value))),
  ];
  const body = composeBody(message, options);

  const text = [...headerLines, ...body.headerLines].join('\r\n') + '\r\n\r\n' + body.content;
  return { bytes: utf8Bytes(text), envelope, messageId };
}

function validateOptions(options: ComposeOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('Invalid options: expected { messageIdDomain, now }');
  }
  if (typeof options.now !== 'number' || !Number.isFinite(options.now)) {
    throw new TypeError(
      `Invalid now: expected milliseconds since the Unix epoch, got ${String(options.now)}`,
    );
  }
  const domain = options.messageIdDomain;
  if (typeof domain !== 'string' || !DOMAIN.test(domain)) {
    throw new TypeError(
      `Invalid messageIdDomain ${JSON.stringify(domain)}: ` +
        'give an ASCII host name such as example.com',
    );
  }
  if (options.randomBytes !== undefined && typeof options.randomBytes !== 'function') {
    throw new TypeError('Invalid randomBytes: expected a function that returns a Uint8Array');
  }
}

interface CustomHeader {
  name: string;
  value: string;
}

function readCustomHeaders(headers: Record<string, string> | undefined): CustomHeader[] {
  if (headers === undefined) return [];
  if (typeof headers !== 'object' || headers === null) {
    throw new TypeError('Invalid headers: expected an object of header names and values');
  }

  return Object.entries(headers).map(([name, value]) => {
    const field = `headers[${JSON.stringify(name)}]`;
    validateHeaderName(name, 'header');
    validateHeaderValue(value, field);

    const lowerName = name.toLowerCase();
    const messageField = FIELD_FOR_HEADER[lowerName];
    if (messageField !== undefined) {
      throw new TypeError(
        `Invalid ${field}: the ${name} field is written by the composer; use ${messageField}`,
      );
    }
    // Message-ID and Date are structured, so encoded-words would make them invalid.
    const isStructured = lowerName === 'message-id' || lowerName === 'date';
    if (isStructured && /[^\x20-\x7e\t]/.test(value)) {
      throw new TypeError(`Invalid ${field}: the value must be ASCII`);
    }
    return { name, value };
  });
}

function addressHeader(name: string, mailboxes: readonly Mailbox[]): string[] {
  if (mailboxes.length === 0) return [];
  return [foldHeader(name, addressListParts(mailboxes))];
}

function subjectHeader(subject: unknown): string[] {
  if (subject === undefined) return [];
  validateHeaderValue(subject, 'subject');
  return [foldHeader('Subject', unstructuredParts(subject))];
}

/** Writes Date, Message-ID and MIME-Version, leaving out those set in custom headers. */
function generatedHeaders(customHeaders: CustomHeader[], date: string, messageId: string) {
  const customNames = new Set(customHeaders.map((header) => header.name.toLowerCase()));
  const lines: string[] = [];
  if (!customNames.has('date')) lines.push(foldHeader('Date', textParts(date)));
  if (!customNames.has('message-id')) lines.push(foldHeader('Message-ID', textParts(messageId)));
  lines.push('MIME-Version: 1.0');
  return lines;
}

function textParts(value: string): HeaderPart[] {
  return value.split(' ').map((text) => ({ kind: 'text', space: ' ', text }));
}

/** Formats a time as an RFC 5322 §3.3 date-time in UTC: `Tue, 01 Jul 2025 09:05:00 +0000`. */
export function formatDate(time: number): string {
  const date = new Date(time);
  const pad = (value: number) => String(value).padStart(2, '0');
  const day = DAY_NAMES[date.getUTCDay()]!;
  const month = MONTH_NAMES[date.getUTCMonth()]!;
  const clock = [date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()].map(pad).join(':');
  return `${day}, ${pad(date.getUTCDate())} ${month} ${date.getUTCFullYear()} ${clock} +0000`;
}

function createIdentifier(options: ComposeOptions, byteCount: number): string {
  identifierCounter += 1;
  if (options.randomBytes !== undefined) {
    const bytes = options.randomBytes(byteCount);
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) {
      throw new TypeError('Invalid randomBytes: it must return a non-empty Uint8Array');
    }
    return encodeHex(bytes);
  }
  const time = Math.floor(options.now).toString(36);
  const random = Math.random().toString(36).slice(2, 10);
  return `${time}.${identifierCounter.toString(36)}.${random}`;
}

interface ComposedBody {
  headerLines: string[];
  /** Body text after the blank line, ending in CRLF. */
  content: string;
}

interface BodyPart {
  contentType: string;
  transferEncoding: string;
  content: string;
}

function composeBody(message: ComposedMessage, options: ComposeOptions): ComposedBody {
  const parts: BodyPart[] = [];
  if (message.text !== undefined) parts.push(encodeBodyPart(message.text, 'text', 'plain'));
  if (message.html !== undefined) parts.push(encodeBodyPart(message.html, 'html', 'html'));
  if (parts.length === 0) parts.push(encodeBodyPart('', 'text', 'plain'));

  if (parts.length === 1) {
    const part = parts[0]!;
    const endsInLineBreak = part.content === '' || part.content.endsWith('\r\n');
    return {
      headerLines: bodyPartHeaders(part),
      content: endsInLineBreak ? part.content : part.content + '\r\n',
    };
  }

  const boundary = chooseBoundary(parts, options);
  // The CRLF before each delimiter belongs to the delimiter (RFC 2046 §5.1.1).
  let content = '';
  for (const part of parts) {
    content += `--${boundary}\r\n${bodyPartHeaders(part).join('\r\n')}\r\n\r\n${part.content}\r\n`;
  }
  content += `--${boundary}--\r\n`;

  const contentType = foldHeader('Content-Type', [
    { kind: 'text', space: ' ', text: 'multipart/alternative;' },
    { kind: 'text', space: ' ', text: `boundary="${boundary}"` },
  ]);
  return { headerLines: [contentType], content };
}

function encodeBodyPart(value: unknown, field: string, subtype: string): BodyPart {
  if (typeof value !== 'string') {
    throw new TypeError(`Invalid ${field}: expected a string, got ${typeof value}`);
  }
  const normalized = normalizeLineBreaks(value);
  const transferEncoding = chooseTransferEncoding(normalized);
  const content = transferEncoding === '7bit' ? normalized : encodeQuotedPrintable(normalized);
  return { contentType: `text/${subtype}; charset=utf-8`, transferEncoding, content };
}

function bodyPartHeaders(part: BodyPart): string[] {
  return [
    `Content-Type: ${part.contentType}`,
    `Content-Transfer-Encoding: ${part.transferEncoding}`,
  ];
}

/** Picks a multipart boundary that occurs in none of the parts (RFC 2046 §5.1.1). */
function chooseBoundary(parts: readonly BodyPart[], options: ComposeOptions): string {
  const base = `mailwire-${createIdentifier(options, 12)}`;
  let boundary = base;
  for (let attempt = 1; parts.some((part) => part.content.includes(boundary)); attempt += 1) {
    boundary = `${base}-${attempt}`;
  }
  return boundary;
}
