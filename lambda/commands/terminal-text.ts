// Text from elsewhere (TikTok's seller names and messages, what a secret holds) made safe to
// print on a terminal: no control characters, no escape sequences, bounded.

/** Longest remote text printed by default; longer text ends with `…`. */
const MAX_PRINTED = 200;

/**
 * `text` with every character a terminal acts on (C0 and C1 controls, DEL: escape sequences,
 * carriage returns, line ends) or that reorders or hides text (bidirectional and zero-width
 * marks) shown as `\u{…}`, and at most `max` characters long.
 */
export function printable(text: string, max = MAX_PRINTED): string {
  const chars = [...text];
  const shown = chars.slice(0, max).map((char) => {
    const code = char.codePointAt(0) ?? 0;
    return isUnsafe(code) ? `\\u{${code.toString(16)}}` : char;
  });
  return `${shown.join('')}${chars.length > max ? '…' : ''}`;
}

function isUnsafe(code: number): boolean {
  return (
    code < 0x20 ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x61c ||
    (code >= 0x200b && code <= 0x200f) ||
    (code >= 0x2028 && code <= 0x202e) ||
    (code >= 0x2060 && code <= 0x2069) ||
    code === 0xfeff
  );
}
