import { describe, expect, it } from 'vitest';
import type { Shop } from '../../../lambda/refresher/shops.js';
import {
  ACCESS_TOKEN_MAX_LIFE_SECONDS,
  authorizationExpiring,
  checkNotDeauthorized,
  checkRefreshTokenAlive,
  interruptedWrite,
  isDue,
  judge,
  keptAnswerAhead,
  movedOn,
  parseStoredToken,
  refreshBy,
  tryParseToken,
} from '../../../lambda/refresher/token-policy.js';
import { DEFAULTS } from '../../../lambda/shared/contract.js';
import {
  MalformedSecretError,
  ReauthorizationRequiredError,
  ShopDeauthorizedError,
} from '../../../lambda/shared/errors.js';
import type { StoredToken, StoredVersion } from '../../../lambda/shared/secrets-store.js';
import type { TokenAnswer, TokenDocument } from '../../../lambda/shared/token.js';

const HOUR = 3600;
const DAY = 24 * HOUR;
/** Epoch ms of "now" in every test: 2026-01-01T00:00:00Z. */
const NOW = Date.UTC(2026, 0, 1);
const NOW_S = NOW / 1000;
const SHOP: Shop = { id: 'tiktok-shop/tokens/acme', name: 'tiktok-shop/tokens/acme' };

/** A token document whose access and refresh tokens end at the given epoch seconds. */
function token(
  accessExpiresAt: number,
  options: { refreshExpiresAt?: number; openId?: string; refreshToken?: string } = {},
): TokenDocument {
  return {
    code: 0,
    message: 'success',
    data: {
      access_token: 'at',
      access_token_expire_in: accessExpiresAt,
      refresh_token: options.refreshToken ?? 'rt',
      refresh_token_expire_in: options.refreshExpiresAt ?? NOW_S + 300 * DAY,
      ...(options.openId === undefined ? {} : { open_id: options.openId }),
    },
  };
}

function version(versionId: string, createdAt: number | undefined, raw = '{}'): StoredVersion {
  return createdAt === undefined ? { versionId, raw } : { versionId, raw, createdAt };
}

function usable(document: TokenDocument): TokenAnswer {
  return { usable: true, raw: JSON.stringify(document), document };
}

describe('Constant: ACCESS_TOKEN_MAX_LIFE_SECONDS', () => {
  it("is TikTok's seven-day access token life", () => {
    expect(ACCESS_TOKEN_MAX_LIFE_SECONDS).toBe(7 * DAY);
  });
});

describe('Function: refreshBy', () => {
  it('is the stated expiry when the store does not know when the token was stored', () => {
    expect(refreshBy(token(NOW_S + 30 * DAY), undefined)).toBe(NOW + 30 * DAY * 1000);
  });

  it('is the stated expiry when it comes before seven days after the token was stored', () => {
    const storedAt = NOW - DAY * 1000;

    expect(refreshBy(token(NOW_S + 5 * DAY), storedAt)).toBe(NOW + 5 * DAY * 1000);
  });

  it('is seven days after the token was stored when the stated expiry drifted later', () => {
    const storedAt = NOW - DAY * 1000;

    expect(refreshBy(token(NOW_S + 30 * DAY), storedAt)).toBe(storedAt + 7 * DAY * 1000);
  });
});

describe('Function: isDue', () => {
  const rule = { force: false, refreshBeforeExpirySeconds: 2 * DAY };

  it('is due once the refresh-by time is less than the refresh window away', () => {
    expect(isDue(NOW + 2 * DAY * 1000 - 1, NOW, rule)).toBe(true);
  });

  it('is not due while the refresh-by time is exactly the refresh window away or more', () => {
    expect(isDue(NOW + 2 * DAY * 1000, NOW, rule)).toBe(false);
    expect(isDue(NOW + 6 * DAY * 1000, NOW, rule)).toBe(false);
  });

  it('is due when the access token already expired', () => {
    expect(isDue(NOW - 1, NOW, rule)).toBe(true);
  });

  it('is due however far the expiry when the run is forced', () => {
    expect(isDue(NOW + 6 * DAY * 1000, NOW, { ...rule, force: true })).toBe(true);
  });
});

describe('Function: checkRefreshTokenAlive', () => {
  it('accepts a refresh token until the second it expires', () => {
    expect(() =>
      checkRefreshTokenAlive(token(NOW_S + HOUR, { refreshExpiresAt: NOW_S + 1 }), NOW),
    ).not.toThrow();
  });

  it('asks the seller to authorize again from the second the refresh token expires', () => {
    const expired = token(NOW_S + HOUR, { refreshExpiresAt: NOW_S });

    expect(() => checkRefreshTokenAlive(expired, NOW)).toThrow(ReauthorizationRequiredError);
    expect(() => checkRefreshTokenAlive(expired, NOW)).toThrow(
      'seller must authorize again: the stored refresh token expired at 2026-01-01T00:00:00.000Z',
    );
  });
});

