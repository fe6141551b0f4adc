/**
 * Log files for transcripts: Bun's file operations for core's `LogFileRegistry`, which owns
 * the shared writer per path, batching, rotation and failure reports. Lines are appended
 * asynchronously in one batch per 10 ms, and a failure is reported once per file with
 * `console.warn`.
 * NOTE: there is no exit hook, because asynchronous writes cannot finish during exit. Lines
 * not yet written when the process ends with `process.exit()` are lost; await `flush()` or
 * `transporter.close()` first.
 */

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { appendFile, rename, rm, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { LogFileOptions, LogFileSystem, LogFormat, TranscriptSink } from '@mailwire/core';
import { LOG_BATCH_DELAY_MS, LogFileRegistry } from '@mailwire/core';

export type { LogFileOptions } from '@mailwire/core';

/** Owner-only permissions, because transcripts name servers, accounts and recipients. */
const FILE_MODE = 0o600;

/** Bytes read from the end of an existing log file to find its last line counter. */
const TAIL_BYTES = 8192;

/** The last bytes of a file, or undefined when it cannot be read (missing, no permission). */
function readTail(path: string): Uint8Array | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fstatSync(fd).size;
    const tail = new Uint8Array(Math.min(size, TAIL_BYTES));
    const count = readSync(fd, tail, 0, tail.length, size - tail.length);
    return tail.subarray(0, count);
  } finally {
    closeSync(fd);
  }
}

const bunFileSystem: LogFileSystem = {
  readTail,
  // Bun.write replaces a file's contents, so appends go through node:fs.
  append: (path, bytes) => appendFile(path, bytes, { mode: FILE_MODE }),
  size: async (path) => {
    try {
      return (await stat(path)).size;
    } catch (error) {
      if (isNotFound(error)) return 0;
      throw error;
    }
  },
  rename: (from, to) => ignoreNotFound(rename(from, to)),
  remove: (path) => rm(path, { force: true }),
};

const logFiles = new LogFileRegistry({
  fileSystem: bunFileSystem,
  // The timer keeps the process alive until the batch is written, since writes are asynchronous.
  schedule: (callback) => setTimeout(callback, LOG_BATCH_DELAY_MS),
  warn: ({ message }) => console.warn(`mailwire: ${message}.`),
  resolvePath: (path) => resolve(path),
});
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
  return logFiles.open(path, format, options);
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
