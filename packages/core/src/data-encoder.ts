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

export interface DataEncoderOptions {
  /**
   * Double leading dots, as DATA needs. Default true. BDAT sends the message as it is, so
   * it only normalises line ends (RFC 3030 §2).
   */
  dotStuff?: boolean;
  /**
   * Write every result into one buffer, each right after the previous one, instead of
   * returning new arrays or the input itself. Default false. Results stay valid until
   * `rewind()`, which starts the buffer over. Consecutive results are adjacent in memory,
   * so a caller can send several in one write, and a long message keeps one buffer instead
   * of leaving one behind per chunk.
   */
  reuseOutput?: boolean;
}

/** Buffer size above which `rewind()` lets the buffer go, so one huge chunk is not kept. */
const MAX_KEPT_OUTPUT = 1024 * 1024;

export class DataEncoder {
  private readonly dotStuff: boolean;
  private readonly reuseOutput: boolean;
  /** The buffer results go into when `reuseOutput` is set, and the octets used in it. */
  private output = new Uint8Array(0);
  private used = 0;

  constructor(options: DataEncoderOptions = {}) {
    this.dotStuff = options.dotStuff ?? true;
    this.reuseOutput = options.reuseOutput ?? false;
  }

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
  /** The 1-based number of the line `maxLineLength` was measured on; 0 before any. */
  maxLine = 0;

  /**
   * Insertions found in the chunk being encoded: byte `insertBytes[k]` goes before input
   * offset `insertOffsets[k]`, in increasing offset order. Kept between chunks so that a
   * long message does not allocate them again.
   */
  private insertOffsets = new Int32Array(64);
  private insertBytes = new Uint8Array(64);
  private inserts = 0;

  /**
   * Encode one chunk. The result may share memory with the input when nothing had to
   * change, so write it before reusing the input buffer.
   */
  encode(chunk: Uint8Array): Uint8Array {
    const length = chunk.length;
    this.bytesIn += length;
    if (length === 0) return chunk;

    this.inserts = 0;
    const pad = wordPadding(chunk);
    const words = wordView(chunk, pad);
    let index = 0;
    // Counters live in locals inside the loop; they are stored back once at the end.
    let lineLength = this.lineLength;
    let maxLineLength = this.maxLineLength;
    let maxLine = this.maxLine;
    let lines = this.lines;
    let atLineStart = this.atLineStart;

    if (this.pendingCR) {
      this.pendingCR = false;
      if (chunk[0] === LF) {
        index = 1;
      } else {
        // Bare CR at the end of the previous chunk: complete it as CRLF.
        this.insert(0, LF);
      }
      if (lineLength > maxLineLength) {
        maxLineLength = lineLength;
        maxLine = lines + 1;
      }
      lineLength = 0;
      lines += 1;
      atLineStart = true;
    }

    while (index < length) {
      if (atLineStart) {
        atLineStart = false;
        if (chunk[index] === DOT && this.dotStuff) this.insert(index, DOT);
      }

      const stop = findLineEnd(chunk, words, pad, index);
      lineLength += stop - index;
      if (stop === length) break;

      if (chunk[stop] === LF) {
        // Bare LF: insert the missing CR.
        this.insert(stop, CR);
        index = stop + 1;
      } else if (stop + 1 === length) {
        this.pendingCR = true;
        index = length;
        break;
      } else if (chunk[stop + 1] === LF) {
        index = stop + 2;
      } else {
        // Bare CR inside the chunk: add the LF it lacks.
        this.insert(stop + 1, LF);
        index = stop + 1;
      }
      if (lineLength > maxLineLength) {
        maxLineLength = lineLength;
        maxLine = lines + 1;
      }
      lineLength = 0;
      lines += 1;
      atLineStart = true;
    }
    this.lineLength = lineLength;
    this.maxLineLength = maxLineLength;
    this.maxLine = maxLine;
    this.lines = lines;
    this.atLineStart = atLineStart;

    if (this.inserts === 0) {
      this.bytesOut += length;
      if (!this.reuseOutput) return chunk;
      const copy = this.outputOf(length);
      copy.set(chunk);
      return copy;
    }
    const out = this.applyInserts(chunk);
    this.bytesOut += out.length;
    return out;
  }

  private insert(offset: number, byte: number): void {
    if (this.inserts === this.insertOffsets.length) {
      const offsets = new Int32Array(this.inserts * 2);
      offsets.set(this.insertOffsets);
      this.insertOffsets = offsets;
      const bytes = new Uint8Array(this.inserts * 2);
      bytes.set(this.insertBytes);
      this.insertBytes = bytes;
    }
    this.insertOffsets[this.inserts] = offset;
    this.insertBytes[this.inserts] = byte;
    this.inserts += 1;
  }

  /**
   * Copy the chunk once into an output of the final size, then move each span behind an
   * insertion into place with `copyWithin`, last span first. Working inside one buffer
   * needs no view per span, so a long message makes little garbage besides the outputs.
   */
  private applyInserts(chunk: Uint8Array): Uint8Array {
    const count = this.inserts;
    const offsets = this.insertOffsets;
    const out = this.outputOf(chunk.length + count);
    out.set(chunk);
    let spanEnd = chunk.length;
    for (let k = count - 1; k >= 0; k--) {
      const offset = offsets[k] as number;
      // Input bytes from `offset` on move right by one for every insertion up to k.
      out.copyWithin(offset + k + 1, offset, spanEnd);
      out[offset + k] = this.insertBytes[k] as number;
      spanEnd = offset;
    }
    return out;
  }

