/**
 * Log files for transcripts. Every sink on one path shares a single writer, so the file has
 * one strictly increasing line counter. Lines are buffered and appended in one batch per
 * tick, the file is rotated by size, and a failing disk never throws into the SMTP code: it
 * is reported once per file with `console.warn`.
 */

import { appendFile, rename, rm, stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import type { LogFormat, TranscriptEntry, TranscriptSink } from '@mailwire/core';
import { formatJsonLine, formatTextLine } from '@mailwire/core';

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
const encoder = new TextEncoder();
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
  return process.env.MAILWIRE_LOG || undefined;
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
  #scheduled = false;
  /** Batches run one after another; this settles when the last one has. */
  #writing: Promise<void> = Promise.resolve();
  /** Bytes in the file, read from disk before the first rotation check. */
  #size: number | undefined;
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
    queueMicrotask(() => this.#startBatch());
  }

  async flush(): Promise<void> {
    this.#startBatch();
    await this.#writing;
  }

  #startBatch(): void {
    this.#scheduled = false;
    if (this.#pending.length === 0) return;

    const lines = this.#pending;
    this.#pending = [];
    this.#writing = this.#writing.then(() => this.#writeLines(lines));
  }

  async #writeLines(lines: string[]): Promise<void> {
    try {
      if (!Number.isFinite(this.#maxBytes)) {
        await this.#appendLines(lines);
        return;
      }

      this.#size ??= await fileSize(this.path);
      let batch: string[] = [];
      let batchBytes = 0;
      for (const line of lines) {
        const lineBytes = encoder.encode(line).length + 1;
        const projected = this.#size + batchBytes + lineBytes;
        if (projected > this.#maxBytes && this.#size + batchBytes > 0) {
          if (batch.length > 0) await this.#appendLines(batch);
          batch = [];
          batchBytes = 0;
          await this.#rotate();
        }
        batch.push(line);
        batchBytes += lineBytes;
      }
      if (batch.length > 0) await this.#appendLines(batch);
    } catch (error) {
      // The size on disk is unknown after a failure; read it again before the next batch.
      this.#size = undefined;
      this.#reportFailure(error);
    }
  }

  async #appendLines(lines: readonly string[]): Promise<void> {
    const bytes = encoder.encode(`${lines.join('\n')}\n`);
    // Bun.write replaces a file's contents, so appends go through node:fs.
    await appendFile(this.path, bytes, { mode: FILE_MODE });
    if (this.#size !== undefined) this.#size += bytes.length;
  }

  async #rotate(): Promise<void> {
    if (this.#maxFiles === 0) {
      await rm(this.path, { force: true });
    } else {
      for (let index = this.#maxFiles - 1; index >= 1; index -= 1) {
        const from = rotatedPath(this.path, index);
        await ignoreNotFound(rename(from, rotatedPath(this.path, index + 1)));
      }
      await ignoreNotFound(rename(this.path, rotatedPath(this.path, 1)));
    }
    this.#size = 0;
  }

  #reportFailure(error: unknown): void {
    if (this.#failureReported) return;
    this.#failureReported = true;

    const reason = error instanceof Error ? error.message : String(error);
    console.warn(
      `mailwire: writing the log file ${this.path} failed: ${reason}. ` +
        'Transcript lines for this file are dropped while writing fails.',
    );
  }
}

/** `mail.log` with index 2 becomes `mail_2.log`; a name without extension gets `_2` appended. */
function rotatedPath(path: string, index: number): string {
  const extension = extname(path);
  const stem = extension === '' ? path : path.slice(0, -extension.length);
  return `${stem}_${index}${extension}`;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if (isNotFound(error)) return 0;
    throw error;
  }
}

async function ignoreNotFound(operation: Promise<void>): Promise<void> {
  try {
    await operation;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ENOENT';
}
