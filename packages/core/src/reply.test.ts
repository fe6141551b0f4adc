import { describe, expect, it } from 'vitest';
import { createReply, isPositive, isTransient, parseEnhancedCode, replyText } from './reply.js';

describe('parseEnhancedCode', () => {
  it.each([
    ['5.1.1 User unknown', { class: 5, subject: 1, detail: 1 }],
    ['2.0.0', { class: 2, subject: 0, detail: 0 }],
    ['4.7.0\tTry later', { class: 4, subject: 7, detail: 0 }],
    ['5.999.999 x', { class: 5, subject: 999, detail: 999 }],
  ])('parses %j', (text, expected) => {
    expect(parseEnhancedCode(text)).toEqual(expected);
  });

  it.each([
    ['class 1', '1.0.0 x'],
    ['class 3', '3.0.0 x'],
    ['a missing detail', '5.1 x'],
    ['a four-digit subject', '5.1000.1 x'],
    ['text glued to the code', '5.1.1x'],
    ['a code after other text', 'x 5.1.1'],
    ['an empty text', ''],
  ])('returns null for %s', (_, text) => {
    expect(parseEnhancedCode(text)).toBeNull();
  });
});

describe('createReply', () => {
  it('splits text from each line', () => {
    const reply = createReply(250, ['250-mx.example.test', '250-SIZE 1000', '250 HELP']);

    expect(reply.code).toBe(250);
    expect(reply.texts).toEqual(['mx.example.test', 'SIZE 1000', 'HELP']);
  });

  it('keeps an enhanced code whose class matches the reply code', () => {
    const reply = createReply(452, ['452 4.3.1 Insufficient system storage']);

    expect(reply.enhanced).toEqual({ class: 4, subject: 3, detail: 1 });
    expect(reply.enhancedCode).toBe('4.3.1');
  });

  it('drops an enhanced code whose class differs from the reply code', () => {
    const reply = createReply(452, ['452 5.3.1 Insufficient system storage']);

    expect(reply.enhanced).toBeNull();
    expect(reply.enhancedCode).toBeNull();
  });
});

describe('replyText', () => {
  it('joins every line with a newline', () => {
    expect(replyText(createReply(550, ['550-first', '550 second']))).toBe('550-first\n550 second');
  });
});

describe('isPositive and isTransient', () => {
  it.each([
    [199, false, false],
    [220, true, false],
    [299, true, false],
    [354, false, false],
    [421, false, true],
    [499, false, true],
    [550, false, false],
  ])('classifies %i', (code, positive, transient) => {
    const reply = createReply(code, [`${code} text`]);

    expect(isPositive(reply)).toBe(positive);
    expect(isTransient(reply)).toBe(transient);
  });
});
