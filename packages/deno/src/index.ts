/**
 * mailwire for Deno: core's API plus the Deno connector, clock and log files. Nothing here
 * speaks SMTP; `createTransporter` only hands core what it needs from the runtime.
 */
import {
  createTransporter as createCoreTransporter,
  type Transporter,
  type TransporterOptions,
} from '@mailwire/core';
import { systemClock } from './clock.ts';
import { denoConnector } from './connect.ts';
import { globalLogFile, openLogFile } from './file-sink.ts';

// Everything core exports: types, the transcript formats and the errors.
export * from '@mailwire/core';

// Log files: per-transporter files and the process-wide log.
export {
  globalLogFile,
  type LogFileOptions,
  openLogFile,
  setGlobalLogFile,
} from './file-sink.ts';

/**
 * Create a transporter that connects with Deno's network APIs. The process needs
 * `--allow-net` for the server, and `--allow-write` for any log file.
 * @example
 * const transporter = createTransporter({ host: 'smtp.example.test', port: 587 });
 * await transporter.send({ from: 'a@example.test', to: 'b@example.test', text: 'Hello' });
 */
export function createTransporter(options: TransporterOptions): Transporter {
  return createCoreTransporter(options, {
    connector: denoConnector,
    clock: systemClock,
    processId: Deno.pid,
    openLogFile,
    globalLogFile,
  });
}
