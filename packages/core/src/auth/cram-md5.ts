/**
 * AUTH CRAM-MD5 (RFC 2195): the server sends a challenge and the client responds with the
 * user name and an HMAC-MD5 of the challenge keyed with the password. The password never
 * crosses the wire, but the server must store it in a form that can compute the HMAC.
 */
import { decodeBase64, encodeBase64Text, encodeHex, utf8Bytes } from '../base64.js';
import { SmtpProtocolError } from '../errors.js';
import { hmac } from './hmac.js';
import { MD5 } from './md5.js';
import type { SaslMechanism } from './mechanism.js';

export const cramMd5Mechanism: SaslMechanism = {
  name: 'CRAM-MD5',
  strength: 30,
  needs: 'password',
  start(credentials) {
    let answered = false;
    return {
      respond(challenge: string) {
        if (answered) {
          throw new SmtpProtocolError(
            'CRAM-MD5 failed: the server sent a second challenge, but the mechanism has one step',
            { phase: 'auth' },
          );
        }
        answered = true;
        return respondToChallenge(credentials.user, credentials.pass ?? '', challenge);
      },
    };
  },
};

/** Build the base64 response `user SP hex(HMAC-MD5(password, challenge))` (RFC 2195 §2). */
export function respondToChallenge(user: string, password: string, challenge: string): string {
  const decoded = decodeBase64(challenge);
  if (decoded === null || decoded.length === 0) {
    throw new SmtpProtocolError(
      `CRAM-MD5 failed: the server challenge is not valid base64: ${JSON.stringify(challenge)}`,
      { phase: 'auth' },
    );
  }

  const digest = hmac(MD5, utf8Bytes(password), decoded);
  return encodeBase64Text(`${user} ${encodeHex(digest)}`);
}
