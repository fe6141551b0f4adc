/**
 * Rules for negative replies about TLS and logging in: wrong or unsuitable credentials,
 * STARTTLS or authentication required first, and the SASL exchange failing on the server.
 */
import { diagnosis, onReply, PROBE, type Rule, stepNameOf } from './diagnosis-rules.js';

const APP_PASSWORD_STEPS = [
  'Create an app password in the account’s security settings and give it with --password-env or ' +
    '--password-file.',
  'Or sign in with OAuth 2.0: put an access token in an environment variable and pass ' +
    '--access-token-env VARIABLE.',
];

const appPassword = onReply((c) => {
  if (c.phase !== 'auth' || (c.code !== 534 && c.enhancedCode !== '5.7.9')) return null;
  return diagnosis(
    'auth-app-password',
    `${c.service ?? 'The server'} will not accept this password for SMTP: an app password or ` +
      `OAuth 2.0 is needed.`,
    [
      'The account uses two-step verification, so its normal password is refused for SMTP.',
      'The server considers the mechanism too weak and wants a token-based one such as XOAUTH2.',
    ],
    APP_PASSWORD_STEPS,
  );
});

const credentialsRejected = onReply((c) => {
  if (c.phase !== 'auth' || (c.code !== 535 && c.enhancedCode !== '5.7.8')) return null;
  if (/5\.7\.139|basic authentication is disabled|SmtpClientAuthentication/i.test(c.text)) {
    return diagnosis(
      'auth-basic-disabled',
      'Password login over SMTP (SMTP AUTH) is disabled for this mailbox or organisation.',
      ['Microsoft 365 turns off SMTP AUTH with a password by default.'],
      [
        'Have an administrator enable authenticated SMTP for the mailbox.',
        'Or use OAuth 2.0 with --access-token-env VARIABLE.',
      ],
    );
  }
  if (c.service !== null) {
    return diagnosis(
      'auth-app-password',
      `${c.service} rejected the user name and password; it usually needs an app password or ` +
        `OAuth 2.0.`,
      [
        `${c.service} refuses the normal account password for SMTP when two-step verification is ` +
          `on, and replies with 535.`,
        'The user name or password is wrong; the user name is the full email address.',
      ],
      APP_PASSWORD_STEPS,
    );
  }
  return diagnosis(
    'auth-credentials-rejected',
    'The server rejected the user name and password.',
    [
      'The password is wrong or was changed.',
      'The server expects the full email address as the user name, or only the part before @.',
      'The account is locked or disabled after too many failed logins.',
    ],
    [
      'Check the credentials by signing in with another mail program.',
      'Try the other form of the user name with --user.',
      PROBE,
    ],
  );
});

const starttlsOrAuthRequired = onReply((c) => {
  const microsoftAuth = c.enhancedCode === '5.7.57';
  if (c.code !== 530 && !microsoftAuth && c.enhancedCode !== '5.7.3') return null;
  const mentionsTls =
    /starttls|\btls\b|encrypt|5\.7\.3/i.test(c.text) || c.enhancedCode === '5.7.3';
  const mentionsAuth = /auth/i.test(c.text) || microsoftAuth;
  const tlsFirst = mentionsTls || (!c.secure && (c.phase === 'auth' || !mentionsAuth));
  if (tlsFirst) {
    return diagnosis(
      'starttls-first',
      `The server wants STARTTLS before ${stepNameOf(c.verb)}.`,
      [
        'The client did not use STARTTLS: --starttls never, or the offer was missed.',
        'The server only accepts credentials and mail over an encrypted connection.',
      ],
      [
        'Use --starttls required on port 587, or --secure on port 465.',
        'Drop --allow-insecure-auth: it only hides this problem.',
      ],
    );
  }
  return diagnosis(
    'auth-required',
    `The server requires authentication before ${stepNameOf(c.verb)}.`,
    [
      c.authenticated
        ? 'The login succeeded, but this account may not send as the given sender.'
        : 'The client did not log in: no --user was given, or AUTH was skipped.',
      'Submission ports (587, 465) accept mail only from logged-in users; port 25 is for ' +
        'server-to-server mail.',
    ],
    ['Add --user with --password-env, --password-file or --access-token-env.', PROBE],
  );
});

const encryptionForMechanism = onReply((c) =>
  c.code === 538 || c.enhancedCode === '5.7.11'
    ? diagnosis(
        'encryption-required-for-mechanism',
        'The server allows this AUTH mechanism only over TLS.',
        ['The login was attempted on a connection without TLS.'],
        ['Use --starttls required or --secure, and drop --allow-insecure-auth.'],
      )
    : null,
);

const passwordTransition = onReply((c) =>
  c.code === 432 || c.enhancedCode === '4.7.12'
    ? diagnosis(
        'password-transition',
        'The server requires a password change before it accepts this login.',
        ['The password expired or was reset by an administrator.'],
        ['Change the password with the provider’s web or desktop client, then try again.'],
      )
    : null,
);

const accountDisabled = onReply((c) =>
  c.phase === 'auth' && (c.enhancedCode === '5.7.13' || /disabled|suspended|locked/i.test(c.text))
    ? diagnosis(
        'account-disabled',
        'The server reports the account as disabled or locked.',
        ['Too many failed logins, or the provider suspended the account.'],
        ['Sign in on the provider’s website to see and clear the lock.'],
      )
    : null,
);

const authOther = onReply((c) => {
  if (c.phase !== 'auth') return null;
  if (c.code === 454 || c.code === 451) {
    return diagnosis(
      'auth-temporary-failure',
      'The server could not check the credentials right now.',
      ['The server’s authentication back end is down or slow.'],
      ['Retry later; the credentials themselves were not judged.'],
    );
  }
  if (c.code === 504 || /mechanism|unrecognized authentication/i.test(c.text)) {
    return diagnosis(
      'auth-mechanism-unsupported',
      'The server does not support the AUTH mechanism the client used.',
      ['The mechanism given with --auth-method is not offered, or not for this account.'],
      [
        'Pick one of the mechanisms in the server’s EHLO reply with --auth-method, or leave it ' +
          'out.',
      ],
    );
  }
  return null;
});

const starttlsRejected = onReply((c) =>
  c.phase === 'starttls'
    ? diagnosis(
        'starttls-rejected',
        'The server offered STARTTLS but refused to start TLS.',
        ['TLS is not available on the server for now (454), for example a missing certificate.'],
        ['Try again later, or use --secure on port 465.'],
      )
    : null,
);

/** Rules for STARTTLS and AUTH replies, most specific first. */
export const authRules: Rule[] = [
  appPassword,
  credentialsRejected,
  starttlsOrAuthRequired,
  encryptionForMechanism,
  passwordTransition,
  accountDisabled,
  authOther,
  starttlsRejected,
];
