import { describe, expect, it } from 'vitest';
import { escapeSaslName, saslPrep } from './saslprep.js';

describe('saslPrep', () => {
  // RFC 4013 §3, examples 1 to 5. Example 6 is the control-character test below, and
  // example 7 (the bidirectional rule) is not implemented.
  it.each([
    ['I\u00adX', 'IX'],
    ['user', 'user'],
    ['USER', 'USER'],
    ['\u00aa', 'a'],
    ['\u2168', 'IX'],
  ])('prepares %j as %j, as in RFC 4013', (input, expected) => {
    expect(saslPrep(input)).toBe(expected);
  });

  it('rejects a control character, as in RFC 4013', () => {
    expect(saslPrep('\u0007')).toBeNull();
  });

  it('maps non-ASCII spaces to a space', () => {
    expect(saslPrep('a\u00a0b\u3000c')).toBe('a b c');
  });

  it('removes characters mapped to nothing', () => {
    expect(saslPrep('pa\u200css\ufeffword')).toBe('password');
  });

  it.each([
    ['private use', '\ue000'],
    ['plane noncharacter', '\u{1fffe}'],
    ['unpaired surrogate', '\ud800'],
    ['tagging character', '\u{e0001}'],
    ['delete', '\u007f'],
    ['left-to-right mark', '\u200e'],
  ])('rejects a %s', (_name, character) => {
    expect(saslPrep(`ab${character}cd`)).toBeNull();
  });

  it('keeps ordinary non-ASCII text in NFKC form', () => {
    expect(saslPrep('Gr\u00fc\u00dfe')).toBe('Gr\u00fc\u00dfe');
    expect(saslPrep('Gru\u0308\u00dfe')).toBe('Gr\u00fc\u00dfe');
  });
});

describe('escapeSaslName', () => {
  it('escapes equals signs and commas', () => {
    expect(escapeSaslName('a=b,c')).toBe('a=3Db=2Cc');
  });

  it('leaves other names unchanged', () => {
    expect(escapeSaslName('user@example.test')).toBe('user@example.test');
  });
});
