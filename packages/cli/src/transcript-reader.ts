/**
 * Tolerant reading of transcript files, in the text format or as JSON Lines. Unlike core's
 * strict `parseTextLine`, this reads damaged logs: records glued onto one line, missing
 * fields, negative process ids, Windows line ends, a missing closing quote. Every repair
 * is reported as a warning with its line number; nothing is dropped silently.
 */

/** Source of a line: the client (`C >`), the server (`S <`) or an event (`###`). */
export type Direction = 'client' | 'server' | 'event';

/** One record of a transcript, as read from a file. */
export interface LogLine {
  /** Line number in the file, from 1; records glued onto one line share it. */
  line: number;
  counter: number | null;
  /** Epoch milliseconds, or null when the record has no readable time. */
  time: number | null;
  processId: number | null;
  connectionId: number;
  direction: Direction;
  text: string;
}

/** A repair or a skipped line, with the line it concerns. */
export interface ReadWarning {
  line: number;
  message: string;
}

/** A transcript file read into records. */
export interface TranscriptFile {
  records: LogLine[];
  warnings: ReadWarning[];
  /** Warnings left out after the first `MAX_WARNINGS`. */
  omittedWarnings: number;
  /** Lines in the file, blank ones included. */
  lineCount: number;
  format: 'text' | 'jsonl' | 'mixed' | 'unknown';
}

/** Warnings kept per file; a badly damaged log would otherwise bury the diagnosis. */
const MAX_WARNINGS = 200;

