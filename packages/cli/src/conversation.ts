/**
 * Turns transcript records into conversations: one per connection of one process, each a list
 * of steps that pair a client command with the server's reply (pipelined commands included),
 * plus the events between them. Only reads records; judging what went wrong is
 * `diagnosis.ts`'s job.
 */
import type { LogLine } from './transcript-reader.js';

/** Step of a session, named like the phases of the client's errors. */
export type StepPhase =
  | 'greeting'
  | 'ehlo'
  | 'starttls'
  | 'auth'
  | 'mail'
  | 'rcpt'
  | 'data'
  | 'message'
  | 'quit'
  | 'other';

/** One server reply, possibly multi-line. */
export interface Reply {
  /** Three-digit code of the last line, or null when the line has none. */
  code: number | null;
  /** RFC 3463 code of the first line, such as `5.7.8`, or null. */
  enhancedCode: string | null;
  lines: LogLine[];
  /** Reply text without codes, lines joined with a space. */
  text: string;
}

/** A command and its reply, or a reply no command asked for. */
export interface Step {
  /**
   * `GREETING`, a command verb such as `EHLO`, `AUTH-RESPONSE` for the client response to a 334
   * challenge, `.` for the end of the message data, or `UNSOLICITED` for an unasked reply.
   */
  verb: string;
  phase: StepPhase;
  command: LogLine | null;
  /** Message body lines logged after a 354 reply; only on the `.` step. */
  body: LogLine[];
  reply: Reply | null;
  /** Time the step started: the command, the connection or the 354 reply. */
  startedAt: number | null;
  /** Milliseconds from the start of the step to the last line of its reply. */
  durationMs: number | null;
  /** Whether TLS was active when the step started. */
  secure: boolean;
}

export type TimelineItem = { kind: 'step'; step: Step } | { kind: 'event'; line: LogLine };

/** Every record of one connection, read into steps and events. */
export interface Connection {
  /** Connection id from the log; unique only within one run of one process. */
  id: number;
  /** Process id that groups the records, or null when the log has no valid one. */
  processId: number | null;
  /** Distinct process ids written in the records, invalid ones (below 0) included. */
  processIds: number[];
  records: LogLine[];
  timeline: TimelineItem[];
  steps: Step[];
  events: LogLine[];
  host: string | null;
  port: number | null;
  /** TLS from the first byte, as on port 465. */
  implicitTls: boolean;
  /** The `TLS started` event, when there was one. */
  tls: LogLine | null;
  startedAt: number | null;
}

const KNOWN_VERBS = new Set([
  'EHLO',
  'HELO',
  'LHLO',
  'STARTTLS',
  'AUTH',
  'MAIL',
  'RCPT',
  'DATA',
  'BDAT',
  'RSET',
  'NOOP',
  'QUIT',
  'VRFY',
  'EXPN',
  'HELP',
  'ETRN',
]);

const PHASES: Record<string, StepPhase> = {
  GREETING: 'greeting',
  EHLO: 'ehlo',
  HELO: 'ehlo',
  LHLO: 'ehlo',
  STARTTLS: 'starttls',
  AUTH: 'auth',
  'AUTH-RESPONSE': 'auth',
  MAIL: 'mail',
  RCPT: 'rcpt',
  DATA: 'data',
  BDAT: 'message',
  '.': 'message',
  QUIT: 'quit',
};

const CONNECTED = /^SMTP Connected to '(.*)' on port (\d+)\.?( \(secured\))?/;
const CONNECT_FAILED = /^SMTP Connection to '(.*)' on port (\d+) failed/;

/**
 * Group records into connections, in order of first appearance. Processes number their
 * connections from 1 each, so several processes appending to one log reuse the same ids:
 * the key is the process id and the connection id. A process restarted with the same pid
 * repeats both, so a connect event (`SMTP Connected to` or `SMTP Connection to … failed`)
 * starts a new connection when the current one for its key has had one already. A record
 * without a valid process id (missing, or negative in a damaged log) joins the latest
 * connection with its connection id.
 */
export function splitConnections(records: readonly LogLine[]): Connection[] {
  const groups: RecordGroup[] = [];
  const current = new Map<string, RecordGroup>();
  const latestById = new Map<number, RecordGroup>();

  for (const record of records) {
    const processId = validProcessId(record);
    let group = groupFor(record.connectionId, processId, current, latestById);
    const connects = record.direction === 'event' && isConnectEvent(record.text);
    if (!group || (connects && group.connected)) {
      group = { connectionId: record.connectionId, processId, records: [], connected: false };
      groups.push(group);
    }
    group.processId ??= processId;
    if (connects) group.connected = true;
    group.records.push(record);
    if (group.processId !== null) current.set(keyOf(group.processId, group.connectionId), group);
    latestById.set(record.connectionId, group);
  }
  return groups.map((group) => readConnection(group.connectionId, group.processId, group.records));
}

interface RecordGroup {
  connectionId: number;
  processId: number | null;
  records: LogLine[];
  /** A connect event has been read into this group. */
  connected: boolean;
}

function keyOf(processId: number, connectionId: number): string {
  return `${processId}:${connectionId}`;
}

function validProcessId(record: LogLine): number | null {
  return record.processId !== null && record.processId >= 0 ? record.processId : null;
}

/** The open group a record belongs to, or undefined when it starts a new one. */
function groupFor(
  connectionId: number,
  processId: number | null,
  current: Map<string, RecordGroup>,
  latestById: Map<number, RecordGroup>,
): RecordGroup | undefined {
  if (processId === null) return latestById.get(connectionId);
  const group = current.get(keyOf(processId, connectionId));
  if (group) return group;
  // A group begun by records without a process id takes the first one that arrives.
  const latest = latestById.get(connectionId);
  return latest && latest.processId === null ? latest : undefined;
}

