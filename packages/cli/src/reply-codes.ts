/**
 * Meanings of SMTP reply codes (RFC 5321 §4.2.2 and the extensions that add codes) and of
 * enhanced status codes (RFC 3463 and the IANA registry of RFC 5248). Reference data only;
 * what a code means for one failed session is decided in `diagnosis-rules.ts`.
 */

/** Meaning of a code and the document that defines it. */
export interface CodeMeaning {
  meaning: string;
  source: string;
}

const RFC5321 = 'RFC 5321 §4.2.2';

/** Reply codes: RFC 5321, STARTTLS (RFC 3207), AUTH (RFC 4954), SIZE (RFC 1870), RFC 7504. */
export const REPLY_CODES: Readonly<Record<number, CodeMeaning>> = {
  211: { meaning: 'System status, or system help reply', source: RFC5321 },
  214: { meaning: 'Help message', source: RFC5321 },
  220: { meaning: 'Service ready (or, after STARTTLS, ready to start TLS)', source: RFC5321 },
  221: { meaning: 'Service closing transmission channel', source: RFC5321 },
  235: { meaning: 'Authentication successful', source: 'RFC 4954 §6' },
  250: { meaning: 'Requested mail action okay, completed', source: RFC5321 },
  251: { meaning: 'User not local; will forward', source: RFC5321 },
  252: {
    meaning: 'Cannot verify the user, but will accept the message and attempt delivery',
    source: RFC5321,
  },
  334: { meaning: 'Server challenge: continue the authentication exchange', source: 'RFC 4954 §4' },
  354: { meaning: 'Start mail input; end with <CRLF>.<CRLF>', source: RFC5321 },
  421: { meaning: 'Service not available, closing transmission channel', source: RFC5321 },
  432: { meaning: 'A password transition is needed', source: 'RFC 4954 §6' },
  450: {
    meaning: 'Requested mail action not taken: mailbox unavailable (temporary)',
    source: RFC5321,
  },
  451: { meaning: 'Requested action aborted: local error in processing', source: RFC5321 },
  452: { meaning: 'Requested action not taken: insufficient system storage', source: RFC5321 },
  454: {
    meaning: 'TLS not available, or temporary authentication failure',
    source: 'RFC 3207 §4 and RFC 4954 §6',
  },
  455: { meaning: 'Server unable to accommodate parameters', source: RFC5321 },
  500: { meaning: 'Syntax error, command unrecognized (or line too long)', source: RFC5321 },
  501: { meaning: 'Syntax error in parameters or arguments', source: RFC5321 },
  502: { meaning: 'Command not implemented', source: RFC5321 },
  503: { meaning: 'Bad sequence of commands', source: RFC5321 },
  504: { meaning: 'Command parameter not implemented', source: RFC5321 },
  521: { meaning: 'Host does not accept mail', source: 'RFC 7504 §3' },
  530: {
    meaning: 'Authentication required, or STARTTLS required first',
    source: 'RFC 4954 §6 and RFC 3207 §4',
  },
  534: { meaning: 'Authentication mechanism is too weak', source: 'RFC 4954 §6' },
  535: { meaning: 'Authentication credentials invalid', source: 'RFC 4954 §6' },
  538: {
    meaning: 'Encryption required for the requested authentication mechanism',
    source: 'RFC 4954 §6',
  },
  550: {
    meaning: 'Requested action not taken: mailbox unavailable or policy rejection',
    source: RFC5321,
  },
  551: { meaning: 'User not local', source: RFC5321 },
  552: {
    meaning:
      'Requested mail action aborted: exceeded storage allocation (often: message too large)',
    source: `${RFC5321} and RFC 1870 §6`,
  },
  553: { meaning: 'Requested action not taken: mailbox name not allowed', source: RFC5321 },
  554: { meaning: 'Transaction failed (at the greeting: no SMTP service here)', source: RFC5321 },
  555: {
    meaning: 'MAIL FROM or RCPT TO parameters not recognized or not implemented',
    source: RFC5321,
  },
  556: { meaning: 'Domain does not accept mail', source: 'RFC 7504 §3' },
};

const CLASS_MEANINGS: Record<string, string> = {
  '2': 'Success',
  '3': 'Intermediate: the server expects more input',
  '4': 'Transient failure: the same request may succeed later',
  '5': 'Permanent failure: repeating the request as is will fail again',
};

