import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import * as z from 'zod/mini';
import { AUTHORIZED_SHOPS_PATH } from '../shared/authorized-shops.js';
import {
  API_READER_ENV,
  DETAIL_TYPE,
  EVENT_SOURCE,
  SHOP_TOKEN_SECRET_ID,
} from '../shared/contract.js';
import { ConfigurationError, describeError, UnexpectedResponseError } from '../shared/errors.js';
import { shopFromId } from '../shared/shop.js';
import { describeIssue } from '../shared/token.js';
import { tiktokShopApi } from './api-client.js';
import type { TikTokShopApi } from './api-request.js';
import { getShopToken, type ReadOptions } from './secrets.js';

/**
 * An example of a Lambda function that calls the TikTok Shop API for a shop, for teams writing
 * their own.
 *
 * - Invoked any other way than below, it calls `GET /authorization/202309/shops` through the
 *   reader's client (signed, the token in its header) and answers the shops the token may act
 *   for: id, name, region and seller type, never a token, a cipher or a secret.
 * - Invoked by an EventBridge rule on the refresher's `Token Refreshed` event for its shop, it
 *   reads the secret bypassing the cache and forgets the shops it looked up, so its next calls
 *   use the new token at once. An event reaches one execution environment only; the others catch
 *   up when their cache ages out (60 s) or when TikTok refuses their token, which the client
 *   handles by reading the secret again.
 *
 * Env: SHOP_TOKEN_SECRET_ID (the shop's token secret), TIKTOK_API_BASE_URL
 * (https://open-api.tiktokglobalshop.com unless pointed elsewhere) and, for a shop of the
 * default app, APP_CREDENTIALS_SECRET_ID. Without it the client finds the shop's app from the
 * token secret's `tiktok-shop-app` tag and reads that app's credentials beside the token secret.
 * On the DynamoDB token table: TOKEN_TABLE_NAME and SHOP_NAME instead of SHOP_TOKEN_SECRET_ID,
 * and APP_CREDENTIALS_SECRET_ID always.
 * IAM: the refresher construct's grantApiAccess (the token secret, DescribeSecret included, and
 * the app's credentials; kms:Decrypt through Secrets Manager for a customer-managed key).
 */

export { SHOP_TOKEN_SECRET_ID };

/** A shop the token may act for, as TikTok lists it, without its cipher. */
export interface ActingShop {
  readonly id: string;
  readonly name: string;
  readonly region: string;
  readonly sellerType?: string;
}

export interface ReaderResult {
  /** The shop's secret name, as the refresher's events name it. */
  readonly shop: string;
  readonly accessTokenExpiresAt?: string;
  /** The shops TikTok says the token may act for. */
  readonly shops?: readonly ActingShop[];
  /** Set for a `Token Refreshed` event: whether it concerned this reader's shop. */
  readonly cacheRefreshed?: boolean;
}

const TokenRefreshed = z.looseObject({
  source: z.literal(EVENT_SOURCE),
  'detail-type': z.literal(DETAIL_TYPE.tokenRefreshed),
  detail: z.looseObject({ shop: z.string() }),
});

const AuthorizedShops = z.looseObject({
  shops: z.array(
    z.looseObject({
      id: z.string(),
      name: z.string(),
      region: z.string(),
      seller_type: z.optional(z.string()),
    }),
  ),
});

export interface ReadShopOptions extends ReadOptions {
  /** Epoch ms after which the client starts no attempt. */
  readonly deadline?: number;
}

export async function readShop(
  event: unknown,
  api: TikTokShopApi,
  secretId: string,
  options: ReadShopOptions = {},
): Promise<ReaderResult> {
  const shop = shopFromId(secretId).name;
  const refreshed = TokenRefreshed.safeParse(event);
  if (refreshed.success) {
    if (refreshed.data.detail.shop !== shop) return { shop, cacheRefreshed: false };
    const token = await getShopToken(secretId, { ...options, forceFetch: true });
    api.forgetShops();
    return {
      shop,
      accessTokenExpiresAt: token.accessTokenExpiresAt.toISOString(),
      cacheRefreshed: true,
    };
  }

  const data = await api.get(
    AUTHORIZED_SHOPS_PATH,
    options.deadline === undefined ? {} : { deadline: options.deadline },
  );
  const parsed = AuthorizedShops.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => describeIssue(issue, data));
    throw new UnexpectedResponseError(
      `TikTok listed the authorized shops in a shape this reader does not know (${problems.join('; ')})`,
    );
  }
  // Served from the cache the call just filled: no second read.
  const token = await getShopToken(secretId, options);
  return {
    shop,
    accessTokenExpiresAt: token.accessTokenExpiresAt.toISOString(),
    shops: parsed.data.shops.map((entry) => ({
      id: entry.id,
      name: entry.name,
      region: entry.region,
      ...(entry.seller_type === undefined ? {} : { sellerType: entry.seller_type }),
    })),
  };
}

const logger = new Logger();
/** Built on the first invocation, then kept with its caches for the execution environment. */
let api: TikTokShopApi | undefined;

/** What the function leaves for logging and its own answer when it runs out of time. */
const MARGIN_MS = 1_000;

export const handler = async (event: unknown, context: Context): Promise<ReaderResult> => {
  logger.addContext(context);
  // On the token table the shop is its item's key, and the client reads the table's settings.
  const onTable = Boolean(process.env[API_READER_ENV.tokenTableName]);
  const idName = onTable ? API_READER_ENV.shopName : SHOP_TOKEN_SECRET_ID;
  const secretId = process.env[idName];
  if (!secretId) throw new ConfigurationError(`${idName} is required`);
  api ??= onTable ? tiktokShopApi() : tiktokShopApi({ tokenSecretId: secretId });
  try {
    const result = await readShop(event, api, secretId, {
      deadline: Date.now() + context.getRemainingTimeInMillis() - MARGIN_MS,
    });
    logger.info('shops read', { ...result });
    return result;
  } catch (error) {
    logger.error('TikTok Shop API call failed', describeError(error));
    throw error;
  }
};
