/**
 * An in-memory transcript sink for tests, examples and callers that ship logs themselves.
 */
import type { TranscriptEntry, TranscriptSink } from './entry.js';
import { formatText } from './format.js';

export class MemorySink implements TranscriptSink {
  readonly entries: TranscriptEntry[] = [];

  write(entries: readonly TranscriptEntry[]): void {
    this.entries.push(...entries);
  }

  async flush(): Promise<void> {}

  /** Every entry as text log lines. */
  text(): string {
    return formatText(this.entries);
  }

  clear(): void {
    this.entries.length = 0;
  }
}
