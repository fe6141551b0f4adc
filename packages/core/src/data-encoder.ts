/**
 * DATA encoding in one streaming pass: every line end becomes CRLF (bare CR and bare LF
 * included) and a line that starts with `.` gets a second one (RFC 5321 §4.5.2), so no
 * input can end the data early. The message never has to sit whole in memory.
 * This module never validates content; it only transforms bytes and counts them.
 */

const CR = 13;
const LF = 10;
const DOT = 46;

const TERMINATOR = new Uint8Array([DOT, CR, LF]);
const CRLF_TERMINATOR = new Uint8Array([CR, LF, DOT, CR, LF]);
const LF_TERMINATOR = new Uint8Array([LF, DOT, CR, LF]);

export class DataEncoder {
  /**
   * @param dotStuff Double leading dots (DATA). BDAT sends the message as it is, so it
   *   only normalises line ends (RFC 3030 §2).
   */
  constructor(private readonly dotStuff = true) {}

  private atLineStart = true;
  /** The previous chunk ended in CR; its LF (or its repair) is still due. */
  private pendingCR = false;
  private lineLength = 0;
  /** Octets taken in. */
  bytesIn = 0;
  /** Octets produced, terminator included once `end()` ran. */
  bytesOut = 0;
  /** Lines seen so far, the last one counted even without a line end. */
  lines = 0;
  /** Maximum line length seen in octets, line end excluded, before stuffing. */
  maxLineLength = 0;

  /**
   * Encode one chunk. The result may share memory with the input when nothing had to
   * change, so write it before reusing the input buffer.
   */
  encode(chunk: Uint8Array): Uint8Array {
    const length = chunk.length;
    this.bytesIn += length;
    if (length === 0) return chunk;

    let out: Uint8Array | null = null;
    let written = 0;
    let copiedTo = 0;
    let index = 0;

    // Append chunk[copiedTo, end) and then the given bytes to the output.
    const flushSpan = (end: number, ...extra: number[]): void => {
      if (out === null) out = new Uint8Array(length * 2 + 4);
      out.set(chunk.subarray(copiedTo, end), written);
      written += end - copiedTo;
      for (const byte of extra) out[written++] = byte;
    };

    if (this.pendingCR) {
      this.pendingCR = false;
      if (chunk[0] === LF) {
        index = 1;
      } else {
        // Bare CR at the end of the previous chunk: complete it as CRLF.
        flushSpan(0, LF);
      }
      this.endLine();
    }

    let nextCR = chunk.indexOf(CR, index);
    while (index < length) {
      if (this.atLineStart) {
        this.atLineStart = false;
        if (chunk[index] === DOT && this.dotStuff) {
          flushSpan(index, DOT);
          copiedTo = index;
        }
      }

      let lineFeed = chunk.indexOf(LF, index);
      if (lineFeed === -1) lineFeed = length;
      if (nextCR !== -1 && nextCR < index) nextCR = chunk.indexOf(CR, index);
      const stop = nextCR !== -1 && nextCR < lineFeed ? nextCR : lineFeed;
      this.lineLength += stop - index;
      if (stop === length) break;

      if (chunk[stop] === LF) {
        // Bare LF: insert the missing CR.
        flushSpan(stop, CR);
        copiedTo = stop;
        index = stop + 1;
      } else if (stop + 1 === length) {
        this.pendingCR = true;
        index = length;
        break;
      } else if (chunk[stop + 1] === LF) {
        index = stop + 2;
        nextCR = chunk.indexOf(CR, index);
      } else {
        // Bare CR inside the chunk: add the LF it lacks.
        flushSpan(stop + 1, LF);
        copiedTo = stop + 1;
        index = stop + 1;
        nextCR = chunk.indexOf(CR, index);
      }
      this.endLine();
    }

    if (out === null) {
      this.bytesOut += length;
      return chunk;
    }
    flushSpan(length);
    this.bytesOut += written;
    return (out as Uint8Array).subarray(0, written);
  }

  /** Bytes that end the data: a missing CRLF when needed, then `.` CRLF. */
  end(): Uint8Array {
    if (!this.dotStuff) return this.finishLine();
    let tail = TERMINATOR;
    if (this.pendingCR) {
      this.pendingCR = false;
      tail = LF_TERMINATOR;
      this.endLine();
    } else if (!this.atLineStart) {
      // RFC 5321 §4.1.1.4: the terminator is CRLF . CRLF, so the last line needs its CRLF.
      tail = CRLF_TERMINATOR;
      this.endLine();
    }
    this.bytesOut += tail.length;
    return tail;
  }

  /** Without dot-stuffing: only the CRLF the last line may lack. */
  private finishLine(): Uint8Array {
    let tail = new Uint8Array(0);
    if (this.pendingCR) {
      this.pendingCR = false;
      tail = new Uint8Array([LF]);
      this.endLine();
    } else if (!this.atLineStart) {
      tail = new Uint8Array([CR, LF]);
      this.endLine();
    }
    this.bytesOut += tail.length;
    return tail;
  }

  private endLine(): void {
    if (this.lineLength > this.maxLineLength) this.maxLineLength = this.lineLength;
    this.lineLength = 0;
    this.lines += 1;
    this.atLineStart = true;
  }
}

/** Facts about a message gathered before sending it. */
export interface MessageFacts {
  size: number;
  /** True when any octet is above 127 (RFC 6152 8BITMIME needed). */
  eightBit: boolean;
  /** Maximum line length in octets without the line end, and that line's 1-based number. */
  maxLineLength: number;
  maxLine: number;
  /** True when the message contains a NUL octet, which only BINARYMIME can carry. */
  nul: boolean;
}

/** Scan a whole message for its size, 8-bit octets and longest line. */
export function inspectMessage(bytes: Uint8Array): MessageFacts {
  let eightBit = false;
  let maxLineLength = 0;
  let maxLine = 0;
  let line = 1;
  let start = 0;

  while (start <= bytes.length) {
    let end = bytes.indexOf(LF, start);
    if (end === -1) end = bytes.length;
    const contentEnd = end > start && bytes[end - 1] === CR ? end - 1 : end;
    if (contentEnd - start > maxLineLength) {
      maxLineLength = contentEnd - start;
      maxLine = line;
    }
    line += 1;
    start = end + 1;
  }
  for (let index = 0; index < bytes.length; index++) {
    if (bytes[index]! > 127) {
      eightBit = true;
      break;
    }
  }
  const nul = bytes.indexOf(0) !== -1;
  return { size: bytes.length, eightBit, maxLineLength, maxLine, nul };
}
