// Strips known secret values, in any encoding an echo plausibly takes, from text that came from
// outside before it goes into an error message.

/**
 * Removes every known secret value from text that came from outside (e.g. TikTok's message): as
 * it is, and in the forms an echo plausibly takes: URL-encoded (any case, also twice, `+` for a
 * space), JSON-escaped (`\\uXXXX`, `\\/`…), HTML entities, any mix of those, base64 or
 * base64url (at any alignment inside a longer encoded text) and hex.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let clean = text;
  for (const secret of secrets) {
    if (secret.length === 0) continue;
    for (const pattern of secretPatterns(secret)) clean = clean.replace(pattern, '[redacted]');
  }
  // Nothing legitimate in an error message is this long; a long one may be an echoed payload.
  return clean.length > 300 ? `${clean.slice(0, 300)}…` : clean;
}

/** Encoded forms shorter than this are not looked for: too likely to match innocent text. */
const MIN_ENCODED_LENGTH = 8;

function secretPatterns(secret: string): RegExp[] {
  const patterns = [new RegExp([...secret].map(charPattern).join(''), 'g')];
  const bytes = Buffer.from(secret, 'utf8');
  for (let offset = 0; offset < 3; offset++) {
    const shifted = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    // Only the 4-character groups made of the secret's bytes alone are the same in any text
    // that encodes the secret at this alignment; the groups around them go too.
    const first = offset === 0 ? 0 : 4;
    const last = Math.floor((offset + bytes.length) / 3) * 4;
    const core = shifted.slice(first, last);
    if (core.length < MIN_ENCODED_LENGTH) continue;
    for (const [form, alphabet] of [
      [core, 'A-Za-z0-9+/'],
      [core.replace(/\+/g, '-').replace(/\//g, '_'), 'A-Za-z0-9_-'],
    ] as const) {
      const before = offset === 0 ? '' : `[${alphabet}]{0,4}`;
      patterns.push(new RegExp(`${before}${escapeRegExp(form)}[${alphabet}]{0,3}={0,2}`, 'g'));
    }
  }
  const hex = bytes.toString('hex');
  if (hex.length >= MIN_ENCODED_LENGTH) patterns.push(new RegExp(hex, 'gi'));
  return patterns;
}

const JSON_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  '\\': '\\\\',
  '/': '\\/',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};
const HTML_ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** One character of a secret, literally or in any of the encodings above. */
function charPattern(char: string): string {
  const codePoint = char.codePointAt(0) ?? 0;
  const forms = [escapeRegExp(char)];
  forms.push(
    [...Buffer.from(char, 'utf8')].map((byte) => `%(?:25)?${hexDigits(byte, 2)}`).join(''),
  );
  forms.push(
    Array.from({ length: char.length }, (_, i) => `\\\\u${hexDigits(char.charCodeAt(i), 4)}`).join(
      '',
    ),
  );
  forms.push(`&#0*${codePoint};`, `&#[xX]0*${hexDigits(codePoint, 1)};`);
  const escaped = JSON_ESCAPES[char];
  if (escaped !== undefined) forms.push(escapeRegExp(escaped));
  const entity = HTML_ENTITIES[char];
  if (entity !== undefined) forms.push(escapeRegExp(entity));
  if (char === ' ') forms.push('\\+');
  return `(?:${forms.join('|')})`;
}

/** A number in hex, at least `width` digits, each letter matching either case. */
function hexDigits(value: number, width: number): string {
  return value
    .toString(16)
    .padStart(width, '0')
    .replace(/[a-f]/g, (digit) => `[${digit}${digit.toUpperCase()}]`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
