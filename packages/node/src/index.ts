/**
 * mailwire for Node.js: core's API plus the Node connector, clock and log files. Nothing
 * here speaks SMTP: `createTransporter` only passes core what it needs from the runtime.
 */
import {
  createTransporter as createCoreTransporter,
  type Transporter,
  type TransporterOptions,
} from '@mailwire/core';
import { systemClock } from './clock.js';
import { nodeConnector } from './connect.js';
import { globalLogFile, openLogFile } from './file-sink.js';

// Everything core exports: types, the transcript formats and the errors.
export * from '@mailwire/core';

// Log files: per-transporter files and the process-wide log.
export {
  globalLogFile,
  type LogFileOptions,
  openLogFile,
  setGlobalLogFile,
} from './file-sink.js';

/**
 * Create a transporter that connects with Node's `net` and `tls` modules.
 * @example
 * const transporter = createTransporter({ host: 'smtp.example.test', port: 587 });
 * await transporter.send({ from: 'a@example.test', to: 'b@example.test', text: 'Hello' });
 */
export function createTransporter(options: TransporterOptions): Transporter {
  return createCoreTransporter(options, {
    connector: nodeConnector,
    clock: systemClock,
    processId: process.pid,
    openLogFile,
    globalLogFile,
  });
}
