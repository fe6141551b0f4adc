/**
 * AUTH OAUTHBEARER (RFC 7628): an OAuth 2.0 bearer token in a GS2-style initial response.
 * On failure the server sends a 334 whose text is base64 JSON describing the error; the
 * client responds with a single %x01 byte (RFC 7628 §3.2.3) and then reads the final 5xx.
 */
import { decodeBase64, encodeBase64Text, utf8Text } from '../base64.js';
import type { SaslExchange, SaslMechanism } from './mechanism.js';
import { escapeSaslName } from './saslprep.js';

/** Base64 of the single %x01 byte that ends a failed exchange (RFC 7628 §3.2.3). */
export const OAUTHBEARER_ERROR_ACKNOWLEDGEMENT = 'AQ==';

export const oauthBearerMechanism: SaslMechanism = {
  name: 'OAUTHBEARER',
  // Below XOAUTH2 (40) on purpose, so the default choice for a token is XOAUTH2.
  strength: 35,
  needs: 'token',
  start(credentials) {
    const initialResponse = encodeBase64Text(
      buildInitialResponse(credentials.user, credentials.accessToken ?? ''),
    );
    const exchange: { -readonly [K in keyof SaslExchange]: SaslExchange[K] } = {
      initialResponse,
      respond(challenge: string) {
        // A server that ignores the initial response requests it with an empty challenge.
        if (challenge.trim() === '') return initialResponse;

        const decoded = decodeBase64(challenge);
        exchange.serverError = decoded ? utf8Text(decoded) : challenge;
        return OAUTHBEARER_ERROR_ACKNOWLEDGEMENT;
      },
    };
    return exchange;
  },
};

/**
 * Build `n,a=<user>,^Aauth=Bearer <token>^A^A` (RFC 7628 §3.1). The authorization identity
 * is a GS2 saslname, so `=` and `,` in the user name are escaped (RFC 5801 §4). An empty
 * user name leaves out the `a=` attribute.
 */
export function buildInitialResponse(user: string, token: string): string {
  const authorization = user === '' ? '' : `a=${escapeSaslName(user)}`;
  return `n,${authorization},\x01auth=Bearer ${token}\x01\x01`;
}
