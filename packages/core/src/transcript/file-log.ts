/**
 * Log files for transcripts, with every file operation injected by the adapter. One writer
 * per path gives each file a single increasing line counter. Lines are buffered and written
 * in one batch per scheduled turn, rotated by size, and a failing disk never throws into the
 * SMTP code: the first failure per file goes to the adapter's `warn`.
 * This module never touches a file, a timer or the console itself.
 */
import type { LogFormat } from '../driver/options.js';
import type { TranscriptEntry, TranscriptSink } from './entry.js';
import { formatJsonLine, formatTextLine } from './format.js';

/** Size-based rotation of a log file. */
export interface LogFileOptions {
  /**
   * Rotate before a write would make the file larger than this many bytes. Default: no
   * rotation. A single line longer than the limit still goes into a file of its own.
   */
  maxBytes?: number;
  /**
   * Rotated files kept beside the current one: `name.log` becomes `name_1.log`, `name_1.log`
   * becomes `name_2.log` and so on up to `name_<maxFiles>.log`. Default 5. With 0 the file
   * is deleted and started again.
   */
  maxFiles?: number;
}

/** A value, or a promise of it: adapters with synchronous file calls return plain values. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * The file operations a log file needs. Each may finish synchronously or return a promise.
 * When every call a batch makes is synchronous, the batch is written before `schedule`'s
 * callback or `writePending` returns, which is what a flush on process exit relies on.
 */
export interface LogFileSystem {
  /**
   * Append all of `bytes` to the file, creating it with owner-only permissions. On failure
   * the file must still end with a whole line, so an adapter cuts back a partial write.
   */
  append(path: string, bytes: Uint8Array): MaybePromise<void>;
  /** Size of the file in bytes, 0 when it does not exist. */
  size(path: string): MaybePromise<number>;
  /** Rename `from` to `to`, replacing `to`. A missing `from` is not an error. */
  rename(from: string, to: string): MaybePromise<void>;
  /** Delete the file. A missing file is not an error. */
  remove(path: string): MaybePromise<void>;
  /** Release anything held open for `path`; called before rotation and after a failure. */
  close?(path: string): void;
  /** Make the appended bytes durable, for example with `fdatasync`; called by `flush()`. */
  sync?(path: string): Promise<void>;
  /**
   * Return the last bytes of the file (a few KiB are enough), or undefined when it does not
   * exist. Called once when the process first opens the file, so that its line counter
   * continues after the last one in the file. Must be synchronous.
   */
  readTail?(path: string): Uint8Array | undefined;
}

/** The first write failure of one file, handed to the adapter once. */
export interface LogWriteFailure {
  path: string;
  error: unknown;
  /** A sentence naming the file and the reason, with no secrets (file errors only). */
  message: string;
}

/** File operations, scheduler, warning hook and path resolver that an adapter supplies. */
export interface LogFileEnvironment {
  fileSystem: LogFileSystem;
  /**
   * Run `callback` once, `LOG_BATCH_DELAY_MS` from now, with the runtime's timer. Lines
   * written before it runs share one batch, so a busy process makes one file write per
   * batch instead of one per event-loop turn. A timer that keeps the process alive suits an
   * adapter whose writes are asynchronous; one that writes synchronously on exit may unref it.
   */
  schedule(callback: () => void): void;
  /** Report a file that stopped accepting lines: a process warning or a console line. */
  warn(failure: LogWriteFailure): void;
  /** Absolute form of a path, so that two spellings of one file share a writer. */
  resolvePath(path: string): string;
}

type FormatLine = (entry: TranscriptEntry, counter: number) => string;
type Step = () => MaybePromise<void>;

const DEFAULT_MAX_FILES = 5;

/**
 * Delay in milliseconds before buffered lines are written. A person reading the file does
 * not notice it, and a busy process writes about once per interval.
 */
export const LOG_BATCH_DELAY_MS = 10;

/** Number of buffered lines at which the batch is written at once, before the timer fires. */
const MAX_PENDING_LINES = 2048;

const encoder = new TextEncoder();
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * The log files of one process, one writer per resolved path.
 * @example
 * const logFiles = new LogFileRegistry({ fileSystem, schedule, warn, resolvePath });
 * const sink = logFiles.open('/var/log/mailwire.log', 'text', { maxBytes: 10_000_000 });
 */
export class LogFileRegistry {
  readonly #environment: LogFileEnvironment;
  readonly #writers = new Map<string, LogFileWriter>();

  constructor(environment: LogFileEnvironment) {
    this.#environment = environment;
  }