/** Meaning of a reply code; unlisted codes fall back to the meaning of their first digit. */
export function describeReplyCode(code: number): CodeMeaning {
  const known = REPLY_CODES[code];
  if (known) return known;
  const meaning = CLASS_MEANINGS[String(code).charAt(0)] ?? 'Not a valid SMTP reply code';
  return { meaning: `${meaning} (code not listed)`, source: 'RFC 5321 §4.2.1' };
}

const RFC3463 = 'RFC 3463';

/** Detail codes `subject.detail` of enhanced status codes; the class digit comes separately. */
export const ENHANCED_DETAILS: Readonly<Record<string, CodeMeaning>> = {
  '0.0': { meaning: 'Other undefined status', source: RFC3463 },
  '1.0': { meaning: 'Other address status', source: RFC3463 },
  '1.1': {
    meaning: 'Bad destination mailbox address (the mailbox does not exist)',
    source: RFC3463,
  },
  '1.2': { meaning: 'Bad destination system address', source: RFC3463 },
  '1.3': { meaning: 'Bad destination mailbox address syntax', source: RFC3463 },
  '1.4': { meaning: 'Destination mailbox address ambiguous', source: RFC3463 },
  '1.5': { meaning: 'Destination address valid', source: RFC3463 },
  '1.6': { meaning: 'Destination mailbox has moved, no forwarding address', source: RFC3463 },
  '1.7': { meaning: "Bad sender's mailbox address syntax", source: RFC3463 },
  '1.8': { meaning: "Bad sender's system address", source: RFC3463 },
  '1.9': { meaning: 'Message relayed to non-compliant mailer', source: 'RFC 3886' },
  '1.10': { meaning: 'Recipient address has null MX', source: 'RFC 7505' },
  '2.0': { meaning: 'Other or undefined mailbox status', source: RFC3463 },
  '2.1': { meaning: 'Mailbox disabled, not accepting messages', source: RFC3463 },
  '2.2': { meaning: 'Mailbox full', source: RFC3463 },
  '2.3': { meaning: 'Message length exceeds administrative limit', source: RFC3463 },
  '2.4': { meaning: 'Mailing list expansion problem', source: RFC3463 },
  '3.0': { meaning: 'Other or undefined mail system status', source: RFC3463 },
  '3.1': { meaning: 'Mail system full', source: RFC3463 },
  '3.2': { meaning: 'System not accepting network messages', source: RFC3463 },
  '3.3': { meaning: 'System not capable of selected features', source: RFC3463 },
  '3.4': { meaning: 'Message too big for system', source: RFC3463 },
  '3.5': { meaning: 'System incorrectly configured', source: RFC3463 },
  '4.0': { meaning: 'Other or undefined network or routing status', source: RFC3463 },
  '4.1': { meaning: 'No answer from host', source: RFC3463 },
  '4.2': { meaning: 'Bad connection', source: RFC3463 },
  '4.3': { meaning: 'Directory server failure', source: RFC3463 },
  '4.4': { meaning: 'Unable to route', source: RFC3463 },
  '4.5': { meaning: 'Mail system congestion', source: RFC3463 },
  '4.6': { meaning: 'Routing loop detected', source: RFC3463 },
  '4.7': { meaning: 'Delivery time expired', source: RFC3463 },
  '5.0': { meaning: 'Other or undefined protocol status', source: RFC3463 },
  '5.1': { meaning: 'Invalid command', source: RFC3463 },
  '5.2': { meaning: 'Syntax error', source: RFC3463 },
  '5.3': { meaning: 'Too many recipients', source: RFC3463 },
  '5.4': { meaning: 'Invalid command arguments', source: RFC3463 },
  '5.5': { meaning: 'Wrong protocol version', source: RFC3463 },
  '5.6': { meaning: 'Authentication exchange line is too long', source: 'RFC 4954' },
  '6.0': { meaning: 'Other or undefined media error', source: RFC3463 },
  '6.1': { meaning: 'Media not supported', source: RFC3463 },
  '6.2': { meaning: 'Conversion required and prohibited', source: RFC3463 },
  '6.3': { meaning: 'Conversion required but not supported', source: RFC3463 },
  '6.4': { meaning: 'Conversion with loss performed', source: RFC3463 },
  '6.5': { meaning: 'Conversion failed', source: RFC3463 },
  '6.6': { meaning: 'Message content not available', source: 'RFC 4468' },
  '6.7': {
    meaning: 'Non-ASCII addresses not permitted for that sender or recipient',
    source: 'RFC 6531',
  },
  '6.8': {
    meaning: 'UTF-8 string reply is required, but not permitted by the client',
    source: 'RFC 6531',
  },
  '6.9': {
    meaning: 'UTF-8 header message cannot be transferred to one or more recipients',
    source: 'RFC 6531',
  },
  '7.0': { meaning: 'Other or undefined security status', source: RFC3463 },
  '7.1': { meaning: 'Delivery not authorized, message refused', source: RFC3463 },
  '7.2': { meaning: 'Mailing list expansion prohibited', source: RFC3463 },
  '7.3': { meaning: 'Security conversion required but not possible', source: RFC3463 },
  '7.4': { meaning: 'Security features not supported', source: RFC3463 },
  '7.5': { meaning: 'Cryptographic failure', source: RFC3463 },
  '7.6': { meaning: 'Cryptographic algorithm not supported', source: RFC3463 },
  '7.7': { meaning: 'Message integrity failure', source: RFC3463 },
  '7.8': { meaning: 'Authentication credentials invalid', source: 'RFC 4954' },
  '7.9': { meaning: 'Authentication mechanism is too weak', source: 'RFC 4954' },
  '7.10': { meaning: 'Encryption needed', source: 'RFC 5248' },
  '7.11': {
    meaning: 'Encryption required for requested authentication mechanism',
    source: 'RFC 4954',
  },
  '7.12': { meaning: 'A password transition is needed', source: 'RFC 4954' },
  '7.13': { meaning: 'User account disabled', source: 'RFC 5248' },
  '7.14': { meaning: 'Trust relationship required', source: 'RFC 5248' },
  '7.15': { meaning: 'Priority level is too low', source: 'RFC 6710' },
  '7.16': { meaning: 'Message is too big for the specified priority', source: 'RFC 6710' },
  '7.17': { meaning: 'Mailbox owner has changed', source: 'RFC 7293' },
  '7.18': { meaning: 'Domain owner has changed', source: 'RFC 7293' },
  '7.19': { meaning: 'RRVS test cannot be completed', source: 'RFC 7293' },
  '7.20': { meaning: 'No passing DKIM signature found', source: 'RFC 7372' },
  '7.21': { meaning: 'No acceptable DKIM signature found', source: 'RFC 7372' },
  '7.22': { meaning: 'No valid author-matched DKIM signature found', source: 'RFC 7372' },
  '7.23': { meaning: 'SPF validation failed', source: 'RFC 7372' },
  '7.24': { meaning: 'SPF validation error', source: 'RFC 7372' },
  '7.25': { meaning: 'Reverse DNS validation failed', source: 'RFC 7372' },
  '7.26': { meaning: 'Multiple authentication checks failed', source: 'RFC 7372' },
  '7.27': { meaning: 'Sender address has null MX', source: 'RFC 7505' },
};

