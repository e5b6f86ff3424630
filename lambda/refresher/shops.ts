// The shops a run covers: those configured by name and those found by tag, each bound to the
// TikTok app whose credentials refresh its token.
import { type AppsConfig, appTagOf, shopApp } from '../shared/apps.js';
import { DEFAULT_APP } from '../shared/contract.js';
import { InvalidEventError, listSome } from '../shared/errors.js';
import type { TaggedSecret } from '../shared/secrets-store.js';
import { shopFromId, type Shop as TokenSecret } from '../shared/shop.js';
import { type DeauthorizedMark, marksOf } from '../shared/shop-state.js';

/**
 * What the webhook receiver and onboarding left in the shop's secret's tags, when the run read
 * them (ListSecrets brings them for discovered shops; see marksOf in lambda/shared/shop-state.ts).
 */
export interface TagMarks {
  /** TikTok said the seller revoked the app; checked against the current token's age. */
  readonly deauthorized?: DeauthorizedMark;
  /** TikTok shop ids tagged on the secret; absent when none are, or its tags were not read. */
  readonly tiktokShopIds?: readonly string[];
}

/** A shop of a run: its token secret and the TikTok app whose credentials refresh its token. */
export interface Shop extends TokenSecret, TagMarks {
  /** @default DEFAULT_APP */
  readonly app?: string;
  /** Why the shop has no app this deployment knows: it fails with it, and every other shop runs. */
  readonly appProblem?: string;
}

/** A configured or discovered shop before its app is known: the app tag its secret carries. */
export interface ListedShop extends TokenSecret, TagMarks {
  readonly appTag?: string;
}

/**
 * Shops named in the configuration plus those found by tag, each once. A shop found by tag
 * keeps its secret's app tag and marks (TagMarks), also when it is configured by name as well.
 */
export function configuredShops(
  ids: readonly string[],
  discovered: readonly TaggedSecret[],
): ListedShop[] {
  const byName = new Map<string, ListedShop>();
  for (const shop of ids.map(shopFromId)) byName.set(shop.name, shop);
  for (const { name, arn, tags } of discovered) {
    const appTag = appTagOf(tags);
    const shop = { ...(byName.get(name) ?? { id: arn, name, arn }), ...marksOf(tags) };
    byName.set(name, appTag === undefined ? shop : { ...shop, appTag });
  }
  return [...byName.values()];
}

/**
 * Each shop with its app: its SHOP_APPS entry, else its secret's app tag, else DEFAULT_APP. A
 * shop bound to an app the deployment does not know carries the problem, naming the shop.
 */
export function withApps(shops: readonly ListedShop[], apps: AppsConfig): Shop[] {
  return shops.map(({ appTag, ...shop }) => {
    const bound = shopApp(apps, shop.name, appTag);
    return bound.ok ? { ...shop, app: bound.app } : { ...shop, appProblem: bound.problem };
  });
}

/** The app whose credentials refresh the shop's token. */
export function appOf(shop: Shop): string {
  return shop.app ?? DEFAULT_APP;
}

/** Names one message echoes of a list; the rest are counted. */
const NAMED = 5;
const CONFIGURED_NAMED = 20;

/**
 * The shops a run covers: all configured ones, or those a person asked for by name or ARN.
 * Asking for a shop that is not configured is an error, so a typo never silently does nothing;
 * the error names the first few unknown shops and counts the rest, however many were asked for.
 */
export function selectShops<S extends TokenSecret>(
  configured: readonly S[],
  requested?: readonly string[],
): S[] {
  if (requested === undefined) return [...configured];
  const byKey = new Map<string, S>();
  for (const shop of configured) {
    for (const key of [shop.name, shop.id, shop.arn]) {
      if (key !== undefined && !byKey.has(key)) byKey.set(key, shop);
    }
  }
  const unknown: string[] = [];
  const selected = new Map<string, S>();
  for (const wanted of requested) {
    const shop = byKey.get(wanted) ?? byKey.get(shopFromId(wanted).name);
    if (shop === undefined) unknown.push(wanted);
    else selected.set(shop.name, shop);
  }
  if (unknown.length > 0) {
    const known = configured.map((shop) => shop.name);
    throw new InvalidEventError(
      `invalid event: shops: not configured: ${listSome(unknown, NAMED)}; configured shops: ${known.length === 0 ? '(none)' : listSome(known, CONFIGURED_NAMED)}`,
    );
  }
  return [...selected.values()];
}
