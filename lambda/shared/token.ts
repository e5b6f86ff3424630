import * as z from 'zod/mini';
import type { AppCredentials as AppCredentialsType } from './credentials.js';

/**
 * The token secret holds TikTok's last successful answer, unchanged (readers depend on it):
 * {"code":0,"message":"success","data":{"access_token":…,"access_token_expire_in":…,…},…}.
 * Everyone who reads it (the refresher, the reader module, onboarding) goes through
 * `parseTokenDocument`, so what one accepts the others accept too. It is strict where a mistake
 * would hurt (the two tokens and their expiries, absolute Unix seconds) and lenient where it is
 * safe: an expiry sent as a string of digits counts as that number, optional fields that are
 * missing or of another type are left out, and everything else is kept as TikTok sent it.
 */

/** Secrets Manager refuses a SecretString longer than this many bytes (ValidationException). */
export const MAX_STORED_BYTES = 65_536;

// Expiry fields are absolute Unix seconds. A small number is a duration (a common bug in public
// code), a 13-digit one is milliseconds: both would make every due-date decision wrong.
const epochSeconds = z.pipe(
  // A numeric string ("1722342011") is read as its number; the stored text keeps the string.
  z.transform((value: unknown) =>
    typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value,
  ),
  z
    .int()
    .check(
      z.gte(1_000_000_000, 'must be an absolute Unix timestamp in seconds, not a duration'),
      z.lt(100_000_000_000, 'must be in seconds, not milliseconds'),
    ),
);
const nonEmpty = z.string().check(z.minLength(1, 'must not be empty'));
/** An optional field the refresher does not depend on: another type reads as absent. */
const optionalText = z.catch(z.optional(z.string()), undefined);

const TokenData = z.looseObject({
  access_token: nonEmpty,
  access_token_expire_in: epochSeconds,
  refresh_token: nonEmpty,
  refresh_token_expire_in: epochSeconds,
  seller_name: optionalText,
  open_id: optionalText,
});

/** TikTok's code: a number, or a string of digits (read as its number). */
const code = z.pipe(
  z.transform((value: unknown) =>
    typeof value === 'string' && /^-?\d{1,12}$/.test(value) ? Number(value) : value,
  ),
  z.number(),
);

export const TokenDocument = z.looseObject({
  code: z.pipe(code, z.literal(0, 'must be 0')),
  message: optionalText,
  data: TokenData,
  request_id: optionalText,
});
export type TokenDocument = z.infer<typeof TokenDocument>;

/** A credential of blanks only is no credential: refused here, not later as TikTok's refusal. */
const credential = z.string().check(
  z.minLength(1, 'must not be empty'),
  z.refine((value) => value === '' || value.trim() !== '', 'must not be blank'),
);

export const AppCredentials: z.ZodMiniType<AppCredentialsType> = z.looseObject({
  app_key: credential,
  app_secret: credential,
});
export type AppCredentials = AppCredentialsType;

/** TikTok's envelope, success or not; `data` is checked separately once `code` is known. */
export const TikTokEnvelope = z.looseObject({
  code,
  message: optionalText,
  request_id: optionalText,
});

/** A token exactly as stored: the raw JSON text plus what was parsed from it. */
export interface ParsedToken {
  readonly raw: string;
  readonly document: TokenDocument;
}

/**
 * TikTok's answer to a refresh with code 0 and a refresh token. `document` when it is a token
 * document (`parseTokenDocument`); otherwise `problems` names what is missing or wrong. Either
 * way `raw` is TikTok's text, for the caller to keep before anything else can fail.
 */
export type TokenAnswer =
  | { readonly usable: true; readonly raw: string; readonly document: TokenDocument }
  | { readonly usable: false; readonly raw: string; readonly problems: readonly string[] };

/**
 * The one parser of the token document: for what TikTok answers, what the refresher stores,
 * what the next run reads back and what the reader module hands out.
 */
export function parseTokenDocument(
  text: string,
): { ok: true; value: TokenDocument } | { ok: false; problems: string[] } {
  return parseJson(text, TokenDocument);
}

/**
 * Parses JSON text against a schema. Returns the problems as "path: reason" strings that name
 * fields, never values: the text is a secret.
 */
export function parseJson<T>(
  text: string,
  schema: z.ZodMiniType<T>,
): { ok: true; value: T } | { ok: false; problems: string[] } {
  const json = tryJson(text);
  if (json === NOT_JSON) return { ok: false, problems: ['not valid JSON'] };
  const result = schema.safeParse(json);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, problems: result.error.issues.map((issue) => describeIssue(issue, json)) };
}

