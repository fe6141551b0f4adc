/**
 * Logs message body lines as client entries when `logBody` requests it: the header
 * section only, or every line. Lines are split on LF across chunks.
 */
import type { LogBody } from '../driver/options.js';
import type { TranscriptRecorder } from './recorder.js';

const decoder = new TextDecoder();

/** Maximum body line length logged, in characters; the rest is cut and marked. */
const MAX_LOGGED_LINE = 2000;

export class BodyLogger {
  private partial = '';
  private done = false;

  constructor(
    private readonly recorder: TranscriptRecorder,
    private readonly mode: Exclude<LogBody, 'none'>,
  ) {}

  write(chunk: Uint8Array): void {
    if (this.done) return;
    const text = this.partial + decoder.decode(chunk, { stream: true });
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!this.log(line.endsWith('\r') ? line.slice(0, -1) : line)) return;
    }
  }

  end(): void {
    if (!this.done && this.partial !== '') this.log(this.partial);
    this.done = true;
  }

  /** Log one line; returns false once logging stops (end of headers in `headers` mode). */
  private log(line: string): boolean {
    const shown = line.length > MAX_LOGGED_LINE ? `${line.slice(0, MAX_LOGGED_LINE)}…` : line;
    this.recorder.add('client', shown);
    if (this.mode === 'headers' && line === '') {
      this.done = true;
      this.recorder.add('event', 'Message body not logged (logBody: headers)');
      return false;
    }
    return true;
  }
}
