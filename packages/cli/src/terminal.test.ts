import { describe, expect, it } from 'vitest';
import { colourEnabled, createPalette } from './terminal.js';

describe('colourEnabled', () => {
  it.each([
    ['a terminal', true, {}, true],
    ['a pipe', false, {}, false],
    ['NO_COLOR=1 on a terminal', true, { NO_COLOR: '1' }, false],
    ['an empty NO_COLOR on a terminal', true, { NO_COLOR: '' }, true],
    ['TERM=dumb on a terminal', true, { TERM: 'dumb' }, false],
  ])('is %s: %s', (_name, isTTY, env, expected) => {
    expect(colourEnabled({ isTTY }, env)).toBe(expected);
  });
});

describe('createPalette', () => {
  it('wraps text in ANSI codes only when enabled', () => {
    expect(createPalette(true).red('x')).toBe('\u001b[31mx\u001b[39m');
    expect(createPalette(false).red('x')).toBe('x');
  });
});