describe('Function: checkNotDeauthorized', () => {
  const mark = { at: NOW_S, notificationId: 'n-6' };

  it('refuses a shop marked deauthorized whose token was stored before the notification', () => {
    const marked = { ...SHOP, deauthorized: mark };

    expect(() => checkNotDeauthorized(marked, NOW - 1_000)).toThrow(ShopDeauthorizedError);
    expect(() => checkNotDeauthorized(marked, NOW)).toThrow(
      'seller must authorize again: TikTok notified at 2026-01-01T00:00:00.000Z (notification n-6) that the seller revoked the app for shop tiktok-shop/tokens/acme',
    );
  });

  it('refuses a marked shop when the store does not say when its token was stored', () => {
    expect(() => checkNotDeauthorized({ ...SHOP, deauthorized: mark }, undefined)).toThrow(
      ShopDeauthorizedError,
    );
  });

  it('accepts a shop whose token was stored after the notification (connected again)', () => {
    expect(() => checkNotDeauthorized({ ...SHOP, deauthorized: mark }, NOW + 1)).not.toThrow();
  });

  it('accepts a shop without a mark', () => {
    expect(() => checkNotDeauthorized(SHOP, undefined)).not.toThrow();
  });

  it('names the shop and when TikTok sent the notification on the error', () => {
    try {
      checkNotDeauthorized({ ...SHOP, deauthorized: mark }, undefined);
    } catch (error) {
      expect(error).toMatchObject({
        shop: SHOP.name,
        deauthorizedAt: '2026-01-01T00:00:00.000Z',
        errorType: 'ShopDeauthorizedError',
        retryable: false,
        failsInvocation: false,
      });
      return;
    }
    throw new Error('expected a ShopDeauthorizedError');
  });
});

describe('Function: authorizationExpiring', () => {
  const warning = DEFAULTS.authorizationWarningSeconds;

  it('warns when the refresh token ends within the warning period', () => {
    const ending = token(NOW_S + HOUR, { refreshExpiresAt: NOW_S + warning - 1 });

    expect(authorizationExpiring(ending, NOW)).toBe(true);
  });

  it('does not warn when the refresh token ends exactly at the warning period or later', () => {
    expect(
      authorizationExpiring(token(NOW_S + HOUR, { refreshExpiresAt: NOW_S + warning }), NOW),
    ).toBe(false);
    expect(
      authorizationExpiring(token(NOW_S + HOUR, { refreshExpiresAt: NOW_S + 300 * DAY }), NOW),
    ).toBe(false);
  });
});

describe('Function: judge', () => {
  const previous = token(NOW_S + HOUR, { openId: 'seller-1' });

  it('makes a usable answer of the same seller current', () => {
    const document = token(NOW_S + 7 * DAY, { openId: 'seller-1' });

    expect(judge(usable(document), previous, NOW)).toEqual({ current: true, document });
  });

  it('makes an answer current when either side does not name its seller', () => {
    const unnamed = token(NOW_S + 7 * DAY);

    expect(judge(usable(unnamed), previous, NOW).current).toBe(true);
    expect(judge(usable(previous), token(NOW_S + HOUR), NOW).current).toBe(true);
  });

  it('keeps an answer that is not a token document, naming its problems', () => {
    const answer: TokenAnswer = {
      usable: false,
      raw: '{"code":0,"data":{}}',
      problems: ['data.access_token: missing', 'data.refresh_token: missing'],
    };

    expect(judge(answer, previous, NOW)).toEqual({
      current: false,
      reason:
        'it is not a token document (data.access_token: missing; data.refresh_token: missing)',
      sellerChanged: false,
    });
  });

  it('keeps an answer whose access token has already expired', () => {
    const expired = token(NOW_S, { openId: 'seller-1' });

    expect(judge(usable(expired), previous, NOW)).toEqual({
      current: false,
      reason: 'its access token had already expired (at 2026-01-01T00:00:00.000Z)',
      sellerChanged: false,
    });
  });

  it("keeps another seller's answer and says the seller changed", () => {
    const other = token(NOW_S + 7 * DAY, { openId: 'seller-2' });

    const verdict = judge(usable(other), previous, NOW);

    expect(verdict.current).toBe(false);
    expect(verdict).toMatchObject({ sellerChanged: true });
    expect(verdict).toHaveProperty('reason', expect.stringContaining('names another seller'));
  });
});

