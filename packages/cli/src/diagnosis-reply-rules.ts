/**
 * Rules for negative replies: what a 4xx or 5xx reply at a given step most likely means and
 * what to try next. Ordered from specific to general; the first match wins.
 */
import { authRules } from './diagnosis-auth-rules.js';
import { diagnosis, onReply, type Rule, stepNameOf } from './diagnosis-rules.js';

const serviceClosing = onReply((c) => {
  if (c.code !== 421) return null;
  const rate = /rate|too many|limit|unusual|try again later/i.test(c.text);
  return diagnosis(
    'service-closing',
    `The server ended the session with 421 at ${stepNameOf(c.verb)}.`,
    [
      rate
        ? 'The server limits how many connections or messages it takes from this address or ' +
          'account.'
        : 'The server is shutting down, overloaded or refusing this client for now.',
      c.phase === 'greeting'
        ? 'Too many connections from this address at once.'
        : 'An idle or slow session was cut.',
    ],
    ['Retry later with a growing delay between attempts.', 'Open fewer connections in parallel.'],
  );
});

const greylisting = onReply((c) => {
  const deferred = c.code === 450 || c.code === 451;
  const inTransaction = ['mail', 'rcpt', 'data', 'message'].includes(c.phase);
  const explicit = /gr[ae]y ?list/i.test(c.text);
  if (!explicit && !(deferred && inTransaction)) return null;
  const localError =
    !explicit && /local error|internal|temporary (local )?(problem|failure)/i.test(c.text);
  return diagnosis(
    localError ? 'temporary-server-error' : 'greylisting',
    explicit
      ? 'The server greylisted the message: it defers mail from senders it has not seen recently.'
      : `The server deferred ${stepNameOf(c.verb)} with a temporary error, as greylisting does.`,
    [
      'Greylisting: the first delivery attempt from an unknown sender, recipient and address is ' +
        'deferred on purpose.',
      'A temporary problem on the server, such as a failed DNS lookup of the sender domain.',
    ],
    [
      'Retry later: greylisting servers accept the same message after a few minutes, often 1 to ' +
        '15.',
      'Keep the sender, the recipient and the sending address unchanged between attempts.',
    ],
  );
});

const tooManyRecipients = onReply((c) =>
  ['4.5.3', '5.5.3'].includes(c.enhancedCode ?? '') || /too many recipients/i.test(c.text)
    ? diagnosis(
        'too-many-recipients',
        'The server accepts no more recipients for this message.',
        ['The server limits recipients per message or per time period.'],
        ['Send the message in several parts with fewer recipients each.'],
      )
    : null,
);

const mailboxFull = onReply((c) =>
  ['4.2.2', '5.2.2'].includes(c.enhancedCode ?? '') || /mailbox (is )?full|quota/i.test(c.text)
    ? diagnosis(
        'mailbox-full',
        'The recipient’s mailbox is full.',
        ['The recipient has used up their storage quota.'],
        ['Tell the recipient another way, or retry later when they have made room.'],
      )
    : null,
);

const tooLarge = onReply((c) => {
  const sizeCode = ['5.2.3', '5.3.4', '4.3.4', '5.2.0'].includes(c.enhancedCode ?? '');
  const sizeText = /size|too (big|large)|exceed/i.test(c.text);
  if (!sizeCode && !(c.code === 552 && sizeText)) return null;
  return diagnosis(
    'message-too-large',
    'The message is larger than the server accepts.',
    [
      'The message, with attachments after base64 encoding (a third larger), exceeds the ' +
        'server’s limit.',
      'The SIZE keyword in the EHLO reply gives the limit in bytes.',
    ],
    ['Send smaller attachments, or share large files by link.'],
  );
});

/** Reply texts of common servers for a mailbox that does not exist. */
const UNKNOWN_MAILBOX = new RegExp(
  [
    'unknown',
    'no such',
    "does(n't| not) exist",
    'not exist',
    'user not found',
    'recipient not found',
    'invalid (recipient|mailbox)',
  ].join('|'),
  'i',
);

const unknownMailbox = onReply((c) => {
  if (c.phase !== 'rcpt' && c.phase !== 'message') return null;
  const matches =
    c.enhancedCode === '5.1.1' ||
    ([550, 551, 553].includes(c.code) && UNKNOWN_MAILBOX.test(c.text));
  if (!matches) return null;
  return diagnosis(
    'unknown-mailbox',
    'The recipient’s mailbox does not exist on this server.',
    ['A typo in the address.', 'The account was closed or the alias removed.'],
    ['Check the spelling of the address; ask the recipient for their current address.'],
  );
});

const nullMx = onReply((c) =>
  c.enhancedCode === '5.1.10' || c.enhancedCode === '5.7.27'
    ? diagnosis(
        'null-mx',
        'The domain publishes a null MX: it receives no mail at all (RFC 7505).',
        ['The address belongs to a domain that does not use email.'],
        ['Use another address for this recipient or sender.'],
      )
    : null,
);

