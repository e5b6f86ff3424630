import { getSecret, type SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { AppCredentials } from '../shared/credentials.js';
import { MalformedSecretError, secretReadError } from '../shared/errors.js';
import {
  AppCredentials as AppCredentialsSchema,
  parseJson,
  parseTokenDocument,
} from '../shared/token.js';
import { checkNotDeauthorized } from './deauthorization.js';
import { ShopTokenExpiredError } from './errors.js';
import { readTableToken, type TokenTableProvider, tokenTableOf } from './token-table.js';

/**
 * Reads of the secrets a reader uses, through Powertools Parameters: an in-memory cache of
 * `maxAge` seconds per execution environment, bypassed with `forceFetch`. What is handed back
 * never holds the refresh token; the parsed document it came from is dropped after the read.
 */

/**
 * Seconds a token stays cached. Short on purpose: it costs one GetSecretValue a minute per
 * execution environment, and a reauthorized shop reaches every reader within a minute.
 */
export const DEFAULT_MAX_AGE_SECONDS = 60;

/** What a reader gets: the access token and facts about it, never the refresh token. */
export interface ShopToken {
  readonly accessToken: string;
  readonly accessTokenExpiresAt: Date;
  readonly sellerName?: string;
  readonly openId?: string;
}

export interface ReadOptions {
  /** Seconds a read is served from the cache. @default 60 */
  readonly maxAge?: number;
  /** Skip the cache and read Secrets Manager now (the new value is cached). @default false */
  readonly forceFetch?: boolean;
  /**
   * A provider whose client points elsewhere (a local endpoint in tests, another region).
   * @default Powertools' shared provider, used through `getSecret`
   */
  readonly provider?: SecretsProvider;
  /** Epoch ms, for deciding whether a cached token has expired. @default Date.now */
  readonly now?: () => number;
  /**
   * The DynamoDB token table the token is read from; the id is then the shop's name.
   * @default TOKEN_TABLE_NAME; unset: the id is a token secret
   */
  readonly tableName?: string;
  /** A table provider whose client points elsewhere (a local endpoint in tests). */
  readonly tableProvider?: TokenTableProvider;
}

/**
 * Reads a shop's token, from the cache when it is fresh enough. A cached token that has already
 * expired by the clock is never returned: the secret is read again once, and if that token has
 * expired too, ShopTokenExpiredError says so instead of letting TikTok refuse it. A shop whose
 * seller revoked the app (TikTok's webhook, recorded on the secret; looked at as often as the
 * token is read) fails with ShopDeauthorizedError, until the seller authorizes again (not on the
 * DynamoDB token table, which keeps no such mark).
 */
export async function getShopToken(
  secretId: string,
  options: ReadOptions = {},
): Promise<ShopToken> {
  const now = options.now ?? Date.now;
  // The deauthorized mark is a tag on a token secret: a shop of the token table has none.
  const onTable = tokenTableOf(options) !== undefined;
  const [, read] = await Promise.all([
    onTable
      ? undefined
      : checkNotDeauthorized(secretId, {
          ...(options.provider === undefined ? {} : { provider: options.provider }),
          maxAgeMs: (options.maxAge ?? DEFAULT_MAX_AGE_SECONDS) * 1000,
          forceFetch: options.forceFetch ?? false,
          now,
        }),
    readToken(secretId, options),
  ]);
  let token = read;
  if (token.accessTokenExpiresAt.getTime() <= now() && options.forceFetch !== true) {
    token = await readToken(secretId, { ...options, forceFetch: true });
  }
  if (token.accessTokenExpiresAt.getTime() <= now()) {
    throw new ShopTokenExpiredError(
      `the access token in secret ${secretId} expired at ${token.accessTokenExpiresAt.toISOString()} and has not been renewed; check the refresher (the seller may need to authorize again)`,
    );
  }
  return token;
}

/** The app's key and secret, which sign every Open API request. */
export async function readAppCredentials(
  secretId: string,
  options: ReadOptions = {},
): Promise<AppCredentials> {
  const parsed = parseJson(
    await readText(secretId, options, 'app credentials'),
    AppCredentialsSchema,
  );
  if (!parsed.ok) {
    throw new MalformedSecretError(
      `secret ${secretId} does not hold the app credentials {"app_key","app_secret"} (${parsed.problems.join('; ')})`,
    );
  }
  return parsed.value;
}

async function readToken(secretId: string, options: ReadOptions): Promise<ShopToken> {
  const table = tokenTableOf(options);
  const where = table === undefined ? `secret ${secretId}` : `shop ${secretId} of table ${table}`;
  const text =
    table === undefined
      ? await readText(secretId, options, 'a token document')
      : textOf(
          await readTableToken(table, secretId, {
            ...cacheOptions(options),
            ...(options.tableProvider === undefined
              ? {}
              : { tableProvider: options.tableProvider }),
          }),
          where,
          'a token document',
        );
  const parsed = parseTokenDocument(text);
  if (!parsed.ok) {
    throw new MalformedSecretError(
      `${where} does not hold a TikTok token document (${parsed.problems.join('; ')})`,
    );
  }
  const { data } = parsed.value;
  return {
    accessToken: data.access_token,
    accessTokenExpiresAt: new Date(data.access_token_expire_in * 1000),
    ...(data.seller_name === undefined ? {} : { sellerName: data.seller_name }),
    ...(data.open_id === undefined ? {} : { openId: data.open_id }),
  };
}

function cacheOptions(options: ReadOptions): { maxAge: number; forceFetch: boolean } {
  return {
    maxAge: options.maxAge ?? DEFAULT_MAX_AGE_SECONDS,
    forceFetch: options.forceFetch ?? false,
  };
}

function textOf(value: unknown, where: string, holds: string): string {
  if (typeof value !== 'string') {
    throw new MalformedSecretError(
      `${where} holds ${value === undefined ? 'no value' : 'binary data'}, not ${holds}`,
    );
  }
  return value;
}

async function readText(secretId: string, options: ReadOptions, holds: string): Promise<string> {
  const getOptions = cacheOptions(options);
  let value: unknown;
  try {
    value =
      options.provider === undefined
        ? await getSecret(secretId, getOptions)
        : await options.provider.get(secretId, getOptions);
  } catch (error) {
    throw secretReadError(secretId, error);
  }
  return textOf(value, `secret ${secretId}`, holds);
}
