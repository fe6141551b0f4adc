/**
 * Mailbox addresses of composed messages: validation, display names in header fields and the
 * SMTP envelope. Addresses must be ASCII, because composed messages never use SMTPUTF8.
 */
import type { Address, Envelope } from '../driver/options.js';
import { type HeaderPart, joinParts, MAX_LINE_LENGTH } from './header.js';

/** An address after validation, with an empty name when none was given. */
export interface Mailbox {
  name: string;
  address: string;
}

/** Envelope of a composed message, with recipients deduplicated. */
export interface ComposedEnvelope {
  from: string;
  to: string[];
}

/** Maximum lengths of the local part and the domain (RFC 5321 §4.5.3.1.1 and §4.5.3.1.2). */
const MAX_LOCAL_PART_LENGTH = 64;
const MAX_DOMAIN_LENGTH = 255;

/** Dot-atom characters (RFC 5322 §3.2.3). Where the dots sit is not checked. */
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$/;
/** A quoted local part, such as `"john doe"` (RFC 5321 §4.1.2). */
const QUOTED_LOCAL_PART = /^"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"$/;
/** A host name, or an address literal such as `[192.0.2.1]` or `[IPv6:2001:db8::1]`. */
export const DOMAIN = /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[\x21-\x5a\x5e-\x7e]+\])$/;

/** A display name that can be written as a run of atoms (RFC 5322 §3.2.5 phrase). */
const ATOM_PHRASE = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?: [A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

/**
 * Checks an address of the form local@domain and returns it without surrounding whitespace.
 * @throws TypeError naming the field and the fix when the address is invalid.
 */
export function validateAddress(value: unknown, field: string): string {
  if (typeof value !== 'string') {
    throw new TypeError(`Invalid ${field} address: expected a string, got ${typeof value}`);
  }
  const address = value.replace(/^[ \t]+|[ \t]+$/g, '');
  const quotedValue = JSON.stringify(value);

  if (/[\r\n\0]/.test(value)) {
    throw new TypeError(
      `Invalid ${field} address ${quotedValue}: remove the CR, LF or NUL from it`,
    );
  }
  if (/[<>]/.test(address)) {
    throw new TypeError(
      `Invalid ${field} address ${quotedValue}: pass the bare address, ` +
        'and the display name as { name, address }',
    );
  }
  if (/[^\x00-\x7f]/.test(address)) {
    // TODO: internationalised addresses need SMTPUTF8 (RFC 6531) or an IDNA conversion of the
    // domain. Until one of them exists, callers get this error.
    throw new TypeError(
      `Invalid ${field} address ${quotedValue}: non-ASCII addresses are not supported. ` +
        'Use an ASCII address, with the domain in its xn-- form',
    );
  }

  const at = address.lastIndexOf('@');
  const localPart = address.slice(0, Math.max(at, 0));
  const domain = address.slice(at + 1);
  const isWellFormed =
    at > 0 &&
    (DOT_ATOM.test(localPart) || QUOTED_LOCAL_PART.test(localPart)) &&
    DOMAIN.test(domain);
  if (!isWellFormed) {
    throw new TypeError(`Invalid ${field} address ${quotedValue}: expected the form local@domain`);
  }
  if (localPart.length > MAX_LOCAL_PART_LENGTH || domain.length > MAX_DOMAIN_LENGTH) {
    throw new TypeError(
      `Invalid ${field} address ${quotedValue}: the local part may have at most ` +
        `${MAX_LOCAL_PART_LENGTH} characters and the domain at most ${MAX_DOMAIN_LENGTH}`,
    );
  }
  return address;
}

/** `Display Name <local@domain>` with one pair of angle brackets at the end. */
const NAMED_ADDRESS = /^\s*([^<>\r\n\0]*?)\s*<([^<>\r\n\0]*)>\s*$/;

/** Remove the quotes around a quoted-string display name and its backslash escapes. */
function unquoteName(name: string): string {
  const quoted = /^"(.*)"$/s.exec(name);
  return quoted ? quoted[1]!.replace(/\\(.)/g, '$1') : name;
}

/**
 * Checks one address, bare or with a display name, and returns it as a mailbox.
 * @throws TypeError naming the field and the fix when the address or name is invalid.
 */
export function toMailbox(value: Address, field: string): Mailbox {
  if (typeof value === 'string') {
    // `Name <local@domain>`, the form nodemailer users write, splits into name and address.
    const named = NAMED_ADDRESS.exec(value);
    if (named) return toMailbox({ name: unquoteName(named[1]!), address: named[2]! }, field);
    return { name: '', address: validateAddress(value, field) };
  }
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(
      `Invalid ${field} address: expected a string or { name, address }, got ${String(value)}`,
    );
  }

  const address = validateAddress(value.address, field);
  const name = value.name ?? '';
  if (typeof name !== 'string') {
    throw new TypeError(`Invalid ${field} display name: expected a string, got ${typeof name}`);
  }
  if (/[\r\n\0]/.test(name)) {
    throw new TypeError(
      `Invalid ${field} display name ${JSON.stringify(name)}: remove the CR, LF or NUL from it`,
    );
  }
  return { name: name.replace(/^[ \t]+|[ \t]+$/g, ''), address };
}

