import { describe, expect, it } from 'vitest';
import { printable } from '../../lambda/commands/terminal-text.js';

describe('Function: printable', () => {
  it('shows escape sequences, bells, carriage returns and line ends as text', () => {
    const hostile = 'Acme\x1b]0;owned\x07\x1b[2J\r\nShop other connected\x9b31m';

    expect(printable(hostile)).toBe(
      'Acme\\u{1b}]0;owned\\u{7}\\u{1b}[2J\\u{d}\\u{a}Shop other connected\\u{9b}31m',
    );
  });

  it('shows marks that reorder or hide text as text, and keeps other Unicode', () => {
    expect(printable('Bäckerei \u202egnp.exe\u200b 東京')).toBe(
      'Bäckerei \\u{202e}gnp.exe\\u{200b} 東京',
    );
  });

  it('bounds the text, never splitting a character', () => {
    expect(printable('😀'.repeat(300), 3)).toBe('😀😀😀…');
    expect(printable('short', 5)).toBe('short');
  });
});