const ENHANCED_CLASSES: Record<string, string> = {
  '2': 'Success',
  '4': 'Persistent transient failure',
  '5': 'Permanent failure',
};

const SUBJECTS: Record<string, string> = {
  '0': 'other or undefined status',
  '1': 'addressing status',
  '2': 'mailbox status',
  '3': 'mail system status',
  '4': 'network and routing status',
  '5': 'mail delivery protocol status',
  '6': 'message content or media status',
  '7': 'security or policy status',
};

/**
 * Meaning of an enhanced status code such as `5.7.8`. An unlisted detail falls back to its
 * subject (the middle number); null when the text is not an enhanced code.
 */
export function describeEnhancedCode(code: string): CodeMeaning | null {
  const match = /^([245])\.(\d{1,3})\.(\d{1,3})$/.exec(code);
  if (!match) return null;
  const [, klass, subject, detail] = match;
  const prefix = ENHANCED_CLASSES[klass!]!;
  const known = ENHANCED_DETAILS[`${Number(subject)}.${Number(detail)}`];
  if (known) return { meaning: `${prefix}: ${known.meaning}`, source: known.source };
  const subjectName = SUBJECTS[String(Number(subject))] ?? 'unknown subject';
  return { meaning: `${prefix}: ${subjectName} (detail ${detail} not listed)`, source: RFC3463 };
}
