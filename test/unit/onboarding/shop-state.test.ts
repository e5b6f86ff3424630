import { describe, expect, it } from 'vitest';
import {
  type ShopStateDependencies,
  settleShopState,
} from '../../../lambda/onboarding/shop-state.js';
import { TransientError } from '../../../lambda/shared/errors.js';

const CREDENTIALS = { app_key: 'key', app_secret: 'APPSECRET_settle_1a2b' };
const SECRET = 'tiktok-shop/tokens/acme';

/** Tag writes and lookups, recorded; each fails when told. */
function fakes(fail: { clear?: boolean; lookUp?: boolean; tag?: boolean } = {}) {
  const done: string[] = [];
  const deps: ShopStateDependencies = {
    tags: {
      async clearDeauthorized(secretId) {
        if (fail.clear) throw new TransientError('UntagResource throttled');
        done.push(`untag ${secretId}`);
      },
      async tagShopIds(secretId, ids) {
        if (fail.tag) throw new TransientError('TagResource throttled');
        done.push(`tag ${secretId} ${ids.join(',')}`);
      },
    },
    async shopIds(_credentials, accessToken) {
      if (fail.lookUp)
        throw new TransientError('TikTok did not answer GET /authorization/202309/shops');
      done.push(`look up with ${accessToken}`);
      return ['7494000000000000401'];
    },
  };
  return { deps, done };
}

describe('Function: settleShopState', () => {
  it("removes the deauthorized mark and tags the token's shop ids", async () => {
    // Prepare
    const { deps, done } = fakes();

    // Act
    const settled = await settleShopState(SECRET, CREDENTIALS, 'TTS_AT_new', deps);

    // Assess
    expect(settled).toEqual({
      tiktokShopIds: ['7494000000000000401'],
      shopIdsLearned: true,
      warnings: [],
    });
    expect(done.sort()).toEqual([
      'look up with TTS_AT_new',
      `tag ${SECRET} 7494000000000000401`,
      `untag ${SECRET}`,
    ]);
  });

  it('answers warnings instead of failing when TikTok or Secrets Manager fail', async () => {
    // Act
    const lookUpFailed = await settleShopState(
      SECRET,
      CREDENTIALS,
      'TTS_AT_new',
      fakes({ clear: true, lookUp: true }).deps,
    );
    const tagFailed = await settleShopState(
      SECRET,
      CREDENTIALS,
      'TTS_AT_new',
      fakes({ tag: true }).deps,
    );

    // Assess
    expect(lookUpFailed).toEqual({
      shopIdsLearned: false,
      warnings: [
        "the secret's deauthorized mark was not removed (the refresher and readers ignore it: the token is newer): UntagResource throttled",
        'the TikTok shop ids of the token were not learned (the next refresh tries again; until then webhooks do not find the shop): TikTok did not answer GET /authorization/202309/shops',
      ],
    });
    expect(tagFailed).toEqual({
      shopIdsLearned: false,
      warnings: [
        'the TikTok shop ids 7494000000000000401 were not tagged on the secret (the next refresh tries again): TagResource throttled',
      ],
    });
  });
});
