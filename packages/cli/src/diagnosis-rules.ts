/**
 * Diagnosis rules: the likely meaning of a failure and what to try next. This module has the
 * shared types and the rules for failures other than negative replies. Each rule looks at one
 * failed step and the session around it. The first rule that matches wins, so specific rules
 * come before general ones.
 * The advice names this tool's options; it never needs or shows a secret.
 */

/** Kind of failure: a negative reply, a timeout, TLS, the connection or the input. */
export type FailureKind =
  | 'reply'
  | 'timeout'
  | 'tls'
  | 'connect'
  | 'closed'
  | 'connection-error'
  | 'input';

/** Facts about one failed step, gathered from the transcript. */
export interface FailureContext {
  kind: FailureKind;
  /**
   * Phase of the step: greeting, ehlo, starttls, auth, mail, rcpt, data, message, quit,
   * connect, tls or input.
   */
  phase: string;
  /** Verb of the command, `GREETING`, or `CONNECT`/`TLS` for events. */
  verb: string;
  code: number | null;
  enhancedCode: string | null;
  /** Reply text without codes, or the text of the event. */
  text: string;
  /** TLS was active when the step started. */
  secure: boolean;
  /** An earlier AUTH succeeded on this connection. */
  authenticated: boolean;
  /** Name of a consumer mail service recognised from the host, greeting or EHLO reply. */
  service: string | null;
  port: number | null;
  implicitTls: boolean;
}

/** Likely meaning of a failure, for people and scripts. */
export interface Diagnosis {
  /** Stable name of the rule that matched, such as `auth-app-password`. */
  id: string;
  /** One sentence on what went wrong. */
  summary: string;
  causes: string[];
  nextSteps: string[];
}

/** A rule returns its diagnosis when it applies, otherwise null. */
export type Rule = (context: FailureContext) => Diagnosis | null;

const SERVICES: Array<[RegExp, string]> = [
  [/gmail|google|gsmtp/i, 'Gmail'],
  [/outlook|office365|hotmail|live\.com|protection\.outlook/i, 'Outlook.com / Microsoft 365'],
  [/yahoo/i, 'Yahoo Mail'],
  [/icloud|\bme\.com|apple/i, 'iCloud Mail'],
  [/\baol\b|aol\.com/i, 'AOL Mail'],
  [/\bgmx\b/i, 'GMX'],
  [/web\.de/i, 'WEB.DE'],
  [/zoho/i, 'Zoho Mail'],
  [/yandex/i, 'Yandex Mail'],
  [/mail\.ru/i, 'Mail.ru'],
  [/fastmail|messagingengine/i, 'Fastmail'],
];

/** Name of a consumer mail service mentioned in any of the texts, or null. */
export function detectService(texts: ReadonlyArray<string | null>): string | null {
  for (const text of texts) {
    if (!text) continue;
    for (const [pattern, name] of SERVICES) if (pattern.test(text)) return name;
  }
  return null;
}

export const PROBE =
  'Run `mailwire probe` with the same connection options to see what the server offers.';

const STEP_NAMES: Record<string, string> = {
  GREETING: 'the greeting',
  '.': 'the end of the message data',
  'AUTH-RESPONSE': 'AUTH',
  TLS: 'the TLS handshake',
  CONNECT: 'connecting',
  INPUT: 'the input check',
};

/** Return a step verb in words, for sentences. */
export function stepNameOf(verb: string): string {
  return STEP_NAMES[verb] ?? verb;
}

/** Context of a negative reply: the code is known. */
export type ReplyContext = FailureContext & { code: number };

/** Wrap a rule so that it applies only to negative replies. */
export function onReply(rule: (c: ReplyContext) => Diagnosis | null): Rule {
  return (c) =>
    c.kind === 'reply' && c.code !== null && c.code >= 400 ? rule(c as ReplyContext) : null;
}