/** Start of a text record: counter, time with milliseconds, up to two ids, then a marker. */
const RECORD_START =
  /(\d+) (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}) (?:-?\d+ ){0,2}(?:C >|S <|###)/g;

const MARKER = /(?:^|\s)(C >|S <|###)(?=\s|$)/;

const TIME_TOKEN = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d{1,6})?(?:Z|[+-]\d\d:?\d\d)?$/;

const INTEGER_TOKEN = /^-?\d+$/;

const DIRECTIONS: Record<string, Direction> = { 'C >': 'client', 'S <': 'server', '###': 'event' };

/** Read a whole transcript file. */
export function readTranscript(content: string): TranscriptFile {
  const reader = new Reader();
  const lines = content.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((text, index) => {
    reader.readLine(text, index + 1);
  });
  return reader.result(lines.length);
}

class Reader {
  private readonly records: LogLine[] = [];
  private readonly warnings: ReadWarning[] = [];
  private omitted = 0;
  private textRecords = 0;
  private jsonRecords = 0;

  readLine(text: string, line: number): void {
    if (text.trim() === '') return;
    if (text.trimStart().startsWith('{')) {
      this.readJsonLine(text.trim(), line);
      return;
    }
    const segments = this.splitGlued(text);
    if (segments.length > 1) {
      this.warn(
        line,
        `${segments.length} records on one line; split where each counter and time start`,
      );
    }
    for (const segment of segments) {
      const record = this.parseTextRecord(segment, line);
      if (record) {
        this.records.push(record);
        this.textRecords++;
      }
    }
  }

  result(lineCount: number): TranscriptFile {
    let format: TranscriptFile['format'] = 'unknown';
    if (this.textRecords > 0 && this.jsonRecords > 0) format = 'mixed';
    else if (this.textRecords > 0) format = 'text';
    else if (this.jsonRecords > 0) format = 'jsonl';
    return {
      records: this.records,
      warnings: this.warnings,
      omittedWarnings: this.omitted,
      lineCount,
      format,
    };
  }

  private warn(line: number, message: string): void {
    if (this.warnings.length < MAX_WARNINGS) this.warnings.push({ line, message });
    else this.omitted++;
  }

  /** Process id of the latest record that has one. */
  private lastProcessId(): number | null {
    for (let index = this.records.length - 1; index >= 0; index--) {
      const processId = this.records[index]!.processId;
      if (processId !== null) return processId;
    }
    return null;
  }

  private get previous(): LogLine | undefined {
    return this.records[this.records.length - 1];
  }

  /**
   * Split a line where another record starts. The search begins after the first marker,
   * because a record's own prefix ends there. When the previous record ends in digits
   * (`port 587`), the expected counter, previous plus one, marks where the next record starts.
   */
  private splitGlued(text: string): string[] {
    const marker = MARKER.exec(text);
    if (!marker) return [text];

    const starts: number[] = [];
    let expected = this.leadingCounter(text);
    RECORD_START.lastIndex = marker.index + marker[0].length;
    for (let match = RECORD_START.exec(text); match; match = RECORD_START.exec(text)) {
      const digits = match[1]!;
      let start = match.index;
      const wanted = expected === null ? null : String(expected + 1);
      if (wanted !== null && digits !== wanted && digits.endsWith(wanted)) {
        start += digits.length - wanted.length;
      }
      starts.push(start);
      expected = Number(text.slice(start, match.index + digits.length));
    }
    if (starts.length === 0) return [text];

    const segments: string[] = [];
    let from = 0;
    for (const start of starts) {
      segments.push(text.slice(from, start));
      from = start;
    }
    segments.push(text.slice(from));
    return segments;
  }

  private leadingCounter(text: string): number | null {
    const match = /^\s*(\d+)\s/.exec(text);
    if (match) return Number(match[1]);
    return this.previous?.counter ?? null;
  }

  private parseTextRecord(segment: string, line: number): LogLine | null {
    const marker = MARKER.exec(segment);
    if (!marker) {
      this.warn(line, `not a transcript line (no C >, S < or ### marker): ${shorten(segment)}`);
      return null;
    }
    const direction = DIRECTIONS[marker[1]!]!;
    const tokens = segment.slice(0, marker.index).trim().split(/\s+/).filter(Boolean);
    const prefix = this.readPrefix(tokens, line);
    const body = segment.slice(marker.index + marker[0].length).replace(/^ /, '');
    const text = direction === 'event' ? unescapeLenient(body) : this.readQuoted(body, line);
    return { line, direction, text, ...prefix };
  }

  private readPrefix(tokens: string[], line: number): Omit<LogLine, 'line' | 'direction' | 'text'> {
    const timeIndex = tokens.findIndex((token) => TIME_TOKEN.test(token));
    const time = timeIndex === -1 ? null : parseTime(tokens[timeIndex]!);
    if (time === null) this.warn(line, 'time missing or unreadable');

    const before = timeIndex === -1 ? tokens.slice(0, 1) : tokens.slice(0, timeIndex);
    const after = timeIndex === -1 ? tokens.slice(1) : tokens.slice(timeIndex + 1);
    const unknown = [...before, ...after].filter((token) => !INTEGER_TOKEN.test(token));
    if (unknown.length > 0) this.warn(line, `unexpected fields ignored: ${unknown.join(' ')}`);

    const counterToken = before.filter((token) => INTEGER_TOKEN.test(token)).pop();
    const counter = counterToken === undefined ? null : Number(counterToken);
    if (counter === null) this.warn(line, 'line counter missing');
    const ids = after.filter((token) => INTEGER_TOKEN.test(token)).map(Number);
    return { counter, time, ...this.resolveIds(ids, line) };
  }

  /** Process id and connection id from the integers after the time; fills gaps from context. */
  private resolveIds(
    ids: number[],
    line: number,
  ): { processId: number | null; connectionId: number } {
    const previous = this.previous;
    if (ids.length >= 2) {
      if (ids.length > 2)
        this.warn(line, `more than two ids; used the last two of ${ids.join(' ')}`);
      return { processId: ids[ids.length - 2]!, connectionId: ids[ids.length - 1]! };
    }
    if (ids.length === 1) {
      const id = ids[0]!;
      if (previous && id !== previous.connectionId && id === this.lastProcessId()) {
        this.warn(
          line,
          `connection id missing; read ${id} as the process id and kept connection ` +
            `${previous.connectionId}`,
        );
        return { processId: id, connectionId: previous.connectionId };
      }
      this.warn(line, `process id missing; read ${id} as the connection id`);
      return { processId: null, connectionId: id };
    }
    const connectionId = previous?.connectionId ?? 0;
    this.warn(line, `process id and connection id missing; assumed connection ${connectionId}`);
    return { processId: null, connectionId };
  }

  private readQuoted(body: string, line: number): string {
    if (!body.startsWith('"')) {
      this.warn(line, 'text not in quotes; read as written');
      return unescapeLenient(body);
    }
    if (body.length >= 2 && body.endsWith('"') && !endsInEscape(body.slice(0, -1))) {
      return unescapeLenient(body.slice(1, -1));
    }
    this.warn(line, 'closing quote missing; read the text to the end of the line');
    return unescapeLenient(body.slice(1));
  }

  private readJsonLine(text: string, line: number): void {
    const parts = text.split(/(?<=\})\s*(?=\{)/);
    if (parts.length > 1)
      this.warn(line, `${parts.length} JSON records on one line; split between them`);
    for (const part of parts) {
      let value: unknown;
      try {
        value = JSON.parse(part);
      } catch {
        this.warn(line, `invalid JSON record skipped: ${shorten(part)}`);
        continue;
      }
      const record = this.fromJson(value, line);
      if (record) {
        this.records.push(record);
        this.jsonRecords++;
      }
    }
  }

  private fromJson(value: unknown, line: number): LogLine | null {
    if (typeof value !== 'object' || value === null) {
      this.warn(line, 'JSON value is not a record; skipped');
      return null;
    }
    const fields = value as Record<string, unknown>;
    const direction = fields.direction;
    if (direction !== 'client' && direction !== 'server' && direction !== 'event') {
      this.warn(line, 'JSON record without a valid direction (client, server or event); skipped');
      return null;
    }
    const processId = typeof fields.processId === 'number' ? fields.processId : null;
    let connectionId = fields.connectionId;
    if (typeof connectionId !== 'number') {
      connectionId = this.previous?.connectionId ?? 0;
      this.warn(line, `connection id missing; assumed connection ${connectionId}`);
    }
    const time = typeof fields.time === 'string' ? parseTime(fields.time) : null;
    if (time === null) this.warn(line, 'time missing or unreadable');
    return {
      line,
      counter: typeof fields.counter === 'number' ? fields.counter : null,
      time,
      processId,
      connectionId: connectionId as number,
      direction,
      text: typeof fields.text === 'string' ? fields.text : '',
    };
  }
}

/** Parse a time token to epoch milliseconds; without an offset it is local time (text format). */
function parseTime(token: string): number | null {
  if (/(?:Z|[+-]\d\d:?\d\d)$/.test(token)) {
    const parsed = Date.parse(token);
    return Number.isNaN(parsed) ? null : parsed;
  }
  const match = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:[.,](\d{1,6}))?$/.exec(token);
  if (!match) return null;
  const [, year, month, day, hours, minutes, seconds, fraction = '0'] = match;
  const milliseconds = Math.round(Number(`0.${fraction}`) * 1000);
  const date = new Date(+year!, +month! - 1, +day!, +hours!, +minutes!, +seconds!, milliseconds);
  return Number.isNaN(date.getTime()) ? null : date.getTime();
}

/** True when the text ends in an odd number of backslashes, so its last quote is escaped. */
function endsInEscape(text: string): boolean {
  let count = 0;
  for (let index = text.length - 1; index >= 0 && text[index] === '\\'; index--) count++;
  return count % 2 === 1;
}

/** Reverse the quoting rule of the text format; an invalid escape is kept as written. */
export function unescapeLenient(text: string): string {
  if (!text.includes('\\')) return text;
  return text.replace(/\\(x[0-9a-fA-F]{2}|[\\"trn])/g, (_, sequence: string) => {
    if (sequence.startsWith('x'))
      return String.fromCharCode(Number.parseInt(sequence.slice(1), 16));
    if (sequence === 't') return '\t';
    if (sequence === 'r') return '\r';
    if (sequence === 'n') return '\n';
    return sequence;
  });
}

function shorten(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > 60 ? `${trimmed.slice(0, 57)}...` : trimmed;
}
