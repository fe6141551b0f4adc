/**
 * A diagnosed failure: the failed step, what its reply codes mean and the diagnosis of the
 * first rule that matches, with the line numbers it relies on.
 */
import { replyRules } from './diagnosis-reply-rules.js';
import {
  type Diagnosis,
  type FailureContext,
  type FailureKind,
  sessionRules,
  stepNameOf,
} from './diagnosis-rules.js';
import { type CodeMeaning, describeEnhancedCode, describeReplyCode } from './reply-codes.js';

/** A failed step with its meaning and diagnosis. */
export interface Finding {
  /** Verb of the failed step, `GREETING`, `.` for the end of the data, or an event's step. */
  step: string;
  /** The step in words, such as `AUTH` or `the end of the message data`. */
  stepName: string;
  phase: string;
  kind: FailureKind;
  /** Command as logged (secrets masked), or null. */
  command: string | null;
  /** Reply lines, or the event text. */
  reply: string[];
  replyCode: number | null;
  enhancedCode: string | null;
  replyMeaning: CodeMeaning | null;
  enhancedMeaning: CodeMeaning | null;
  /** Recipient of a RCPT step. */
  recipient: string | null;
  diagnosis: Diagnosis;
  /** Line numbers of the file this finding relies on. */
  lines: number[];
}

/** Build a finding for a failed step from its context. */
export function finding(
  context: FailureContext,
  command: string | null,
  reply: string[],
  lines: Array<number | undefined>,
  recipient: string | null,
): Finding {
  return {
    step: context.verb,
    stepName: stepNameOf(context.verb),
    phase: context.phase,
    kind: context.kind,
    command,
    reply,
    replyCode: context.code,
    enhancedCode: context.enhancedCode,
    replyMeaning: context.code === null ? null : describeReplyCode(context.code),
    enhancedMeaning:
      context.enhancedCode === null ? null : describeEnhancedCode(context.enhancedCode),
    recipient,
    diagnosis: diagnose(context),
    lines: [...new Set(lines.filter((line): line is number => line !== undefined))].sort(
      (a, b) => a - b,
    ),
  };
}

/** Diagnose one failed step; every failure gets one, general when no rule is specific. */
export function diagnose(context: FailureContext): Diagnosis {
  for (const rule of [...sessionRules, ...replyRules]) {
    const result = rule(context);
    if (result) return result;
  }
  const temporary = context.code !== null && context.code < 500;
  const code = context.code === null ? '' : ` with ${context.code}`;
  return {
    id: temporary ? 'temporary-failure' : 'permanent-failure',
    summary:
      `The server ${temporary ? 'deferred' : 'rejected'} ` + `${stepNameOf(context.verb)}${code}.`,
    causes: [
      temporary
        ? 'A temporary condition on the server.'
        : 'The reply text gives the server’s reason.',
    ],
    nextSteps: [
      temporary
        ? 'Try again later.'
        : 'Read the reply text and change what it names before trying again.',
    ],
  };
}
