/**
 * Log files for transcripts: Node's file operations for core's `LogFileRegistry`, which
 * owns the shared writer per path, batching, rotation and failure reports. Writes are
 * synchronous, batched once per 10 ms, and whatever is still buffered is written
 * when the process exits.
 */
import {
  closeSync,
  fdatasync,
  fstatSync,
  ftruncateSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { resolve } from 'node:path';
import {
  LOG_BATCH_DELAY_MS,
  type LogFileOptions,
  LogFileRegistry,
  type LogFileSystem,
  type LogFormat,
  type TranscriptSink,
} from '@mailwire/core';

export type { LogFileOptions } from '@mailwire/core';

/** Owner-only permissions, because transcripts name servers, accounts and recipients. */
const FILE_MODE = 0o600;

/** Bytes read from the end of an existing log file to find its last line counter. */
const TAIL_BYTES = 8192;

/** An open log file and its size in bytes, kept so that a partial write can be cut back. */
interface OpenFile {
  fd: number;
  size: number;
}

/**
 * Synchronous file operations on descriptors kept open between batches.
 * NOTE: each batch is one synchronous write. That costs much less CPU than an asynchronous
 * write per batch, but a stalled disk (a hung network mount) stalls the event loop too.
 */
class NodeLogFileSystem implements LogFileSystem {
  readonly #open = new Map<string, OpenFile>();

  readTail(path: string): Uint8Array | undefined {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return undefined;
    }
    try {
      const size = fstatSync(fd).size;
      const length = Math.min(size, TAIL_BYTES);
      const tail = new Uint8Array(length);
      readSync(fd, tail, 0, length, size - length);
      return tail;
    } finally {
      closeSync(fd);
    }
  }

  append(path: string, bytes: Uint8Array): void {
    const file = this.#openFile(path);
    let offset = 0;
    try {
      while (offset < bytes.length) {
        const written = writeSync(file.fd, bytes, offset, bytes.length - offset);
        if (written === 0) throw new Error('write returned 0 bytes');
        offset += written;
      }
    } catch (error) {
      // Cut the file back so that it still ends with a whole line.
      if (offset > 0) truncateQuietly(file.fd, file.size);
      throw error;
    }
    file.size += bytes.length;
  }

  size(path: string): number {
    return this.#openFile(path).size;
  }

  rename(from: string, to: string): void {
    ignoreNotFound(() => renameSync(from, to));
  }

  remove(path: string): void {
    ignoreNotFound(() => unlinkSync(path));
  }

  close(path: string): void {
    const file = this.#open.get(path);
    if (file === undefined) return;
    this.#open.delete(path);
    try {
      closeSync(file.fd);
    } catch {
      // The descriptor is gone either way, and a failure that led here is reported.
    }
  }

  async sync(path: string): Promise<void> {
    const file = this.#open.get(path);
    if (file === undefined) return;
    await new Promise<void>((resolveSync, reject) => {
      fdatasync(file.fd, (error) => (error ? reject(error) : resolveSync()));
    });
  }

  #openFile(path: string): OpenFile {
    const known = this.#open.get(path);
    if (known !== undefined) return known;

    const fd = openSync(path, 'a', FILE_MODE);
    let size: number;
    try {
      size = fstatSync(fd).size;
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    const file = { fd, size };
    this.#open.set(path, file);
    return file;
  }
}

const logFiles = new LogFileRegistry({
  fileSystem: new NodeLogFileSystem(),
  // Lines still buffered are written synchronously on exit, so the timer need not hold the
  // process open.
  schedule: (callback) => setTimeout(callback, LOG_BATCH_DELAY_MS).unref(),
  warn: ({ message }) => {
    process.emitWarning(message, { type: 'MailwireWarning', code: 'MAILWIRE_LOG_WRITE_FAILED' });
  },
  resolvePath: (path) => resolve(path),
});
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
  const sink = logFiles.open(path, format, options);
  installExitHook();
  return sink;
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

/** Rename or delete a file, treating a missing file as already done. */
function ignoreNotFound(operation: () => void): void {
  try {
    operation();
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

/** Write buffered lines on exit; the file operations are synchronous, so they complete. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => logFiles.writePending());
}
