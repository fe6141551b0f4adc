/**
 * The registry of SASL mechanisms and the choice between them.
 */
import { SmtpUsageError } from '../errors.js';
import { cramMd5Mechanism } from './cram-md5.js';
import type { SaslMechanism } from './mechanism.js';
import { oauthBearerMechanism } from './oauthbearer.js';
import { loginMechanism, plainMechanism } from './plain.js';
import { scramSha256Mechanism } from './scram-sha-256.js';
import { xoauth2Mechanism } from './xoauth2.js';

export type { Credentials, SaslExchange, SaslMechanism } from './mechanism.js';

// Default order by strength. Passwords: SCRAM-SHA-256 (50) > CRAM-MD5 (30) > PLAIN (20) >
// LOGIN (10). Tokens: XOAUTH2 (40) > OAUTHBEARER (35).
// XOAUTH2 ranks first because Gmail and Microsoft 365 document it for OAuth login over SMTP.
const MECHANISMS = new Map<string, SaslMechanism>(
  [
    scramSha256Mechanism,
    cramMd5Mechanism,
    plainMechanism,
    loginMechanism,
    xoauth2Mechanism,
    oauthBearerMechanism,
  ].map((mechanism) => [mechanism.name, mechanism]),
);

/** Add or replace a mechanism, for example one a custom runtime needs. */
export function registerMechanism(mechanism: SaslMechanism): void {
  MECHANISMS.set(mechanism.name.toUpperCase(), mechanism);
}

/** Names of the mechanisms this client implements. */
export function supportedMechanisms(): string[] {
  return [...MECHANISMS.keys()];
}

/**
 * Pick the mechanism to use: the one named, which the server must offer, or the strongest
 * offered one that fits the credentials (a token or a password).
 */
export function chooseMechanism(
  offered: ReadonlySet<string>,
  credential: 'password' | 'token',
  requested?: string,
): SaslMechanism {
  const offeredList = [...offered].join(' ') || 'none';
  if (requested !== undefined) {
    const name = requested.toUpperCase();
    const mechanism = MECHANISMS.get(name);
    if (!mechanism) {
      throw new SmtpUsageError(
        `Unsupported auth.method ${JSON.stringify(requested)}: this client implements ` +
          supportedMechanisms().join(', '),
      );
    }
    if (!offered.has(name)) {
      throw new SmtpUsageError(
        `AUTH ${name} is not offered by the server: it offers ${offeredList}`,
        { phase: 'auth' },
      );
    }
    return mechanism;
  }

  const candidates = [...MECHANISMS.values()]
    .filter((mechanism) => mechanism.needs === credential && offered.has(mechanism.name))
    .sort((a, b) => b.strength - a.strength);
  const chosen = candidates[0];
  if (!chosen) {
    const kind = credential === 'token' ? 'an access token' : 'a password';
    throw new SmtpUsageError(`No AUTH mechanism for ${kind}: the server offers ${offeredList}`, {
      phase: 'auth',
    });
  }
  return chosen;
}