/**
 * Checks a single address or a list of them and returns the mailboxes. A field that is
 * missing gives an empty list. Entries of a list are named `field[index]` in errors.
 */
export function toMailboxList(value: Address | Address[] | undefined, field: string): Mailbox[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return [toMailbox(value, field)];
  return value.map((entry, index) => toMailbox(entry, `${field}[${index}]`));
}

/**
 * Formats an address for a header field: `Name <local@domain>`, or the bare address when there
 * is no display name. Names with non-ASCII characters become RFC 2047 encoded-words, and ASCII
 * names with special characters are quoted.
 * @example
 * formatAddress({ name: 'Doe, Jane', address: 'jane@example.test' })
 * // '"Doe, Jane" <jane@example.test>'
 * @throws TypeError when the address or the name is invalid.
 */
export function formatAddress(address: Address): string {
  return joinParts(mailboxParts(toMailbox(address, 'address')));
}

/** Builds the header parts of an address list, with a comma after every mailbox but the last. */
export function addressListParts(mailboxes: readonly Mailbox[]): HeaderPart[] {
  const parts: HeaderPart[] = [];
  mailboxes.forEach((mailbox, index) => {
    const mailboxPartList = mailboxParts(mailbox);
    if (index < mailboxes.length - 1) {
      // The last part of a mailbox is always its address, which is plain text.
      mailboxPartList[mailboxPartList.length - 1]!.text += ',';
    }
    parts.push(...mailboxPartList);
  });
  return parts;
}

function mailboxParts(mailbox: Mailbox): HeaderPart[] {
  if (mailbox.name === '') return [{ kind: 'text', space: ' ', text: mailbox.address }];
  return [
    ...displayNameParts(mailbox.name),
    { kind: 'text', space: ' ', text: `<${mailbox.address}>` },
  ];
}

/**
 * Builds the parts of a display name (RFC 5322 §3.4): atoms as they are, other ASCII as a
 * quoted-string, and anything else as encoded-words (RFC 2047 §5, rule 3).
 */
function displayNameParts(name: string): HeaderPart[] {
  const encoded: HeaderPart[] = [{ kind: 'encoded', space: ' ', text: name }];
  if (/[^\x20-\x7e]/.test(name)) return encoded;

  // A name such as `=?UTF-8?B?...?=` must not be read as an encoded-word, so it is quoted.
  const phrase =
    ATOM_PHRASE.test(name) && !name.includes('=?') ? name : `"${name.replace(/[\\"]/g, '\\$&')}"`;

  // Folding inside a quoted-string is allowed (RFC 5322 §3.2.4), and unfolding restores it.
  const parts: HeaderPart[] = [];
  for (const match of phrase.matchAll(/( *)([^ ]+)/g)) {
    parts.push({ kind: 'text', space: match[1] || ' ', text: match[2]! });
  }

  // A word too long for any line goes out as encoded-words, which can be split.
  const fitsOnLine = parts.every((part) => part.space.length + part.text.length <= MAX_LINE_LENGTH);
  return fitsOnLine ? parts : encoded;
}

/**
 * Builds the SMTP envelope: `override` when given, otherwise the address of `from` and the
 * addresses of `to`, `cc` and `bcc`. Recipients are deduplicated in order. Two addresses are
 * the same when they match with the domain compared case-insensitively.
 * @throws TypeError naming the field when an address is invalid or there is no recipient.
 */
export function buildEnvelope(
  from: Mailbox,
  recipients: readonly Mailbox[],
  override: Envelope | undefined,
): ComposedEnvelope {
  if (override === undefined) {
    const to = dedupeAddresses(recipients.map((mailbox) => mailbox.address));
    if (to.length === 0) {
      throw new TypeError('Missing recipient: give at least one address in to, cc or bcc');
    }
    return { from: from.address, to };
  }

  if (typeof override !== 'object' || override === null) {
    throw new TypeError('Invalid envelope: expected { from, to }');
  }
  // An empty reverse-path, `MAIL FROM:<>`, is how bounces and other notifications are sent.
  const envelopeFrom = override.from === '' ? '' : validateAddress(override.from, 'envelope.from');
  const overrideTo = Array.isArray(override.to) ? override.to : [override.to];
  const to = dedupeAddresses(
    overrideTo.map((address, index) => validateAddress(address, `envelope.to[${index}]`)),
  );
  if (to.length === 0) {
    throw new TypeError('Missing recipient: give at least one address in envelope.to');
  }
  return { from: envelopeFrom, to };
}

function dedupeAddresses(addresses: readonly string[]): string[] {
  const seen = new Set<string>();
  const unique: string[] = [];
  for (const address of addresses) {
    const at = address.lastIndexOf('@');
    // The local part may be case-sensitive (RFC 5321 §2.4), but the domain is not.
    const key = address.slice(0, at) + address.slice(at).toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(address);
  }
  return unique;
}
