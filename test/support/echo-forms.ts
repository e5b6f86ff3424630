/**
 * The shapes in which a remote host may quote a secret back (whole, in part, re-cased, encoded,
 * encoded twice), and the check that no 8 characters of such a quote got through.
 */

const b64 = (text: string) => Buffer.from(text).toString('base64');
const b64url = (text: string) => Buffer.from(text).toString('base64url');
const hex = (text: string) => Buffer.from(text).toString('hex');

/** Every character of `text` escaped on its own, as percent-encoding, JSON and HTML can. */
const percentEach = (text: string) =>
  [...Buffer.from(text)].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
const jsonEach = (text: string) =>
  [...text].map((char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
const decimalEntityEach = (text: string) =>
  [...text].map((char) => `&#${char.codePointAt(0)};`).join('');
const hexEntityEach = (text: string) =>
  [...text].map((char) => `&#x${(char.codePointAt(0) ?? 0).toString(16)};`).join('');

/** 80 % of `text`, from its start. */
const most = (text: string) => text.slice(0, Math.ceil(text.length * 0.8));

/** Each echo of `secret` by name: what a hostile or careless host might send back. */
export function echoForms(secret: string): [name: string, echo: string][] {
  const middle = Math.floor(secret.length / 2) - 4;
  return [
    ['as it is', secret],
    ['upper-cased', secret.toUpperCase()],
    ['lower-cased', secret.toLowerCase()],
    ['its first 80 %', most(secret)],
    ['its last 80 %', secret.slice(Math.floor(secret.length * 0.2))],
    ['8 characters from its middle', secret.slice(middle, middle + 8)],
    ['a 10-character prefix', secret.slice(0, 10)],
    ['80 %, upper-cased', most(secret).toUpperCase()],
    ['URL-encoded', encodeURIComponent(secret)],
    ['URL-encoded twice', encodeURIComponent(encodeURIComponent(secret))],
    ['JSON-escaped', JSON.stringify(secret).slice(1, -1)],
    ['base64', b64(secret)],
    ['base64url', b64url(secret)],
    ['base64 of 80 %', b64(most(secret))],
    ['base64 of its last 80 %', b64(secret.slice(Math.floor(secret.length * 0.2)))],
    ['base64 of base64', b64(b64(secret))],
    ['base64url of base64', b64url(b64(secret))],
    ['base64 inside a longer encoded text', b64(`key:${secret}:tail`)],
    ['hex', hex(secret)],
    ['hex, upper-cased', hex(secret).toUpperCase()],
    ['hex of 80 %', hex(most(secret))],
    ['80 %, each character URL-encoded', percentEach(most(secret))],
    ['80 %, each character URL-encoded, upper-cased', percentEach(most(secret)).toUpperCase()],
    ['80 %, each character URL-encoded twice', percentEach(most(secret)).replace(/%/g, '%25')],
    ['80 %, each character JSON-escaped', jsonEach(most(secret))],
    ['80 %, each character an HTML decimal entity', decimalEntityEach(most(secret))],
    ['80 %, each character an HTML hex entity', hexEntityEach(most(secret)).toUpperCase()],
  ];
}

/**
 * The 8-character windows of `echo` that `output` still holds, in any letter case. A window with
 * base64 padding is left out: it ends an encoding, whose last group carries a byte or two of the
 * secret at most, mixed with what surrounded it.
 */
export function echoedParts(output: string, echo: string): string[] {
  const haystack = output.toLowerCase();
  const found: string[] = [];
  for (let i = 0; i + 8 <= echo.length; i++) {
    const part = echo.slice(i, i + 8).toLowerCase();
    if (!part.includes('=') && haystack.includes(part)) found.push(part);
  }
  return found;
}
