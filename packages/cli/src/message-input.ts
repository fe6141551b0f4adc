/**
 * Builds the message for `send` from the options: composed from --from, --to, --subject and
 * --text, or a finished RFC 5322 message read from a file or stdin. For a finished message
 * the envelope comes from the options or else from its From, To, Cc and Bcc header fields.
 * In the second case the Bcc field is removed before sending, as `sendmail -t` does.
 */
import { readFile } from 'node:fs/promises';
import type { ComposedMessage, MessageInput } from '@mailwire/node';
import { InputError, messageOf } from './terminal.js';

/** Message options of `send`. */
export interface MessageFlags {
  from?: string;
  to: string[];
  cc: string[];
  subject?: string;
  text?: string;
  message?: string;
}

/** Envelope sender and recipients, as sent with MAIL FROM and RCPT TO. */
export interface EnvelopeAddresses {
  from: string;
  to: string[];
}

/** Build the message to send, reading `--message` when given (`-` is stdin). */
export async function buildMessage(flags: MessageFlags): Promise<MessageInput> {
  if (flags.message === undefined) return composeFromFlags(flags);
  if (flags.text !== undefined) {
    throw new InputError('Conflicting options: give either --text or --message, not both');
  }
  if (flags.subject !== undefined) {
    throw new InputError(
      'Conflicting options: --subject applies to --text; a --message file has its own',
    );
  }

  const raw = await readMessage(flags.message);
  if (raw.length === 0)
    throw new InputError(`Invalid --message ${flags.message}: the message is empty`);
  const envelope = envelopeOf(flags, raw);
  // With recipients from the header fields, Bcc recipients are in the envelope, so the field
  // must not reach them or the others. Recipients from the options leave the bytes as given.
  const fromHeaders = flags.to.length === 0 && flags.cc.length === 0;
  return { envelope, raw: fromHeaders ? removeHeaderField(raw, 'bcc') : raw };
}

function composeFromFlags(flags: MessageFlags): MessageInput {
  if (flags.from === undefined)
    throw new InputError('Missing --from: the sender address is needed');
  if (flags.to.length === 0 && flags.cc.length === 0) {
    throw new InputError('Missing --to: at least one recipient is needed (--to or --cc)');
  }
  addressOfOption(flags.from, '--from');
  for (const to of flags.to) addressOfOption(to, '--to');
  for (const cc of flags.cc) addressOfOption(cc, '--cc');
  const message: ComposedMessage = { from: flags.from, text: flags.text ?? '' };
  if (flags.to.length > 0) message.to = flags.to;
  if (flags.cc.length > 0) message.cc = flags.cc;
  if (flags.subject !== undefined) message.subject = flags.subject;
  return message;
}

async function readMessage(path: string): Promise<Uint8Array> {
  if (path === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(
      `Cannot read --message ${path}: ${code === 'ENOENT' ? 'file not found' : messageOf(error)}`,
    );
  }
}

/**
 * Envelope of a finished message: options first, header fields for whatever they leave out.
 * Recipients come from --to and --cc, or else from the To, Cc and Bcc header fields.
 */
export function envelopeOf(flags: MessageFlags, raw: Uint8Array): EnvelopeAddresses {
  const headers = readHeaderFields(raw);
  const from =
    flags.from === undefined
      ? headerAddresses(headers, 'from')[0]
      : addressOfOption(flags.from, '--from');
  if (from === undefined) {
    throw new InputError('Missing sender: give --from or a From header field in the message');
  }

  let to = [
    ...flags.to.map((address) => addressOfOption(address, '--to')),
    ...flags.cc.map((address) => addressOfOption(address, '--cc')),
  ];
  if (to.length === 0) {
    to = ['to', 'cc', 'bcc'].flatMap((name) => headerAddresses(headers, name));
  }
  if (to.length === 0) {
    throw new InputError(
      'Missing recipients: give --to or To, Cc or Bcc header fields in the message',
    );
  }
  return { from, to: [...new Set(to)] };
}

/** Addresses of every header field with this lower-case name, each checked. */
function headerAddresses(headers: Map<string, string[]>, name: string): string[] {
  const addresses = parseAddressList((headers.get(name) ?? []).join(','));
  const field = name === 'bcc' ? 'Bcc' : name[0]!.toUpperCase() + name.slice(1);
  for (const address of addresses) {
    if (!isPlausibleAddress(address)) {
      throw new InputError(
        `Invalid address ${JSON.stringify(address)} in the ${field} header field of the ` +
          'message: expected user@example.com or Name <user@example.com>',
      );
    }
  }
  return addresses;
}

