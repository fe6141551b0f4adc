/**
 * Log files for transcripts: Deno's file operations for core's `LogFileRegistry`, which
 * owns the shared writer per path, batching, rotation and failure reports. Lines are
 * appended asynchronously in one batch per 10 ms, and a failure is reported once per file
 * with `console.warn`.
 * NOTE: there is no exit hook, because asynchronous writes cannot finish during exit. Lines
 * not yet written when the process ends with `Deno.exit()` are lost; await `flush()` or
 * `transporter.close()` first.
 */

import type { LogFileOptions, LogFileSystem, LogFormat, TranscriptSink } from '@mailwire/core';
import { LOG_BATCH_DELAY_MS, LogFileRegistry } from '@mailwire/core';
import { isPermissionError } from './connect.ts';

export type { LogFileOptions } from '@mailwire/core';

/** Owner-only permissions, because transcripts name servers, accounts and recipients. */
const FILE_MODE = 0o600;

/** Bytes read from the end of an existing log file to find its last line counter. */
const TAIL_BYTES = 8192;

/** The last bytes of a file, or undefined when it cannot be read (missing, no permission). */
function readTail(path: string): Uint8Array | undefined {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch {
    return undefined;
  }
  try {
    const size = file.statSync().size;
    const tail = new Uint8Array(Math.min(size, TAIL_BYTES));
    file.seekSync(size - tail.length, Deno.SeekMode.Start);
    let filled = 0;
    for (let reads = 0; filled < tail.length && reads < 64; reads++) {
      const count = file.readSync(tail.subarray(filled));
      if (count === null) break;
      filled += count;
    }
    return tail.subarray(0, filled);
  } finally {
    file.close();
  }
}

const denoFileSystem: LogFileSystem = {
  readTail,
  append: (path, bytes) =>
    Deno.writeFile(path, bytes, { append: true, create: true, mode: FILE_MODE }),
  size: async (path) => {
    try {
      return (await Deno.stat(path)).size;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return 0;
      throw error;
    }
  },
  rename: (from, to) => ignoreNotFound(Deno.rename(from, to)),
  remove: (path) => ignoreNotFound(Deno.remove(path)),
};

const logFiles = new LogFileRegistry({
  fileSystem: denoFileSystem,
  // The timer keeps the process alive until the batch is written, since writes are asynchronous.
  schedule: (callback) => setTimeout(callback, LOG_BATCH_DELAY_MS),
  warn: ({ path, error, message }) => {
    const advice = isPermissionError(error) ? ` Run Deno with --allow-write=${path}.` : '';
    console.warn(`mailwire: ${message}.${advice}`);
  },
  resolvePath: absolutePath,
});
let globalPath: string | undefined;

/**
 * Open a transcript sink that appends to the file at `path`, creating it with mode 0600.
 * Sinks opened on the same resolved path share one writer and one counter; rotation options
 * given here replace the ones that writer had. Needs `--allow-write` for the path.
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

/**
 * Path of the process-wide log: the one set with `setGlobalLogFile`, else `MAILWIRE_LOG`.
 * The variable is read only when `--allow-env` already grants it, so Deno never prompts.
 */
export function globalLogFile(): string | undefined {
  if (globalPath !== undefined) return globalPath;
  try {
    const query = { name: 'env', variable: 'MAILWIRE_LOG' } as const;
    if (Deno.permissions.querySync(query).state !== 'granted') return undefined;
    return Deno.env.get('MAILWIRE_LOG') || undefined;
  } catch {
    return undefined;
  }
}

async function ignoreNotFound(operation: Promise<void>): Promise<void> {
  try {
    await operation;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/**
 * Absolute form of `path`, so that two spellings of one file share a writer. Only `.` and
 * `..` segments of POSIX paths are folded; symbolic links are not followed.
 */
function absolutePath(path: string): string {
  const isAbsolute = path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:/.test(path);
  let full = path;
  if (!isAbsolute) {
    try {
      full = `${Deno.cwd()}/${path}`;
    } catch {
      // Without read permission the working directory is hidden; the path is used as given.
      return path;
    }
  }
  if (!full.startsWith('/')) return full;

  const segments: string[] = [];
  for (const segment of full.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join('/')}`;
}
