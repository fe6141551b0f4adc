/**
 * AUTH SCRAM-SHA-256 (RFC 5802 with RFC 7677): a salted challenge-response in which the
 * client proves possession of the password and the server proves possession of the keys
 * stored for it.
 * Channel binding (the -PLUS variant) is not implemented, so the GS2 header is `n,,`.
 */
import { decodeBase64, encodeBase64, encodeBase64Text, utf8Bytes, utf8Text } from '../base64.js';
import { SmtpProtocolError, SmtpUsageError } from '../errors.js';
import type { SmtpReply } from '../reply.js';
import type { Credentials, SaslExchange, SaslMechanism } from './mechanism.js';
import { escapeSaslName, saslPrep } from './saslprep.js';
import { hmacSha256, pbkdf2HmacSha256, sha256 } from './sha256.js';

const MECHANISM = 'SCRAM-SHA-256';

/** GS2 header for a client without channel binding and without an authorization identity. */
const GS2_HEADER = 'n,,';

/** Random bytes in the client nonce; base64 makes them 24 printable characters. */
const NONCE_BYTES = 18;

/**
 * Largest iteration count accepted from the server. The derivation runs synchronously, so
 * the cap bounds how long a hostile server can block the caller. RFC 7677 §4 recommends
 * at least 4096.
 */
export const MAX_SCRAM_ITERATIONS = 1_000_000;

export const scramSha256Mechanism: SaslMechanism = {
  name: MECHANISM,
  strength: 50,
  needs: 'password',
  start(credentials, randomBytes) {
    return createScramExchange(credentials, encodeBase64(randomBytes(NONCE_BYTES)));
  },
};

/** Values of the server-first-message (RFC 5802 §5.1). */
interface ServerFirst {
  nonce: string;
  salt: Uint8Array;
  iterations: number;
}

type ScramStep = 'client-first-sent' | 'client-final-sent' | 'verified';

/**
 * Start an exchange with a given client nonce. The mechanism draws the nonce from the
 * runtime's random source; tests pass the nonce of a published example.
 */
export function createScramExchange(credentials: Credentials, clientNonce: string): SaslExchange {
  if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(clientNonce)) {
    throw new SmtpUsageError('Invalid SCRAM client nonce: expected printable ASCII without ","');
  }
  const user = prepare(credentials.user, 'user');
  const password = prepare(credentials.pass ?? '', 'pass');
  const clientFirstBare = `n=${escapeSaslName(user)},r=${clientNonce}`;
  const initialResponse = encodeBase64Text(GS2_HEADER + clientFirstBare);

  let step: ScramStep = 'client-first-sent';
  let expectedSignature: Uint8Array = new Uint8Array(0);

  const verify = (serverFinal: string): void => {
    const signature = parseServerFinal(serverFinal);
    if (!equalBytes(signature, expectedSignature)) {
      throw scramError('the server could not prove it knows the password (wrong signature v=)');
    }
    step = 'verified';
  };

  const exchange: { -readonly [K in keyof SaslExchange]: SaslExchange[K] } = {
    initialResponse,
    respond(challenge: string) {
      if (step === 'client-first-sent') {
        // A server that ignores the initial response requests it with an empty challenge.
        if (challenge.trim() === '') return initialResponse;
        const serverFirst = decodeChallenge(challenge);
        const clientFinal = buildClientFinal(password, clientFirstBare, serverFirst, clientNonce);
        expectedSignature = clientFinal.serverSignature;
        step = 'client-final-sent';
        return encodeBase64Text(clientFinal.message);
      }
      if (step === 'client-final-sent') {
        const serverFinal = decodeChallenge(challenge);
        if (serverFinal.startsWith('e=')) {
          // The server reports a failure, and an empty response lets it send the final 535.
          exchange.serverError = serverFinal.slice(2).split(',')[0];
          return '';
        }
        // The server-final-message came as a challenge, so an empty response completes AUTH.
        verify(serverFinal);
        return '';
      }
      throw scramError('the server sent a challenge after its signature');
    },
    finish(reply: SmtpReply) {
      if (step === 'verified') return;
      const serverFinal = step === 'client-final-sent' ? findServerFinal(reply) : null;
      if (serverFinal === null) {
        throw scramError(
          'the server could not prove it knows the password (it accepted the login ' +
            'without sending its signature v=)',
        );
      }
      verify(serverFinal);
    },
  };
  return exchange;
}

/** Apply SASLprep, or raise a usage error that names the option but not its value. */
function prepare(value: string, option: 'user' | 'pass'): string {
  const prepared = saslPrep(value);
  if (prepared === null) {
    throw new SmtpUsageError(
      `Invalid auth.${option} for ${MECHANISM}: it contains a character that SASLprep ` +
        'prohibits (RFC 4013 §2.3), such as a control or private-use character; ' +
        'set auth.method to another mechanism the server offers',
      { phase: 'auth' },
    );
  }
  return prepared;
}