describe('Function: interruptedWrite', () => {
  const current = token(NOW_S + HOUR, { openId: 'seller-1' });
  const newer = token(NOW_S + 7 * DAY, { openId: 'seller-1', refreshToken: 'rt-new' });

  /** The current version written a day ago (`currentAt` null: a store without times). */
  function stored(
    pending: StoredVersion | undefined,
    currentAt: number | null = NOW - DAY * 1000,
  ): StoredToken {
    const base = { current: version('v1', currentAt ?? undefined, JSON.stringify(current)) };
    return pending === undefined ? base : { ...base, pending };
  }

  it('finds a newer token of the same seller written after the current one', () => {
    const pending = version('v2', NOW - HOUR * 1000, JSON.stringify(newer));

    expect(interruptedWrite(stored(pending), current)).toEqual({
      versionId: 'v2',
      createdAt: NOW - HOUR * 1000,
      token: newer,
    });
  });

  it('counts a write at the same time as the current one, or in a store without times', () => {
    const sameTime = version('v2', NOW - DAY * 1000, JSON.stringify(newer));
    const untimed = version('v2', undefined, JSON.stringify(newer));

    expect(interruptedWrite(stored(sameTime), current)?.versionId).toBe('v2');
    expect(interruptedWrite(stored(untimed, null), current)?.versionId).toBe('v2');
  });

  it('finds none without a pending version', () => {
    expect(interruptedWrite(stored(undefined), current)).toBeUndefined();
  });

  it('ignores a pending label left behind on a version older than the current one', () => {
    const older = version('v0', NOW - 2 * DAY * 1000, JSON.stringify(newer));

    expect(interruptedWrite(stored(older), current)).toBeUndefined();
  });

  it('ignores a pending version that holds no token document', () => {
    const garbage = version('v2', NOW - HOUR * 1000, '{"code":0,"data":{}}');

    expect(interruptedWrite(stored(garbage), current)).toBeUndefined();
  });

  it('ignores a pending token that does not outlive the current one', () => {
    const same = token(NOW_S + HOUR, { openId: 'seller-1', refreshToken: 'rt-new' });
    const pending = version('v2', NOW - HOUR * 1000, JSON.stringify(same));

    expect(interruptedWrite(stored(pending), current)).toBeUndefined();
  });

  it("never promotes another seller's token", () => {
    const other = token(NOW_S + 7 * DAY, { openId: 'seller-2' });
    const pending = version('v2', NOW - HOUR * 1000, JSON.stringify(other));

    expect(interruptedWrite(stored(pending), current)).toBeUndefined();
  });
});

describe('Function: keptAnswerAhead', () => {
  const current = version('v1', NOW - DAY * 1000);

  it('finds an answer kept at or after the current token was written', () => {
    const newer = version('v2', NOW - HOUR * 1000);
    const sameTime = version('v2', NOW - DAY * 1000);

    expect(keptAnswerAhead({ current, kept: newer })).toBe(newer);
    expect(keptAnswerAhead({ current, kept: sameTime })).toBe(sameTime);
  });

  it('finds none when nothing is kept, or the kept label is on the current version', () => {
    expect(keptAnswerAhead({ current })).toBeUndefined();
    expect(keptAnswerAhead({ current, kept: version('v1', NOW - DAY * 1000) })).toBeUndefined();
  });

  it('ignores a kept answer older than the current token', () => {
    expect(keptAnswerAhead({ current, kept: version('v0', NOW - 2 * DAY * 1000) })).toBeUndefined();
  });
});

describe('Function: movedOn', () => {
  const current = version('v1', NOW - DAY * 1000);

  it('sees another writer when another version is current', () => {
    expect(movedOn({ current: version('v2', NOW) }, 'v1')).toBe(true);
  });

  it('sees another writer when a pending version was written at or after the current one', () => {
    expect(movedOn({ current, pending: version('v2', NOW - HOUR * 1000) }, 'v1')).toBe(true);
    expect(movedOn({ current, pending: version('v2', NOW - DAY * 1000) }, 'v1')).toBe(true);
  });

  it('sees no one while the version is current and nothing newer waits', () => {
    expect(movedOn({ current }, 'v1')).toBe(false);
    expect(movedOn({ current, pending: version('v0', NOW - 2 * DAY * 1000) }, 'v1')).toBe(false);
  });
});

describe('Function: parseStoredToken', () => {
  it('answers the token document a secret holds', () => {
    const document = token(NOW_S + HOUR);

    expect(parseStoredToken(JSON.stringify(document), SHOP)).toEqual(document);
  });

  it('refuses anything else as a malformed secret, naming the secret', () => {
    const parse = () => parseStoredToken('{"code":0,"data":{"access_token":"x"}}', SHOP);

    expect(parse).toThrow(MalformedSecretError);
    expect(parse).toThrow(
      /^secret tiktok-shop\/tokens\/acme does not hold a TikTok token document \(.+\); TikTok was not called$/,
    );
  });
});

describe('Function: tryParseToken', () => {
  it('answers the document, or undefined for anything else', () => {
    const document = token(NOW_S + HOUR);

    expect(tryParseToken(JSON.stringify(document))).toEqual(document);
    expect(tryParseToken('not json')).toBeUndefined();
  });
});
