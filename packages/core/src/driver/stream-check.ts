/**
 * Checks on a raw message given as a stream, which cannot be inspected before MAIL. Each
 * chunk is checked before it is sent, so an invalid line never reaches the server. The
 * driver then closes the connection without the end of data, and the server discards it.
 */
import { MAX_MESSAGE_LINE_OCTETS } from '../limits.js';

const CR = 13;
const LF = 10;

export class StreamCheck {
  private lineLength = 0;
  private lastWasCR = false;
  private line = 1;

  /** @param allowEightBit False when the server offered no 8BITMIME for this message. */
  constructor(private readonly allowEightBit: boolean) {}

  /** Return why the chunk may not be sent, or null when it may. */
  check(chunk: Uint8Array): string | null {
    if (!this.allowEightBit) {
      for (let index = 0; index < chunk.length; index++) {
        if (chunk[index]! > 127) {
          return 'the message has 8-bit content but the server does not offer 8BITMIME (RFC 6152)';
        }
      }
    }

    let start = 0;
    for (;;) {
      const lineFeed = chunk.indexOf(LF, start);
      const end = lineFeed === -1 ? chunk.length : lineFeed;
      this.lineLength += end - start;
      if (lineFeed === -1) {
        if (end > start) this.lastWasCR = chunk[end - 1] === CR;
        // A CR may still be followed by its LF in the next chunk, so allow one more octet.
        if (this.lineLength > MAX_MESSAGE_LINE_OCTETS + 1) return this.tooLong();
        return null;
      }
      const beforeLineFeed = end > start ? chunk[end - 1] === CR : this.lastWasCR;
      const length = this.lineLength - (beforeLineFeed ? 1 : 0);
      if (length > MAX_MESSAGE_LINE_OCTETS) return this.tooLong();
      this.lineLength = 0;
      this.lastWasCR = false;
      this.line += 1;
      start = lineFeed + 1;
    }
  }

  private tooLong(): string {
    return (
      `line ${this.line} is over the ${MAX_MESSAGE_LINE_OCTETS}-octet limit of RFC 5322 ` +
      '§2.1.1; raw messages are sent unchanged, so fold or encode that line'
    );
  }
}