/** Build a diagnosis; a shorthand for the rule tables. */
export function diagnosis(
  id: string,
  summary: string,
  causes: string[],
  nextSteps: string[],
): Diagnosis {
  return { id, summary, causes, nextSteps };
}

const inputRule: Rule = (c) =>
  c.kind !== 'input'
    ? null
    : diagnosis(
        'input-rejected',
        'The client refused the message before connecting, so nothing was sent.',
        [
          'An address, a header field or a line of the message is invalid; the event text names ' +
            'it.',
        ],
        ['Fix the value named in the event text and send again.'],
      );

const connectRule: Rule = (c) => {
  if (c.kind !== 'connect') return null;
  const where = `port ${c.port ?? '?'}`;
  if (/ECONNREFUSED|refused/i.test(c.text)) {
    return diagnosis(
      'connection-refused',
      `Nothing accepted the connection on ${where}.`,
      ['The port is wrong or the server is not running.', 'A firewall rejects the connection.'],
      [
        'Check the port: 587 is for submission with STARTTLS, 465 for implicit TLS (--secure), ' +
          '25 for server-to-server mail.',
        'Check that the host name points at the mail server.',
      ],
    );
  }
  if (/ENOTFOUND|EAI_AGAIN|getaddrinfo/i.test(c.text)) {
    return diagnosis(
      'host-not-found',
      'The host name could not be resolved in DNS.',
      [
        'A typo in --host.',
        'No DNS or no network on this machine (EAI_AGAIN is a temporary DNS failure).',
      ],
      ['Check the spelling of --host, for example with `getent hosts NAME`.'],
    );
  }
  if (/timed out|ETIMEDOUT/i.test(c.text)) {
    return diagnosis(
      'connect-timeout',
      `The connection to ${where} got no response in time.`,
      [
        'A firewall drops the packets. Many home and cloud networks block outgoing port 25.',
        'The address is wrong or the server is down.',
      ],
      [
        'Try the submission ports 587 (STARTTLS) or 465 (--secure).',
        'Raise --timeout only if the network is known to be slow.',
      ],
    );
  }
  if (/EHOSTUNREACH|ENETUNREACH/i.test(c.text)) {
    return diagnosis(
      'network-unreachable',
      'There is no network route to the server.',
      ['No network connection, or an IPv6 address without IPv6 connectivity.'],
      ['Check the network; try the server by its IPv4 address.'],
    );
  }
  return diagnosis(
    'connect-failed',
    'The connection could not be opened.',
    ['The event text gives the error from the operating system.'],
    [PROBE],
  );
};

/** OpenSSL and Node error texts for a certificate chain that does not lead to a trusted CA. */
const UNTRUSTED_CERTIFICATE = new RegExp(
  [
    'self[- ]signed',
    'unable to get local issuer',
    'unable to verify',
    'UNABLE_TO_VERIFY',
    'DEPTH_ZERO',
    'SELF_SIGNED',
    'untrusted',
  ].join('|'),
  'i',
);

