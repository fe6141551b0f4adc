/**
 * Transcript entries: the records of one SMTP conversation as the client saw it.
 * Entries are created by core at the moment a command is encoded or a reply is parsed,
 * already masked; later layers only number, format and store them.
 */

/** Source of the text: the client (`C >`), the server (`S <`) or an event (`###`). */
export type TranscriptDirection = 'client' | 'server' | 'event';

/** One line of a conversation log. */
export interface TranscriptEntry {
  /**
   * Line counter. Core numbers entries in creation order for the whole process;
   * a file sink renumbers them so that each file has one strictly increasing counter.
   */
  counter: number;
  /** Wall-clock time in milliseconds since the Unix epoch. */
  time: number;
  /** Milliseconds since the connection was opened. */
  elapsedMs: number;
  /** Process id supplied by the adapter; 0 where the runtime has none. */
  processId: number;
  /** Connection id, unique within the process. */
  connectionId: number;
  direction: TranscriptDirection;
  /** Text of the line without its line end, with secrets already masked. */
  text: string;
  /** True when masking changed or replaced the text. */
  redacted: boolean;
}

/** Receives transcript entries from the driver. Adapters write them to files or streams. */
export interface TranscriptSink {
  /** Take a batch of entries in order. Must not throw; failures are the sink's to report. */
  write(entries: readonly TranscriptEntry[]): void;
  /** Resolve once every entry handed over so far is stored. */
  flush(): Promise<void>;
}
