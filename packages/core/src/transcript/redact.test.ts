import { describe, expect, it } from 'vitest';
import { encodeBase64Text, encodeHex, utf8Bytes } from '../base64.js';
import { MASK } from '../limits.js';
import { SecretScanner } from './redact.js';

const USER = 'alice@example.test';
const PASS = 's3cr3t-Pässword';
const TOKEN = 'ya29.a0AfH6SMB-token-value';

describe('SecretScanner', () => {
  const scanner = new SecretScanner({ user: USER, pass: PASS, tokens: [TOKEN] });

  it.each([
    ['the raw password', PASS],
    ['the password in base64', encodeBase64Text(PASS)],
    ['the password in lower-case hex', encodeHex(utf8Bytes(PASS))],
    ['the password in upper-case hex', encodeHex(utf8Bytes(PASS)).toUpperCase()],
    ['the PLAIN blob without authzid', encodeBase64Text(`\0${USER}\0${PASS}`)],
    ['the PLAIN blob with authzid', encodeBase64Text(`${USER}\0${USER}\0${PASS}`)],
    ['the raw token', TOKEN],
    ['the XOAUTH2 blob', encodeBase64Text(`user=${USER}\x01auth=Bearer ${TOKEN}\x01\x01`)],
    ['the OAUTHBEARER blob', encodeBase64Text(`n,a=${USER},\x01auth=Bearer ${TOKEN}\x01\x01`)],
    ['the LOGIN user name in base64', encodeBase64Text(USER)],
  ])('masks %s', (_, secret) => {
    const result = scanner.scan(`AUTH PLAIN ${secret}`);

    expect(result.text).toBe(`AUTH PLAIN ${MASK}`);
    expect(result.changed).toBe(true);
  });

  it('masks a secret inside other text and every occurrence of it', () => {
    const result = scanner.scan(`535 bad password '${PASS}' (was ${PASS})`);

    expect(result.text).toBe(`535 bad password '${MASK}' (was ${MASK})`);
  });

  it('masks a blob whole rather than the secret inside it', () => {
    const blob = encodeBase64Text(`\0${USER}\0${PASS}`);

    expect(scanner.scan(blob).text).toBe(MASK);
  });

  it('leaves text without secrets unchanged', () => {
    const result = scanner.scan(`MAIL FROM:<${USER}>`);

    expect(result).toEqual({ text: `MAIL FROM:<${USER}>`, changed: false });
  });

  it('writes the same mask for any length', () => {
    const short = new SecretScanner({ user: USER, pass: 'abc' }).scan('x abc y');
    const long = new SecretScanner({ user: USER, pass: 'p'.repeat(64) }).scan(
      `x ${'p'.repeat(64)} y`,
    );

    expect(short.text).toBe(`x ${MASK} y`);
    expect(long.text).toBe(`x ${MASK} y`);
    expect(short.text).not.toMatch(/\d/);
  });

  it('matches short passwords only when encoded', () => {
    const shortScanner = new SecretScanner({ user: USER, pass: 'pw' });

    expect(shortScanner.scan('NOOP pw').text).toBe('NOOP pw');
    expect(shortScanner.scan(`AUTH PLAIN ${encodeBase64Text(`\0${USER}\0pw`)}`).text).toBe(
      `AUTH PLAIN ${MASK}`,
    );
  });

  it('masks nothing when no secret is configured', () => {
    const empty = new SecretScanner({ user: USER });

    expect(empty.scan(`AUTH LOGIN ${encodeBase64Text(USER)}`).changed).toBe(false);
  });

  it('masks a token added later with update', () => {
    const updated = new SecretScanner({ user: USER, pass: PASS });
    updated.update({ user: USER, pass: PASS, tokens: ['fresh-token-123'] });

    expect(updated.scan('Bearer fresh-token-123').text).toBe(`Bearer ${MASK}`);
    expect(updated.scan(`x ${PASS}`).text).toBe(`x ${MASK}`);
  });
});