/** Compute the client-final-message and the server signature expected in reply. */
function buildClientFinal(
  password: string,
  clientFirstBare: string,
  serverFirstText: string,
  clientNonce: string,
): { message: string; serverSignature: Uint8Array } {
  const serverFirst = parseServerFirst(serverFirstText, clientNonce);
  const withoutProof = `c=${encodeBase64Text(GS2_HEADER)},r=${serverFirst.nonce}`;
  const authMessage = utf8Bytes(`${clientFirstBare},${serverFirstText},${withoutProof}`);

  // RFC 5802 §3: SaltedPassword := Hi(Normalize(password), salt, i), and the keys from it.
  const saltedPassword = pbkdf2HmacSha256(
    utf8Bytes(password),
    serverFirst.salt,
    serverFirst.iterations,
    32,
  );
  const clientKey = hmacSha256(saltedPassword, utf8Bytes('Client Key'));
  const storedKey = sha256(clientKey);
  const clientSignature = hmacSha256(storedKey, authMessage);
  const proof = clientKey.map((byte, index) => byte ^ clientSignature[index]!);
  const serverKey = hmacSha256(saltedPassword, utf8Bytes('Server Key'));

  return {
    message: `${withoutProof},p=${encodeBase64(proof)}`,
    serverSignature: hmacSha256(serverKey, authMessage),
  };
}

/**
 * Parse `[m=...,]r=<nonce>,s=<salt>,i=<count>[,extensions]` (RFC 5802 §7). The nonce must
 * start with the client's nonce and add the server's part (RFC 5802 §5.1).
 */
function parseServerFirst(text: string, clientNonce: string): ServerFirst {
  const attributes = text.split(',');
  if (attributes[0]?.startsWith('m=')) {
    throw scramError('the server requires an extension (m=) that this client does not support');
  }

  const nonce = attributeValue(attributes[0], 'r', 'nonce');
  if (!nonce.startsWith(clientNonce) || nonce.length === clientNonce.length) {
    throw scramError('the server nonce (r=) does not extend the client nonce');
  }
  const salt = decodeBase64(attributeValue(attributes[1], 's', 'salt'));
  if (salt === null || salt.length === 0) {
    throw scramError('the salt (s=) is not valid base64');
  }
  const countText = attributeValue(attributes[2], 'i', 'iteration count');
  const iterations = /^[1-9][0-9]{0,9}$/.test(countText) ? Number(countText) : Number.NaN;
  if (!(iterations <= MAX_SCRAM_ITERATIONS)) {
    throw scramError(
      `the iteration count i=${countText.slice(0, 20)} is not an integer from 1 to ` +
        `${MAX_SCRAM_ITERATIONS}`,
    );
  }
  return { nonce, salt, iterations };
}

function attributeValue(attribute: string | undefined, name: string, label: string): string {
  if (attribute === undefined || !attribute.startsWith(`${name}=`)) {
    throw scramError(`the server-first-message has no ${label} (${name}=) where expected`);
  }
  return attribute.slice(name.length + 1);
}

/** Parse `v=<base64>[,extensions]` into the server signature (RFC 5802 §7). */
function parseServerFinal(text: string): Uint8Array {
  const verifier = text.split(',')[0] ?? '';
  if (verifier.startsWith('e=')) {
    throw scramError(`the server reported an error (${verifier}) in a positive reply`);
  }
  const signature = verifier.startsWith('v=') ? decodeBase64(verifier.slice(2)) : null;
  if (signature === null) {
    throw scramError('the server-final-message has no valid signature (v=)');
  }
  return signature;
}

/**
 * Find a server-final-message sent as base64 inside the 235 reply text, for servers that
 * send it there instead of in a 334 challenge. Returns null when no word decodes to one.
 */
function findServerFinal(reply: SmtpReply): string | null {
  for (const text of reply.texts) {
    for (const word of text.split(/\s+/)) {
      const decoded = word === '' ? null : decodeBase64(word);
      const candidate = decoded === null ? '' : utf8Text(decoded);
      if (candidate.startsWith('v=') || candidate.startsWith('e=')) return candidate;
    }
  }
  return null;
}

function decodeChallenge(challenge: string): string {
  const decoded = decodeBase64(challenge);
  if (decoded === null) throw scramError('the server challenge is not valid base64');
  return utf8Text(decoded);
}

/** Compare in time that depends only on the lengths, not on where the bytes differ. */
function equalBytes(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  let difference = 0;
  for (let index = 0; index < left.length; index++) difference |= left[index]! ^ right[index]!;
  return difference === 0;
}

function scramError(reason: string): SmtpProtocolError {
  return new SmtpProtocolError(`${MECHANISM} failed: ${reason}`, {
    phase: 'auth',
    retryable: false,
  });
}
