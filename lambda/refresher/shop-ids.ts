// After a refresh, the TikTok shop ids a shop's token covers, for a shop whose secret names none
// (onboarding could not learn them): learned once, so that TikTok's webhooks find the shop.
import { describeError } from '../shared/errors.js';
import type { Logger } from '../shared/observability.js';
import type { AppCredentials, TokenDocument } from '../shared/token.js';
import type { ShopReport } from './reports.js';
import { appOf, type Shop } from './shops.js';

export interface ShopIdsPort {
  /** The shop ids an access token covers (Get Authorized Shops); nothing goes on past `deadline`. */
  lookUp(credentials: AppCredentials, accessToken: string, deadline: number): Promise<string[]>;
  /** Tags the shop's secret with each id. */
  tag(shop: Shop, ids: readonly string[]): Promise<void>;
}

/** The token to learn a shop's ids with: a shop refreshed now whose secret names no shop id. */
export function tokenToLearnWith(shop: Shop, report: ShopReport): TokenDocument | undefined {
  if (report.result.outcome !== 'refreshed' || shop.tiktokShopIds !== undefined) return undefined;
  return report.inEffect;
}

/**
 * One Get Authorized Shops and one TagResource; a failure is logged and left to the shop's next
 * refresh, never reported as the shop's: its token is refreshed and stored already.
 */
export async function learnShopIds(
  shop: Shop,
  token: TokenDocument,
  deps: {
    readonly port: ShopIdsPort;
    readonly credentials: (app: string) => Promise<AppCredentials>;
    readonly deadline: number;
    readonly logger: Logger;
  },
): Promise<void> {
  try {
    const credentials = await deps.credentials(appOf(shop));
    const ids = await deps.port.lookUp(credentials, token.data.access_token, deps.deadline);
    await deps.port.tag(shop, ids);
    deps.logger.info('TikTok shop ids learned', { shop: shop.name, tiktokShopIds: ids });
  } catch (error) {
    const { errorType, message } = describeError(error);
    deps.logger.warn('TikTok shop ids not learned; the next refresh tries again', {
      shop: shop.name,
      errorType,
      errorMessage: message,
    });
  }
}

/** After a shop's report: its shop ids learned, when it was refreshed and its secret names none. */
export async function learnShopIdsAfter(
  shop: Shop,
  report: ShopReport,
  deps: Parameters<typeof learnShopIds>[2],
): Promise<void> {
  const token = tokenToLearnWith(shop, report);
  if (token !== undefined) await learnShopIds(shop, token, deps);
}
