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
  /** TLS from the first byte, as on port 465. */
  implicitTls: boolean;
  greeting: string[];
  /** The greeting was 421, after which the server closes (RFC 5321 §3.1). */
  closeAfterGreeting: boolean;
  exchanges: ReplayExchange[];
  /** The recording used TLS, so the server needs a certificate. */
  usesTls: boolean;
}

/** Pick the connection to replay: the one asked for, else the first that failed, else the first. */
export function chooseConnection(
  connections: Connection[],
  failed: (connection: Connection) => boolean,
  requested?: number,
): Connection {
  const playable = connections.filter((connection) => connection.id !== 0);
  if (requested !== undefined) {
    const found = playable.find((connection) => connection.id === requested);
    if (!found) {
      const ids = playable.map((connection) => connection.id).join(', ') || 'none';
      throw new InputError(
        `Connection ${requested} is not in the recording; its connections are ${ids}`,
      );
    }
    return found;
  }
  const chosen = playable.find(failed) ?? playable[0];
  if (!chosen) throw new InputError('Nothing to replay: the recording has no SMTP connection');
  return chosen;
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