const relayDenied = onReply((c) =>
  c.phase === 'rcpt' && /relay|not permitted|access denied/i.test(c.text)
    ? diagnosis(
        'relay-denied',
        'The server refuses to pass the message on to this recipient’s domain.',
        [
          'The client did not log in, and servers only relay for authenticated users.',
          'The server is the destination MX for other domains, not a submission server.',
        ],
        [
          'Log in with --user on the submission port 587, or send only to the server’s own ' +
            'domains.',
        ],
      )
    : null,
);

const domainAuthentication = onReply((c) => {
  const codes = ['5.7.20', '5.7.21', '5.7.22', '5.7.23', '5.7.24', '5.7.25', '5.7.26'];
  if (
    !codes.includes(c.enhancedCode ?? '') &&
    !/\b(spf|dkim|dmarc)\b|unauthenticated/i.test(c.text)
  )
    return null;
  return diagnosis(
    'sender-domain-authentication',
    'The message failed the receiver’s checks of the sender domain (SPF, DKIM or DMARC).',
    [
      'The sending server is not listed in the domain’s SPF record, or the message is not ' +
        'DKIM-signed.',
    ],
    [
      'Send through the mail server of the sender’s domain, or fix its SPF, DKIM and DMARC ' +
        'records.',
    ],
  );
});

const commandNotImplemented = onReply((c) => {
  const notImplemented = c.code === 502 || c.code === 504;
  const unrecognised = c.code === 500 && !['mail', 'rcpt'].includes(c.phase);
  if (c.phase === 'ehlo' || !(notImplemented || unrecognised)) return null;
  return diagnosis(
    'command-not-implemented',
    `The server does not implement ${stepNameOf(c.verb)} as the client sent it.`,
    [
      'The client used an extension or parameter the server lacks, such as BDAT (CHUNKING) or ' +
        'SMTPUTF8.',
      'The server offered the extension in its EHLO reply but does not support it in practice.',
    ],
    ['Compare the command with the extensions listed in the EHLO reply.'],
  );
});

const senderRejected = onReply((c) =>
  c.phase === 'mail' && c.code >= 500
    ? diagnosis(
        'sender-rejected',
        'The server rejected the sender address.',
        [
          'The logged-in account may not send as this address.',
          'The sender domain does not exist or is blocked.',
        ],
        ['Use the account’s own address with --from, or get send-as rights for this one.'],
      )
    : null,
);

const greetingRefused = onReply((c) =>
  c.phase === 'greeting'
    ? diagnosis(
        'greeting-refused',
        'The server refused the session in its greeting.',
        [
          'The server does not offer SMTP to this client (554), or this address is on a blocklist.',
          'The port belongs to a receiving MX that refuses dynamic or residential addresses.',
        ],
        [
          'Use the provider’s submission server on port 587 or 465; check the address on public ' +
            'blocklists.',
        ],
      )
    : null,
);

const ehloRejected = onReply((c) => {
  if (c.phase !== 'ehlo') return null;
  if (c.code === 500 || c.code === 502) {
    return diagnosis(
      'ehlo-not-supported',
      'The server does not understand EHLO, so it offers no SMTP extensions.',
      ['A very old or minimal SMTP server.'],
      ['STARTTLS and AUTH need EHLO; use another server or port.'],
    );
  }
  return diagnosis(
    'ehlo-name-rejected',
    'The server rejected the name the client sent with EHLO.',
    [
      'Some servers require a fully qualified domain name, not an address literal such as ' +
        '[192.0.2.10].',
    ],
    ['Give a real host name with --client-name, such as mail.example.com.'],
  );
});

const contentRejected = onReply((c) =>
  (c.phase === 'message' || c.phase === 'data') && c.code >= 500
    ? diagnosis(
        'content-rejected',
        'The server rejected the message after receiving it.',
        ['A spam or virus filter, or a content policy (for example forbidden attachment types).'],
        [
          'Read the reply text for the rule that matched; change the content or contact the ' +
            'postmaster.',
        ],
      )
    : null,
);

const badSequence = onReply((c) =>
  c.code === 503
    ? diagnosis(
        'bad-sequence',
        `The server did not expect ${stepNameOf(c.verb)} at this point.`,
        ['An earlier step failed or was skipped, for example MAIL before a required AUTH.'],
        ['Look at the step before this one in the transcript.'],
      )
    : null,
);

const syntaxRejected = onReply((c) =>
  [500, 501, 553, 555].includes(c.code) && ['mail', 'rcpt'].includes(c.phase)
    ? diagnosis(
        'address-syntax-rejected',
        'The server rejected the address or a parameter of the command.',
        ['The address has an unusual form, or needs SMTPUTF8 which the server lacks.'],
        ['Check the address; use plain ASCII addresses with servers without SMTPUTF8.'],
      )
    : null,
);

/** Rules for negative replies, most specific first. */
export const replyRules: Rule[] = [
  serviceClosing,
  ...authRules,
  tooManyRecipients,
  mailboxFull,
  tooLarge,
  greylisting,
  nullMx,
  unknownMailbox,
  relayDenied,
  domainAuthentication,
  commandNotImplemented,
  senderRejected,
  greetingRefused,
  ehloRejected,
  contentRejected,
  badSequence,
  syntaxRejected,
];
