/**
 * The second line of defence for secrets. Entries are masked when they are created, and this
 * scanner checks every entry again before it leaves core. It looks for each configured secret
 * in raw form, JSON-escaped, in base64, in hex, and inside the AUTH PLAIN and XOAUTH2 blobs.
 * `redactError` applies the same scan to errors that leave a session.
 */
import { encodeBase64, encodeHex, utf8Bytes } from '../base64.js';
import type { SmtpError } from '../errors.js';
import { MASK } from '../limits.js';

/** Secrets of one transporter, as configured by the caller. */
export interface SecretSet {
  user?: string | undefined;
  pass?: string | undefined;
  /** Access tokens seen so far; token functions add each value they return. */
  tokens?: string[];
}

/** Secrets shorter than this are matched only as whole base64 or blob forms. */
const MIN_RAW_LENGTH = 3;

export class SecretScanner {
  private needles: string[] = [];

  constructor(secrets: SecretSet = {}) {
    this.update(secrets);
  }

  /** Rebuild the needle list, for example after a token function returned a new token. */
  update(secrets: SecretSet): void {
    const needles = new Set<string>();
    const user = secrets.user ?? '';
    const values = [secrets.pass, ...(secrets.tokens ?? [])].filter(
      (value): value is string => typeof value === 'string' && value.length > 0,
    );

    for (const value of values) {
      const bytes = utf8Bytes(value);
      if (value.length >= MIN_RAW_LENGTH) {
        needles.add(value);
        // Inside JSON, such as the XOAUTH2 error a server sends, quotes and backslashes are
        // escaped.
        needles.add(JSON.stringify(value).slice(1, -1));
      }
      needles.add(encodeBase64(bytes));
      // The hex of a one- or two-character secret is a common pair of digits; masking it
      // would mangle unrelated text, so hex forms start at the raw length limit too.
      if (value.length >= MIN_RAW_LENGTH) {
        needles.add(encodeHex(bytes));
        needles.add(encodeHex(bytes).toUpperCase());
      }
      // AUTH PLAIN (RFC 4616): authzid NUL authcid NUL passwd, with and without authzid.
      needles.add(encodeBase64(utf8Bytes(`\0${user}\0${value}`)));
      needles.add(encodeBase64(utf8Bytes(`${user}\0${user}\0${value}`)));
      // XOAUTH2 and OAUTHBEARER initial responses.
      needles.add(encodeBase64(utf8Bytes(`user=${user}\x01auth=Bearer ${value}\x01\x01`)));
      needles.add(encodeBase64(utf8Bytes(`n,a=${user},\x01auth=Bearer ${value}\x01\x01`)));
      // OAUTHBEARER escapes `=` and `,` in the user name (RFC 5801 §4).
      const saslUser = user.replace(/=/g, '=3D').replace(/,/g, '=2C');
      needles.add(encodeBase64(utf8Bytes(`n,a=${saslUser},\x01auth=Bearer ${value}\x01\x01`)));
      needles.add(encodeBase64(utf8Bytes(`n,,\x01auth=Bearer ${value}\x01\x01`)));
    }
    if (user !== '' && values.length > 0) needles.add(encodeBase64(utf8Bytes(user)));
    // Longer needles first, so a blob is masked whole before a secret inside it.
    this.needles = [...needles]
      .filter((needle) => needle.length > 0)
      .sort((a, b) => b.length - a.length);
  }

  /** Return the text with every secret form replaced by the mask, and whether any was. */
  scan(text: string): { text: string; changed: boolean } {
    let result = text;
    let changed = false;
    for (const needle of this.needles) {
      if (!result.includes(needle)) continue;
      result = result.split(needle).join(MASK);
      changed = true;
    }
    return { text: result, changed };
  }
}

/**
 * Mask every secret form in the parts of an error that a caller prints or serialises: the
 * message and the stack that repeats it, the reply lines, the command and the replies to
 * rejected recipients. A server can repeat the credentials in its reply, and errors are not
 * transcript entries, so the scanner has to check them separately.
 */
export function redactError(error: SmtpError, scanner: SecretScanner): void {
  const message = scanner.scan(error.message);
  if (message.changed) {
    if (typeof error.stack === 'string') {
      error.stack = error.stack.split(error.message).join(message.text);
    }
    error.message = message.text;
  }
  error.response = error.response.map((line) => scanner.scan(line).text);
  if (error.command !== undefined) error.command = scanner.scan(error.command).text;
  for (const rejected of error.rejected) rejected.response = scanner.scan(rejected.response).text;
}