/** `Display Name <address>`, the form a command line argument may take. */
const NAMED_ADDRESS = /^\s*([^<>]*?)\s*<([^<>]*)>\s*$/;

/**
 * Check an address option and return its bare address. The form is checked here, so the
 * error names the option and the command line syntax; the library checks the rest
 * (characters, lengths) when sending.
 */
export function addressOfOption(value: string, option: string): string {
  const named = NAMED_ADDRESS.exec(value);
  const address = (named ? named[2]! : value).trim();
  if (!isPlausibleAddress(address)) {
    throw new InputError(
      `Invalid ${option} address ${JSON.stringify(value)}: write the bare address, as ` +
        `${option} user@example.com, or add a display name in quotes for the shell, as ` +
        `${option} 'Name <user@example.com>'`,
    );
  }
  return address;
}

/** An address with a local part, an `@`, a domain and no angle brackets or spaces. */
function isPlausibleAddress(address: string): boolean {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1 || /[<>]/.test(address)) return false;
  // A quoted local part (`"odd local"@example.com`) may contain spaces; the domain may not.
  const localPart = address.slice(0, at);
  const quoted = /^".*"$/.test(localPart);
  return !/\s/.test(address.slice(at + 1)) && (quoted || !/\s/.test(localPart));
}

/**
 * Remove every header field with this lower-case name, continuation lines included, and keep
 * every other byte as it was. The body, after the first empty line, is never changed.
 */
export function removeHeaderField(raw: Uint8Array, name: string): Uint8Array {
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const kept: Buffer[] = [];
  let removing = false;
  let removed = false;
  let start = 0;
  while (start < bytes.length) {
    const newline = bytes.indexOf(0x0a, start);
    const end = newline === -1 ? bytes.length : newline + 1;
    // latin1 maps each byte to one character, enough to compare an ASCII field name.
    const line = bytes.toString('latin1', start, end);
    if (line === '\n' || line === '\r\n') break;
    const continued = line.startsWith(' ') || line.startsWith('\t');
    if (!continued) {
      const colon = line.indexOf(':');
      removing = colon > 0 && line.slice(0, colon).trim().toLowerCase() === name;
    }
    if (removing) removed = true;
    else kept.push(bytes.subarray(start, end));
    start = end;
  }
  if (!removed) return raw;
  return Buffer.concat([...kept, bytes.subarray(start)]);
}

/** Header fields of a message by lower-case name, unfolded (RFC 5322 §2.2.3). */
export function readHeaderFields(raw: Uint8Array): Map<string, string[]> {
  // Headers are ASCII by RFC 5322 and UTF-8 by RFC 6532, so UTF-8 decoding covers both.
  const head = new TextDecoder().decode(raw.subarray(0, Math.min(raw.length, 256 * 1024)));
  const end = head.search(/\r?\n\r?\n/);
  const section = end === -1 ? head : head.slice(0, end);
  const unfolded = section.replace(/\r?\n(?=[ \t])/g, '');

  const fields = new Map<string, string[]>();
  for (const line of unfolded.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const values = fields.get(name) ?? [];
    values.push(line.slice(colon + 1).trim());
    fields.set(name, values);
  }
  return fields;
}

/**
 * Addresses of an RFC 5322 address list: `Name <a@b>`, bare `a@b`, quoted display names,
 * comments and groups (`team: a@b, c@d;`). Entries without `@` are skipped.
 */
export function parseAddressList(value: string): string[] {
  const addresses: string[] = [];
  let plain = '';
  let angle: string | null = null;
  let bracketed: string | null = null;
  let quoted = false;
  let commentDepth = 0;

  const flush = () => {
    const address = (bracketed ?? plain).trim();
    if (address.includes('@')) addresses.push(address);
    plain = '';
    bracketed = null;
  };
  const append = (text: string) => {
    if (angle !== null) angle += text;
    else plain += text;
  };

  for (let index = 0; index < value.length; index++) {
    const char = value[index]!;
    if (commentDepth > 0) {
      if (char === '\\') index++;
      else if (char === '(') commentDepth++;
      else if (char === ')') commentDepth--;
    } else if (quoted) {
      append(char === '\\' ? char + (value[++index] ?? '') : char);
      if (char === '"') quoted = false;
    } else if (char === '"') {
      quoted = true;
      append(char);
    } else if (char === '(') {
      commentDepth = 1;
    } else if (char === '<') {
      angle = '';
    } else if (char === '>' && angle !== null) {
      bracketed = angle;
      angle = null;
    } else if ((char === ',' || char === ';') && angle === null) {
      flush();
    } else if (char === ':' && angle === null) {
      // A group name ends here; its members follow.
      plain = '';
    } else {
      append(char);
    }
  }
  flush();
  return addresses;
}
