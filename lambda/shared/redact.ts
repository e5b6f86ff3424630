// Strips known secret values, whole or in part, in any encoding an echo plausibly takes, from text
// that came from outside before it goes into an error message.

/**
 * The policy for quoting remote text (TikTok's message, its request_id, an AWS message): no run
 * of PART_LENGTH or more characters of a secret gets through, in any letter case, as it is or in
 * any encoding below. Two passes:
 * - the whole secret as it is and in the forms an echo plausibly takes: URL-encoded (any case,
 *   also twice, `+` for a space), JSON-escaped (`\\uXXXX`, `\\/`…), HTML entities, any mix of
 *   those, base64 or base64url (at any alignment inside a longer encoded text) and hex;
 * - then any PART_LENGTH characters of the secret, or of one of its encodings (URL-encoded, also
 *   twice, JSON-escaped, hex, base64 and base64url at each alignment, and base64 of those), found
 *   anywhere regardless of case: 80 % of a token, the token upper-cased, base64 of base64, a
 *   prefix of the app secret. Each such run is masked whole.
 * What is left is cut to MAX_QUOTED characters: nothing legitimate in a message is longer.
 */
export function redact(text: string, secrets: readonly string[]): string {
  // Cut first, generously: what a quote keeps is far shorter, and a cut secret is still a part.
  let clean = text.length > MAX_SCANNED ? text.slice(0, MAX_SCANNED) : text;
  const known = secrets.filter((secret) => secret.length > 0);
  for (const secret of known) {
    for (const pattern of secretPatterns(secret)) clean = clean.replace(pattern, MASK);
  }
  clean = maskParts(clean, known);
  return clean.length > MAX_QUOTED ? `${clean.slice(0, MAX_QUOTED)}…` : clean;
}

const MASK = '[redacted]';
/** The shortest run of a secret (or of its encoding) that is masked wherever it shows up. */
export const PART_LENGTH = 8;
const MAX_QUOTED = 300;
const MAX_SCANNED = 4 * MAX_QUOTED;
/** A character of base64 or base64url. */
const BASE64_CHAR = /[A-Za-z0-9+/_-]/;
/** Encoded forms shorter than this are not looked for whole: too likely to match innocent text. */
const MIN_ENCODED_LENGTH = 8;

/**
 * Masks every run of `text` made of PART_LENGTH-character pieces of a secret or of its encodings,
 * compared in lower case, with up to 4 base64 characters before it and 3 after. Every run of
 * PART_LENGTH or more characters of a secret is made of such pieces, so it goes whole; the mask
 * itself holds none.
 */
function maskParts(text: string, secrets: readonly string[]): string {
  const pieces = new Set<string>();
  for (const secret of secrets) {
    for (const form of partForms(secret)) {
      const lower = form.toLowerCase();
      for (let i = 0; i + PART_LENGTH <= lower.length; i++) {
        pieces.add(lower.slice(i, i + PART_LENGTH));
      }
    }
  }
  if (pieces.size === 0) return text;
  const lower = text.toLowerCase();
  const masked = new Array<boolean>(text.length).fill(false);
  for (let i = 0; i + PART_LENGTH <= lower.length; i++) {
    if (!pieces.has(lower.slice(i, i + PART_LENGTH))) continue;
    // A base64 run's edge groups mix the secret's first and last bytes with their neighbours'.
    let [start, end] = [i, i + PART_LENGTH];
    while (start > 0 && i - start < 4 && BASE64_CHAR.test(text.charAt(start - 1))) start--;
    while (end < text.length && end - i - PART_LENGTH < 3 && BASE64_CHAR.test(text.charAt(end))) {
      end++;
    }
    masked.fill(true, start, end);
  }
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (!masked[i]) out += text[i];
    else if (i === 0 || !masked[i - 1]) out += MASK;
  }
  return out;
}

/**
 * The secret and the texts an echo of it may be made of: a run of one of them stands for a run
 * of the secret. For base64, the characters at the edges of each alignment depend on what comes
 * before and after, so only the characters made of the secret's bytes alone are kept.
 */
function partForms(secret: string): string[] {
  const once = [
    secret,
    encodeURIComponent(secret),
    encodeURIComponent(encodeURIComponent(secret)),
    JSON.stringify(secret).slice(1, -1),
    Buffer.from(secret, 'utf8').toString('hex'),
  ];
  const encoded = base64Cores(secret);
  return [...once, ...encoded, ...encoded.flatMap(base64Cores)];
}

/** Base64 and base64url of `text` at each of the three byte alignments, the edges left out. */
function base64Cores(text: string): string[] {
  const bytes = Buffer.from(text, 'utf8');
  const cores: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const shifted = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    const first = offset === 0 ? 0 : 4;
    const last = Math.floor((offset + bytes.length) / 3) * 4;
    const core = shifted.slice(first, last);
    if (core.length < PART_LENGTH) continue;
    cores.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return cores;
}

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
