/**
 * Finding the server's queue id in the reply to the message data, so callers can match
 * a send with the server's own logs.
 */

const PATTERNS: RegExp[] = [
  // Postfix: `250 2.0.0 Ok: queued as 4Q1TQs0Xyz`.
  /queued as ([A-Za-z0-9]+)/i,
  // Exim: `250 OK id=1tJ2kq-000ABC-De`.
  /\bid=([A-Za-z0-9-]+)/,
  // Microsoft: `250 2.6.0 <...> [InternalId=12345, Hostname=...] Queued mail for delivery`.
  /InternalId=(\d+)/,
  // Gmail: `250 2.0.0 OK  1733322222 a1b2c3d4e5f6-1234abcd.5 - gsmtp`.
  /\s(\S+) - gsmtp\s*$/,
];

/** Return the queue id in a final reply text, or null when none is recognised. */
export function parseQueueId(text: string): string | null {
  for (const pattern of PATTERNS) {
    const match = pattern.exec(text);
    if (match?.[1]) return match[1];
  }
  return null;
}
