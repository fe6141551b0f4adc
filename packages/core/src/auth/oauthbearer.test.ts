import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64Text, utf8Text } from '../base64.js';
import { buildInitialResponse, oauthBearerMechanism } from './oauthbearer.js';

const noRandom = (): Uint8Array => new Uint8Array(0);
const decode = (text: string | undefined): string => utf8Text(decodeBase64(text ?? '')!);

describe('oauthBearerMechanism', () => {
  it('sends the token in the initial response', () => {
    const exchange = oauthBearerMechanism.start(
      { user: 'user@example.com', accessToken: 'vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==' },
      noRandom,
    );

    expect(decode(exchange.initialResponse)).toBe(
      'n,a=user@example.com,\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01',
    );
  });

  it('escapes the user name as a saslname', () => {
    expect(buildInitialResponse('a=b,c', 'token')).toBe(
      'n,a=a=3Db=2Cc,\x01auth=Bearer token\x01\x01',
    );
  });

  it('leaves out an empty authorization identity', () => {
    expect(buildInitialResponse('', 'token')).toBe('n,,\x01auth=Bearer token\x01\x01');
  });

  it('answers an error challenge with the %x01 byte', () => {
    const exchange = oauthBearerMechanism.start({ user: 'u', accessToken: 'expired' }, noRandom);
    const errorJson = '{"status":"invalid_token","scope":"mail"}';

    const answer = exchange.respond(encodeBase64Text(errorJson));

    expect(answer).toBe('AQ==');
    expect(Array.from(decodeBase64(answer)!)).toEqual([1]);
    expect(exchange.serverError).toBe(errorJson);
  });

  it('resends the initial response on an empty challenge', () => {
    const exchange = oauthBearerMechanism.start({ user: 'u', accessToken: 't' }, noRandom);

    expect(exchange.respond('')).toBe(exchange.initialResponse);
    expect(exchange.serverError).toBeUndefined();
  });
});
