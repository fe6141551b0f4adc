/**
 * Incremental reply parser: bytes in, complete replies out, one at a time.
 * It owns the receive buffer and its limits; it knows nothing of commands or state.
 * Tolerated: bare LF line ends and replies split across reads. Rejected: lines without a
 * three-digit code, mixed codes within one reply, and lines or replies past the limits.
 */
import { SmtpProtocolError } from './errors.js';
import { MAX_REPLY_LINE_OCTETS, MAX_REPLY_LINES } from './limits.js';
import { createReply, type SmtpReply } from './reply.js';

const LF = 10;
const CR = 13;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decode reply text as UTF-8 (RFC 6531), falling back to Latin-1 so no byte is lost. */
function decodeLine(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return decodeLatin1(bytes);
  }
}

/**
 * Map each byte to the code point of the same value. `TextDecoder('latin1')` would differ by
 * runtime, because the WHATWG Encoding Standard maps that label to windows-1252: Deno 2.9 and
 * Bun 1.4 decode 0x80 as U+20AC, while Node 20 decodes it as U+0080.
 */
function decodeLatin1(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return text;
}

export class ReplyParser {
  private buffer: Uint8Array = new Uint8Array(0);
  private start = 0;
  private lines: string[] = [];
  private code = 0;
  /** Set once a line ended in LF without CR; the client notes it once in the transcript. */
  bareLineFeedSeen = false;

  /** Append received bytes. Call `next()` until it returns null to take the replies. */
  push(bytes: Uint8Array): void {
    const pending = this.buffer.length - this.start;
    if (pending === 0) {
      this.buffer = bytes;
    } else {
      const joined = new Uint8Array(pending + bytes.length);
      joined.set(this.buffer.subarray(this.start));
      joined.set(bytes, pending);
      this.buffer = joined;
    }
    this.start = 0;
  }

  /** Return the next complete reply, or null when more bytes are needed. */
  next(): SmtpReply | null {
    for (;;) {
      const line = this.takeLine();
      if (line === null) return null;
      const reply = this.addLine(line);
      if (reply) return reply;
    }
  }

  /** Drop everything buffered, complete or not (after STARTTLS, RFC 3207 §6). */
  reset(): number {
    const dropped = this.buffer.length - this.start;
    this.buffer = new Uint8Array(0);
    this.start = 0;
    this.lines = [];
    this.code = 0;
    return dropped;
  }

  /** Bytes received but not yet part of a returned reply. */
  get bufferedBytes(): number {
    return this.buffer.length - this.start;
  }

  /** True while a multi-line reply has started but not ended. */
  get inReply(): boolean {
    return this.lines.length > 0;
  }

  private takeLine(): string | null {
    const end = this.buffer.indexOf(LF, this.start);
    if (end === -1) {
      // A final CR may be the first half of the CRLF that ends a line of the maximum length.
      const trailingCR = this.buffer[this.buffer.length - 1] === CR ? 1 : 0;
      if (this.buffer.length - this.start > MAX_REPLY_LINE_OCTETS + trailingCR) {
        throw new SmtpProtocolError(
          `Reply line too long: over ${MAX_REPLY_LINE_OCTETS} octets without a line end`,
        );
      }
      return null;
    }

    let stop = end;
    if (stop > this.start && this.buffer[stop - 1] === CR) stop -= 1;
    else this.bareLineFeedSeen = true;
    if (stop - this.start > MAX_REPLY_LINE_OCTETS) {
      throw new SmtpProtocolError(`Reply line too long: ${stop - this.start} octets`);
    }

    const line = decodeLine(this.buffer.subarray(this.start, stop));
    this.start = end + 1;
    return line;
  }

  private addLine(line: string): SmtpReply | null {
    const code = parseCode(line);
    if (code === null) {
      this.lines = [];
      throw new SmtpProtocolError(`Malformed reply line: ${JSON.stringify(line.slice(0, 80))}`);
    }
    if (this.lines.length > 0 && code !== this.code) {
      this.lines = [];
      throw new SmtpProtocolError(
        `Malformed multi-line reply: code ${code} inside a ${this.code} reply`,
      );
    }
    if (this.lines.length >= MAX_REPLY_LINES) {
      this.lines = [];
      throw new SmtpProtocolError(`Reply too long: more than ${MAX_REPLY_LINES} lines`);
    }

    this.code = code;
    this.lines.push(line);
    // RFC 5321 §4.2.1: a hyphen after the code marks a line that is not the last.
    if (line.charCodeAt(3) === 45 /* - */) return null;

    const reply = createReply(code, this.lines);
    this.lines = [];
    return reply;
  }
}

/** Return the reply code of a line, or null when the line does not start with one. */
function parseCode(line: string): number | null {
  if (line.length < 3) return null;
  const separator = line.charCodeAt(3);
  // RFC 5321 §4.2: code, then a space, a hyphen, or the line end.
  if (line.length > 3 && separator !== 32 && separator !== 45) return null;

  const code = Number(line.slice(0, 3));
  if (!/^[2-5][0-9][0-9]$/.test(line.slice(0, 3))) return null;
  return code;
}
