// The events a connection publishes to the refresher's bus: `Shop Connected`, `Shop Connection
// Refused` and `Token Not Current`, never with a token or a code.
import { DETAIL_TYPE } from '../shared/contract.js';
import type { TokenNotCurrentError } from '../shared/errors.js';
import type { RefresherEvent } from '../shared/event-publisher.js';
import type { ConnectedShop } from './connect.js';
import type { ShopConnectionRefusedError } from './errors.js';

export type Via = 'consent-callback' | 'authorize-command';

/** `Shop Connected`: the shop (secret name), the seller and the expiries; never a token. */
export function shopConnectedEvent(connected: ConnectedShop, via: Via): RefresherEvent {
  return {
    detailType: DETAIL_TYPE.shopConnected,
    detail: {
      shop: connected.stored.name,
      shopName: connected.shop,
      app: connected.app,
      connection: connected.connection,
      openId: connected.openId,
      ...(connected.sellerName === undefined ? {} : { sellerName: connected.sellerName }),
      ...(connected.previousOpenId === undefined
        ? {}
        : { previousOpenId: connected.previousOpenId }),
      versionId: connected.stored.versionId,
      accessTokenExpiresAt: connected.accessTokenExpiresAt,
      refreshTokenExpiresAt: connected.refreshTokenExpiresAt,
      ...(connected.tiktokShopIds === undefined ? {} : { tiktokShopIds: connected.tiktokShopIds }),
      via,
    },
  };
}

/** `Shop Connection Refused`: the shop (secret name), the reason and what is known of the seller. */
export function shopConnectionRefusedEvent(
  secretName: string,
  refusal: ShopConnectionRefusedError,
  via: Via,
): RefresherEvent {
  const { shop: shopName, ...facts } = refusal.detail;
  return {
    detailType: DETAIL_TYPE.shopConnectionRefused,
    detail: {
      shop: secretName,
      ...(shopName === undefined ? {} : { shopName }),
      reason: refusal.reason,
      ...facts,
      message: refusal.message,
      via,
    },
  };
}

/**
 * `Token Not Current`, as the refresher publishes it for an answer it kept: TikTok's answer to
 * the code exchange could not be a token, and where it is kept.
 */
export function answerKeptEvent(
  secretName: string,
  shopName: string,
  app: string,
  error: TokenNotCurrentError,
  via: Via,
): RefresherEvent {
  return {
    detailType: DETAIL_TYPE.tokenNotCurrent,
    detail: {
      shop: secretName,
      shopName,
      app,
      errorType: error.errorType,
      message: error.message,
      ...error.kept,
      via,
    },
  };
}