const NOT_JSON = Symbol('not JSON');

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // JSON.parse's own message quotes the input, so it is dropped on purpose.
    return NOT_JSON;
  }
}

/** Names the field and what is wrong with it; `input` is only looked at to tell "missing". */
export function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
  switch (issue.code) {
    case 'unrecognized_keys': {
      const fields = issue.keys.map((key) => `'${key}'`).join(', ');
      const prefix = issue.path.length > 0 ? `${where}: ` : '';
      return `${prefix}unknown field${issue.keys.length > 1 ? 's' : ''} ${fields}`;
    }
    case 'invalid_type':
      return valueAt(input, issue.path) === undefined
        ? `${where}: missing`
        : `${where}: must be ${withArticle(issue.expected === 'int' ? 'integer' : issue.expected)}`;
    default:
      return `${where}: ${issue.message === 'Invalid input' ? 'invalid' : issue.message}`;
  }
}

function withArticle(noun: string): string {
  return /^[aeiou]/.test(noun) ? `an ${noun}` : `a ${noun}`;
}

/** The value at `path` inside `input`, or undefined where the path leaves the objects. */
export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/**
 * Whether a JSON answer holds something that may be a refresh token, wherever it sits and
 * however its name is spelt (`refresh_token`, `refreshToken`…): an answer that does must be
 * kept even when nothing else in it can be read, since it may be the only one that still works.
 */
export function holdsRefreshToken(json: unknown, depth = 0): boolean {
  if (json === null || typeof json !== 'object' || depth > 8) return false;
  return Object.entries(json).some(
    ([key, value]) =>
      (key.toLowerCase().replace(/[^a-z]/g, '') === 'refreshtoken' &&
        value !== null &&
        value !== '' &&
        value !== false) ||
      holdsRefreshToken(value, depth + 1),
  );
}

/** The fields a stored token needs, kept first when an answer must be made smaller. */
const TOKEN_FIELDS = [
  'access_token',
  'access_token_expire_in',
  'refresh_token',
  'refresh_token_expire_in',
  'open_id',
  'seller_name',
] as const;
const ENVELOPE_FIELDS = ['code', 'message', 'request_id'] as const;
/** Marks a document the refresher made smaller than TikTok's answer. */
export const TRIMMED_FIELD = 'refresher_trimmed_from_bytes';

/**
 * TikTok's answer as it can be stored: unchanged when it fits in `limit` bytes. Otherwise the
 * envelope and the token's fields, then as many of the other `data` fields, in TikTok's order,
 * as still fit, plus `refresher_trimmed_from_bytes`; undefined when even that does not fit or
 * when the answer is not a JSON object that keeps a refresh token.
 */
export function fitToStore(
  raw: string,
  limit = MAX_STORED_BYTES,
): { text: string; trimmedFromBytes?: number } | undefined {
  const bytes = Buffer.byteLength(raw);
  if (bytes <= limit) return { text: raw };
  const json = tryJson(raw);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return undefined;
  const answer = json as Record<string, unknown>;
  const size = (key: string, value: unknown) =>
    Buffer.byteLength(`${JSON.stringify(key)}:${JSON.stringify(value)},`);

  const top: Record<string, unknown> = {};
  for (const key of ENVELOPE_FIELDS) if (key in answer) top[key] = answer[key];
  top[TRIMMED_FIELD] = bytes;
  let used = Buffer.byteLength(JSON.stringify(top));
  const data = answer.data;
  if (data !== null && typeof data === 'object' && !Array.isArray(data)) {
    const fields = data as Record<string, unknown>;
    const kept: Record<string, unknown> = {};
    used += size('data', {});
    const keys = [
      ...TOKEN_FIELDS.filter((key) => key in fields),
      ...Object.keys(fields).filter((key) => !(TOKEN_FIELDS as readonly string[]).includes(key)),
    ];
    for (const key of keys) {
      const needed = size(key, fields[key]);
      const essential = (TOKEN_FIELDS as readonly string[]).includes(key);
      if (!essential && used + needed > limit) continue;
      kept[key] = fields[key];
      used += needed;
    }
    top.data = kept;
  }
  // Anything else at the top level that fits, in TikTok's order (a changed shape may keep the
  // refresh token outside `data`).
  for (const [key, value] of Object.entries(answer)) {
    if (key in top || key === 'data') continue;
    const needed = size(key, value);
    if (used + needed > limit) continue;
    top[key] = value;
    used += needed;
  }
  const text = JSON.stringify(top);
  if (Buffer.byteLength(text) > limit || !holdsRefreshToken(top)) return undefined;
  return { text, trimmedFromBytes: bytes };
}

export function expiresAt(epochSecondsValue: number): string {
  return new Date(epochSecondsValue * 1000).toISOString();
}
