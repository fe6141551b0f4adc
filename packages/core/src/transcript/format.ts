/**
 * Formatters for transcript entries: the text log and JSON Lines.
 *
 * Text line: `counter time processId connectionId` then `C > "text"` for a client line,
 * `S < "text"` for a server line, or `### text` for an event, for example
 * `3 2026-12-04T15:03:12.143 4182 1 C > "EHLO [127.0.0.1]"`. The time is local time
 * with milliseconds and no offset.
 *
 * Quoting rule, the same for quoted and event text, so that `parseTextLine` reverses it:
 * `\` is written `\\`; inside quotes `"` is written `\"`; tab, CR and LF are written
 * `\t`, `\r`, `\n`; every other byte below 0x20 and 0x7F is written `\xHH`; everything
 * else, non-ASCII included, is written as is (the file is UTF-8).
 */
import type { TranscriptDirection, TranscriptEntry } from './entry.js';

const MARKERS: Record<TranscriptDirection, string> = {
  client: 'C >',
  server: 'S <',
  event: '###',
};

const NEEDS_ESCAPE = /[\\"\0-\x1f\x7f]/;

/** Escape text by the quoting rule; `"` only when `quoted`. */
export function escapeText(text: string, quoted: boolean): string {
  if (!NEEDS_ESCAPE.test(text)) return text;
  let result = '';
  for (const char of text) {
    const code = char.charCodeAt(0);
    if (char === '\\') result += '\\\\';
    else if (char === '"' && quoted) result += '\\"';
    else if (char === '\t') result += '\\t';
    else if (char === '\r') result += '\\r';
    else if (char === '\n') result += '\\n';
    else if (code < 0x20 || code === 0x7f) result += `\\x${code.toString(16).padStart(2, '0')}`;
    else result += char;
  }
  return result;
}

const pad2 = (value: number): string => (value < 10 ? `0${value}` : `${value}`);

/** The last time formatted and its text: entries of one step mostly share a millisecond. */
let lastTime = Number.NaN;
let lastTimeText = '';

/** Local time as `YYYY-MM-DDTHH:mm:ss.SSS`, the form of the reference log. */
export function formatLocalTime(time: number): string {
  if (time === lastTime) return lastTimeText;
  lastTimeText = formatTime(time);
  lastTime = time;
  return lastTimeText;
}

function formatTime(time: number): string {
  const date = new Date(time);
  const milliseconds = date.getMilliseconds();
  return (
    `${date.getFullYear()}-${pad2(date.getMonth() + 1)}-${pad2(date.getDate())}` +
    `T${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}` +
    `.${milliseconds < 10 ? '00' : milliseconds < 100 ? '0' : ''}${milliseconds}`
  );
}

/**
 * Format one entry as a text log line, without the line end. A log file passes its own
 * `counter`, which replaces the entry's.
 */
export function formatTextLine(entry: TranscriptEntry, counter = entry.counter): string {
  const prefix =
    `${counter} ${formatLocalTime(entry.time)} ${entry.processId} ${entry.connectionId} ` +
    MARKERS[entry.direction];
  return entry.direction === 'event'
    ? `${prefix} ${escapeText(entry.text, false)}`
    : `${prefix} "${escapeText(entry.text, true)}"`;
}

/** Format one entry as a JSON Lines record, without the line end; `counter` as above. */
export function formatJsonLine(entry: TranscriptEntry, counter = entry.counter): string {
  return JSON.stringify({
    counter,
    time: new Date(entry.time).toISOString(),
    elapsedMs: entry.elapsedMs,
    processId: entry.processId,
    connectionId: entry.connectionId,
    direction: entry.direction,
    text: entry.text,
    redacted: entry.redacted,
  });
}

/** Format entries as text log lines, each ending in a line feed. */
export function formatText(entries: readonly TranscriptEntry[]): string {
  let text = '';
  for (const entry of entries) text += `${formatTextLine(entry)}\n`;
  return text;
}