function isConnectEvent(text: string): boolean {
  return CONNECTED.test(text) || CONNECT_FAILED.test(text);
}

/** Return the verb of a client line, or `AUTH-RESPONSE` for a response to a SASL challenge. */
export function verbOf(text: string, inSaslExchange: boolean): string {
  const word = (/^[A-Za-z]+/.exec(text)?.[0] ?? '').toUpperCase();
  if (KNOWN_VERBS.has(word)) return word;
  return inSaslExchange || /^\*+$/.test(text) ? 'AUTH-RESPONSE' : word || text.slice(0, 12);
}

export function phaseOf(verb: string): StepPhase {
  return PHASES[verb] ?? 'other';
}

/** Build a reply from its lines. The code comes from the last line (RFC 5321 §4.2.1). */
export function makeReply(lines: LogLine[]): Reply {
  const last = lines[lines.length - 1]?.text ?? '';
  const code = /^([2-5]\d\d)(?:[ -]|$)/.exec(last)?.[1];
  const enhanced = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})(?:\s|$)/.exec(lines[0]?.text ?? '');
  const text = lines
    .map((line) => line.text.replace(/^\d{3}[ -]?/, '').replace(/^[245]\.\d{1,3}\.\d{1,3}\s*/, ''))
    .join(' ')
    .trim();
  return {
    code: code === undefined ? null : Number(code),
    enhancedCode: enhanced?.[1] ?? null,
    lines,
    text,
  };
}

function readConnection(id: number, processId: number | null, records: LogLine[]): Connection {
  const connection: Connection = {
    id,
    processId,
    processIds: [...new Set(records.map((record) => record.processId).filter(isNumber))],
    records,
    timeline: [],
    steps: [],
    events: [],
    host: null,
    port: null,
    implicitTls: false,
    tls: null,
    startedAt: records.find((record) => record.time !== null)?.time ?? null,
  };
  const reader = new StepReader(connection);
  for (const record of records) reader.read(record);
  reader.end();
  return connection;
}

class StepReader {
  private readonly pending: Step[] = [];
  private replyLines: LogLine[] = [];
  private greeted = false;
  private secure = false;
  private inSaslExchange = false;
  /** The `.` step while message body lines are being logged. */
  private body: Step | null = null;
  private connectedAt: number | null = null;

  constructor(private readonly connection: Connection) {}

  read(record: LogLine): void {
    if (record.direction === 'event') this.readEvent(record);
    else if (record.direction === 'client') this.readClient(record);
    else this.readServer(record);
  }

  /** Finish reading, so that a log that ends inside a reply still gets the lines it has. */
  end(): void {
    if (this.body) this.endBody();
    if (this.replyLines.length > 0) this.finishReply();
  }

  /**
   * End the message data: the `.` step waits for its reply from here on, and enters the
   * timeline here, after the body lines and the `Message data sent` event that precede it.
   */
  private endBody(): void {
    const step = this.body!;
    this.body = null;
    this.pending.push(step);
    this.connection.timeline.push({ kind: 'step', step });
  }

  private readEvent(record: LogLine): void {
    const connection = this.connection;
    connection.events.push(record);
    connection.timeline.push({ kind: 'event', line: record });
    const connected = CONNECTED.exec(record.text) ?? CONNECT_FAILED.exec(record.text);
    if (connected) {
      connection.host = connected[1] ?? null;
      connection.port = Number(connected[2]);
      connection.implicitTls = connected[3] !== undefined;
      this.secure = connection.implicitTls;
      this.connectedAt = record.time;
    } else if (record.text.startsWith('TLS started')) {
      connection.tls = record;
      this.secure = true;
    } else if (record.text.startsWith('Message data sent') && this.body) {
      this.endBody();
    }
  }

  private readClient(record: LogLine): void {
    if (this.body) {
      this.body.body.push(record);
      return;
    }
    const verb = verbOf(record.text, this.inSaslExchange);
    this.addStep(verb, record, record.time);
  }

  private readServer(record: LogLine): void {
    // The server spoke, so the message data has ended even if the log lacks the event.
    if (this.body) this.endBody();
    this.replyLines.push(record);
    if (!/^\d{3}-/.test(record.text)) this.finishReply();
  }

  private finishReply(): void {
    const reply = makeReply(this.replyLines);
    this.replyLines = [];
    let step = this.pending.shift();
    if (!step) {
      const verb = this.greeted ? 'UNSOLICITED' : 'GREETING';
      step = this.addStep(verb, null, this.greeted ? reply.lines[0]!.time : this.connectedAt);
      this.pending.pop();
    }
    this.greeted = true;

    step.reply = reply;
    const endedAt = reply.lines[reply.lines.length - 1]!.time;
    if (step.startedAt !== null && endedAt !== null) step.durationMs = endedAt - step.startedAt;
    this.inSaslExchange = reply.code === 334;
    if (step.verb === 'DATA' && reply.code === 354) {
      this.body = this.addStep('.', null, endedAt, false);
    }
  }

  /** Add a step; `queue` false leaves the pending queue and the timeline to the caller. */
  private addStep(
    verb: string,
    command: LogLine | null,
    startedAt: number | null,
    queue = true,
  ): Step {
    const step: Step = {
      verb,
      phase: phaseOf(verb),
      command,
      body: [],
      reply: null,
      startedAt,
      durationMs: null,
      secure: this.secure,
    };
    this.connection.steps.push(step);
    if (queue) {
      this.connection.timeline.push({ kind: 'step', step });
      this.pending.push(step);
    }
    return step;
  }
}

function isNumber(value: number | null): value is number {
  return value !== null;
}