  /** Return an array of `size` bytes: a new one, or the next part of the output buffer. */
  private outputOf(size: number): Uint8Array {
    if (!this.reuseOutput) return new Uint8Array(size);
    if (this.used + size > this.output.length) {
      // Results already returned keep the old buffer, so it is replaced, never resized.
      // Double it, so that a batch of chunks settles on one size after a few messages.
      this.output = new Uint8Array(Math.max(2 * this.output.length, size + (size >> 4)));
      this.used = 0;
    }
    const part = this.output.subarray(this.used, this.used + size);
    this.used += size;
    return part;
  }

  /**
   * Start the output buffer over. Call it only when every result so far was written out
   * and the write has finished with it.
   */
  rewind(): void {
    this.used = 0;
    if (this.output.length > MAX_KEPT_OUTPUT) this.output = new Uint8Array(0);
  }

  /** Octets of the line still open, before stuffing. */
  get openLineLength(): number {
    return this.lineLength;
  }

  /** Octets of the longest line so far, the open line included, before stuffing. */
  get longestLineLength(): number {
    return Math.max(this.lineLength, this.maxLineLength);
  }

  /** Return the maximum line length so far, the open line included, and that line's number. */
  longestLine(): { length: number; line: number } {
    if (this.lineLength > this.maxLineLength) {
      return { length: this.lineLength, line: this.lines + 1 };
    }
    return { length: this.maxLineLength, line: this.maxLine };
  }

  /**
   * Start a new message with the same settings. The output buffer is rewound and kept, so a
   * pool sending many messages keeps one.
   */
  reset(): void {
    this.rewind();
    this.atLineStart = true;
    this.pendingCR = false;
    this.lineLength = 0;
    this.bytesIn = 0;
    this.bytesOut = 0;
    this.lines = 0;
    this.maxLineLength = 0;
    this.maxLine = 0;
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
    if (this.lineLength > this.maxLineLength) {
      this.maxLineLength = this.lineLength;
      this.maxLine = this.lines + 1;
    }
    this.lineLength = 0;
    this.lines += 1;
    this.atLineStart = true;
  }
}

/** Chunks shorter than this are scanned byte by byte. */
const MIN_WORD_SCAN = 64;

/**
 * View a chunk as 32-bit words for `findLineEnd`, from the first 4-byte-aligned offset, which
 * is `pad` bytes in. A short chunk gets null and is scanned byte by byte.
 */
function wordView(chunk: Uint8Array, pad: number): Int32Array | null {
  if (chunk.length < pad + MIN_WORD_SCAN) return null;
  return new Int32Array(chunk.buffer, chunk.byteOffset + pad, (chunk.length - pad) >> 2);
}

/** Bytes from the start of `chunk` to its first 4-byte-aligned offset. */
function wordPadding(chunk: Uint8Array): number {
  return (4 - (chunk.byteOffset & 3)) & 3;
}

/** Every byte of a word set to 14, one more than CR, and every byte's top bit. */
const FOURTEENS = 0x0e0e0e0e;
const TOP_BITS = 0x80808080 | 0;

/**
 * Index of the first CR or LF at or after `from`, or the chunk length when there is none.
 * Four bytes are tested at once: `(x - 0x0e0e0e0e) & ~x & 0x80808080` is non-zero for a
 * word holding a byte below 14, the "has less than" bit trick. It never misses such a
 * word and may flag a word whose byte below 14 is neither CR nor LF, so flagged words are
 * checked byte by byte. The result does not depend on byte order.
 */
function findLineEnd(
  chunk: Uint8Array,
  words: Int32Array | null,
  pad: number,
  from: number,
): number {
  const length = chunk.length;
  let index = from;
  if (words !== null) {
    while (index < length && ((index - pad) & 3) !== 0) {
      const byte = chunk[index];
      if (byte === CR || byte === LF) return index;
      index += 1;
    }
    if (index < length) {
      let word = (index - pad) >> 2;
      while (word < words.length) {
        const value = words[word] as number;
        if (((value - FOURTEENS) & ~value & TOP_BITS) !== 0) break;
        word += 1;
      }
      index = pad + word * 4;
    }
  }
  for (; index < length; index++) {
    const byte = chunk[index];
    if (byte === CR || byte === LF) return index;
  }
  return length;
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
  const pad = wordPadding(bytes);
  const words = wordView(bytes, pad);
  let maxLineLength = 0;
  let maxLine = 0;
  let line = 1;
  let lineStart = 0;

  // Lines end at CRLF, bare LF or bare CR, the same line ends DataEncoder sends as CRLF.
  for (;;) {
    const end = findLineEnd(bytes, words, pad, lineStart);
    if (end - lineStart > maxLineLength) {
      maxLineLength = end - lineStart;
      maxLine = line;
    }
    if (end === bytes.length) break;
    lineStart = bytes[end] === CR && bytes[end + 1] === LF ? end + 2 : end + 1;
    line += 1;
  }
  const eightBit = hasEightBit(bytes, words, pad);
  const nul = bytes.indexOf(0) !== -1;
  return { size: bytes.length, eightBit, maxLineLength, maxLine, nul };
}

/** True when any byte is above 127, tested four bytes at a time where the view allows. */
function hasEightBit(bytes: Uint8Array, words: Int32Array | null, pad: number): boolean {
  let wordsEnd = 0;
  if (words !== null) {
    for (let index = 0; index < words.length; index++) {
      if (((words[index] as number) & TOP_BITS) !== 0) return true;
    }
    for (let index = 0; index < pad; index++) {
      if ((bytes[index] as number) > 127) return true;
    }
    wordsEnd = pad + words.length * 4;
  }
  for (let index = wordsEnd; index < bytes.length; index++) {
    if ((bytes[index] as number) > 127) return true;
  }
  return false;
}
