// The shops a run covers: those configured by name and those found by tag, each bound to the
// TikTok app whose credentials refresh its token.
import { type AppsConfig, appTagOf, shopApp } from '../shared/apps.js';
import { DEFAULT_APP } from '../shared/contract.js';
import { InvalidEventError, listSome } from '../shared/errors.js';
import type { TaggedSecret } from '../shared/secrets-store.js';
import { shopFromId, type Shop as TokenSecret } from '../shared/shop.js';
import type { SurveyedShop } from '../shared/survey-source.js';

/** What the store's listing said of a shop's versions: lets a run read its token in a batch. */
export type ListedVersions = Pick<
  SurveyedShop,
  'currentVersionId' | 'current' | 'hasPending' | 'hasKept'
>;

/** A shop of a run: its token secret and the TikTok app whose credentials refresh its token. */
export interface Shop extends TokenSecret {
  /** @default DEFAULT_APP */
  readonly app?: string;
  /** Why the shop has no app this deployment knows: it fails with it, and every other shop runs. */
  readonly appProblem?: string;
  /** Its secret's tags as the store listed them this run; absent for a shop not listed. */
  readonly tags?: SurveyedShop['tags'];
  /** Absent for a shop not listed (then it is read in full). */
  readonly listed?: ListedVersions;
}

/** A configured or discovered shop before its app is known: the app tag its secret carries. */
export interface ListedShop extends Omit<Shop, 'app' | 'appProblem'> {
  readonly appTag?: string;
}

/**
 * Shops named in the configuration plus those found by tag, each once. A shop found by tag
 * keeps its secret's tags (its app tag among them) and what the listing said of its versions,
 * also when it is configured by name as well.
 */
export function configuredShops(
  ids: readonly string[],
  discovered: readonly (TaggedSecret | SurveyedShop)[],
): ListedShop[] {
  const byName = new Map<string, ListedShop>();
  for (const shop of ids.map(shopFromId)) byName.set(shop.name, shop);
  for (const secret of discovered) {
    const { name, arn, tags } = secret;
    const appTag = ('app' in secret ? secret.app : undefined) ?? appTagOf(tags);
    const shop = listedAs(
      byName.get(name) ?? { id: arn ?? name, name, ...(arn ? { arn } : {}) },
      secret,
    );
    byName.set(name, appTag === undefined ? shop : { ...shop, appTag });
  }
  return [...byName.values()];
}

/**
 * The shops with what the store listed of those it found by name: their tags and versions.
 * The app stays as configured (a shop configured by name is bound by SHOP_APPS or the default).
 */
export function withListing(
  shops: readonly ListedShop[],
  found: readonly SurveyedShop[],
): ListedShop[] {
  const byName = new Map(found.map((secret) => [secret.name, secret]));
  return shops.map((shop) => {
    const secret = byName.get(shop.name);
    return secret === undefined ? shop : listedAs(shop, secret);
  });
}

function listedAs(shop: ListedShop, secret: TaggedSecret | SurveyedShop): ListedShop {
  const { tags } = secret;
  const listed: ListedVersions | undefined =
    'hasPending' in secret
      ? {
          currentVersionId: secret.currentVersionId,
          hasPending: secret.hasPending,
          hasKept: secret.hasKept,
          ...(secret.current === undefined ? {} : { current: secret.current }),
        }
      : undefined;
  return {
    ...shop,
    ...(tags === undefined ? {} : { tags }),
    ...(listed === undefined ? {} : { listed }),
  };
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
