/**
 * Log files for transcripts. Every sink on one path shares a single writer, so the file has
 * one strictly increasing line counter. Lines are buffered and written in one batch per
 * event-loop turn, and a failing disk never throws into the SMTP code: it is reported once
 * per file as a process warning.
 */
import {
  closeSync,
  fdatasync,
  fstatSync,
  ftruncateSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { extname, resolve } from 'node:path';
import {
  formatJsonLine,
  formatTextLine,
  type LogFormat,
  type TranscriptEntry,
  type TranscriptSink,
} from '@mailwire/core';

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

type FormatLine = (entry: TranscriptEntry) => string;

const DEFAULT_MAX_FILES = 5;

/** Owner-only permissions, because transcripts name servers, accounts and recipients. */
const FILE_MODE = 0o600;

const writers = new Map<string, LogFileWriter>();
let exitHookInstalled = false;
let globalPath: string | undefined;

/**
 * Open a transcript sink that appends to the file at `path`, creating it with mode 0600.
 * Sinks opened on the same resolved path share one writer and one counter. Rotation options
 * given here replace the ones that writer had.
 */
export function openLogFile(
  path: string,
  format: LogFormat,
  options: LogFileOptions = {},
): TranscriptSink {
  const formatLine = lineFormatter(format);
  const resolvedPath = resolve(path);

  let writer = writers.get(resolvedPath);
  if (writer === undefined) {
    writer = new LogFileWriter(resolvedPath);
    writers.set(resolvedPath, writer);
    installExitHook();
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

/** Set the process-wide log file, or clear it with `undefined` to fall back to `MAILWIRE_LOG`. */
export function setGlobalLogFile(path: string | undefined): void {
  globalPath = path === '' ? undefined : path;
}

/** Path of the process-wide log: the one set with `setGlobalLogFile`, else `MAILWIRE_LOG`. */
export function globalLogFile(): string | undefined {
  if (globalPath !== undefined) return globalPath;
  const fromEnvironment = process.env.MAILWIRE_LOG;
  return fromEnvironment === undefined || fromEnvironment === '' ? undefined : fromEnvironment;
}

function lineFormatter(format: LogFormat): FormatLine {
  if (format === 'text') return formatTextLine;
  if (format === 'jsonl') return formatJsonLine;
  throw new TypeError(`Invalid log format: ${String(format)} (expected 'text' or 'jsonl')`);
}

/**
 * Appends formatted lines to one file, in batches, with optional rotation.
 * NOTE: each batch is one synchronous write. That costs much less CPU than an asynchronous
 * write per batch, but a stalled disk (a hung network mount) stalls the event loop too.
 */
class LogFileWriter {
  readonly path: string;
  #maxBytes = Number.POSITIVE_INFINITY;
  #maxFiles = DEFAULT_MAX_FILES;

  // NOTE: the counter starts at 1 in each process, so a file that several processes or runs
  // append to repeats numbers. The process id on each line tells them apart.
  #counter = 0;
  #pending: string[] = [];
  #scheduled = false;
  #fd: number | null = null;
  #size = 0;
  #failureReported = false;

  constructor(path: string) {
    this.path = path;
  }

  configureRotation(options: LogFileOptions): void {
    const { maxBytes, maxFiles } = options;
    if (maxBytes !== undefined && !(maxBytes > 0)) {
      throw new RangeError(`Invalid maxBytes for log file ${this.path}: ${maxBytes}`);
    }
    if (maxFiles !== undefined && !(maxFiles >= 0)) {
      throw new RangeError(`Invalid maxFiles for log file ${this.path}: ${maxFiles}`);
    }
    if (maxBytes !== undefined) this.#maxBytes = maxBytes;
    if (maxFiles !== undefined) this.#maxFiles = Math.floor(maxFiles);
  }

  append(entries: readonly TranscriptEntry[], formatLine: FormatLine): void {
    try {
      for (const entry of entries) {
        this.#counter += 1;
        this.#pending.push(formatLine({ ...entry, counter: this.#counter }));
      }
    } catch (error) {
      this.#reportFailure(error);
    }
    if (this.#scheduled || this.#pending.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.writePending();
    });
  }

  async flush(): Promise<void> {
    this.writePending();
    const fd = this.#fd;
    if (fd === null) return;
    await new Promise<void>((resolveSync) => {
      fdatasync(fd, (error) => {
        if (error) this.#reportFailure(error);
        resolveSync();
      });
    });
  }

  /**
   * Write every buffered line now. Called once per event-loop turn, by `flush()` and on
   * process exit. Lines of a batch that fails are dropped.
   */
  writePending(): void {
    if (this.#pending.length === 0) return;
    const lines = this.#pending;
    this.#pending = [];
    try {
      if (Number.isFinite(this.#maxBytes)) this.#writeRotating(lines);
      else this.#writeText(joinLines(lines));
    } catch (error) {
      this.#reportFailure(error);
      this.#closeFile();
    }
  }

  #writeRotating(lines: readonly string[]): void {
    this.#openFile();
    let batch: string[] = [];
    let batchBytes = 0;
    for (const line of lines) {
      const lineBytes = Buffer.byteLength(line) + 1;
      const fileBytes = this.#size + batchBytes;
      if (fileBytes > 0 && fileBytes + lineBytes > this.#maxBytes) {
        if (batch.length > 0) this.#writeText(joinLines(batch));
        batch = [];
        batchBytes = 0;
        this.#rotate();
      }
      batch.push(line);
      batchBytes += lineBytes;
    }
    if (batch.length > 0) this.#writeText(joinLines(batch));
  }

  /** Write all of `text`; on failure cut the file back so that it ends with a whole line. */
  #writeText(text: string): void {
    const fd = this.#openFile();
    const bytes = Buffer.from(text);
    const sizeBefore = this.#size;

    let offset = 0;
    try {
      while (offset < bytes.length) {
        const written = writeSync(fd, bytes, offset, bytes.length - offset);
        if (written === 0) throw new Error('write returned 0 bytes');
        offset += written;
      }
    } catch (error) {
      if (offset > 0) truncateQuietly(fd, sizeBefore);
      throw error;
    }
    this.#size += bytes.length;
  }

  #openFile(): number {
    if (this.#fd !== null) return this.#fd;
    const fd = openSync(this.path, 'a', FILE_MODE);
    try {
      this.#size = fstatSync(fd).size;
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    this.#fd = fd;
    return fd;
  }

  #rotate(): void {
    this.#closeFile();
    if (this.#maxFiles === 0) {
      renameOrSkip(this.path, undefined);
    } else {
      for (let index = this.#maxFiles - 1; index >= 1; index -= 1) {
        renameOrSkip(rotatedPath(this.path, index), rotatedPath(this.path, index + 1));
      }
      renameOrSkip(this.path, rotatedPath(this.path, 1));
    }
    // The next write opens a new, empty file.
    this.#size = 0;
  }

  #closeFile(): void {
    const fd = this.#fd;
    this.#fd = null;
    if (fd === null) return;
    try {
      closeSync(fd);
    } catch {
      // The descriptor is gone either way, and the failure that led here is reported.
    }
  }

  #reportFailure(error: unknown): void {
    if (this.#failureReported) return;
    this.#failureReported = true;
    const reason = error instanceof Error ? error.message : String(error);
    process.emitWarning(
      `Writing the log file ${this.path} failed: ${reason}. ` +
        'Transcript lines for this file are dropped while writing fails',
      { type: 'MailwireWarning', code: 'MAILWIRE_LOG_WRITE_FAILED' },
    );
  }
}

function joinLines(lines: readonly string[]): string {
  return lines.join('\n') + '\n';
}

/** Insert `_<index>` before the extension: `mail.log` becomes `mail_2.log`, `mail` `mail_2`. */
function rotatedPath(path: string, index: number): string {
  const extension = extname(path);
  const stem = extension === '' ? path : path.slice(0, -extension.length);
  return `${stem}_${index}${extension}`;
}

/** Rename `from` to `to`, or delete it when `to` is undefined. A missing `from` is skipped. */
function renameOrSkip(from: string, to: string | undefined): void {
  try {
    if (to === undefined) unlinkSync(from);
    else renameSync(from, to);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
  }
}

function truncateQuietly(fd: number, size: number): void {
  try {
    ftruncateSync(fd, size);
  } catch {
    // Best effort: the write failure itself is what gets reported.
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const writer of writers.values()) writer.writePending();
  });
}
