// Protocol object and its tables: the sans-I/O core.

export { type Capabilities, hasExtension, parseCapabilities } from './capabilities.js';
export { SmtpClient, type SmtpClientOptions } from './client.js';
export type * from './events.js';
export { type ClientState, COMMAND_TRANSITIONS, REPLY_TRANSITIONS } from './state.js';

// Replies and their parser.

export {
  createReply,
  type EnhancedStatusCode,
  parseEnhancedCode,
  type SmtpReply,
} from './reply.js';
export { ReplyParser } from './reply-parser.js';

// Encoding of commands and message data.

export { decodeBase64, encodeBase64, encodeBase64Text } from './base64.js';
export {
  addressLiteral,
  type CommandParameters,
  type CommandVerb,
  checkAddress,
  encodeXtext,
} from './commands.js';
export { DataEncoder, inspectMessage, type MessageFacts } from './data-encoder.js';

// Errors.

export * from './errors.js';
export * as limits from './limits.js';

// Transcript: entries, masking, formatters, sinks and the log-file writer.

export type * from './transcript/entry.js';
export {
  LOG_BATCH_DELAY_MS,
  type LogFileEnvironment,
  type LogFileOptions,
  LogFileRegistry,
  type LogFileSystem,
  type LogWriteFailure,
  type MaybePromise,
  rotatedLogPath,
} from './transcript/file-log.js';
export {
  escapeText,
  formatJsonLine,
  formatLocalTime,
  formatText,
  formatTextLine,
} from './transcript/format.js';
export { MemorySink } from './transcript/memory-sink.js';
export { parseTextLine, unescapeText } from './transcript/parse.js';
export { nextConnectionId, TranscriptRecorder } from './transcript/recorder.js';
export { SecretScanner, type SecretSet } from './transcript/redact.js';

// Driver: contracts an adapter supplies, the transporter built on them and helpers that
// adapters share for TLS details and connection errors.

export {
  formatAddress,
  wrapConnectionError,
  wrapTlsError,
} from './driver/connection-errors.js';
export type * from './driver/contracts.js';
export type * from './driver/options.js';
export { type ReadFlow, ReadQueue } from './driver/read-queue.js';
export {
  type CertificateDetails,
  describeCertificate,
  type PeerCertificateFields,
} from './driver/tls-details.js';
export { createTransporter } from './driver/transporter.js';
