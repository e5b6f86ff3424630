// The shops a run covers: those configured by name and those found by tag, each bound to the
// TikTok app whose credentials refresh its token.
import { type AppsConfig, appTagOf, shopApp } from '../shared/apps.js';
import { APPS_ENV, DEFAULT_APP, DEFAULT_APP_TAG_KEY } from '../shared/contract.js';
import { describeError, InvalidEventError, listSome } from '../shared/errors.js';
import type { SecretTags, TaggedSecret } from '../shared/secrets-store.js';
import { shopFromId, type Shop as TokenSecret } from '../shared/shop.js';
import { type DeauthorizedMark, marksOf } from '../shared/shop-state.js';
import type { SurveyedShop } from '../shared/survey-source.js';
import { mapWithConcurrency } from '../shared/timing.js';

/** What the store's listing said of a shop's versions: lets a run read its token in a batch. */
export type ListedVersions = Pick<
  SurveyedShop,
  'currentVersionId' | 'current' | 'hasPending' | 'hasKept'
>;

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
  /** Its secret's tags as the store listed them this run; absent for a shop not listed. */
  readonly tags?: SurveyedShop['tags'];
  /** Absent for a shop not listed (then it is read in full). */
  readonly listed?: ListedVersions;
}

/** A configured or discovered shop before its app is known: the app tag its secret carries. */
export interface ListedShop extends Omit<Shop, 'app' | 'appProblem'> {
  readonly appTag?: string;
  /** Its secret's tags were read (found by tag, or described): no `appTag` means no app tag. */
  readonly tagsRead?: boolean;
  /** Why its secret's tags could not be read: the shop fails with it, its app unknown. */
  readonly tagProblem?: string;
}

/**
 * Shops named in the configuration plus those found by tag, each once. A shop found by tag
 * keeps its secret's tags (its app tag and marks among them, see TagMarks) and what the listing
 * said of its versions, also when it is configured by name as well.
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
 * The app tags of the shops whose tags no listing brought (configured by name, in a run too
 * small to list them): one DescribeSecret per such shop and run, `concurrency` at a time. Readers follow a
 * secret's app tag, so the refresher must know it too. A secret that does not exist has no tags
 * (its read says it is missing); one whose tags cannot be read carries the problem.
 */
export async function learnAppTags(
  shops: readonly ListedShop[],
  tagsOf: (secretId: string) => Promise<SecretTags | undefined>,
  concurrency: number,
): Promise<ListedShop[]> {
  return mapWithConcurrency(shops, concurrency, async (shop): Promise<ListedShop> => {
    if (shop.tags !== undefined) {
      const appTag = appTagOf(shop.tags);
      return { ...shop, ...(appTag === undefined ? {} : { appTag }), tagsRead: true };
    }
    try {
      const tags = await tagsOf(shop.id);
      // No such secret: its read reports it missing, which says more than its app would.
      if (tags === undefined) return shop;
      const appTag = appTagOf(tags);
      return {
        ...shop,
        ...(appTag === undefined ? {} : { appTag }),
        ...marksOf(tags),
        tagsRead: true,
      };
    } catch (error) {
      const { errorType, message } = describeError(error);
      const tagProblem = `the tags of secret ${shop.name} could not be read, so its app (tag ${DEFAULT_APP_TAG_KEY}) is unknown: ${errorType}: ${message}`;
      return { ...shop, tagProblem };
    }
  });
}

/**
 * The shops with what the store listed of those it found by name: their tags and versions
 * (`learnAppTags` then reads their app tag from them).
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
    ...(tags === undefined ? {} : { tags, ...marksOf(tags) }),
    ...(listed === undefined ? {} : { listed }),
  };
}

/**
 * Each shop with its app: its SHOP_APPS entry, else its secret's app tag, else DEFAULT_APP. A
 * shop bound to an app the deployment does not know, or whose SHOP_APPS entry and app tag
 * disagree (readers follow the tag, so the two would sign with different apps), carries the
 * problem, naming the shop and both apps.
 */
export function withApps(shops: readonly ListedShop[], apps: AppsConfig): Shop[] {
  return shops.map(({ appTag, tagsRead, tagProblem, ...shop }) => {
    const problem = tagProblem ?? disagreement(apps, shop.name, appTag, tagsRead === true);
    if (problem !== undefined) return { ...shop, appProblem: problem };
    const bound = shopApp(apps, shop.name, appTag);
    return bound.ok ? { ...shop, app: bound.app } : { ...shop, appProblem: bound.problem };
  });
}

/** Why a shop's SHOP_APPS entry and its secret's app tag name different apps, if they do. */
function disagreement(
  apps: AppsConfig,
  name: string,
  appTag: string | undefined,
  tagsRead: boolean,
): string | undefined {
  const configured = apps.shopApps.get(name);
  if (configured === undefined || configured === (appTag ?? DEFAULT_APP)) return undefined;
  const bound = `shop ${name} is bound to app "${configured}" by ${APPS_ENV.shopApps} (the construct's shops)`;
  if (appTag !== undefined) {
    return `${bound}, but its token secret's tag ${DEFAULT_APP_TAG_KEY} names app ${JSON.stringify(appTag.slice(0, 40))}: readers follow the tag, so the two must agree; correct the tag or the binding`;
  }
  // Unread tags (a test's or an older caller's list) say nothing about the secret.
  if (!tagsRead) return undefined;
  return `${bound}, but its token secret carries no ${DEFAULT_APP_TAG_KEY} tag, so readers would use the default app's credentials: tag the secret ${DEFAULT_APP_TAG_KEY}=${configured}`;
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
