/**
 * The layout of a shop's item in the DynamoDB token table, and its translation to and from the
 * wire: one item per shop, the versions the Secrets Manager store keeps as labels kept as maps.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { type StoredToken, type StoredVersion, storedToken } from './secrets-store.js';
import { parseTokenDocument } from './token.js';

/** The partition key: the shop's name, as the Secrets Manager store names its secret. */
export const SHOP_KEY = 'shop';

/**
 * Attribute names, always sent through ExpressionAttributeNames (several are reserved words).
 * `current` is what readers use; `previous` is the current token before the last change;
 * `pending` a version stored but not made current (see TokenStore); `kept` an answer kept
 * apart, never current, never taken for an interrupted write.
 */
export const NAMES = {
  '#shop': SHOP_KEY,
  '#app': 'app',
  '#current': 'current',
  '#previous': 'previous',
  '#pending': 'pending',
  '#kept': 'kept',
  '#version': 'version',
  '#token': 'token',
  '#createdAt': 'createdAt',
  '#accessExpiresAt': 'accessExpiresAt',
  '#refreshExpiresAt': 'refreshExpiresAt',
} as const;

export type Slot = 'current' | 'previous' | 'pending' | 'kept';

/** The names the expressions use: DynamoDB refuses a request that defines one it does not use. */
export function namesFor(...expressions: readonly string[]): Record<string, string> {
  const used = new Set(expressions.join(' ').match(/#\w+/g));
  return Object.fromEntries(Object.entries(NAMES).filter(([name]) => used.has(name)));
}

/** What a read needs: the three versions the core looks at, not the previous token. */
export const READ_PROJECTION = '#shop, #current, #pending, #kept';

/**
 * What a survey needs to decide that a shop is not due without reading its token: the current
 * version's id, age and expiries, and whether a pending or kept version exists. A few dozen
 * bytes a shop on the wire instead of the tokens themselves.
 */
export const SURVEY_PROJECTION = [
  '#shop',
  '#app',
  '#current.#version',
  '#current.#createdAt',
  '#current.#accessExpiresAt',
  '#current.#refreshExpiresAt',
  '#pending.#version',
  '#kept.#version',
].join(', ');

/** A shop as a survey sees it, without any token. */
export interface ShopSurvey {
  readonly shop: string;
  /** The app whose credentials refresh this shop's token, when onboarding recorded it. */
  readonly app?: string;
  readonly currentVersionId: string;
  /** Epoch ms. */
  readonly currentCreatedAt: number;
  /** The current token's expiries, Unix seconds, when its document could be read at write time. */
  readonly accessExpiresAt?: number;
  readonly refreshExpiresAt?: number;
  /** A version other than the current one is pending: the shop must be read before it is skipped. */
  readonly hasPending: boolean;
  /** A kept answer sits beside the current version. */
  readonly hasKept: boolean;
}

export type Item = Record<string, AttributeValue>;

/** A version as a map attribute; the expiries are read from the token for the survey. */
export function versionAttribute(
  versionId: string,
  raw: string,
  createdAt: number,
): AttributeValue {
  const map: Item = {
    version: { S: versionId },
    token: { S: raw },
    createdAt: { N: String(createdAt) },
  };
  const parsed = parseTokenDocument(raw);
  if (parsed.ok) {
    map.accessExpiresAt = { N: String(parsed.value.data.access_token_expire_in) };
    map.refreshExpiresAt = { N: String(parsed.value.data.refresh_token_expire_in) };
  }
  return { M: map };
}

/** The version held in `slot`, or undefined when the item has none there. */
export function versionIn(item: Item, slot: Slot): StoredVersion | undefined {
  const map = item[slot]?.M;
  const versionId = map?.version?.S;
  const raw = map?.token?.S;
  if (versionId === undefined || raw === undefined) return undefined;
  const createdAt = numberOf(map?.createdAt);
  return createdAt === undefined ? { versionId, raw } : { versionId, raw, createdAt };
}

/** The item as the core sees a token; undefined for an item without a current token. */
export function tokenOf(item: Item): StoredToken | undefined {
  const current = versionIn(item, 'current');
  if (current === undefined) return undefined;
  return storedToken(current, versionIn(item, 'pending'), versionIn(item, 'kept'));
}

/** A projected survey item; undefined for an item without a current version. */
export function surveyOf(item: Item): ShopSurvey | undefined {
  const shop = item[SHOP_KEY]?.S;
  const current = item.current?.M;
  const currentVersionId = current?.version?.S;
  if (shop === undefined || currentVersionId === undefined) return undefined;
  const other = (slot: Slot) => {
    const versionId = item[slot]?.M?.version?.S;
    return versionId !== undefined && versionId !== currentVersionId;
  };
  const app = item.app?.S;
  const accessExpiresAt = numberOf(current?.accessExpiresAt);
  const refreshExpiresAt = numberOf(current?.refreshExpiresAt);
  return {
    shop,
    ...(app === undefined ? {} : { app }),
    currentVersionId,
    currentCreatedAt: numberOf(current?.createdAt) ?? 0,
    ...(accessExpiresAt === undefined ? {} : { accessExpiresAt }),
    ...(refreshExpiresAt === undefined ? {} : { refreshExpiresAt }),
    hasPending: other('pending'),
    hasKept: other('kept'),
  };
}

export function shopKey(shopId: string): Item {
  return { [SHOP_KEY]: { S: shopId } };
}

function numberOf(value: AttributeValue | undefined): number | undefined {
  const text = value?.N;
  if (text === undefined) return undefined;
  const parsed = Number(text);
  return Number.isFinite(parsed) ? parsed : undefined;
}
