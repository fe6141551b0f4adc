import { describe, expect, it } from 'vitest';
import { encodeBase64Text } from '../base64.js';
import { SmtpProtocolError } from '../errors.js';
import { cramMd5Mechanism, respondToChallenge } from './cram-md5.js';

const noRandom = (): Uint8Array => new Uint8Array(0);

// RFC 2195 §2, the example exchange.
const RFC_2195_CHALLENGE = 'PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+';
const RFC_2195_RESPONSE = 'dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw';

describe('cramMd5Mechanism', () => {
  it('encodes the RFC 2195 challenge as published', () => {
    expect(encodeBase64Text('<1896.697170952@postoffice.reston.mci.net>')).toBe(RFC_2195_CHALLENGE);
  });

  it('answers the RFC 2195 example', () => {
    const exchange = cramMd5Mechanism.start({ user: 'tim', pass: 'tanstaaftanstaaf' }, noRandom);

    expect(exchange.initialResponse).toBeUndefined();
    expect(exchange.respond(RFC_2195_CHALLENGE)).toBe(RFC_2195_RESPONSE);
  });

  it('rejects a second challenge', () => {
    const exchange = cramMd5Mechanism.start({ user: 'tim', pass: 'tanstaaftanstaaf' }, noRandom);
    exchange.respond(RFC_2195_CHALLENGE);

    expect(() => exchange.respond(RFC_2195_CHALLENGE)).toThrow(SmtpProtocolError);
  });

  it('rejects a challenge that is not base64', () => {
    expect(() => respondToChallenge('tim', 'tanstaaftanstaaf', 'not base64!')).toThrow(
      /not valid base64/,
    );
    expect(() => respondToChallenge('tim', 'tanstaaftanstaaf', '')).toThrow(SmtpProtocolError);
  });

  it('keeps the password out of the error message', () => {
    let message = '';
    try {
      respondToChallenge('tim', 'tanstaaftanstaaf', '!!');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).not.toBe('');
    expect(message).not.toContain('tanstaaf');
  });
});
