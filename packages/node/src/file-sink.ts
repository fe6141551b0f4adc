/**
 * Log files for transcripts. Every sink on one path shares a single writer, so the file has
 * one strictly increasing line counter. Lines are buffered and written in one batch per
 * event-loop turn, and a failing disk never throws into the SMTP code: it is reported once
 * per file as a process warning.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
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
 * Sinks opened on the same resolved path share one writer and one counter; rotation options
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

/** Appends formatted lines to one file, in batches, with optional rotation. */
class LogFileWriter {
  readonly path: string;
  #maxBytes = Number.POSITIVE_INFINITY;
  #maxFiles = DEFAULT_MAX_FILES;

  #counter = 0;
  #pending: string[] = [];
  /** Lines written to the file or dropped after a failure, in counter order. */
  #settled = 0;
  /** Lines of the batch being written now. */
  #inFlight = 0;
  #flushWaiters: Array<{ target: number; resolve: () => void }> = [];

  #scheduled = false;
  #draining: Promise<void> | null = null;
  #handle: FileHandle | null = null;
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
    if (options.maxBytes !== undefined) this.#maxBytes = options.maxBytes;
    if (options.maxFiles !== undefined) this.#maxFiles = Math.max(0, Math.floor(options.maxFiles));
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
    this.#schedule();
  }

  async flush(): Promise<void> {
    const target = this.#settled + this.#pending.length + this.#inFlight;
    if (target > this.#settled) {
      await new Promise<void>((resolveFlush) => {
        this.#flushWaiters.push({ target, resolve: resolveFlush });
        this.#startDrain();
      });
    }

    const handle = this.#handle;
    if (handle === null) return;
    try {
      await handle.datasync();
    } catch (error) {
      this.#reportFailure(error);
    }
  }

  /** Write what is still buffered synchronously; for the process 'exit' event only. */
  writePendingSync(): void {
    if (this.#pending.length === 0) return;
    const text = joinLines(this.#pending);
    this.#pending = [];

    // NOTE: a batch still being written asynchronously when process.exit() is called may
    // land after these lines or not at all. Rotation is skipped here.
    const openedHere = this.#handle === null;
    try {
      const fd = this.#handle?.fd ?? openSync(this.path, 'a', FILE_MODE);
      writeSync(fd, text);
      if (openedHere) closeSync(fd);
    } catch {
      // Nothing can report it any more: warnings are emitted on a later tick.
    }
  }

  #schedule(): void {
    if (this.#scheduled || this.#pending.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#startDrain();
    });
  }

  #startDrain(): void {
    if (this.#draining !== null) return;
    this.#draining = this.#drain().finally(() => {
      this.#draining = null;
      // Lines may have arrived while the last batch was being settled.
      if (this.#pending.length > 0) this.#startDrain();
    });
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const lines = this.#pending;
      this.#pending = [];
      this.#inFlight = lines.length;
      try {
        await this.#writeLines(lines);
      } catch (error) {
        this.#reportFailure(error);
        await this.#closeHandle();
      }
      this.#inFlight = 0;
      this.#settled += lines.length;
      this.#resolveFlushWaiters();
    }
  }

  async #writeLines(lines: string[]): Promise<void> {
    await this.#ensureOpen();
    if (!Number.isFinite(this.#maxBytes)) {
      await this.#writeText(joinLines(lines));
      return;
    }

    let batch: string[] = [];
    let batchBytes = 0;
    for (const line of lines) {
      const lineBytes = Buffer.byteLength(line) + 1;
      const projected = this.#size + batchBytes + lineBytes;
      if (projected > this.#maxBytes && this.#size + batchBytes > 0) {
        if (batch.length > 0) await this.#writeText(joinLines(batch));
        batch = [];
        batchBytes = 0;
        await this.#rotate();
      }
      batch.push(line);
      batchBytes += lineBytes;
    }
    if (batch.length > 0) await this.#writeText(joinLines(batch));
  }

  /** Write all of `text`; on failure cut the file back so that it ends with a whole line. */
  async #writeText(text: string): Promise<void> {
    const handle = await this.#ensureOpen();
    const bytes = Buffer.from(text);
    const sizeBefore = this.#size;

    let offset = 0;
    try {
      while (offset < bytes.length) {
        const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
        if (bytesWritten === 0) throw new Error('write returned 0 bytes');
        offset += bytesWritten;
      }
    } catch (error) {
      if (offset > 0) await handle.truncate(sizeBefore).catch(() => undefined);
      throw error;
    }
    this.#size += bytes.length;
  }

  async #ensureOpen(): Promise<FileHandle> {
    if (this.#handle !== null) return this.#handle;
    const handle = await open(this.path, 'a', FILE_MODE);
    try {
      this.#size = (await handle.stat()).size;
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
    this.#handle = handle;
    return handle;
  }

  async #rotate(): Promise<void> {
    await this.#closeHandle();
    if (this.#maxFiles === 0) {
      await unlink(this.path).catch(ignoreMissing);
    } else {
      for (let index = this.#maxFiles - 1; index >= 1; index -= 1) {
        await rename(rotatedPath(this.path, index), rotatedPath(this.path, index + 1)).catch(
          ignoreMissing,
        );
      }
      await rename(this.path, rotatedPath(this.path, 1)).catch(ignoreMissing);
    }
    await this.#ensureOpen();
  }

  async #closeHandle(): Promise<void> {
    const handle = this.#handle;
    this.#handle = null;
    if (handle !== null) await handle.close().catch(() => undefined);
  }

  #resolveFlushWaiters(): void {
    const waiting = this.#flushWaiters;
    this.#flushWaiters = [];
    for (const waiter of waiting) {
      if (waiter.target <= this.#settled) waiter.resolve();
      else this.#flushWaiters.push(waiter);
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

/** `mail.log` with index 2 becomes `mail_2.log`; a name without extension gets `_2` appended. */
function rotatedPath(path: string, index: number): string {
  const extension = extname(path);
  const stem = extension === '' ? path : path.slice(0, -extension.length);
  return `${stem}_${index}${extension}`;
}

function ignoreMissing(error: unknown): void {
  if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const writer of writers.values()) writer.writePendingSync();
  });
}
