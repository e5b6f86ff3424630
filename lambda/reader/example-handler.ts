import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import * as z from 'zod/mini';
import { DETAIL_TYPE, EVENT_SOURCE, SHOP_TOKEN_SECRET_ID } from '../shared/contract.js';
import { ConfigurationError } from '../shared/errors.js';
import { shopFromId } from '../shared/shop.js';
import { getShopToken, type ReadOptions, withShopToken } from './index.js';

/**
 * An example of a Lambda function that uses a shop's token, for teams writing their own.
 *
 * - Invoked by an EventBridge rule on the refresher's `Token Refreshed` event for its shop, it
 *   reads the secret bypassing the cache, so its next reads return the new token at once. An
 *   event reaches one execution environment only; the others catch up when their cache ages out
 *   (60 s) or when TikTok refuses their token, which `withShopToken` handles.
 * - Invoked any other way, it reads the token through `withShopToken`, where a real reader would
 *   call the TikTok Shop API, and returns facts that are not secret.
 *
 * Env: SHOP_TOKEN_SECRET_ID (name or ARN of the shop's token secret).
 * IAM: secretsmanager:GetSecretValue on that secret.
 */

export { SHOP_TOKEN_SECRET_ID };

export interface ReaderResult {
  /** The shop's secret name, as the refresher's events name it. */
  readonly shop: string;
  readonly accessTokenExpiresAt?: string;
  /** Set for a `Token Refreshed` event: whether it concerned this reader's shop. */
  readonly cacheRefreshed?: boolean;
}

const TokenRefreshed = z.looseObject({
  source: z.literal(EVENT_SOURCE),
  'detail-type': z.literal(DETAIL_TYPE.tokenRefreshed),
  detail: z.looseObject({ shop: z.string() }),
});

export async function readShop(
  event: unknown,
  secretId: string,
  options: ReadOptions = {},
): Promise<ReaderResult> {
  const shop = shopFromId(secretId).name;
  const refreshed = TokenRefreshed.safeParse(event);
  if (refreshed.success) {
    if (refreshed.data.detail.shop !== shop) return { shop, cacheRefreshed: false };
    const token = await getShopToken(secretId, { ...options, forceFetch: true });
    return {
      shop,
      accessTokenExpiresAt: token.accessTokenExpiresAt.toISOString(),
      cacheRefreshed: true,
    };
  }
  return withShopToken(
    secretId,
    // A real reader calls the TikTok Shop API here with the access token (first argument).
    async (_accessToken, token) => ({
      shop,
      accessTokenExpiresAt: token.accessTokenExpiresAt.toISOString(),
    }),
    options,
  );
}

const logger = new Logger();

export const handler = async (event: unknown, context: Context): Promise<ReaderResult> => {
  logger.addContext(context);
  const secretId = process.env[SHOP_TOKEN_SECRET_ID];
  if (!secretId) throw new ConfigurationError(`${SHOP_TOKEN_SECRET_ID} is required`);
  const result = await readShop(event, secretId);
  logger.info('shop token read', { ...result });
  return result;
};
