import * as z from 'zod/mini';

/**
 * The token secret holds TikTok's last successful answer, unchanged (readers depend on it):
 * {"code":0,"message":"success","data":{"access_token":…,"access_token_expire_in":…,…},…}.
 * Only the fields the refresher relies on are checked; everything else is kept as TikTok sent it.
 */

// Expiry fields are absolute Unix seconds. A small number is a duration (a common bug in public
// code), a 13-digit one is milliseconds: both would make every due-date decision wrong.
const epochSeconds = z
  .int()
  .check(
    z.gte(1_000_000_000, 'must be an absolute Unix timestamp in seconds, not a duration'),
    z.lt(100_000_000_000, 'must be in seconds, not milliseconds'),
  );
const nonEmpty = z.string().check(z.minLength(1, 'must not be empty'));

const TokenData = z.looseObject({
  access_token: nonEmpty,
  access_token_expire_in: epochSeconds,
  refresh_token: nonEmpty,
  refresh_token_expire_in: epochSeconds,
  seller_name: z.optional(z.string()),
  open_id: z.optional(z.string()),
});

export const TokenDocument = z.looseObject({
  code: z.literal(0, 'must be 0'),
  message: z.optional(z.string()),
  data: TokenData,
  request_id: z.optional(z.string()),
});
export type TokenDocument = z.infer<typeof TokenDocument>;

export const AppCredentials = z.looseObject({ app_key: nonEmpty, app_secret: nonEmpty });
export type AppCredentials = z.infer<typeof AppCredentials>;

/** TikTok's envelope, success or not; `data` is checked separately once `code` is known. */
export const TikTokEnvelope = z.looseObject({
  code: z.number(),
  message: z.optional(z.string()),
  request_id: z.optional(z.string()),
});

/** A token exactly as stored: the raw JSON text plus what was parsed from it. */
export interface ParsedToken {
  readonly raw: string;
  readonly document: TokenDocument;
}

/**
 * Parses JSON text against a schema. Returns the problems as "path: reason" strings that name
 * fields, never values: the text is a secret.
 */
export function parseJson<T>(
  text: string,
  schema: z.ZodMiniType<T>,
): { ok: true; value: T } | { ok: false; problems: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // JSON.parse's own message quotes the input, so it is dropped on purpose.
    return { ok: false, problems: ['not valid JSON'] };
  }
  const result = schema.safeParse(json);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, problems: result.error.issues.map((issue) => describeIssue(issue, json)) };
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

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

export function expiresAt(epochSecondsValue: number): string {
  return new Date(epochSecondsValue * 1000).toISOString();
}
