/**
 * Reading text log lines back into entries: the inverse of `formatTextLine`.
 * Strict by design; tolerant reading of damaged logs belongs to the command-line tool.
 */
import type { TranscriptDirection, TranscriptEntry } from './entry.js';

// The text is `[^\r\n]*` rather than `.*`, because `.` stops at U+2028 and U+2029, which the
// formatter writes as they are.
const LINE_PATTERN =
  /^(\d+) (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}) (-?\d+) (-?\d+) (C >|S <|###)(?: ([^\r\n]*))?$/;

const DIRECTIONS: Record<string, TranscriptDirection> = {
  'C >': 'client',
  'S <': 'server',
  '###': 'event',
};

/** Reverse the quoting rule of `escapeText`; null on an invalid escape. */
export function unescapeText(text: string): string | null {
  if (!text.includes('\\')) return text;
  let result = '';
  for (let index = 0; index < text.length; index++) {
    const char = text[index]!;
    if (char !== '\\') {
      result += char;
      continue;
    }
    const next = text[++index];
    if (next === '\\' || next === '"') result += next;
    else if (next === 't') result += '\t';
    else if (next === 'r') result += '\r';
    else if (next === 'n') result += '\n';
    else if (next === 'x' && /^[0-9a-f]{2}$/i.test(text.slice(index + 1, index + 3))) {
      result += String.fromCharCode(Number.parseInt(text.slice(index + 1, index + 3), 16));
      index += 2;
    } else return null;
  }
  return result;
}

/**
 * Parse a local time written by `formatLocalTime` back into epoch milliseconds.
 * NOTE: the text has no offset, so in the hour repeated when daylight saving time ends this
 * returns the earlier of the two instants.
 */
function parseLocalTime(text: string): number {
  const [date = '', time = ''] = text.split('T');
  const [year, month, day] = date.split('-').map(Number);
  const [hours, minutes, seconds] = time.split(':').map(Number);
  const whole = Math.floor(seconds ?? 0);
  const milliseconds = Math.round(((seconds ?? 0) - whole) * 1000);
  return new Date(year!, month! - 1, day, hours, minutes, whole, milliseconds).getTime();
}

/**
 * Parse one text log line. Returns null when the line does not have the format.
 * `elapsedMs` and `redacted` are not in the text format and come back as 0 and false.
 */
export function parseTextLine(line: string): TranscriptEntry | null {
  const match = LINE_PATTERN.exec(line.endsWith('\r') ? line.slice(0, -1) : line);
  if (!match) return null;

  const direction = DIRECTIONS[match[5]!]!;
  let body = match[6] ?? '';
  if (direction !== 'event') {
    if (body.length < 2 || !body.startsWith('"') || !body.endsWith('"')) return null;
    body = body.slice(1, -1);
  }
  const text = unescapeText(body);
  if (text === null) return null;

  return {
    counter: Number(match[1]),
    time: parseLocalTime(match[2]!),
    elapsedMs: 0,
    processId: Number(match[3]),
    connectionId: Number(match[4]),
    direction,
    text,
    redacted: false,
  };
}
