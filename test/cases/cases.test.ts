/**
 * Runs every real-world case in test/fixtures/cases through the Node adapter against the
 * scripted server over 127.0.0.1, then checks what the caller got, the transcript, the DATA
 * bytes on the wire and the harness rules in test/fixtures/cases/README.md.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type {
  RawMessage,
  SendResult,
  TranscriptEntry,
  TranscriptSink,
  TransporterOptions,
} from '@mailwire/core';
import { formatTextLine } from '@mailwire/core';
import { createTransporter } from '@mailwire/node';
import { describe, expect, it } from 'vitest';
import {
  type ScriptedServer,
  type ScriptedServerRecord,
  type ScriptStep,
  startScriptedServer,
} from '../fake-server/scripted-server.js';
import { testCertificates } from '../support/certs.js';

type Outcome = 'sent' | 'partial' | 'error';

interface CaseFile {
  id: string;
  title: string;
  kind: string;
  timeoutMs?: number;
  client: {
    secure: boolean;
    startTls: 'opportunistic' | 'required' | 'never';
    auth: { user: string; pass?: string; accessToken?: string } | null;
    allowInsecureAuth?: boolean;
    mailFrom: string;
    rcptTo: string[];
    message: string;
  };
  script: ScriptStep[];
  expect: {
    outcome: Outcome;
    errorCode: number | null;
    enhancedCode: string | null;
    acceptedRecipients: string[];
    rejectedRecipients: string[];
    transcriptMustContain: string[];
    transcriptMustNotContain: string[];
    bodyMustContain?: string;
    notes: string;
  };
}

/** `SmtpError` fields the cases check, typed unknown because a faulty client may omit them. */
interface ErrorFields {
  name?: unknown;
  message?: unknown;
  stack?: unknown;
  code?: unknown;
  responseCode?: unknown;
  enhancedCode?: unknown;
  accepted?: unknown;
  rejected?: unknown;
}

type Settled<T> =
  | { status: 'resolved'; value: T }
  | { status: 'rejected'; error: unknown }
  | { status: 'unsettled' };

interface CaseRun {
  settled: Settled<SendResult>;
  entries: TranscriptEntry[];
  record: ScriptedServerRecord;
}

const DEFAULT_TIMEOUT_MS = 3000;
/** Extra time the server and the harness give a case beyond the client's own timeouts. */
const DEADLINE_MARGIN_MS = 5000;
/** Time the server gets to finish its trailing read after `send` settled. */
const SERVER_GRACE_MS = 1000;

/** Cases whose notes allow the client to reject the input locally without connecting. */
const mayRejectBeforeConnecting = new Set(['32-line-over-998', '33-crlf-injection-rcpt']);

const casesDirectory = new URL('../fixtures/cases/', import.meta.url);
const cases: CaseFile[] = readdirSync(casesDirectory)
  .filter((name) => /^\d\d-.+\.json$/.test(name))
  .sort()
  .map((name) => JSON.parse(readFileSync(new URL(name, casesDirectory), 'utf8')));

async function settleWithin<T>(promise: Promise<T>, ms: number): Promise<Settled<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Settled<T>>((resolve) => {
    timer = setTimeout(() => resolve({ status: 'unsettled' }), ms);
  });
  const settled = promise.then(
    (value): Settled<T> => ({ status: 'resolved', value }),
    (error: unknown): Settled<T> => ({ status: 'rejected', error }),
  );
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Wait briefly for the server's own end of the run, then stop it. */
async function finishServer(server: ScriptedServer): Promise<ScriptedServerRecord> {
  const finished = await settleWithin(server.result(), SERVER_GRACE_MS);
  return finished.status === 'resolved' ? finished.value : server.stop();
}

/**
 * Create the transporter and start sending. A synchronous throw from either call becomes a
 * rejected send, so that it is checked like any other error.
 */
function startSending(
  options: TransporterOptions,
  message: RawMessage,
): { sending: Promise<SendResult>; close: () => Promise<void> } {
  try {
    const transporter = createTransporter(options);
    return { sending: transporter.send(message), close: async () => transporter.close() };
  } catch (error) {
    return { sending: Promise.reject(error), close: async () => {} };
  }
}

