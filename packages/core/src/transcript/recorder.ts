/**
 * Creates the transcript entries of one connection: numbers them, stamps them with the
 * time and the ids, and passes each through the secret scanner before anyone can take it.
 */
import type { TranscriptDirection, TranscriptEntry } from './entry.js';
import type { SecretScanner } from './redact.js';

let lastCounter = 0;
let lastConnectionId = 0;

/** Next connection id, unique within this copy of core. */
export function nextConnectionId(): number {
  lastConnectionId += 1;
  return lastConnectionId;
}

export interface RecorderOptions {
  now: () => number;
  processId: number;
  connectionId: number;
  scanner?: SecretScanner;
}

export class TranscriptRecorder {
  private entries: TranscriptEntry[] = [];
  private readonly openedAt: number;

  constructor(private readonly options: RecorderOptions) {
    this.openedAt = options.now();
  }

  get connectionId(): number {
    return this.options.connectionId;
  }

  /** Record one line. `redacted` marks text that was masked by the caller already. */
  add(direction: TranscriptDirection, text: string, redacted = false): void {
    const scanned = this.options.scanner?.scan(text) ?? { text, changed: false };
    const time = this.options.now();
    lastCounter += 1;
    this.entries.push({
      counter: lastCounter,
      time,
      elapsedMs: time - this.openedAt,
      processId: this.options.processId,
      connectionId: this.options.connectionId,
      direction,
      text: scanned.text,
      redacted: redacted || scanned.changed,
    });
  }

  /** Take every entry recorded since the last call. */
  take(): TranscriptEntry[] {
    if (this.entries.length === 0) return [];
    const taken = this.entries;
    this.entries = [];
    return taken;
  }
}
