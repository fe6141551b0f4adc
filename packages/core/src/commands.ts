/**
 * Command lines: checking caller values before they reach the wire and building the text
 * of each command. Nothing here writes; the client encodes and sends the lines.
 */
import { SmtpUsageError } from './errors.js';

/** Command verbs as RFC 5321 and its extensions spell them. */
export type CommandVerb =
  | 'EHLO'
  | 'HELO'
  | 'LHLO'
  | 'STARTTLS'
  | 'AUTH'
  | 'MAIL'
  | 'RCPT'
  | 'DATA'
  | 'BDAT'
  | 'RSET'
  | 'NOOP'
  | 'QUIT';

/** ESMTP parameters of MAIL or RCPT, such as `SIZE` or `NOTIFY`; `true` means no value. */
export type CommandParameters = Record<string, string | number | true | undefined>;

const FORBIDDEN_IN_ADDRESS = /[\r\n\0<>]/;
const FORBIDDEN_IN_PARAMETER = /[\r\n\0<>\s=]/;
const CONTROL = /[\0-\x1f\x7f]/;

/**
 * Check an envelope address; throw a usage error naming the field when it could inject a
 * command (CR, LF, NUL, angle brackets) or is not of the form local@domain.
 * The empty address is allowed only where `allowEmpty` is set (the null reverse path).
 */
export function checkAddress(value: unknown, field: string, allowEmpty = false): string {
  if (typeof value !== 'string') {
    throw new SmtpUsageError(`Invalid ${field}: expected an address string, got ${typeof value}`);
  }
  if (value === '' && allowEmpty) return value;
  if (FORBIDDEN_IN_ADDRESS.test(value) || CONTROL.test(value)) {
    throw new SmtpUsageError(
      `Invalid ${field} ${JSON.stringify(value)}: addresses must not contain CR, LF, NUL, ` +
        'control characters or angle brackets; pass the bare address, such as user@example.com',
    );
  }
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1) {
    throw new SmtpUsageError(
      `Invalid ${field} ${JSON.stringify(value)}: expected local-part@domain`,
    );
  }
  return value;
}

/** Check ESMTP parameter names and values for anything that could end the command line. */
export function checkParameters(parameters: CommandParameters, field: string): void {
  for (const [name, value] of Object.entries(parameters)) {
    if (value === undefined) continue;
    if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(name)) {
      throw new SmtpUsageError(`Invalid ${field} parameter name ${JSON.stringify(name)}`);
    }
    const text = String(value);
    // RFC 5321 §4.1.2: esmtp-value is octets 33 to 126 except "=", so no control characters.
    if (value !== true && (FORBIDDEN_IN_PARAMETER.test(text) || CONTROL.test(text))) {
      throw new SmtpUsageError(
        `Invalid ${field} parameter ${name}=${JSON.stringify(text)}: values must not contain ` +
          'CR, LF, NUL, control characters, spaces, "=" or angle brackets (encode them as xtext)',
      );
    }
  }
}

/** Render parameters as ` NAME=value NAME2` in insertion order. */
export function formatParameters(parameters: CommandParameters): string {
  let text = '';
  for (const [name, value] of Object.entries(parameters)) {
    if (value === undefined) continue;
    text += value === true ? ` ${name}` : ` ${name}=${value}`;
  }
  return text;
}

/** Check the EHLO name: a domain or an address literal, with no spaces or control bytes. */
export function checkClientName(value: string): string {
  if (value === '' || /\s/.test(value) || CONTROL.test(value)) {
    throw new SmtpUsageError(
      `Invalid clientName ${JSON.stringify(value)}: expected a domain such as ` +
        'mail.example.com or an address literal such as [192.0.2.10]',
    );
  }
  return value;
}

/** Address literal for the default EHLO name (RFC 5321 §4.1.3). */
export function addressLiteral(address: string | undefined): string {
  if (!address) return '[127.0.0.1]';
  const unmapped = address.startsWith('::ffff:') ? address.slice(7) : address;
  return unmapped.includes(':') ? `[IPv6:${unmapped}]` : `[${unmapped}]`;
}

/**
 * Encode xtext (RFC 3461 §4): `+`, `=`, and bytes outside 33..126 become `+XX`. So do `<` and
 * `>`, which xtext may carry as they are but `checkParameters` rejects.
 */
export function encodeXtext(value: string): string {
  let text = '';
  for (const byte of new TextEncoder().encode(value)) {
    const special = byte === 43 || byte === 61 || byte === 60 || byte === 62; // + = < >
    const plain = byte >= 33 && byte <= 126 && !special;
    text += plain
      ? String.fromCharCode(byte)
      : `+${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return text;
}
