/**
 * Findings that come from events and from the shape of a session rather than from one
 * negative reply: timeouts, TLS and connection failures, a server that hung up, an
 * unverified certificate, a session that stopped because STARTTLS was not offered.
 */
import type { Connection, Step } from './conversation.js';
import { detectService, type FailureContext, type FailureKind } from './diagnosis-rules.js';
import { type Finding, finding } from './finding.js';
import { describeReplyCode } from './reply-codes.js';
import type { LogLine } from './transcript-reader.js';

/** Facts about the whole session that the rules need. */
export class SessionFacts {
  readonly service: string | null;
  constructor(readonly connection: Connection) {
    const greeting = connection.steps.find((step) => step.verb === 'GREETING');
    const ehlo = connection.steps.find((step) => step.phase === 'ehlo');
    this.service = detectService([
      connection.host,
      greeting?.reply?.lines[0]?.text ?? null,
      ehlo?.reply?.lines[0]?.text ?? null,
    ]);
  }

  authenticatedBefore(step: Step | null): boolean {
    for (const candidate of this.connection.steps) {
      if (candidate === step) return false;
      if (candidate.phase === 'auth' && candidate.reply?.code === 235) return true;
    }
    return false;
  }
}

const TIMEOUT_PHASES: Array<[RegExp, string, string]> = [
  [/waiting for the greeting/, 'greeting', 'GREETING'],
  [/reply to (EHLO|HELO|LHLO)/, 'ehlo', 'EHLO'],
  [/reply to STARTTLS/, 'starttls', 'STARTTLS'],
  [/reply to AUTH/, 'auth', 'AUTH'],
  [/reply to MAIL FROM/, 'mail', 'MAIL'],
  [/reply to RCPT TO/, 'rcpt', 'RCPT'],
  [/reply to DATA/, 'data', 'DATA'],
  [/reply to the message data/, 'message', '.'],
  [/reply to QUIT/, 'quit', 'QUIT'],
  [/TLS handshake/, 'tls', 'TLS'],
  [/no connection to|waiting for the connection/, 'connect', 'CONNECT'],
];

const TLS_WORDS = /certificate|self[- ]signed|wrong version|handshake|\bssl\b|\btls\b|EPROTO/i;

/** Return the failure an event records, or null for an ordinary event. */
export function eventFailure(
  line: LogLine,
  connection: Connection,
  facts: SessionFacts,
): Finding | null {
  const text = line.text;
  let kind: FailureKind | null = null;
  let phase = 'other';
  let verb = lastOpenStep(connection, line)?.verb ?? 'CONNECT';

  if (/^SMTP Connection to '.*' on port \d+ failed/.test(text)) {
    kind = connection.implicitTls || TLS_WORDS.test(text) ? 'tls' : 'connect';
    phase = kind === 'tls' ? 'tls' : 'connect';
    verb = kind === 'tls' ? 'TLS' : 'CONNECT';
  } else if (/^TLS handshake failed/.test(text)) {
    [kind, phase, verb] = ['tls', 'tls', 'TLS'];
  } else if (/timed out/i.test(text)) {
    kind = 'timeout';
    const known = TIMEOUT_PHASES.find(([pattern]) => pattern.test(text));
    if (known) [, phase, verb] = known;
  } else if (/^Connection error/.test(text)) {
    kind = 'connection-error';
  } else if (/^Message rejected before connecting/.test(text)) {
    [kind, phase, verb] = ['input', 'input', 'INPUT'];
  }
  if (kind === null) return null;
  if (kind === 'connection-error') phase = lastOpenStep(connection, line)?.phase ?? 'other';

  const context: FailureContext = {
    kind,
    phase,
    verb,
    code: null,
    enhancedCode: null,
    text,
    secure: connection.implicitTls || connection.tls !== null,
    authenticated: facts.authenticatedBefore(null),
    service: facts.service,
    port: connection.port,
    implicitTls: connection.implicitTls,
  };
  const open = lastOpenStep(connection, line);
  // A silent server is shown by the connection that opened and the greeting that never came.
  const connected =
    phase === 'greeting'
      ? connection.events.find((event) => event.text.startsWith('SMTP Connected'))
      : undefined;
  const lines = [connected?.line, open?.command?.line, line.line];
  return finding(context, open?.command?.text ?? null, [text], lines, null);
}

