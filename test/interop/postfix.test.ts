/**
 * Interoperability with a real Postfix: STARTTLS, implicit TLS, every SASL mechanism Postfix
 * offers, recipient replies, CHUNKING, and delivered copies compared byte for byte.
 * The peer comes from scripts/postfix/up.sh, whose peer.env file MAILWIRE_POSTFIX_ENV names.
 * Without it the suite is skipped, because starting Postfix needs root.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createTransporter,
  isSmtpError,
  MemorySink,
  type SmtpError,
  type Transporter,
  type TransporterOptions,
} from '@mailwire/node';
import { describe, expect, it } from 'vitest';

const PEER_KEYS = [
  'SMTP_HOST',
  'SMTP_PORT',
  'SMTPS_PORT',
  'SMTP_DOMAIN',
  'SMTP_USER',
  'SMTP_PASSWORD',
  'SMTP_CA',
  'SMTP_MAILDIR',
  'SMTP_REJECT_RCPT',
  'SMTP_TEMPFAIL_RCPT',
  'SMTP_LOG',
] as const;

type PeerSettings = Record<(typeof PEER_KEYS)[number], string>;

/** Milliseconds to wait for Postfix to store a message in the Maildir. */
const DELIVERY_TIMEOUT_MS = 10_000;
const DELIVERY_POLL_MS = 50;

/**
 * Trace header fields Postfix puts above a delivered message: Received for the SMTP hop, and
 * Return-Path, X-Original-To and Delivered-To from virtual(8) (as seen with Postfix 3.7).
 */
const TRACE_FIELD = /^(return-path|delivered-to|x-original-to|received):/i;

const envPath = process.env.MAILWIRE_POSTFIX_ENV;
if (!envPath) {
  process.stderr.write(
    'Postfix interoperability tests skipped: MAILWIRE_POSTFIX_ENV is not set; ' +
      'run them with `sudo npm run test:interop`\n',
  );
}

/** Read the KEY=VALUE lines that up.sh writes, and fail on a missing key. */
function readPeerSettings(path: string): PeerSettings {
  const values = new Map<string, string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const separator = line.indexOf('=');
    if (separator > 0) values.set(line.slice(0, separator), line.slice(separator + 1).trim());
  }

  const missing = PEER_KEYS.filter((key) => !values.get(key));
  if (missing.length > 0) {
    throw new Error(`Invalid ${path}: missing ${missing.join(', ')}; rerun scripts/postfix/up.sh`);
  }
  return Object.fromEntries(PEER_KEYS.map((key) => [key, values.get(key)])) as PeerSettings;
}

/** Encodings of a password that must never appear in a transcript or an error. */
function secretForms(user: string, password: string): string[] {
  const base64 = (text: string) => Buffer.from(text).toString('base64');
  return [password, base64(password), base64(`\0${user}\0${password}`)];
}

function expectNoSecret(text: string, user: string, password: string): void {
  for (const form of secretForms(user, password)) expect(text).not.toContain(form);
}

/** A message split into the trace fields Postfix added and the bytes it stored after them. */
interface DeliveredMessage {
  file: string;
  traceFields: string[];
  /** Stored message after the trace fields, decoded as latin1 so one character is one byte. */
  message: string;
}

/** Split off the leading trace fields (with their folded lines) that Postfix prepends. */
function splitTraceFields(file: string, stored: Buffer): DeliveredMessage {
  const text = stored.toString('latin1');
  const traceFields: string[] = [];
  let offset = 0;
  for (let count = 0; count < 100; count++) {
    const end = text.indexOf('\n', offset);
    if (end === -1) break;
    const line = text.slice(offset, end);
    const folded = traceFields.length > 0 && /^[ \t]/.test(line);
    if (!folded && !TRACE_FIELD.test(line)) break;
    if (folded) traceFields[traceFields.length - 1] += `\n${line}`;
    else traceFields.push(line);
    offset = end + 1;
  }
  return { file, traceFields, message: text.slice(offset) };
}

