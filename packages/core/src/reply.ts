/**
 * SMTP replies as values: the code, the lines and the RFC 3463 enhanced status code.
 * This module never handles bytes; the reply parser builds these values.
 */

/** RFC 3463 enhanced status code split into its three parts. */
export interface EnhancedStatusCode {
  /** 2 success, 4 persistent transient failure, 5 permanent failure. */
  class: 2 | 4 | 5;
  subject: number;
  detail: number;
}

/** One complete server reply, single- or multi-line. */
export interface SmtpReply {
  /** Three-digit reply code, for example 250. */
  code: number;
  /** Every line as received, without its line end, for example `250-PIPELINING`. */
  lines: string[];
  /** Text of each line after the code and separator. */
  texts: string[];
  /** Enhanced status code of the first line as text (`5.7.8`), or null. */
  enhancedCode: string | null;
  enhanced: EnhancedStatusCode | null;
}

const ENHANCED_PATTERN = /^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)/;

/** Parse an RFC 3463 code at the start of a reply text; null when there is none. */
export function parseEnhancedCode(text: string): EnhancedStatusCode | null {
  const match = ENHANCED_PATTERN.exec(text);
  if (!match) return null;

  const subject = Number(match[2]);
  const detail = Number(match[3]);
  // RFC 3463 §2: subject and detail are 1 to 3 digits each, so at most 999.
  if (subject > 999 || detail > 999) return null;
  return { class: Number(match[1]) as 2 | 4 | 5, subject, detail };
}

/** Build a reply value from its lines; the code is taken from the first line. */
export function createReply(code: number, lines: string[]): SmtpReply {
  const texts = lines.map((line) => line.slice(4));
  const enhanced = parseEnhancedCode(texts[0] ?? '');
  // RFC 3463 §3: the class digit of the enhanced code matches the first digit of the reply.
  const matchesClass = enhanced !== null && enhanced.class === Math.floor(code / 100);
  return {
    code,
    lines,
    texts,
    enhanced: matchesClass ? enhanced : null,
    enhancedCode: matchesClass ? `${enhanced.class}.${enhanced.subject}.${enhanced.detail}` : null,
  };
}

/** Join every line of a reply with a newline, for error messages and results. */
export function replyText(reply: SmtpReply): string {
  return reply.lines.join('\n');
}

/** True for 2xx replies. */
export const isPositive = (reply: SmtpReply): boolean => reply.code >= 200 && reply.code < 300;

/** True for 4xx replies: the same request may succeed later. */
export const isTransient = (reply: SmtpReply): boolean => reply.code >= 400 && reply.code < 500;
