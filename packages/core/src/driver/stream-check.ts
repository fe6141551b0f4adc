/**
 * Checks on a raw message given as a stream, which cannot be inspected before MAIL. Each
 * chunk is checked before it is sent, so an invalid chunk never reaches the server. The
 * driver then closes the connection without the end of data, and the server discards it.
 * Line lengths are checked against the encoder's own counts, in `SmtpClient.sendBody` and in
 * the BDAT path, so the message is scanned once.
 */
import { MAX_MESSAGE_LINE_OCTETS } from '../limits.js';

/**
 * An error of the message source, raised while its chunks are read, kept apart from errors
 * of the connection: `original` is what the source threw, or the `SmtpUsageError` for a chunk
 * that is neither text nor bytes.
 */
export class SourceError extends Error {
  constructor(readonly original: unknown) {
    super('The message source failed');
  }
}

/** Return why a chunk with 8-bit octets may not be sent, or null when it has none. */
export function eightBitProblem(chunk: Uint8Array): string | null {
  for (let index = 0; index < chunk.length; index++) {
    if ((chunk[index] as number) > 127) {
      return 'the message has 8-bit content but the server does not offer 8BITMIME (RFC 6152)';
    }
  }
  return null;
}

/** Describe why a message whose line `line` is `length` octets long may not be sent. */
export function overlongLineProblem(line: number, length: number): string {
  return (
    `line ${line} is ${length} octets long, over the ${MAX_MESSAGE_LINE_OCTETS}-octet limit ` +
    'of RFC 5322 §2.1.1; raw messages are sent unchanged, so fold or encode that line'
  );
}