async function runCase(testCase: CaseFile): Promise<CaseRun> {
  const { client } = testCase;
  const timeoutMs = testCase.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const { caPem } = testCertificates();
  const server = await startScriptedServer(testCase.script, {
    implicitTls: client.secure,
    deadlineMs: timeoutMs + DEADLINE_MARGIN_MS,
  });
  const entries: TranscriptEntry[] = [];
  const transcriptSink: TranscriptSink = {
    write: (batch) => {
      entries.push(...batch);
    },
    flush: async () => {},
  };

  // Every client timeout is shortened, not only the greeting and command ones, so that a
  // client stuck in the DATA phase fails the case within seconds as well.
  const { sending, close } = startSending(
    {
      host: '127.0.0.1',
      port: server.port,
      secure: client.secure,
      startTls: client.startTls,
      auth: client.auth ?? undefined,
      allowInsecureAuth: client.allowInsecureAuth ?? false,
      tls: { ca: caPem },
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      dataTimeout: timeoutMs,
      transcriptSink,
    },
    { envelope: { from: client.mailFrom, to: client.rcptTo }, raw: client.message },
  );
  const settled = await settleWithin(sending, timeoutMs + DEADLINE_MARGIN_MS);
  await settleWithin(close(), SERVER_GRACE_MS);
  const record = await finishServer(server);
  return { settled, entries, record };
}

function outcomeOf(settled: Settled<SendResult>): Outcome | 'unsettled' {
  if (settled.status === 'unsettled') return 'unsettled';
  if (settled.status === 'rejected') return 'error';
  return settled.value.rejected.length > 0 ? 'partial' : 'sent';
}

function errorFields(settled: Settled<SendResult>): ErrorFields {
  const error = settled.status === 'rejected' ? settled.error : null;
  return typeof error === 'object' && error !== null ? (error as ErrorFields) : {};
}

function recipientsOf(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.map((item) =>
    typeof item === 'string' ? item : String((item as { recipient?: unknown }).recipient),
  );
}

/** Credentials of a case in every form a careless client or log could show them. */
function secretsOf(testCase: CaseFile): string[] {
  const auth = testCase.client.auth;
  if (!auth) return [];
  const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  const secrets = [base64(auth.user)];
  if (auth.pass) {
    secrets.push(auth.pass, base64(auth.pass));
    secrets.push(base64(`\0${auth.user}\0${auth.pass}`));
    secrets.push(base64(`${auth.user}\0${auth.user}\0${auth.pass}`));
  }
  if (auth.accessToken) {
    secrets.push(auth.accessToken);
    secrets.push(base64(`user=${auth.user}\x01auth=Bearer ${auth.accessToken}\x01\x01`));
  }
  return secrets;
}

/** Replace every credential form of the case with a placeholder, for failure messages. */
function maskSecrets(text: string, testCase: CaseFile): string {
  return secretsOf(testCase).reduce(
    (masked, secret) => masked.split(secret).join('<secret>'),
    text,
  );
}

function stringifySafely(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch (error) {
    return `unserialisable: ${String(error)}`;
  }
}

/** A short, masked account of the run, appended to the main failure messages. */
function describeRun(run: CaseRun, testCase: CaseFile): string {
  const error = errorFields(run.settled);
  const parts = [
    `outcome=${outcomeOf(run.settled)}`,
    run.settled.status === 'rejected'
      ? `error ${String(error.name)} code=${String(error.code)} ` +
        `responseCode=${String(error.responseCode)}: ${String(error.message)}`
      : '',
    `server lines=${stringifySafely(run.record.lines)}`,
    run.record.mismatch ? `mismatch=${stringifySafely(run.record.mismatch)}` : '',
  ];
  return maskSecrets(parts.filter(Boolean).join('; '), testCase);
}

/** Byte offsets of LF without CR before it and of CR without LF after it. */
function findBareLineEnds(bytes: Buffer): { bareLf: number[]; bareCr: number[] } {
  const bareLf: number[] = [];
  const bareCr: number[] = [];
  for (let index = 0; index < bytes.length; index += 1) {
    if (bytes[index] === 0x0a && bytes[index - 1] !== 0x0d) bareLf.push(index);
    // A CR as the last byte of an unterminated body may still get its LF, so it is not counted.
    const isLast = index === bytes.length - 1;
    if (bytes[index] === 0x0d && bytes[index + 1] !== 0x0a && !isLast) bareCr.push(index);
  }
  return { bareLf, bareCr };
}