  /**
   * Open a transcript sink that appends to the file at `path`. Sinks opened on the same
   * resolved path share one writer and one counter. Rotation options given here replace the
   * ones that writer had. Throws `TypeError` for an unknown format and `RangeError` for
   * invalid rotation options.
   */
  open(path: string, format: LogFormat, options: LogFileOptions = {}): TranscriptSink {
    const formatLine = lineFormatter(format);
    const resolvedPath = this.#environment.resolvePath(path);

    let writer = this.#writers.get(resolvedPath);
    if (writer === undefined) {
      writer = new LogFileWriter(resolvedPath, this.#environment);
      this.#writers.set(resolvedPath, writer);
    }
    if (options.maxBytes !== undefined || options.maxFiles !== undefined) {
      writer.configureRotation(options);
    }

    const target = writer;
    return {
      write: (entries) => target.append(entries, formatLine),
      flush: () => target.flush(),
    };
  }

  /**
   * Start writing every buffered line of every file now. With a synchronous file system the
   * lines are in the files when this returns, so an adapter calls it on process exit.
   */
  writePending(): void {
    for (const writer of this.#writers.values()) writer.writePending();
  }
}

/** `mail.log` with index 2 becomes `mail_2.log`; a name without extension gets `_2` appended. */
export function rotatedLogPath(path: string, index: number): string {
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  const dot = path.lastIndexOf('.');
  // A dot that starts the name (`.mailwire`) marks a hidden file, not an extension.
  if (dot <= slash + 1) return `${path}_${index}`;
  return `${path.slice(0, dot)}_${index}${path.slice(dot)}`;
}

function lineFormatter(format: LogFormat): FormatLine {
  if (format === 'text') return formatTextLine;
  if (format === 'jsonl') return formatJsonLine;
  throw new TypeError(`Invalid log format: ${String(format)} (expected 'text' or 'jsonl')`);
}

/** Appends formatted lines to one file, in batches, with optional rotation. */
class LogFileWriter {
  readonly path: string;
  readonly #environment: LogFileEnvironment;
  #maxBytes = Number.POSITIVE_INFINITY;
  #maxFiles = DEFAULT_MAX_FILES;

  // NOTE: the counter continues after the last counter in the file when the adapter can read
  // its tail. Processes that append to one file at the same time still number their lines
  // independently; the process id on each line distinguishes them.
  #counter = 0;
  #pending: string[] = [];
  #scheduled = false;
  /** The batch being written by an asynchronous file system; later batches wait for it. */
  #inFlight: Promise<void> | undefined;
  /** Bytes in the file, read before the first rotation check and again after a failure. */
  #size: number | undefined;
  #failureReported = false;

  constructor(path: string, environment: LogFileEnvironment) {
    this.path = path;
    this.#environment = environment;
    this.#counter = this.#lastCounterInFile();
  }

  /** Counter of the last whole line already in the file, or 0. Never throws. */
  #lastCounterInFile(): number {
    try {
      const tail = this.#environment.fileSystem.readTail?.(this.path);
      if (!tail || tail.length === 0) return 0;
      const lines = new TextDecoder().decode(tail).split('\n');
      for (let index = lines.length - 1; index >= 0; index--) {
        // A text line starts with the counter; a JSON line has a "counter" field.
        const match =
          /^(\d+) \d{4}-/.exec(lines[index]!) ?? /^\{"counter":(\d+),/.exec(lines[index]!);
        if (match) return Number(match[1]);
      }
    } catch {
      // An unreadable file starts at 1; writing reports its own failure.
    }
    return 0;
  }

  configureRotation(options: LogFileOptions): void {
    const { maxBytes, maxFiles } = options;
    // A string such as '4096' would compare as a number here but switch rotation off later.
    if (maxBytes !== undefined && !(typeof maxBytes === 'number' && maxBytes > 0)) {
      throw new RangeError(
        `Invalid maxBytes for log file ${this.path}: got ${String(maxBytes)}, ` +
          'expected a positive number of bytes',
      );
    }
    if (maxFiles !== undefined && !(Number.isInteger(maxFiles) && maxFiles >= 0)) {
      throw new RangeError(
        `Invalid maxFiles for log file ${this.path}: got ${String(maxFiles)}, ` +
          'expected a whole number of files, 0 or more',
      );
    }
    if (maxBytes !== undefined) this.#maxBytes = maxBytes;
    if (maxFiles !== undefined) this.#maxFiles = maxFiles;
  }

  append(entries: readonly TranscriptEntry[], formatLine: FormatLine): void {
    try {
      for (const entry of entries) {
        this.#counter += 1;
        this.#pending.push(formatLine(entry, this.#counter));
      }
    } catch (error) {
      this.#reportFailure(error);
    }
    if (this.#pending.length >= MAX_PENDING_LINES) {
      this.writePending();
      return;
    }
    if (this.#scheduled || this.#pending.length === 0) return;

    this.#scheduled = true;
    this.#environment.schedule(() => this.writePending());
  }

  async flush(): Promise<void> {
    this.writePending();
    await this.#inFlight;

    const sync = this.#environment.fileSystem.sync;
    if (sync === undefined) return;
    try {
      await sync.call(this.#environment.fileSystem, this.path);
    } catch (error) {
      this.#reportFailure(error);
    }
  }

  /** Hand every buffered line to the file system, after any batch still in flight. */
  writePending(): void {
    this.#scheduled = false;
    if (this.#pending.length === 0) return;

    const lines = this.#pending;
    this.#pending = [];
    const previous = this.#inFlight;
    const written = previous
      ? previous.then(() => this.#writeLines(lines))
      : this.#writeLines(lines);
    if (!(written instanceof Promise)) return;

    const tracked: Promise<void> = written.then(() => {
      if (this.#inFlight === tracked) this.#inFlight = undefined;
    });
    this.#inFlight = tracked;
  }

  /** Write one batch. Never throws or rejects: lines of a failing batch are dropped. */
  #writeLines(lines: readonly string[]): MaybePromise<void> {
    try {
      const result = this.#writeBatch(lines);
      if (result instanceof Promise) return result.catch((error) => this.#fail(error));
    } catch (error) {
      this.#fail(error);
    }
  }

  #writeBatch(lines: readonly string[]): MaybePromise<void> {
    if (!Number.isFinite(this.#maxBytes)) return this.#appendStep(lines)();
    if (this.#size !== undefined) return runSteps(this.#planRotating(lines, this.#size));

    return then(this.#environment.fileSystem.size(this.path), (size) => {
      this.#size = size;
      return runSteps(this.#planRotating(lines, size));
    });
  }

  /** Split the batch where the file would pass `maxBytes`, with a rotation at each split. */
  #planRotating(lines: readonly string[], sizeBefore: number): Step[] {
    const steps: Step[] = [];
    let fileBytes = sizeBefore;
    let batch: string[] = [];
    for (const line of lines) {
      const lineBytes = utf8Length(line) + 1;
      if (fileBytes > 0 && fileBytes + lineBytes > this.#maxBytes) {
        if (batch.length > 0) steps.push(this.#appendStep(batch));
        steps.push(...this.#rotateSteps());
        batch = [];
        fileBytes = 0;
      }
      batch.push(line);
      fileBytes += lineBytes;
    }
    if (batch.length > 0) steps.push(this.#appendStep(batch));
    return steps;
  }

  #appendStep(lines: readonly string[]): Step {
    return () => {
      const bytes = encoder.encode(`${lines.join('\n')}\n`);
      return then(this.#environment.fileSystem.append(this.path, bytes), () => {
        if (this.#size !== undefined) this.#size += bytes.length;
      });
    };
  }

  #rotateSteps(): Step[] {
    const fileSystem = this.#environment.fileSystem;
    const steps: Step[] = [() => fileSystem.close?.(this.path)];
    if (this.#maxFiles === 0) {
      steps.push(() => fileSystem.remove(this.path));
    } else {
      for (let index = this.#maxFiles - 1; index >= 1; index -= 1) {
        const from = rotatedLogPath(this.path, index);
        steps.push(() => fileSystem.rename(from, rotatedLogPath(this.path, index + 1)));
      }
      steps.push(() => fileSystem.rename(this.path, rotatedLogPath(this.path, 1)));
    }
    // The next append creates a new, empty file.
    steps.push(() => {
      this.#size = 0;
    });
    return steps;
  }

  #fail(error: unknown): void {
    // The size on disk is unknown after a failure, so it is read again before the next check.
    this.#size = undefined;
    try {
      this.#environment.fileSystem.close?.(this.path);
    } catch {
      // Whatever was held open is gone either way, and the failure that led here is reported.
    }
    this.#reportFailure(error);
  }

  #reportFailure(error: unknown): void {
    if (this.#failureReported) return;
    this.#failureReported = true;

    const reason = error instanceof Error ? error.message : String(error);
    const message =
      `Writing the log file ${this.path} failed: ${reason}. ` +
      'Transcript lines for this file are dropped while writing fails';
    this.#environment.warn({ path: this.path, error, message });
  }
}

/** Run steps in order, synchronously for as long as they return plain values. */
function runSteps(steps: readonly Step[], start = 0): MaybePromise<void> {
  for (let index = start; index < steps.length; index += 1) {
    const result = steps[index]!();
    if (result instanceof Promise) return result.then(() => runSteps(steps, index + 1));
  }
}

/** Apply `next` to a value now, or once its promise resolves. */
function then<T>(
  value: MaybePromise<T>,
  next: (resolved: T) => MaybePromise<void>,
): MaybePromise<void> {
  return value instanceof Promise ? value.then(next) : next(value);
}

/** UTF-8 length of `text` without encoding it; a lone surrogate counts as U+FFFD (3 bytes). */
function utf8Length(text: string): number {
  if (!NON_ASCII.test(text)) return text.length;
  let length = text.length;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 0x80) continue;
    if (code < 0x800) {
      length += 1;
    } else if (code >= 0xd800 && code <= 0xdbff && isLowSurrogate(text.charCodeAt(index + 1))) {
      // A pair is two UTF-16 units and four UTF-8 bytes.
      length += 2;
      index += 1;
    } else {
      length += 2;
    }
  }
  return length;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