const tlsRule: Rule = (c) => {
  if (c.kind !== 'tls') return null;
  const t = c.text;
  if (/wrong version number|packet length too long|unknown protocol|http request/i.test(t)) {
    return diagnosis(
      'tls-not-tls',
      'The server did not respond to the TLS handshake with TLS.',
      [
        c.implicitTls
          ? `Port ${c.port ?? '?'} expects a plain connection upgraded with STARTTLS, but the ` +
            `client started TLS at once (--secure).`
          : 'The server sent plain text where TLS was expected.',
      ],
      ['Drop --secure and use STARTTLS (port 587), or use --secure only with port 465.'],
    );
  }
  if (UNTRUSTED_CERTIFICATE.test(t)) {
    return diagnosis(
      'tls-untrusted-certificate',
      'The server certificate is not signed by a trusted certificate authority.',
      [
        'The server uses a self-signed certificate or a private CA.',
        'The server does not send its intermediate certificates.',
      ],
      [
        'Pass the CA certificate with --ca FILE.',
        'For a throwaway test only, -k accepts the certificate without verifying it.',
      ],
    );
  }
  if (/expired|CERT_HAS_EXPIRED|not yet valid/i.test(t)) {
    return diagnosis(
      'tls-certificate-expired',
      'The server certificate is outside its validity period.',
      ['The certificate expired and was not renewed, or this machine’s clock is wrong.'],
      ['Check the clock of this machine; ask the server operator to renew the certificate.'],
    );
  }
  if (/altname|hostname|host name|ERR_TLS_CERT_ALTNAME_INVALID|does not match/i.test(t)) {
    return diagnosis(
      'tls-name-mismatch',
      'The certificate is valid, but not for the host name the client connected to.',
      ['--host is an IP address or an alias, and the certificate names another host.'],
      ['Connect with the host name written in the certificate (see `mailwire probe -k`).'],
    );
  }
  if (/handshake failure|no shared cipher|unsupported protocol|protocol version|alert/i.test(t)) {
    return diagnosis(
      'tls-protocol-mismatch',
      'Client and server found no TLS version or cipher suite in common.',
      ['The server only speaks TLS 1.0 or 1.1, which current clients refuse.'],
      ['Ask the server operator to enable TLS 1.2 or later.'],
    );
  }
  return diagnosis(
    'tls-failed',
    'The TLS handshake failed.',
    ['The event text gives the error.'],
    [PROBE],
  );
};

const timeoutRule: Rule = (c) => {
  if (c.kind !== 'timeout') return null;
  if (c.phase === 'greeting' && !c.implicitTls) {
    return diagnosis(
      'greeting-timeout-implicit-tls',
      'The server accepted the connection but never sent its greeting.',
      [
        `The port expects implicit TLS${c.port === 465 ? ' (465 always does)' : ''}: the server ` +
          `waits for a TLS handshake while the client waits for a greeting.`,
        'A firewall or proxy accepts connections but passes nothing on.',
      ],
      ['Add --secure for implicit TLS, or use port 587 with STARTTLS.'],
    );
  }
  if (c.phase === 'greeting') {
    return diagnosis(
      'greeting-timeout-starttls-port',
      'No greeting arrived over the TLS connection.',
      [
        `Port ${c.port ?? '?'} may expect STARTTLS rather than implicit TLS.`,
        'The server delays its greeting on purpose (tarpitting).',
      ],
      [
        'Drop --secure on ports 587 and 25.',
        'Raise --timeout only if the server is known to be slow.',
      ],
    );
  }
  if (c.phase === 'message') {
    return diagnosis(
      'data-timeout',
      'The message data was sent, but the final reply did not arrive in time.',
      ['The server scans large messages for a long time.', 'The connection stalled while sending.'],
      ['Raise --timeout; check whether the message arrived before sending it again.'],
    );
  }
  return diagnosis(
    'reply-timeout',
    `The server did not reply to ${stepNameOf(c.verb)} in time.`,
    ['The server is overloaded or the network stalled.'],
    ['Try again. Raise --timeout only if the server is known to be slow.'],
  );
};

const closedRule: Rule = (c) => {
  if (c.kind !== 'closed' && c.kind !== 'connection-error') return null;
  return diagnosis(
    c.kind === 'closed' ? 'closed-by-server' : 'connection-reset',
    `The connection ${c.kind === 'closed' ? 'was closed by the server' : 'broke'} during ` +
      `${stepNameOf(c.verb)}.`,
    [
      'The server dropped the session because of a policy (too many errors, rate limit, TLS ' +
        'required).',
      'A firewall or proxy cut the connection.',
    ],
    ['Try again later; the server log has the reason.'],
  );
};

/** Rules for failures that are not a negative reply: input, connection, TLS, timeouts. */
export const sessionRules: Rule[] = [inputRule, connectRule, tlsRule, timeoutRule, closedRule];