function checkOutcome(run: CaseRun, testCase: CaseFile): void {
  const expected = testCase.expect;
  const outcome = outcomeOf(run.settled);
  const context = describeRun(run, testCase);
  expect.soft(outcome, `outcome (${context})`).toBe(expected.outcome);

  if (outcome === 'error') {
    const error = errorFields(run.settled);
    expect.soft(error.code, 'error carries a string code').toBeTypeOf('string');
    expect.soft(error.responseCode ?? null, 'error responseCode').toBe(expected.errorCode);
    expect.soft(error.enhancedCode ?? null, 'error enhancedCode').toBe(expected.enhancedCode);
    expect
      .soft(recipientsOf(error.accepted), 'accepted recipients')
      .toEqual(expected.acceptedRecipients);
    expect
      .soft(recipientsOf(error.rejected), 'rejected recipients')
      .toEqual(expected.rejectedRecipients);
  }
  if (run.settled.status === 'resolved') {
    const result = run.settled.value;
    const firstRejected = result.rejected[0];
    if (outcome === 'partial') {
      expect.soft(firstRejected?.code ?? null, 'first rejected code').toBe(expected.errorCode);
      expect
        .soft(firstRejected?.enhancedCode ?? null, 'first rejected enhancedCode')
        .toBe(expected.enhancedCode);
    }
    expect.soft(result.accepted, 'accepted recipients').toEqual(expected.acceptedRecipients);
    expect
      .soft(recipientsOf(result.rejected), 'rejected recipients')
      .toEqual(expected.rejectedRecipients);
  }
}

function formatTranscript(run: CaseRun): string {
  return run.entries.map((entry) => formatTextLine(entry)).join('\n');
}

/**
 * Check the required strings against the formatted transcript only: the error message is
 * not where event lines such as `###` or `C > ` belong.
 */
function checkTranscriptContains(run: CaseRun, testCase: CaseFile): void {
  const transcript = formatTranscript(run);
  for (const required of testCase.expect.transcriptMustContain) {
    const label = `transcript contains ${JSON.stringify(required)}`;
    expect.soft(transcript.includes(required), label).toBe(true);
  }
}

/**
 * Check that forbidden strings appear nowhere the caller can see: transcript, error message,
 * error JSON, error stack or result.
 */
function checkNothingForbiddenShown(run: CaseRun, testCase: CaseFile): void {
  const transcript = formatTranscript(run);
  const error = errorFields(run.settled);
  const result = run.settled.status === 'resolved' ? run.settled.value : null;
  const visible = {
    transcript,
    'error message': String(error.message ?? ''),
    'error JSON': stringifySafely(run.settled.status === 'rejected' ? run.settled.error : null),
    'error stack': String(error.stack ?? ''),
    'result JSON': stringifySafely(result),
  };

  for (const forbidden of testCase.expect.transcriptMustNotContain) {
    const maskedForbidden = JSON.stringify(maskSecrets(forbidden, testCase));
    for (const [place, text] of Object.entries(visible)) {
      expect.soft(text.includes(forbidden), `${place} is free of ${maskedForbidden}`).toBe(false);
    }
  }
}

/**
 * Check the DATA bytes. `bodyMustContain` is written in wire form: test/fixtures/cases/README.md
 * defines it as the bytes after CRLF normalisation and dot-stuffing, and case 29 spells its
 * stuffed lines out ('..hidden line'). So the harness compares it with the received bytes
 * as is and does not stuff it again, which would double those dots a second time.
 */