/** Convert sent bytes to the form Postfix stores: LF line ends, decoded as latin1. */
function asStored(sent: string | Uint8Array): string {
  return Buffer.from(sent).toString('latin1').replaceAll('\r\n', '\n');
}

/** Decode a quoted-printable body with LF line ends (RFC 2045 §6.7) into bytes. */
function decodeQuotedPrintable(encoded: string): Buffer {
  const joined = encoded.replaceAll('=\n', '');
  const bytes: number[] = [];
  for (let index = 0; index < joined.length; index++) {
    const hex = joined.slice(index + 1, index + 3);
    if (joined[index] === '=' && /^[0-9A-F]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      index += 2;
    } else {
      bytes.push(joined.charCodeAt(index));
    }
  }
  return Buffer.from(bytes);
}

describe.skipIf(!envPath)('Postfix interoperability', () => {
  const peer = envPath ? readPeerSettings(envPath) : ({} as PeerSettings);
  const ca = envPath ? readFileSync(peer.SMTP_CA, 'utf8') : '';
  const sender = `sender@${peer.SMTP_DOMAIN}`;
  const inbox = `inbox@${peer.SMTP_DOMAIN}`;
  const inspectedFiles = new Set<string>();

  /** Create a transporter for the STARTTLS port, unless overridden, that logs into `sink`. */
  function transporter(sink: MemorySink, overrides: Partial<TransporterOptions> = {}): Transporter {
    return createTransporter({
      host: peer.SMTP_HOST,
      port: Number(peer.SMTP_PORT),
      // Implicit TLS rejects a STARTTLS policy, so only the plain port requires STARTTLS.
      ...(overrides.secure ? {} : { startTls: 'required' as const }),
      auth: { user: peer.SMTP_USER, pass: peer.SMTP_PASSWORD },
      tls: { ca },
      clientName: 'client.mailwire.test',
      connectionTimeout: 5000,
      greetingTimeout: 5000,
      commandTimeout: 10_000,
      dataTimeout: 10_000,
      transcriptSink: sink,
      ...overrides,
    });
  }

  /** Poll the Maildir until a new message containing `marker` appears, for a bounded time. */
  async function waitForDelivery(marker: string): Promise<DeliveredMessage> {
    const folder = join(peer.SMTP_MAILDIR, 'new');
    const deadline = Date.now() + DELIVERY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      for (const name of readdirSync(folder)) {
        if (inspectedFiles.has(name)) continue;
        // Maildir delivery writes into tmp/ and renames, so a file in new/ is complete.
        const stored = readFileSync(join(folder, name));
        inspectedFiles.add(name);
        if (stored.includes(marker)) return splitTraceFields(name, stored);
      }
      await new Promise((resolve) => setTimeout(resolve, DELIVERY_POLL_MS));
    }
    throw new Error(
      `Delivery timed out: no message with ${marker} in ${folder} after ` +
        `${DELIVERY_TIMEOUT_MS} ms; see the Postfix log ${peer.SMTP_LOG}`,
    );
  }

  /** Check the trace fields Postfix added, and the stored copy against the sent bytes. */
  function expectDeliveredAsSent(delivered: DeliveredMessage, sent: string | Uint8Array): void {
    expect(delivered.traceFields.some((field) => /^Return-Path: /.test(field))).toBe(true);
    expect(delivered.traceFields.some((field) => /^Delivered-To: /.test(field))).toBe(true);
    expect(delivered.traceFields.some((field) => /^Received: from /.test(field))).toBe(true);
    expect(delivered.message).toBe(asStored(sent));
  }

  function rawMessage(testId: string, body: string): string {
    return [
      `From: Sender <${sender}>`,
      `To: <${inbox}>`,
      `Subject: mailwire interoperability ${testId}`,
      `Message-ID: <${testId}@client.mailwire.test>`,
      `X-Test-Id: ${testId}`,
      '',
      body,
    ].join('\r\n');
  }

  it.each(['PLAIN', 'LOGIN', 'CRAM-MD5'])('sends over STARTTLS with AUTH %s', async (method) => {
    const sink = new MemorySink();
    const testId = randomUUID();
    const client = transporter(sink, {
      auth: { user: peer.SMTP_USER, pass: peer.SMTP_PASSWORD, method },
    });

    const result = await client.send({
      from: sender,
      to: inbox,
      subject: `AUTH ${method}`,
      text: `Sent after AUTH ${method}`,
      headers: { 'X-Test-Id': testId },
    });
    await client.close();

    expect(result.accepted).toEqual([inbox]);
    expect(result.rejected).toEqual([]);
    expect(result.queueId).toMatch(/^[0-9A-Za-z]+$/);
    const text = sink.text();
    expect(text).toContain('C > "STARTTLS"');
    expect(text).toMatch(/### TLS started: TLSv1\.[23].*, verified/);
    expect(text).toContain(`C > "AUTH ${method}`);
    expect(text).toMatch(/S < "235 /);
    expectNoSecret(text, peer.SMTP_USER, peer.SMTP_PASSWORD);
    const delivered = await waitForDelivery(testId);
    expect(delivered.message).toContain(`Sent after AUTH ${method}`);
    // RFC 3848: ESMTPSA means ESMTP with both TLS and SMTP AUTH.
    const received = delivered.traceFields.find((field) => field.startsWith('Received:'));
    expect(received).toContain('with ESMTPSA');
  });

  it('sends over implicit TLS with tls.ca', async () => {
    const sink = new MemorySink();
    const testId = randomUUID();
    const client = transporter(sink, { port: Number(peer.SMTPS_PORT), secure: true });
    const raw = rawMessage(testId, 'Sent over implicit TLS\r\n');

    const result = await client.send({ envelope: { from: sender, to: inbox }, raw });
    await client.close();

    expect(result.accepted).toEqual([inbox]);
    const text = sink.text();
    expect(text).toContain(`on port ${peer.SMTPS_PORT}. (secured)`);
    expect(text).toMatch(/### TLS started: TLSv1\.[23].*, verified/);
    expect(text).not.toContain('C > "STARTTLS"');
    expectDeliveredAsSent(await waitForDelivery(testId), raw);
  });

  it.each(['PLAIN', 'LOGIN'])('reports EAUTH 535 for a wrong %s password', async (method) => {
    const sink = new MemorySink();
    const wrongPassword = `wrong-${randomUUID()}`;
    const client = transporter(sink, {
      auth: { user: peer.SMTP_USER, pass: wrongPassword, method },
    });

    const caught: unknown = await client
      .send({ from: sender, to: inbox, text: 'never sent' })
      .catch((error: unknown) => error);
    await client.close();

    expect(isSmtpError(caught)).toBe(true);
    const error = caught as SmtpError;
    expect(error.code).toBe('EAUTH');
    expect(error.responseCode).toBe(535);
    expect(error.phase).toBe('auth');
    const text = sink.text();
    expect(text).toMatch(/S < "535 /);
    expect(text).toContain('C > "QUIT"');
    expect(text).toMatch(/S < "221 /);
    expect(text).not.toContain('C > "MAIL FROM');
    const outputs = [text, error.message, JSON.stringify(error), String(error.stack)];
    for (const output of [...outputs, error.transcript.join('\n')]) {
      expectNoSecret(output, peer.SMTP_USER, wrongPassword);
    }
  });

  it('returns a partial result when one recipient gets 550', async () => {
    const sink = new MemorySink();
    const testId = randomUUID();
    const client = transporter(sink);
    const raw = rawMessage(testId, 'One of two recipients is rejected\r\n');

    const result = await client.send({
      envelope: { from: sender, to: [inbox, peer.SMTP_REJECT_RCPT] },
      raw,
    });
    await client.close();

    expect(result.accepted).toEqual([inbox]);
    expect(result.rejected).toHaveLength(1);
    const [rejected] = result.rejected;
    expect(rejected?.recipient).toBe(peer.SMTP_REJECT_RCPT);
    expect(rejected?.code).toBe(550);
    expect(rejected?.enhancedCode).toBe('5.1.1');
    expect(rejected?.response).toContain('recipient rejected');
    expectDeliveredAsSent(await waitForDelivery(testId), raw);
  });

  it('marks a 450 recipient as temporary', async () => {
    const sink = new MemorySink();
    const client = transporter(sink);

    const caught: unknown = await client
      .send({ from: sender, to: peer.SMTP_TEMPFAIL_RCPT, text: 'greylisted' })
      .catch((error: unknown) => error);
    await client.close();

    expect(isSmtpError(caught)).toBe(true);
    const error = caught as SmtpError;
    expect(error.code).toBe('EENVELOPE');
    expect(error.responseCode).toBe(450);
    expect(error.enhancedCode).toBe('4.2.1');
    expect(error.temporary).toBe(true);
    expect(error.retryable).toBe(true);
    expect(error.rejected.map((entry) => entry.recipient)).toEqual([peer.SMTP_TEMPFAIL_RCPT]);
    expect(error.rejected[0]?.code).toBe(450);
    expect(sink.text()).toContain('C > "QUIT"');
  });

  it('sends with BDAT when Postfix offers CHUNKING', async () => {
    const sink = new MemorySink();
    const testId = randomUUID();
    const client = transporter(sink);
    const raw = rawMessage(testId, 'Sent in BDAT chunks\r\n');

    await client.send({ envelope: { from: sender, to: inbox }, raw });
    await client.close();

    const text = sink.text();
    expect(text).toMatch(/S < "250[- ]CHUNKING"/);
    expect(text).toMatch(/C > "BDAT \d+ LAST"/);
    expect(text).not.toContain('C > "DATA"');
    expectDeliveredAsSent(await waitForDelivery(testId), raw);
  });

  it.each([
    ['BDAT', true],
    ['DATA', false],
  ])('keeps dot-leading lines intact over %s', async (verb, chunking) => {
    const sink = new MemorySink();
    const testId = randomUUID();
    const client = transporter(sink, { chunking });
    const body = ['.', '..', '...', '.leading dot', '. after a space', 'last line', '.', ''];
    const raw = rawMessage(testId, body.join('\r\n'));

    await client.send({ envelope: { from: sender, to: inbox }, raw });
    await client.close();

    expect(sink.text()).toMatch(verb === 'BDAT' ? /C > "BDAT \d+ LAST"/ : /C > "DATA"/);
    expectDeliveredAsSent(await waitForDelivery(testId), raw);
  });

  it('delivers a raw 8-bit message unchanged', async () => {
    const sink = new MemorySink();
    const testId = randomUUID();
    const client = transporter(sink);
    const body = [
      'Grüße aus Köln, ½ € and 日本語 and 🙂',
      `A line of ${'0123456789'.repeat(90)} 900 digits`,
      'Trailing spaces   ',
      'Tab\tinside and a tab at the end\t',
      '',
      '',
      'After two empty lines',
      '',
    ].join('\r\n');
    const raw = Buffer.from(
      rawMessage(testId, body).replace('Subject: ', 'Subject: folded\r\n\tonto a second line '),
    );

    const result = await client.send({ envelope: { from: sender, to: inbox }, raw });
    await client.close();

    expect(result.messageId).toBe(`<${testId}@client.mailwire.test>`);
    expect(sink.text()).toMatch(/C > "MAIL FROM:<[^>]+> .*BODY=8BITMIME/);
    expectDeliveredAsSent(await waitForDelivery(testId), raw);
  });

  it.each([
    ['BDAT', true],
    ['DATA', false],
  ])('turns bare LF line ends into CRLF over %s', async (_verb, chunking) => {
    // Postfix runs with smtpd_forbid_bare_newline = reject, so a bare LF on the wire fails.
    const sink = new MemorySink();
    const testId = randomUUID();
    const client = transporter(sink, { chunking });
    const raw = rawMessage(testId, 'first line\r\nsecond line\r\n.\r\nlast line\r\n').replaceAll(
      '\r\n',
      '\n',
    );

    const result = await client.send({ envelope: { from: sender, to: inbox }, raw });
    await client.close();

    expect(result.accepted).toEqual([inbox]);
    expectDeliveredAsSent(await waitForDelivery(testId), raw);
  });

  it('delivers a long composed UTF-8 message unchanged', async () => {
    // Body lines reach the transcript (logBody: 'full') on the DATA path only, so this test
    // turns CHUNKING off to read the composed bytes back from the transcript.
    const sink = new MemorySink();
    const testId = randomUUID();
    const client = transporter(sink, { chunking: false, logBody: 'full' });
    const paragraph = 'Größenwahn, déjà vu, Ελληνικά, Русский, 中文, emoji 🚀 = equals. ';
    const text = Array.from({ length: 40 }, (_, line) => `${line}: ${paragraph.repeat(3)}`)
      .concat(['.', '.. dot lines', ''])
      .join('\n');

    const result = await client.send({
      from: { name: 'Jürgen Sender', address: sender },
      to: inbox,
      subject: `Grüße ${'ü'.repeat(60)} ${testId}`,
      text,
      headers: { 'X-Test-Id': testId },
    });
    await client.close();

    const delivered = await waitForDelivery(testId);
    const sentLines = bodyLinesFromTranscript(sink);
    expect(sentLines.length).toBeGreaterThan(40);
    expectDeliveredAsSent(delivered, `${sentLines.join('\r\n')}\r\n`);

    const headerEnd = delivered.message.indexOf('\n\n');
    const headers = delivered.message.slice(0, headerEnd);
    expect(headers).toContain(`Message-ID: ${result.messageId}`);
    expect(headers).toMatch(/^Content-Transfer-Encoding: quoted-printable$/im);
    expect(delivered.message).toMatch(/^[\x00-\x7f]*$/);
    const decoded = decodeQuotedPrintable(delivered.message.slice(headerEnd + 2));
    expect(decoded.toString('utf8')).toBe(text);
  });

  /** Body lines the client logged between the 354 reply and the end of the data. */
  function bodyLinesFromTranscript(sink: MemorySink): string[] {
    const entries = sink.entries;
    const start = entries.findIndex((entry) => /^354[ -]/.test(entry.text));
    const end = entries.findIndex((entry) => entry.text.startsWith('Message data sent:'));
    return entries
      .slice(start + 1, end)
      .filter((entry) => entry.direction === 'client')
      .map((entry) => entry.text);
  }

  it('verify reports STARTTLS, AUTH and TLS', async () => {
    const plainSink = new MemorySink();
    const plain = await transporter(plainSink, { startTls: 'never', auth: undefined }).verify();

    expect(plain.greeting).toMatch(/ESMTP/);
    expect(plain.extensions).toContain('STARTTLS');
    expect(plain.extensions).toContain('CHUNKING');
    expect(plain.authMechanisms).toEqual([]);
    expect(plain.tls).toBeNull();
    expect(plain.authenticated).toBe(false);

    const sink = new MemorySink();
    const secured = await transporter(sink).verify();

    expect(secured.extensions).not.toContain('STARTTLS');
    expect(secured.extensions).toContain('PIPELINING');
    expect([...secured.authMechanisms].sort()).toEqual(['CRAM-MD5', 'LOGIN', 'PLAIN']);
    expect(secured.tls?.protocol).toMatch(/^TLSv1\.[23]$/);
    expect(secured.tls?.authorized).toBe(true);
    expect(secured.tls?.cipher).toBeTruthy();
    expect(secured.authenticated).toBe(true);
    expect(sink.text()).toContain('C > "STARTTLS"');
    expect(sink.text()).toContain('C > "QUIT"');
    expect(sink.text()).not.toContain('C > "MAIL FROM');
    expectNoSecret(sink.text(), peer.SMTP_USER, peer.SMTP_PASSWORD);
  });
});
