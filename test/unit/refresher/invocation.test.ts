import { describe, expect, it } from 'vitest';
import {
  AppCredentialReads,
  boundedSummary,
  chainedResult,
  incompleteRunError,
  SUMMARY_SHOPS_LISTED,
} from '../../../lambda/refresher/invocation.js';
import {
  type RunSummary,
  type ShopResult,
  unfinishedReport,
} from '../../../lambda/refresher/reports.js';
import { MalformedSecretError } from '../../../lambda/shared/errors.js';
import { shopFromId } from '../../../lambda/shared/shop.js';

function summaryOf(shops: ShopResult[]): RunSummary {
  const counts = { refreshed: 0, skipped: 0, superseded: 0, failed: 0 };
  for (const shop of shops) counts[shop.outcome]++;
  return { trigger: 'schedule', force: false, dryRun: false, counts, shops };
}

const skipped = (index: number): ShopResult => ({
  shop: `skipped-${index}`,
  outcome: 'skipped',
  reason: 'not-due',
});
/** Left for lack of time: the next invocation's. */
const left = (index: number): ShopResult => ({
  shop: `left-${index}`,
  outcome: 'failed',
  errorType: 'DeadlineExceededError',
  message: 'refresh not started',
  retryable: true,
  failsInvocation: true,
  deferred: true,
});
/** Cut by the deadline while TikTok had the refresh token: not the next invocation's to ignore. */
const cutAtTikTok: ShopResult = {
  shop: 'cut-at-tiktok',
  outcome: 'failed',
  errorType: 'DeadlineExceededError',
  message: "the refresh at TikTok did not finish before the invocation's deadline",
  retryable: true,
  failsInvocation: true,
};
const notStored: ShopResult = {
  shop: 'not-stored',
  outcome: 'failed',
  errorType: 'TokenNotStoredError',
  message: 'storing it did not finish',
  retryable: true,
  failsInvocation: true,
};

describe('Function: boundedSummary', () => {
  it('returns a summary of up to 1,000 shops as it is', () => {
    const summary = summaryOf(Array.from({ length: SUMMARY_SHOPS_LISTED }, (_, i) => skipped(i)));

    expect(boundedSummary(summary)).toBe(summary);
  });

  it('lists failures before skipped shops past 1,000 shops, in run order, and counts the rest', () => {
    const shops = [
      ...Array.from({ length: 1500 }, (_, i) => skipped(i)),
      left(1),
      { shop: 'refreshed-1', outcome: 'refreshed' } as const,
    ];

    const bounded = boundedSummary(summaryOf(shops));

    expect(bounded.shops).toHaveLength(SUMMARY_SHOPS_LISTED);
    expect(bounded.shops.slice(-2).map((shop) => shop.shop)).toEqual(['left-1', 'refreshed-1']);
    expect(bounded.shops[0]?.shop).toBe('skipped-0');
    expect(bounded.shopsNotListed).toBe(502);
    expect(bounded.counts).toEqual({ refreshed: 1, skipped: 1500, superseded: 0, failed: 1 });
  });
});

describe('Function: chainedResult', () => {
  it('counts the shops left for lack of time, and lists none', () => {
    const result = chainedResult(summaryOf([skipped(1), left(1), left(2)]), undefined);

    expect(result).toEqual({
      trigger: 'schedule',
      force: false,
      dryRun: false,
      counts: { refreshed: 0, skipped: 1, superseded: 0, failed: 2 },
      shopsLeft: 2,
      failure: null,
    });
  });

  it('returns the failure the invocation would have thrown, beside the shops left', () => {
    const summary = summaryOf([left(1), notStored]);

    const result = chainedResult(summary, incompleteRunError(summary, { chained: true }));

    expect(result.shopsLeft).toBe(1);
    expect(result.failure).toEqual({
      errorType: 'RefreshIncompleteError',
      message: expect.stringContaining('not-stored (TokenNotStoredError'),
      retryable: true,
    });
  });
});

describe('Function: incompleteRunError', () => {
  it('fails an unchained invocation for shops left for lack of time, so Lambda retries it', () => {
    const error = incompleteRunError(summaryOf([left(1)]));

    expect(error?.retryable).toBe(true);
    expect(error?.message).toContain('left-1 (DeadlineExceededError');
  });

  it('does not fail a chained invocation for shops left for lack of time', () => {
    expect(incompleteRunError(summaryOf([left(1), skipped(1)]), { chained: true })).toBeUndefined();
  });

  it('fails a chained invocation for a refresh cut while at TikTok', () => {
    const error = incompleteRunError(summaryOf([left(1), cutAtTikTok]), { chained: true });

    expect(error?.message).toContain('cut-at-tiktok (DeadlineExceededError');
  });

  it('fails a chained invocation for a new token not stored in time', () => {
    const error = incompleteRunError(summaryOf([left(1), notStored]), { chained: true });

    expect(error?.message).toContain('not-stored (TokenNotStoredError');
    expect(error?.message).not.toContain('left-1');
  });
});

describe('Function: unfinishedReport', () => {
  const shop = shopFromId('tiktok-shop/tokens/shop-a');

  it.each([undefined, 'reading', 'promoting'] as const)(
    'marks a shop cut while %s as the next invocation’s',
    (stage) => {
      expect(unfinishedReport(shop, stage).result.deferred).toBe(true);
    },
  );

  it.each(['refreshing', 'storing'] as const)(
    'does not mark a shop cut while %s: TikTok may have issued a token',
    (stage) => {
      expect(unfinishedReport(shop, stage).result.deferred).toBeUndefined();
    },
  );
});

describe('Class: AppCredentialReads', () => {
  const secretIds = new Map([
    ['default', 'creds-default'],
    ['us', 'creds-us'],
  ]);

  function counted(broken: readonly string[] = []) {
    const reads: string[] = [];
    const read = async (secretId: string) => {
      reads.push(secretId);
      if (broken.includes(secretId)) throw new MalformedSecretError(`secret ${secretId} is empty`);
      return { app_key: `key-${secretId}`, app_secret: 'secret' };
    };
    return { reads, credentials: new AppCredentialReads(secretIds, read) };
  }

  it('reads the apps it is told early, once, and answers each from its early read', async () => {
    const { reads, credentials } = counted();

    credentials.start(['us', 'us', 'unknown']);
    const answer = await credentials.get('us');

    expect(answer.app_key).toBe('key-creds-us');
    expect(reads).toEqual(['creds-us']);
  });

  it('fails the run for an app asked for whose early read failed, and for no other', async () => {
    const { credentials } = counted(['creds-default', 'creds-us']);

    credentials.start(['default', 'us']);
    await expect(credentials.get('us')).rejects.toThrow('secret creds-us is empty');

    expect((await credentials.failure())?.message).toBe('secret creds-us is empty');
  });
});
