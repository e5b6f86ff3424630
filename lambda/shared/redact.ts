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
 *   twice, JSON-escaped, hex, base64 and base64url at each alignment, and base64 of those, and
 *   each character escaped on its own as `%XX`, `\\uXXXX` or `&#NN;`), found
 *   anywhere regardless of case: 80 % of a token, the token upper-cased, base64 of base64, a
 *   prefix of the app secret; also once each character's escape is decoded (`%XX`, `\\uXXXX`,
 *   `&#NN;`… one per character, in any mix). Each such run is masked whole.
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
  maskDecodedParts(text, secrets, masked);
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
 * Marks in `masked` every run of `text` that, with each character's escape decoded (`%XX`, also
 * `%25XX`; `\\uXXXX`; `&#NN;`, `&#xHH;`; JSON's `\\/`… and HTML's `&amp;`…, in any mix and case),
 * holds PART_LENGTH characters of a secret: 80 % of a token written one escape per character.
 * A `%XX` decodes to one byte; a secret's UTF-8 bytes read one character each are looked for too.
 */
function maskDecodedParts(text: string, secrets: readonly string[], masked: boolean[]): void {
  const pieces = new Set<string>();
  for (const secret of secrets) {
    for (const form of [secret, Buffer.from(secret, 'utf8').toString('latin1')]) {
      const lower = form.toLowerCase();
      for (let i = 0; i + PART_LENGTH <= lower.length; i++) {
        pieces.add(lower.slice(i, i + PART_LENGTH));
      }
    }
  }
  let decoded = '';
  // Where each character of `decoded` came from in `text`: [start, end).
  const starts: number[] = [];
  const ends: number[] = [];
  for (let at = 0; at < text.length; ) {
    ESCAPE.lastIndex = at;
    const found = ESCAPE.exec(text);
    const end = found === null ? at + 1 : ESCAPE.lastIndex;
    const chars = found === null ? text.charAt(at) : decodeEscape(found);
    for (let k = 0; k < chars.length; k++) {
      starts.push(at);
      ends.push(end);
    }
    decoded += chars;
    at = end;
  }
  // Nothing decoded: the plain scan sees the same text.
  if (decoded === text) return;
  const lower = decoded.toLowerCase();
  for (let i = 0; i + PART_LENGTH <= lower.length; i++) {
    if (!pieces.has(lower.slice(i, i + PART_LENGTH))) continue;
    masked.fill(true, starts[i], ends[i + PART_LENGTH - 1]);
  }
}

/** One escaped character at the sticky position: percent, JSON, numeric or named HTML entity. */
const ESCAPE =
  /%(?:25)?([0-9a-f]{2})|\\u([0-9a-f]{4})|&#([0-9]{1,7});|&#x([0-9a-f]{1,6});|\\(["\\/bfnrt])|&(amp|lt|gt|quot|apos);/iy;

const JSON_UNESCAPES: Readonly<Record<string, string>> = {
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};
const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
};

/** The text an ESCAPE match stands for; a code point out of range stands for itself. */
function decodeEscape(match: RegExpExecArray): string {
  const [whole, byte, unit, decimal, hexadecimal, json, named] = match;
  if (byte !== undefined) return String.fromCharCode(Number.parseInt(byte, 16));
  if (unit !== undefined) return String.fromCharCode(Number.parseInt(unit, 16));
  const codePoint =
    decimal !== undefined
      ? Number.parseInt(decimal, 10)
      : hexadecimal !== undefined
        ? Number.parseInt(hexadecimal, 16)
        : undefined;
  if (codePoint !== undefined)
    return codePoint <= 0x10ffff ? String.fromCodePoint(codePoint) : whole;
  if (json !== undefined) return JSON_UNESCAPES[json.toLowerCase()] ?? json;
  return NAMED_ENTITIES[(named ?? '').toLowerCase()] ?? whole;
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
    ...escapedEach(secret),
  ];
  const encoded = base64Cores(secret);
  return [...once, ...encoded, ...encoded.flatMap(base64Cores)];
}

/**
 * `text` with every character escaped on its own: each UTF-8 byte as `%XX` (also `%25XX`), each
 * UTF-16 unit as `\\uXXXX`, each character as `&#NN;` and `&#xHH;`. A run of the escapes is an
 * encoding's run like any other; decoding (maskDecodedParts) catches the mixes and zero-padding.
 */
function escapedEach(text: string): string[] {
  const percent = [...Buffer.from(text, 'utf8')]
    .map((byte) => `%${byte.toString(16).padStart(2, '0')}`)
    .join('');
  const chars = [...text].map((char) => char.codePointAt(0) ?? 0);
  return [
    percent,
    percent.replace(/%/g, '%25'),
    Array.from(
      { length: text.length },
      (_, i) => `\\u${text.charCodeAt(i).toString(16).padStart(4, '0')}`,
    ).join(''),
    chars.map((code) => `&#${code};`).join(''),
    chars.map((code) => `&#x${code.toString(16)};`).join(''),
  ];
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
