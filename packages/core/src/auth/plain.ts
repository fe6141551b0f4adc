/**
 * AUTH PLAIN (RFC 4616) and AUTH LOGIN (draft-murchison-sasl-login): password mechanisms
 * for TLS-protected connections.
 */
import { encodeBase64Text } from '../base64.js';
import type { SaslMechanism } from './mechanism.js';

export const plainMechanism: SaslMechanism = {
  name: 'PLAIN',
  strength: 20,
  needs: 'password',
  start(credentials) {
    // authzid NUL authcid NUL passwd, with the authorization identity left empty.
    const response = encodeBase64Text(`\0${credentials.user}\0${credentials.pass ?? ''}`);
    return {
      initialResponse: response,
      // A server that ignores the initial response asks again with an empty challenge.
      respond: () => response,
    };
  },
};

export const loginMechanism: SaslMechanism = {
  name: 'LOGIN',
  strength: 10,
  needs: 'password',
  start(credentials) {
    let step = 0;
    return {
      // Challenges are `Username:` then `Password:`; servers vary the wording, so go by order.
      respond() {
        step += 1;
        return encodeBase64Text(step === 1 ? credentials.user : (credentials.pass ?? ''));
      },
    };
  },
};