/** Find a server that closed the connection while a command still waited for its reply. */
export function closedFailure(connection: Connection, facts: SessionFacts): Finding | null {
  const closed = connection.events.find((event) => event.text === 'SMTP Connection closed');
  if (!closed) return null;
  const open = lastOpenStep(connection, closed);
  if (!open || open.phase === 'quit') return null;
  const context: FailureContext = {
    kind: 'closed',
    phase: open.phase,
    verb: open.verb,
    code: null,
    enhancedCode: null,
    text: closed.text,
    secure: open.secure,
    authenticated: facts.authenticatedBefore(open),
    service: facts.service,
    port: connection.port,
    implicitTls: connection.implicitTls,
  };
  return finding(
    context,
    open.command?.text ?? null,
    [closed.text],
    [open.command?.line, closed.line],
    null,
  );
}

/** Find the last step before `line` that has no reply yet. */
function lastOpenStep(connection: Connection, line: LogLine): Step | null {
  let open: Step | null = null;
  for (const item of connection.timeline) {
    if (item.kind === 'event' && item.line === line) break;
    if (item.kind === 'step' && item.step.reply === null) open = item.step;
  }
  return open;
}

export function tlsWarnings(connection: Connection): Finding[] {
  const tls = connection.tls;
  if (!tls || !/NOT verified/.test(tls.text)) return [];
  const context: FailureContext = {
    kind: 'tls',
    phase: 'tls',
    verb: 'TLS',
    code: null,
    enhancedCode: null,
    text: tls.text,
    secure: true,
    authenticated: false,
    service: null,
    port: connection.port,
    implicitTls: connection.implicitTls,
  };
  const result = finding(context, null, [tls.text], [tls.line], null);
  result.diagnosis = {
    ...result.diagnosis,
    summary: `TLS was used without a verified certificate. ${result.diagnosis.summary}`,
  };
  return [result];
}

/** Warn about a session without TLS that ended after EHLO because STARTTLS was not offered. */
export function starttlsWarnings(connection: Connection, outcome: string): Finding[] {
  if (outcome !== 'no-mail' || connection.implicitTls || connection.tls) return [];
  const ehlo = connection.steps.find((step) => step.phase === 'ehlo' && step.reply?.code === 250);
  if (!ehlo?.reply) return [];
  const offered = ehlo.reply.lines.some((line) => /^250[ -]STARTTLS\b/i.test(line.text));
  const next = connection.steps[connection.steps.indexOf(ehlo) + 1];
  if (offered || next?.phase !== 'quit') return [];
  const lines = [...ehlo.reply.lines.map((line) => line.line), next.command?.line];
  return [
    {
      step: 'EHLO',
      stepName: 'EHLO',
      phase: 'ehlo',
      kind: 'reply',
      command: ehlo.command?.text ?? null,
      reply: ehlo.reply.lines.map((line) => line.text),
      replyCode: 250,
      enhancedCode: null,
      replyMeaning: describeReplyCode(250),
      enhancedMeaning: null,
      recipient: null,
      diagnosis: {
        id: 'starttls-not-offered',
        summary:
          'The server did not offer STARTTLS, and the client ended the session right after EHLO.',
        causes: [
          'A client that requires TLS (--starttls required) or has credentials to send stops ' +
            'here rather than send them in clear text.',
          'The port is for implicit TLS or the server has no certificate configured.',
        ],
        nextSteps: ['Use --secure on port 465, or a port that offers STARTTLS (usually 587).'],
      },
      lines: lines.filter((line): line is number => line !== undefined),
    },
  ];
}