function checkData(run: CaseRun, testCase: CaseFile): void {
  const { record } = run;
  const bodies = record.incompleteData
    ? [...record.dataBodies, record.incompleteData]
    : record.dataBodies;
  for (const [index, body] of bodies.entries()) {
    const { bareLf, bareCr } = findBareLineEnds(body);
    expect.soft(bareLf, `DATA body ${index} has no bare LF (byte offsets)`).toEqual([]);
    expect.soft(bareCr, `DATA body ${index} has no bare CR (byte offsets)`).toEqual([]);
  }

  const expectedBody = testCase.expect.bodyMustContain;
  if (expectedBody === undefined) return;
  const body = record.dataBodies[0];
  expect.soft(body, 'a complete DATA body arrived').toBeDefined();
  if (!body) return;
  const beforeDot = body.subarray(0, body.length - '.\r\n'.length);
  const found = beforeDot.includes(Buffer.from(expectedBody, 'utf8'));
  const label = `DATA before the final dot contains the expected body; received ${JSON.stringify(
    beforeDot.toString('utf8'),
  )}`;
  expect.soft(found, label).toBe(true);
}

function checkHarnessRules(run: CaseRun, testCase: CaseFile): void {
  const { record } = run;
  const scriptDone = record.stepsPlayed === testCase.script.length;
  const mismatch = record.mismatch && {
    ...record.mismatch,
    actual: record.mismatch.actual && maskSecrets(record.mismatch.actual, testCase),
  };
  expect.soft(mismatch, `script mismatch ${stringifySafely(mismatch)}`).toBeNull();
  expect.soft(scriptDone, `script played to the end (${record.stepsPlayed} steps)`).toBe(true);
  expect.soft(record.timedOut, 'server deadline passed').toBe(false);
  if (!record.mismatch) {
    expect.soft(record.clientClosed, 'client closed the connection').toBe(true);
  }

  const forbidden = record.forbiddenTrailingInput.map((line) => maskSecrets(line, testCase));
  expect.soft(forbidden, 'input after the script other than RSET, NOOP, QUIT').toEqual([]);
  const bareLfLines = record.bareLfLines.map((line) => maskSecrets(line, testCase));
  expect.soft(bareLfLines, 'command lines ending in a bare LF').toEqual([]);
  expect.soft(record.extraConnections, 'connections after the first').toBe(0);
}

function checkAuthResponses(run: CaseRun, testCase: CaseFile): void {
  const auth = testCase.client.auth;
  if (!auth?.pass) return;
  const allowed = [`\0${auth.user}\0${auth.pass}`, `${auth.user}\0${auth.user}\0${auth.pass}`];
  for (const [index, response] of run.record.authResponses.entries()) {
    const decoded = Buffer.from(response, 'base64').toString('utf8');
    // Only a boolean reaches the message, so a failure cannot print the password.
    const label = `AUTH PLAIN response ${index} decodes to the configured credentials`;
    expect.soft(allowed.includes(decoded), label).toBe(true);
  }
}

/** Check a run in which the client rejected the input without connecting. */
function checkLocalRejection(run: CaseRun, testCase: CaseFile): void {
  const error = errorFields(run.settled);
  expect.soft(outcomeOf(run.settled), 'outcome without connecting').toBe('error');
  expect.soft(error.code, 'error carries a string code').toBeTypeOf('string');
  expect.soft(error.responseCode ?? null, 'error responseCode').toBeNull();
  expect.soft(run.record.extraConnections, 'connections opened').toBe(0);
  checkNothingForbiddenShown(run, testCase);
}

describe('real-world cases', () => {
  it('finds the case fixtures', () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  for (const testCase of cases) {
    const timeoutMs = testCase.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const testTimeoutMs = timeoutMs + 2 * DEADLINE_MARGIN_MS + SERVER_GRACE_MS;

    it(testCase.title, { timeout: testTimeoutMs }, async () => {
      const run = await runCase(testCase);

      if (!run.record.connected) {
        const allowed = mayRejectBeforeConnecting.has(testCase.id);
        const label = `client connected to the scripted server (${describeRun(run, testCase)})`;
        expect(allowed, label).toBe(true);
        checkLocalRejection(run, testCase);
        return;
      }

      checkOutcome(run, testCase);
      checkTranscriptContains(run, testCase);
      checkNothingForbiddenShown(run, testCase);
      checkData(run, testCase);
      checkHarnessRules(run, testCase);
      checkAuthResponses(run, testCase);
    });
  }
});
