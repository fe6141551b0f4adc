/**
 * Reads a conversation and decides what happened: the outcome of each connection, the step
 * that failed, what its reply codes mean and the likely diagnosis, each citing the line
 * numbers it relied on. Shared by `explain`, `view` and the hint `send` prints on failure.
 */
import { type Connection, type Step, splitConnections } from './conversation.js';
import type { FailureContext } from './diagnosis-rules.js';
import { type Finding, finding } from './finding.js';
import { describeEvent, describeStep, type Happening } from './narrative.js';
import {
  closedFailure,
  eventFailure,
  SessionFacts,
  starttlsWarnings,
  tlsWarnings,
} from './session-findings.js';
import type { ReadWarning, TranscriptFile } from './transcript-reader.js';

export type { Finding } from './finding.js';
export { diagnose } from './finding.js';

export type Outcome = 'sent' | 'partial' | 'failed' | 'no-mail' | 'incomplete';

export interface RejectedRecipient {
  recipient: string;
  code: number | null;
  enhancedCode: string | null;
  response: string;
  lines: number[];
}

/** Analysis of one connection: outcome, narrative, failure and warnings. */
export interface ConnectionReport {
  id: number;
  processIds: number[];
  firstLine: number;
  lastLine: number;
  host: string | null;
  port: number | null;
  outcome: Outcome;
  /** Outcome in a few words, such as `failed at AUTH: 535 5.7.8`. */
  headline: string;
  happenings: Happening[];
  failure: Finding | null;
  /** Problems that did not end the session, such as one rejected recipient of several. */
  warnings: Finding[];
  accepted: string[];
  rejected: RejectedRecipient[];
}

/** The whole analysis of a transcript file. */
export interface TranscriptReport {
  format: TranscriptFile['format'];
  lineCount: number;
  recordCount: number;
  readWarnings: ReadWarning[];
  omittedReadWarnings: number;
  connections: ConnectionReport[];
}

/** Analyse every connection of a transcript file. */
export function analyseTranscript(file: TranscriptFile): TranscriptReport {
  return {
    format: file.format,
    lineCount: file.lineCount,
    recordCount: file.records.length,
    readWarnings: file.warnings,
    omittedReadWarnings: file.omittedWarnings,
    connections: splitConnections(file.records).map((connection) => analyseConnection(connection)),
  };
}

/** Analyse one connection: outcome, narrative, failure and warnings. */
export function analyseConnection(connection: Connection): ConnectionReport {
  const context = new SessionFacts(connection);
  const happenings = connection.timeline.map((item) =>
    item.kind === 'step' ? describeStep(item.step) : describeEvent(item.line),
  );
  const { failure, warnings, accepted, rejected } = findFailure(connection, context);
  const outcome = outcomeOf(connection, failure, rejected);
  const lines = connection.records.map((record) => record.line);
  return {
    id: connection.id,
    processIds: connection.processIds,
    firstLine: Math.min(...lines),
    lastLine: Math.max(...lines),
    host: connection.host,
    port: connection.port,
    outcome,
    headline: headlineOf(outcome, failure, accepted, rejected),
    happenings,
    failure,
    warnings: [...warnings, ...tlsWarnings(connection), ...starttlsWarnings(connection, outcome)],
    accepted,
    rejected,
  };
}

interface FailureSearch {
  failure: Finding | null;
  warnings: Finding[];
  accepted: string[];
  rejected: RejectedRecipient[];
}

