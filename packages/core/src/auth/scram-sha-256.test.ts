import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64, encodeBase64Text, utf8Text } from '../base64.js';
import { SmtpProtocolError, SmtpUsageError } from '../errors.js';
import { createReply } from '../reply.js';
import {
  createScramExchange,
  MAX_SCRAM_ITERATIONS,
  scramSha256Mechanism,
} from './scram-sha-256.js';

const decode = (text: string | undefined): string => utf8Text(decodeBase64(text ?? '')!);

// RFC 7677 §3, the example exchange for user "user" and password "pencil".
const CLIENT_NONCE = 'rOprNGfwEbeRWgbNEkqO';
const CLIENT_FIRST = 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO';
const SERVER_FIRST =
  'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
const CLIENT_FINAL =
  'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,' +
  'p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=';
const SERVER_FINAL = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';
const TAMPERED_FINAL = 'v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';

function startExample() {
  return createScramExchange({ user: 'user', pass: 'pencil' }, CLIENT_NONCE);
}

/** Run the example up to the client-final-message. */
function runToClientFinal() {
  const exchange = startExample();
  const clientFinal = decode(exchange.respond(encodeBase64Text(SERVER_FIRST)));
  return { exchange, clientFinal };
}

const reply235 = (text: string) => createReply(235, [`235 ${text}`]);

describe('createScramExchange', () => {
  it('sends the RFC 7677 client-first-message', () => {
    expect(decode(startExample().initialResponse)).toBe(CLIENT_FIRST);
  });

  it('computes the RFC 7677 client-final-message', () => {
    expect(runToClientFinal().clientFinal).toBe(CLIENT_FINAL);
  });

  it('verifies v= sent as a 334 challenge', () => {
    const { exchange } = runToClientFinal();

    expect(exchange.respond(encodeBase64Text(SERVER_FINAL))).toBe('');
    expect(() => exchange.finish?.(reply235('2.7.0 Authentication successful'))).not.toThrow();
  });

  it('verifies v= sent in the 235 reply', () => {
    const { exchange } = runToClientFinal();
    const reply = reply235(`2.7.0 ${encodeBase64Text(SERVER_FINAL)}`);

    expect(() => exchange.finish?.(reply)).not.toThrow();
  });

  it('rejects a tampered v= in a 334 challenge', () => {
    const { exchange } = runToClientFinal();

    expect(() => exchange.respond(encodeBase64Text(TAMPERED_FINAL))).toThrow(
      /could not prove it knows the password/,
    );
  });

  it('rejects a tampered v= in the 235 reply', () => {
    const { exchange } = runToClientFinal();
    const reply = reply235(encodeBase64Text(TAMPERED_FINAL));

    expect(() => exchange.finish?.(reply)).toThrow(SmtpProtocolError);
    expect(() => exchange.finish?.(reply)).toThrow(/could not prove it knows the password/);
  });

  it('rejects a 235 reply without v=', () => {
    const { exchange } = runToClientFinal();

    expect(() => exchange.finish?.(reply235('2.7.0 Authentication successful'))).toThrow(
      /could not prove it knows the password/,
    );
  });

  it('rejects a 235 reply before the client-final-message', () => {
    const exchange = startExample();

    expect(() => exchange.finish?.(reply235(encodeBase64Text(SERVER_FINAL)))).toThrow(
      SmtpProtocolError,
    );
  });

  it('records e= from the server and answers with an empty line', () => {
    const { exchange } = runToClientFinal();

    expect(exchange.respond(encodeBase64Text('e=invalid-proof'))).toBe('');
    expect(exchange.serverError).toBe('invalid-proof');
  });

  it('resends the client-first-message on an empty challenge', () => {
    const exchange = startExample();

    expect(exchange.respond('')).toBe(exchange.initialResponse);
  });

  it('escapes = and , in the user name', () => {
    const exchange = createScramExchange({ user: 'a=b,c', pass: 'p' }, CLIENT_NONCE);

    expect(decode(exchange.initialResponse)).toBe(`n,,n=a=3Db=2Cc,r=${CLIENT_NONCE}`);
  });

  it('applies SASLprep to the user name', () => {
    const exchange = createScramExchange({ user: 'I\u00adX', pass: 'p' }, CLIENT_NONCE);

    expect(decode(exchange.initialResponse)).toBe(`n,,n=IX,r=${CLIENT_NONCE}`);
  });

  it('applies SASLprep to the password', () => {
    const prepared = createScramExchange({ user: 'user', pass: 'pen\u00adcil' }, CLIENT_NONCE);
    const clientFinal = decode(prepared.respond(encodeBase64Text(SERVER_FIRST)));

    expect(clientFinal).toBe(CLIENT_FINAL);
  });

  it('rejects a password that SASLprep prohibits without quoting it', () => {
    const start = () => createScramExchange({ user: 'user', pass: 'sec\u0007ret' }, CLIENT_NONCE);

    expect(start).toThrow(SmtpUsageError);
    expect(start).toThrow(/auth\.pass/);
    expect(start).not.toThrow(/sec/);
  });

  it.each([
    ['a mandatory extension', `m=ext,${SERVER_FIRST}`, /extension \(m=\)/],
    ['a foreign nonce', SERVER_FIRST.replace('rOpr', 'XXXX'), /does not extend/],
    [
      'a nonce without a server part',
      `r=${CLIENT_NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`,
      /does not extend/,
    ],
    ['a missing salt', `r=${CLIENT_NONCE}xyz,i=4096`, /salt \(s=\)/],
    ['an invalid salt', `r=${CLIENT_NONCE}xyz,s=!!,i=4096`, /salt \(s=\)/],
    ['a zero iteration count', `r=${CLIENT_NONCE}xyz,s=QUJD,i=0`, /iteration count/],
    [
      'a huge iteration count',
      `r=${CLIENT_NONCE}xyz,s=QUJD,i=${MAX_SCRAM_ITERATIONS + 1}`,
      /iteration count/,
    ],
  ])('rejects a server-first-message with %s', (_name, serverFirst, message) => {
    const exchange = startExample();

    expect(() => exchange.respond(encodeBase64Text(serverFirst))).toThrow(message);
  });

  it('accepts extensions after the iteration count', () => {
    const exchange = startExample();
    const clientFinal = decode(exchange.respond(encodeBase64Text(`${SERVER_FIRST},x=1`)));

    expect(clientFinal.startsWith('c=biws,r=')).toBe(true);
  });
});

describe('scramSha256Mechanism', () => {
  it('builds the nonce from the random source', () => {
    const bytes = Uint8Array.from({ length: 18 }, (_, index) => index * 13);
    const exchange = scramSha256Mechanism.start({ user: 'user', pass: 'p' }, (length) =>
      bytes.subarray(0, length),
    );

    expect(decode(exchange.initialResponse)).toBe(`n,,n=user,r=${encodeBase64(bytes)}`);
  });

  it('derives 4096 iterations quickly', () => {
    const exchange = startExample();
    const started = Date.now();
    exchange.respond(encodeBase64Text(SERVER_FIRST));
    const elapsed = Date.now() - started;

    // Generous bound for loaded machines; a typical run takes a few milliseconds.
    expect(elapsed).toBeLessThan(1000);
  });
});
