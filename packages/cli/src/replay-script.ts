/**
 * The server's side of one recorded connection, as a script for the replay server: the
 * greeting, then for each recorded client command the reply lines to send back. Reply lines
 * are taken from the log as written, so masked text stays masked.
 */
import type { Connection, Step } from './conversation.js';
import { InputError } from './terminal.js';

/** One recorded command and the server's recorded reply. */
export interface ReplayExchange {
  /** Verb the client is expected to send: `EHLO`, `AUTH`, `AUTH-RESPONSE`, `.` and so on. */
  verb: string;
  /** The recorded client line, masked as in the log; `.` for the end of the message data. */
  recorded: string;
  /** Line number of the recorded command, or of the reply for the end of the data. */
  line: number | null;
  /** Reply lines to send; empty when the recorded server sent no reply. */
  reply: string[];
  /** Start TLS after the reply: an accepted STARTTLS. */
  startTls: boolean;
  /** Message data follows the reply: a 354 reply to DATA. */
  expectData: boolean;
  /** Close the connection after the reply, as the recorded server did. */
  close: boolean;
}

/** Everything the replay server plays for one connection. */
export interface ReplayScript {
  connectionId: number;
  processId: number | null;
  /** TLS from the first byte, as on port 465. */
  implicitTls: boolean;
  greeting: string[];
  /** The greeting was 421, after which the server closes (RFC 5321 §3.1). */
  closeAfterGreeting: boolean;
  exchanges: ReplayExchange[];
  /** The recording used TLS, so the server needs a certificate. */
  usesTls: boolean;
}

/** Connection asked for with `replay --connection`: its id, and its process id when given. */
export interface ConnectionSelector {
  processId: number | null;
  connectionId: number;
}

/** How the connection to replay was asked for; both members undefined picks one. */
export interface ConnectionRequest {
  selector?: ConnectionSelector;
  /** A line number of the file inside the connection. */
  line?: number;
}

/**
 * Pick the connection to replay: the one asked for by id or by line, else the first that
 * failed, else the first. Connections with id 0 hold only events before connecting.
 */
export function chooseConnection(
  connections: Connection[],
  failed: (connection: Connection) => boolean,
  request: ConnectionRequest = {},
): Connection {
  const playable = connections.filter((connection) => connection.id !== 0);
  if (request.line !== undefined) return connectionAtLine(playable, request.line);
  if (request.selector !== undefined) return selectConnection(playable, request.selector);
  const chosen = playable.find(failed) ?? playable[0];
  if (!chosen) throw new InputError('Nothing to replay: the recording has no SMTP connection');
  return chosen;
}

function selectConnection(playable: Connection[], selector: ConnectionSelector): Connection {
  const requested = formatSelector(selector);
  const matches = playable.filter(
    (connection) =>
      connection.id === selector.connectionId &&
      (selector.processId === null || connection.processId === selector.processId),
  );
  if (matches.length === 0) {
    const ids = [...new Set(playable.map((connection) => labelOf(connection, playable)))];
    throw new InputError(
      `Connection ${requested} is not in the recording; its connections are ` +
        `${ids.join(', ') || 'none'}`,
    );
  }
  if (matches.length > 1) {
    const listed = matches
      .map((connection) => `${labelOf(connection, playable)} (${linesOf(connection)})`)
      .join(', ');
    throw new InputError(
      `Connection ${requested} matches ${matches.length} connections of the recording: ` +
        `${listed}. Give PROCESS:ID, or --line with a line number of the one to replay`,
    );
  }
  return matches[0]!;
}

function connectionAtLine(playable: Connection[], line: number): Connection {
  const found = playable.find((connection) =>
    connection.records.some((record) => record.line === line),
  );
  if (!found) {
    throw new InputError(
      `Line ${line} belongs to no SMTP connection of the recording; ` +
        `run mailwire explain on the file for the line ranges of its connections`,
    );
  }
  return found;
}

/** Parse `ID` or `PROCESS:ID`, as printed by `explain` and in the errors above. */
export function parseConnectionSelector(value: string): ConnectionSelector | null {
  const match = /^\s*(?:(-?\d+):)?(\d+)\s*$/.exec(value);
  if (!match) return null;
  const processId = match[1] === undefined ? null : Number(match[1]);
  const connectionId = Number(match[2]);
  if (!Number.isSafeInteger(connectionId)) return null;
  if (processId !== null && !Number.isSafeInteger(processId)) return null;
  return { processId, connectionId };
}

function formatSelector(selector: ConnectionSelector): string {
  const { processId, connectionId } = selector;
  return processId === null ? `${connectionId}` : `${processId}:${connectionId}`;
}

/** `ID` when no other connection of the recording has that id, otherwise `PROCESS:ID`. */
function labelOf(connection: Connection, playable: Connection[]): string {
  const shared = playable.some((other) => other !== connection && other.id === connection.id);
  if (!shared || connection.processId === null) return `${connection.id}`;
  return `${connection.processId}:${connection.id}`;
}

function linesOf(connection: Connection): string {
  const lines = connection.records.map((record) => record.line);
  return `lines ${Math.min(...lines)}-${Math.max(...lines)}`;
}

/** Build the script of a recorded connection. */
export function buildReplayScript(connection: Connection): ReplayScript {
  const connected = connection.events.some((event) => event.text.startsWith('SMTP Connected to'));
  const hasServerLines = connection.records.some((record) => record.direction === 'server');
  if (!connected && !hasServerLines) {
    throw new InputError(
      `Nothing to replay in connection ${connection.id}: the connection failed before the server ` +
        `spoke`,
    );
  }

  const script: ReplayScript = {
    connectionId: connection.id,
    processId: connection.processId,
    implicitTls: connection.implicitTls,
    greeting: [],
    closeAfterGreeting: false,
    exchanges: [],
    usesTls: connection.implicitTls || connection.tls !== null,
  };
  const closedByServer = connection.events.some((event) => event.text === 'SMTP Connection closed');
  for (const step of connection.steps) addStep(script, step);

  const last = script.exchanges[script.exchanges.length - 1];
  // The recorded server closed the connection without replying to the last command,
  // so the replay closes it too.
  if (last && closedByServer && last.reply.length === 0) last.close = true;
  return script;
}

function addStep(script: ReplayScript, step: Step): void {
  const lines = step.reply?.lines.map((line) => line.text) ?? [];
  const code = step.reply?.code ?? null;
  if (step.verb === 'GREETING') {
    script.greeting = lines;
    script.closeAfterGreeting = code === 421;
    return;
  }
  if (step.verb === 'UNSOLICITED') {
    // An unsolicited reply (a 421 before closing) follows the previous reply.
    const previous = script.exchanges[script.exchanges.length - 1];
    if (previous) {
      previous.reply.push(...lines);
      previous.close ||= code === 421;
    } else {
      script.greeting.push(...lines);
      script.closeAfterGreeting ||= code === 421;
    }
    return;
  }
  script.exchanges.push({
    verb: step.verb,
    recorded: step.command?.text ?? step.verb,
    line: step.command?.line ?? step.reply?.lines[0]?.line ?? null,
    reply: lines,
    startTls: step.verb === 'STARTTLS' && code === 220,
    expectData: step.verb === 'DATA' && code === 354,
    close: code === 421 || step.verb === 'QUIT',
  });
}