function findFailure(connection: Connection, facts: SessionFacts): FailureSearch {
  const accepted: string[] = [];
  const rejected: RejectedRecipient[] = [];
  const rcptFindings: Finding[] = [];
  let failure: Finding | null = null;

  for (const item of connection.timeline) {
    if (item.kind === 'event') {
      failure = eventFailure(item.line, connection, facts);
      if (failure) break;
      continue;
    }
    const step = item.step;
    const code = step.reply?.code ?? null;
    if (step.verb === 'RCPT') {
      const recipient = recipientOf(step.command?.text ?? '');
      if (code !== null && code < 400) accepted.push(recipient);
      else if (code !== null) {
        const finding = stepFinding(step, connection, facts, recipient);
        rcptFindings.push(finding);
        rejected.push(rejectedOf(finding, recipient));
      }
      continue;
    }
    if (code === null || code < 400 || step.phase === 'quit') continue;
    // After every recipient was refused, the DATA error only repeats that.
    const allRefused = rcptFindings.length > 0 && accepted.length === 0;
    failure =
      allRefused && step.phase === 'data'
        ? rcptFindings[0]!
        : stepFinding(step, connection, facts, null);
    break;
  }

  if (!failure && rcptFindings.length > 0 && accepted.length === 0) failure = rcptFindings[0]!;
  failure ??= closedFailure(connection, facts);
  const warnings = rcptFindings.filter((finding) => finding !== failure);
  return { failure, warnings, accepted, rejected };
}

function stepFinding(
  step: Step,
  connection: Connection,
  facts: SessionFacts,
  recipient: string | null,
): Finding {
  const reply = step.reply;
  // A rejected SASL response is the failure of the AUTH command that started the exchange.
  const start = step.verb === 'AUTH-RESPONSE' ? authStart(connection, step) : step;
  const context: FailureContext = {
    kind: 'reply',
    phase: step.phase,
    verb: start.verb,
    code: reply?.code ?? null,
    enhancedCode: reply?.enhancedCode ?? null,
    text: reply?.text ?? '',
    secure: step.secure,
    authenticated: facts.authenticatedBefore(step),
    service: facts.service,
    port: connection.port,
    implicitTls: connection.implicitTls,
  };
  const lines = [
    start.command?.line,
    step.command?.line,
    ...(reply?.lines ?? []).map((line) => line.line),
  ];
  const replyLines = (reply?.lines ?? []).map((line) => line.text);
  return finding(context, start.command?.text ?? null, replyLines, lines, recipient);
}

/** Find the AUTH step that began the SASL exchange `step` belongs to. */
function authStart(connection: Connection, step: Step): Step {
  const index = connection.steps.indexOf(step);
  for (let candidate = index - 1; candidate >= 0; candidate--) {
    const previous = connection.steps[candidate]!;
    if (previous.verb === 'AUTH') return previous;
    if (previous.verb !== 'AUTH-RESPONSE') break;
  }
  return step;
}

function recipientOf(command: string): string {
  return /<([^>]*)>/.exec(command)?.[1] ?? command.replace(/^RCPT TO:\s*/i, '');
}

function rejectedOf(finding: Finding, recipient: string): RejectedRecipient {
  return {
    recipient,
    code: finding.replyCode,
    enhancedCode: finding.enhancedCode,
    response: finding.reply.join('\n'),
    lines: finding.lines,
  };
}

function outcomeOf(
  connection: Connection,
  failure: Finding | null,
  rejected: RejectedRecipient[],
): Outcome {
  if (failure) return 'failed';
  const delivered = connection.steps.some(
    (step) =>
      (step.verb === '.' || /^BDAT \d+ LAST/i.test(step.command?.text ?? '')) &&
      (step.reply?.code ?? 0) >= 200 &&
      (step.reply?.code ?? 0) < 300,
  );
  if (delivered) return rejected.length > 0 ? 'partial' : 'sent';
  const ended =
    connection.steps.some((step) => step.phase === 'quit') ||
    connection.events.some((event) => event.text === 'SMTP Connection closed');
  return ended ? 'no-mail' : 'incomplete';
}

function headlineOf(
  outcome: Outcome,
  failure: Finding | null,
  accepted: string[],
  rejected: RejectedRecipient[],
): string {
  if (outcome === 'failed' && failure) {
    const codes = [failure.replyCode, failure.enhancedCode]
      .filter((code) => code !== null)
      .join(' ');
    return `failed at ${failure.stepName}${codes ? `: ${codes}` : ''}`;
  }
  if (outcome === 'sent') return `message accepted for ${plural(accepted.length, 'recipient')}`;
  if (outcome === 'partial') {
    return (
      `message accepted for ${accepted.length} of ${accepted.length + rejected.length} ` +
      `recipients`
    );
  }
  if (outcome === 'no-mail') return 'session ended without sending mail';
  return 'the log ends before the session did';
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
