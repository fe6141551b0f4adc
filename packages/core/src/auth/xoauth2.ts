/**
 * XOAUTH2 (Google and Microsoft's OAuth 2.0 SASL mechanism). On failure the server sends
 * a 334 whose text is base64 JSON describing the error; the client answers with an empty
 * line and then reads the final 5xx reply.
 */
import { decodeBase64, encodeBase64Text, utf8Text } from '../base64.js';
import type { SaslExchange, SaslMechanism } from './mechanism.js';

export const xoauth2Mechanism: SaslMechanism = {
  name: 'XOAUTH2',
  strength: 40,
  needs: 'token',
  start(credentials) {
    const exchange: { -readonly [K in keyof SaslExchange]: SaslExchange[K] } = {
      initialResponse: encodeBase64Text(
        `user=${credentials.user}\x01auth=Bearer ${credentials.accessToken ?? ''}\x01\x01`,
      ),
      respond(challenge: string) {
        const decoded = decodeBase64(challenge);
        exchange.serverError = decoded ? utf8Text(decoded) : challenge;
        return '';
      },
    };
    return exchange;
  },
};
