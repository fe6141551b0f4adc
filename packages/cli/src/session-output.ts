/**
 * Output shared by `send` and `probe`: the live transcript on stderr, error objects for
 * `--json`, exit statuses for errors and the diagnosis hint printed after a failure. The
 * transcript entries arrive masked from core and are printed as they are.
 */
import {
  formatTextLine,
  isSmtpError,
  type SmtpError,
  type TranscriptEntry,
  type TranscriptSink,
} from '@mailwire/node';
import { splitConnections } from './conversation.js';
import { analyseConnection, type Finding } from './diagnosis.js';
import { formatLineNumbers } from './narrative.js';
import { EXIT, InputError, messageOf, type Palette } from './terminal.js';
import type { LogLine } from './transcript-reader.js';

/** Marker between the prefix and the text of a text log line. */
const MARKERS = { client: ' C > ', server: ' S < ', event: ' ### ' } as const;

/** Entries kept in memory for the diagnosis hint; a session has far fewer lines. */
const MAX_KEPT_ENTRIES = 5000;

/** Prints each transcript line on a stream as it happens and keeps the entries for a diagnosis. */
export class TerminalTranscriptSink implements TranscriptSink {
  readonly entries: TranscriptEntry[] = [];

  constructor(
    private readonly stream: NodeJS.WritableStream | null,
    private readonly palette: Palette,
  ) {}

  write(entries: readonly TranscriptEntry[]): void {
    for (const entry of entries) {
      this.entries.push(entry);
      this.stream?.write(`${this.colour(entry)}\n`);
    }
    if (this.entries.length > MAX_KEPT_ENTRIES) {
      this.entries.splice(0, this.entries.length - MAX_KEPT_ENTRIES);
    }
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  private colour(entry: TranscriptEntry): string {
    const line = formatTextLine(entry);
    const marker = line.indexOf(MARKERS[entry.direction]);
    if (marker === -1) return line;
    const prefix = this.palette.dim(line.slice(0, marker));
    const rest = line.slice(marker);
    if (entry.direction === 'client') return prefix + this.palette.cyan(rest);
    if (entry.direction === 'event') return prefix + this.palette.magenta(rest);
    return prefix + (/^[45]/.test(entry.text) ? this.palette.red(rest) : this.palette.green(rest));
  }
}

/** The `error` member of `--json` output. */
export interface ErrorJson {
  code: string;
  responseCode: number | null;
  enhancedCode: string | null;
  phase: string | null;
  message: string;
}

/** Reduce an error to the `--json` error member; never includes a credential. */
export function errorJson(error: unknown): ErrorJson {
  if (isSmtpError(error)) {
    return {
      code: error.code,
      responseCode: error.responseCode,
      enhancedCode: error.enhancedCode,
      phase: error.phase ?? null,
      message: error.message,
    };
  }
  const code = error instanceof InputError ? 'EINPUT' : 'EUNKNOWN';
  return {
    code,
    responseCode: null,
    enhancedCode: null,
    phase: code === 'EINPUT' ? 'input' : null,
    message: messageOf(error),
  };
}

/**
 * Exit status for an error: 2 when the input was invalid and no mail transaction began,
 * otherwise 1. A usage error raised after connecting (credentials refused on a clear
 * connection) counts as a failed send, since the server was contacted.
 */
export function exitStatusOf(error: unknown): number {
  if (error instanceof InputError) return EXIT.usage;
  if (isSmtpError(error) && error.code === 'EINPUT' && (error.phase ?? 'input') === 'input')
    return EXIT.usage;
  return EXIT.failed;
}

/** Diagnose the failure of the last connection in the entries; null when it did not fail. */
export function diagnoseEntries(entries: readonly TranscriptEntry[]): Finding | null {
  const records: LogLine[] = entries.map((entry) => ({
    line: entry.counter,
    counter: entry.counter,
    time: entry.time,
    processId: entry.processId,
    connectionId: entry.connectionId,
    direction: entry.direction,
    text: entry.text,
  }));
  const connections = splitConnections(records);
  const last = connections[connections.length - 1];
  return last ? analyseConnection(last).failure : null;
}

/** Print an error and the diagnosis of the session on stderr. */
export function printFailure(
  what: string,
  error: unknown,
  entries: readonly TranscriptEntry[],
  palette: Palette,
): void {
  if (exitStatusOf(error) === EXIT.usage) {
    process.stderr.write(`${palette.red('mailwire: invalid input:')} ${messageOf(error)}\n`);
    process.stderr.write(`Nothing was sent. Run 'mailwire ${what} --help' for the options.\n`);
    return;
  }
  process.stderr.write(`${palette.red(`mailwire: ${what} failed:`)} ${messageOf(error)}\n`);
  const finding = isSmtpError(error) && error.code !== 'EINPUT' ? diagnoseEntries(entries) : null;
  if (!finding) return;
  const { summary, nextSteps } = finding.diagnosis;
  process.stderr.write(`  ${palette.bold('Diagnosis:')} ${summary}\n`);
  for (const step of nextSteps) process.stderr.write(`  ${palette.bold('Next:')} ${step}\n`);
  process.stderr.write(palette.dim(`  (transcript lines ${formatLineNumbers(finding.lines)})\n`));
}

/** Recipients refused before an error, in the `--json` form. */
export function rejectedOf(error: SmtpError): SmtpError['rejected'] {
  return error.rejected.map(({ recipient, code, enhancedCode, response }) => ({
    recipient,
    code,
    enhancedCode,
    response,
  }));
}
