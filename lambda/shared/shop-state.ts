/**
 * A shop's authorization state as TikTok's webhooks report it, kept in tags on the shop's token
 * secret: value formats shared by the receiver, the refresher, the readers and onboarding (the tag
 * names are SHOP_STATE_TAG in contract.ts, which the construct's grants name too).
 */
import { SHOP_STATE_TAG } from './contract.js';

/** The tag key naming TikTok shop id `shopId`. */
export function shopIdTagKey(shopId: string): string {
  return `${SHOP_STATE_TAG.shopIdPrefix}${shopId}`;
}

export interface DeauthorizedMark {
  /** When TikTok sent the deauthorization, epoch seconds. */
  readonly at: number;
  readonly notificationId: string;
}

export function formatDeauthorizedMark(mark: DeauthorizedMark): string {
  return `${mark.at}:${mark.notificationId}`;
}

/** The mark a tag value holds; undefined for an absent or unreadable value (an operator's edit). */
export function parseDeauthorizedMark(value: string | undefined): DeauthorizedMark | undefined {
  const match = /^(\d{1,12}):(.+)$/.exec(value ?? '');
  if (match === null) return undefined;
  return { at: Number(match[1]), notificationId: match[2] as string };
}

type Tags = readonly { readonly Key?: string; readonly Value?: string }[] | undefined;

/** What a token secret's tags say of its shop, for the refresher and the readers. */
export interface ShopMarks {
  /** TikTok said the seller revoked the app (see `deauthorizationInEffect`). */
  readonly deauthorized?: DeauthorizedMark;
  /** The TikTok shop ids the token is known to cover; absent when none were learned yet. */
  readonly tiktokShopIds?: readonly string[];
}

export function marksOf(tags: Tags): ShopMarks {
  const deauthorized = parseDeauthorizedMark(
    tags?.find((tag) => tag.Key === SHOP_STATE_TAG.deauthorized)?.Value,
  );
  const tiktokShopIds = (tags ?? []).flatMap(({ Key: key }) =>
    key?.startsWith(SHOP_STATE_TAG.shopIdPrefix) === true
      ? [key.slice(SHOP_STATE_TAG.shopIdPrefix.length)]
      : [],
  );
  return {
    ...(deauthorized === undefined ? {} : { deauthorized }),
    ...(tiktokShopIds.length === 0 ? {} : { tiktokShopIds }),
  };
}

/**
 * Whether a deauthorized mark still holds for the token stored at `currentCreatedAt` (epoch ms;
 * undefined when the store does not say): a token stored after TikTok's notification comes from
 * a new authorization, which makes the mark moot even if onboarding could not remove it. The
 * receiver refuses a notification older than the current token by the same comparison.
 */
export function deauthorizationInEffect(
  mark: DeauthorizedMark | undefined,
  currentCreatedAt: number | undefined,
): mark is DeauthorizedMark {
  if (mark === undefined) return false;
  return currentCreatedAt === undefined || currentCreatedAt <= mark.at * 1000;
}
