// The refresher's decisions about a stored token and TikTok's answer, as pure functions of plain
// values and the time: is it due, by when, may an answer become current. No I/O.
import { DEFAULTS } from '../shared/contract.js';
import {
  MalformedSecretError,
  ReauthorizationRequiredError,
  ShopDeauthorizedError,
} from '../shared/errors.js';
import type { StoredToken, StoredVersion } from '../shared/secrets-store.js';
import { deauthorizationInEffect } from '../shared/shop-state.js';
import {
  expiresAt,
  parseTokenDocument,
  type TokenAnswer,
  type TokenDocument,
} from '../shared/token.js';
import type { Shop } from './shops.js';

/**
 * TikTok's access tokens live 7 days. A token is refreshed as if it expired this long after its
 * version was stored at the latest, whatever expiry it states: an answer that drifted to a far
 * expiry is refreshed on the usual schedule (7 days minus the refresh window after it was stored)
 * instead of being trusted until it silently stops working.
 */
export const ACCESS_TOKEN_MAX_LIFE_SECONDS = 7 * 24 * 3600;

/** What makes a token due: a forced run, or the refresh window before its expiry. */
export interface DueRule {
  readonly force: boolean;
  readonly refreshBeforeExpirySeconds: number;
}

/**
 * When the access token is treated as expiring, epoch ms: its stated expiry, but no later than
 * ACCESS_TOKEN_MAX_LIFE_SECONDS after its version was stored (a store that does not know when,
 * like the local token file, leaves the stated expiry).
 */
export function refreshBy(token: TokenDocument, storedAt: number | undefined): number {
  const stated = token.data.access_token_expire_in * 1000;
  return storedAt === undefined
    ? stated
    : Math.min(stated, storedAt + ACCESS_TOKEN_MAX_LIFE_SECONDS * 1000);
}

export function isDue(refreshByMs: number, now: number, rule: DueRule): boolean {
  return rule.force || refreshByMs - now < rule.refreshBeforeExpirySeconds * 1000;
}

/** Throws when the stored refresh token has expired: only the seller authorizing again helps. */
export function checkRefreshTokenAlive(token: TokenDocument, now: number): void {
  if (token.data.refresh_token_expire_in * 1000 <= now) {
    throw new ReauthorizationRequiredError(
      `seller must authorize again: the stored refresh token expired at ${expiresAt(token.data.refresh_token_expire_in)}`,
    );
  }
}

/**
 * Throws when TikTok said the seller revoked the app (the webhook receiver's mark on the shop's
 * secret) and the token stored now (`currentCreatedAt`, epoch ms) is not from a newer connection:
 * its refresh token would only earn TikTok's refusal, so TikTok is not asked.
 */
export function checkNotDeauthorized(shop: Shop, currentCreatedAt: number | undefined): void {
  const mark = shop.deauthorized;
  if (!deauthorizationInEffect(mark, currentCreatedAt)) return;
  const at = expiresAt(mark.at);
  throw new ShopDeauthorizedError(
    `seller must authorize again: TikTok notified at ${at} (notification ${mark.notificationId}) that the seller revoked the app for shop ${shop.name}; TikTok was not called (a reconnect through the consent link or npm run authorize clears this)`,
    shop.name,
    at,
  );
}

/** Whether the seller's authorization (the refresh token) ends within the warning period. */
export function authorizationExpiring(token: TokenDocument, now: number): boolean {
  return (
    token.data.refresh_token_expire_in * 1000 - now < DEFAULTS.authorizationWarningSeconds * 1000
  );
}

export type Verdict =
  | { readonly current: true; readonly document: TokenDocument }
  | { readonly current: false; readonly reason: string; readonly sellerChanged: boolean };

/**
 * Whether an answer may become current, and why not: it is not a token document, its access
 * token no longer works, or it is another seller's (readers would act on that seller's shop).
 */
export function judge(answer: TokenAnswer, previous: TokenDocument, now: number): Verdict {
  if (!answer.usable) {
    const reason = `it is not a token document (${answer.problems.join('; ')})`;
    return { current: false, reason, sellerChanged: false };
  }
  const { data } = answer.document;
  if (data.access_token_expire_in * 1000 <= now) {
    const reason = `its access token had already expired (at ${expiresAt(data.access_token_expire_in)})`;
    return { current: false, reason, sellerChanged: false };
  }
  const before = previous.data.open_id;
  if (before !== undefined && data.open_id !== undefined && data.open_id !== before) {
    const reason =
      "names another seller (its open_id is not the stored token's): readers would act on that seller's shop";
    return { current: false, reason, sellerChanged: true };
  }
  return { current: true, document: answer.document };
}

/**
 * The pending version, if it is an interrupted write: written after the current version (a
 * label left behind on an older version does not count) and holding a valid token of the same
 * seller that outlives the current one. Another seller's token is never made current here, as
 * in `judge`: only an onboarding write interrupted before its compare-and-swap leaves one.
 */
export function interruptedWrite(
  stored: StoredToken,
  current: TokenDocument,
): { versionId: string; createdAt: number | undefined; token: TokenDocument } | undefined {
  const { pending } = stored;
  if (pending === undefined) return undefined;
  if ((pending.createdAt ?? 0) < (stored.current.createdAt ?? 0)) return undefined;
  const token = tryParseToken(pending.raw);
  if (token === undefined) return undefined;
  if (token.data.access_token_expire_in <= current.data.access_token_expire_in) return undefined;
  const [before, after] = [current.data.open_id, token.data.open_id];
  if (before !== undefined && after !== undefined && after !== before) return undefined;
  return { versionId: pending.versionId, createdAt: pending.createdAt, token };
}

/**
 * The answer an earlier run kept (not made current), when it was written at or after the current
 * token: it may hold the only refresh token that works, so TikTok must not be called (see
 * `refuseWhileAnswerKept`). A kept label left on an older version does not count.
 */
export function keptAnswerAhead(stored: StoredToken): StoredVersion | undefined {
  const { current, kept } = stored;
  if (kept === undefined || kept.versionId === current.versionId) return undefined;
  if ((kept.createdAt ?? 0) < (current.createdAt ?? 0)) return undefined;
  return kept;
}

/**
 * Whether someone else moved on from the version `basedOn` (see anotherWriterMovedOn): another
 * version is current, or a pending one was written at or after the current one.
 */
export function movedOn(latest: StoredToken, basedOn: string): boolean {
  if (latest.current.versionId !== basedOn) return true;
  const { pending } = latest;
  return pending !== undefined && (pending.createdAt ?? 0) >= (latest.current.createdAt ?? 0);
}

/** The token a shop's secret holds; a MalformedSecretError when it holds something else. */
export function parseStoredToken(raw: string, shop: Shop): TokenDocument {
  const parsed = parseTokenDocument(raw);
  if (!parsed.ok) {
    throw new MalformedSecretError(
      `secret ${shop.name} does not hold a TikTok token document (${parsed.problems.join('; ')}); TikTok was not called`,
    );
  }
  return parsed.value;
}

export function tryParseToken(raw: string): TokenDocument | undefined {
  const parsed = parseTokenDocument(raw);
  return parsed.ok ? parsed.value : undefined;
}
