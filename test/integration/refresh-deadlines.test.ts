import { afterAll, describe, it } from 'vitest';
import { runBudget } from '../../lambda/shared/budget.js';
import {
  DEFAULT_TOKEN_SECRET_TAG_KEY,
  DEFAULTS,
  DETAIL_TYPE,
  ENV,
  METRIC,
} from '../../lambda/shared/contract.js';
import { REFRESH_PATH } from '../local/endpoints/tiktok.js';
import { type InvokeOutcome, LocalDeployment } from '../support/local-deployment.js';

/**
 * The deployed bundle against the local endpoints when time is short, when a call hangs, and
 * when what a person typed or the operator configured is wrong: the run refreshes whatever fits,
 * and always reports before its invocation ends. The core's own decisions are tested with a
 * fake clock in test/unit/refresh.test.ts; these show what only the bundle can: its SDK clients'
 * timeouts, its deadline from Lambda's context, and what a person sees. Every invocation's
 * output is checked for secrets as it returns.
 */

const SHOP = 'tiktok-shop/tokens/shop-a';
const OTHER = 'tiktok-shop/tokens/shop-b';
const DAY = 24 * 3600;
const SCHEDULED_EVENT = { source: 'aws.scheduler', 'detail-type': 'Scheduled Event', detail: {} };
const WRITES = ['PutSecretValue', 'UpdateSecretVersionStage'];

const deployments: LocalDeployment[] = [];

/** Function processes at once: each needs most of a core for a moment. */
const MAX_PROCESSES = 3;
let running = 0;
const waiting: (() => void)[] = [];

async function deploy(): Promise<LocalDeployment> {
  const deployment = await LocalDeployment.start({ shops: ['shop-a', 'shop-b'], leakCheck: true });
  deployments.push(deployment);
  const invoke = deployment.invoke.bind(deployment);
  deployment.invoke = async (...args) => {
    if (running >= MAX_PROCESSES) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await invoke(...args);
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
  return deployment;
}

/** A due shop and a fresh one. */
function seedDueAndFresh(deployment: LocalDeployment): { refreshToken: string } {
  const due = deployment.seedShop(SHOP, { accessTtlSeconds: 3600 });
  deployment.seedShop(OTHER, { accessTtlSeconds: 5 * DAY });
  return due;
}

function refreshCalls(deployment: LocalDeployment): number {
  return deployment.tiktok.calls.filter((call) => call.path === REFRESH_PATH).length;
}

function writes(deployment: LocalDeployment) {
  return deployment.secretsManager.calls.filter((call) => WRITES.includes(call.operation));
}

function jsonLines(outcome: InvokeOutcome): Record<string, unknown>[] {
  return outcome.logs.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

function metric(outcome: InvokeOutcome, name: string): unknown {
  return jsonLines(outcome).find((line) => '_aws' in line && name in line)?.[name];
}

function logLine(outcome: InvokeOutcome, message: string): Record<string, unknown> | undefined {
  return jsonLines(outcome).find((line) => line.message === message);
}

describe('Deployed refresher, against the clock and broken calls', { timeout: 120_000 }, () => {
  afterAll(async () => {
    await Promise.all(deployments.map((deployment) => deployment.close()));
  });

  describe.concurrent('time', () => {
    it.for([60_000, 30_000])(
      'refreshes a due shop when invoked with %i ms',
      async (timeoutMs, { expect }) => {
        // Prepare
        const deployment = await deploy();
        const due = seedDueAndFresh(deployment);

        // Act
        const outcome = await deployment.invoke(SCHEDULED_EVENT, { timeoutMs });

        // Assess
        expect(outcome.error).toBeUndefined();
        expect(outcome.result?.counts).toEqual({
          refreshed: 1,
          skipped: 1,
          superseded: 0,
          failed: 0,
        });
        expect(deployment.tiktok.isRefreshTokenValid(due.refreshToken)).toBe(false);
        expect(
          deployment.tiktok.isRefreshTokenValid(deployment.storedRefreshToken(SHOP) ?? ''),
        ).toBe(true);
      },
    );

    it('refuses a refresh with too little time, saying what one needs and how to get it', async ({
      expect,
    }) => {
      // Prepare
      const deployment = await deploy();
      const due = seedDueAndFresh(deployment);

      // Act
      const outcome = await deployment.invoke(SCHEDULED_EVENT, { timeoutMs: 15_000 });

      // Assess
      expect(outcome.error?.errorType).toBe('RefreshIncompleteError');
      expect(outcome.error?.errorMessage).toMatch(
        /^1 of 2 shops failed and may succeed on retry: tiktok-shop\/tokens\/shop-a \(DeadlineExceededError: refresh not started: 1\d\.\d s left in the invocation, one refresh needs 21\.8 s \(one TikTok attempt 10\.0 s, storing 8\.8 s, reporting 3\.0 s\); give the function a timeout of at least 24 s \(the construct's timeout prop\)\)$/,
      );
      expect(refreshCalls(deployment)).toBe(0);
      expect(writes(deployment)).toEqual([]);
      expect(deployment.storedRefreshToken(SHOP)).toBe(due.refreshToken);
    });
  });

  describe.concurrent('a hung call', () => {
    it('times out a PutSecretValue that never answers, retries it and stores the token', async ({
      expect,
    }) => {
      // Prepare
      const deployment = await deploy();
      seedDueAndFresh(deployment);
      deployment.secretsManager.hangNext('PutSecretValue');

      // Act
      const outcome = await deployment.invoke(SCHEDULED_EVENT, { timeoutMs: 30_000 });

      // Assess
      expect(outcome.error).toBeUndefined();
      expect(outcome.result?.shops[0]).toMatchObject({ shop: SHOP, outcome: 'refreshed' });
      const puts = writes(deployment).filter((call) => call.operation === 'PutSecretValue');
      expect(puts.map((call) => call.status)).toEqual([0, 200]);
      expect(deployment.tiktok.isRefreshTokenValid(deployment.storedRefreshToken(SHOP) ?? '')).toBe(
        true,
      );
    });

    it('reports a shop whose writes all hang before the invocation ends, and the next run makes its token current', async ({
      expect,
    }) => {
      // Prepare: every put reaches the store, and its answer never comes back. A short TikTok
      // timeout makes a short invocation enough for a refresh (13 s, see runBudget), so the run
      // waits on the writes for as little time as it can.
      const deployment = await deploy();
      seedDueAndFresh(deployment);
      deployment.secretsManager.hangNext('PutSecretValue', 1_000, { afterApplying: true });
      const timeoutMs = 17_000;

      // Act
      const started = Date.now();
      const first = await deployment.invoke(SCHEDULED_EVENT, {
        timeoutMs,
        environment: { [ENV.tiktokTimeoutMs]: '1000' },
      });
      const tookMs = Date.now() - started;
      deployment.secretsManager.reset();
      const second = await deployment.invoke(SCHEDULED_EVENT);

      // Assess: the run reported in time, by shop, in its log, metrics, events and error
      expect(tookMs).toBeLessThan(timeoutMs);
      expect(first.error?.errorType).toBe('RefreshIncompleteError');
      expect(first.error?.errorMessage).toContain(`${SHOP} (TokenNotStoredError: `);
      expect(logLine(first, 'shop failed')).toMatchObject({
        shop: SHOP,
        errorType: 'TokenNotStoredError',
      });
      expect(logLine(first, 'shop skipped')).toMatchObject({ shop: OTHER });
      expect(metric(first, METRIC.tokensNotStored)).toBe(1);
      expect(
        deployment.eventBridge.events.filter(
          (event) => event.DetailType === DETAIL_TYPE.tokenRefreshFailed,
        ),
      ).toHaveLength(1);
      // …and the token TikTok issued waited in the store for the next run
      expect(second.error).toBeUndefined();
      expect(second.result?.shops[0]).toMatchObject({
        shop: SHOP,
        outcome: 'refreshed',
        recovered: true,
      });
      expect(refreshCalls(deployment)).toBe(1);
      expect(deployment.tiktok.isRefreshTokenValid(deployment.storedRefreshToken(SHOP) ?? '')).toBe(
        true,
      );
    });

    it("calls TikTok within the run's plan when the app credentials come a byte at a time, and loses no token", async ({
      expect,
    }) => {
      // Prepare: the first answer for the credentials would take ~45 s, never silent for 2 s;
      // TikTok at its worst answers after 9.9 s, and revokes the refresh token it was given.
      const deployment = await deploy();
      const due = seedDueAndFresh(deployment);
      const credentialsId = deployment.functionEnvironment.APP_CREDENTIALS_SECRET_ID ?? '';
      deployment.secretsManager.dripNext('GetSecretValue', 1, {
        byteEveryMs: 150,
        secretId: credentialsId,
      });
      deployment.tiktok.failNext(1, { delayMs: 9_900 });
      const timeoutMs = 60_000;
      // The last moment a TikTok attempt may start: one attempt, storing and reporting before the end.
      const lastAttemptBy = Date.now() + timeoutMs - runBudget(DEFAULTS).refreshNeedMs;

      // Act
      const outcome = await deployment.invoke(SCHEDULED_EVENT, { timeoutMs });

      // Assess
      const refreshes = deployment.tiktok.calls.filter((call) => call.path === REFRESH_PATH);
      expect(refreshes.length).toBeGreaterThan(0);
      for (const call of refreshes) expect(call.at).toBeLessThanOrEqual(lastAttemptBy);
      expect(outcome.error).toBeUndefined();
      expect(outcome.result?.shops[0]).toMatchObject({ shop: SHOP, outcome: 'refreshed' });
      expect(deployment.tiktok.isRefreshTokenValid(due.refreshToken)).toBe(false);
      expect(deployment.tiktok.isRefreshTokenValid(deployment.storedRefreshToken(SHOP) ?? '')).toBe(
        true,
      );
    });

    it('fails the run naming the app and its secret when every read of the credentials comes a byte at a time, and never calls TikTok', async ({
      expect,
    }) => {
      // Prepare
      const deployment = await deploy();
      const due = seedDueAndFresh(deployment);
      const credentialsId = deployment.functionEnvironment.APP_CREDENTIALS_SECRET_ID ?? '';
      deployment.secretsManager.dripNext('GetSecretValue', 1_000, {
        byteEveryMs: 150,
        secretId: credentialsId,
      });
      const timeoutMs = 60_000;

      // Act
      const started = Date.now();
      const outcome = await deployment.invoke(SCHEDULED_EVENT, { timeoutMs });

      // Assess
      expect(Date.now() - started).toBeLessThan(timeoutMs);
      expect(refreshCalls(deployment)).toBe(0);
      expect(outcome.error?.errorType).toBe('TransientError');
      expect(outcome.error?.errorMessage).toBe(
        `the credentials of app "default" (secret ${credentialsId}) could not be read: Secrets Manager GetSecretValue (secret ${credentialsId}) did not answer within 2000 ms`,
      );
      expect(logLine(outcome, 'shop failed')).toMatchObject({
        shop: SHOP,
        errorType: 'TransientError',
      });
      expect(deployment.storedRefreshToken(SHOP)).toBe(due.refreshToken);
      expect(deployment.tiktok.isRefreshTokenValid(due.refreshToken)).toBe(true);
    });

    it('returns its summary when PutEvents never answers, counting the events it could not publish', async ({
      expect,
    }) => {
      // Prepare
      const deployment = await deploy();
      seedDueAndFresh(deployment);
      deployment.eventBridge.hangNext(1_000);

      // Act
      const started = Date.now();
      const outcome = await deployment.invoke(SCHEDULED_EVENT, { timeoutMs: 30_000 });
      const tookMs = Date.now() - started;

      // Assess
      expect(tookMs).toBeLessThan(30_000);
      expect(outcome.error).toBeUndefined();
      expect(outcome.result?.counts.refreshed).toBe(1);
      expect(logLine(outcome, 'events not published')).toMatchObject({ failed: 1 });
      expect(metric(outcome, METRIC.eventPublishFailures)).toBe(1);
      expect(deployment.eventBridge.events).toEqual([]);
    });
  });

  describe.concurrent('what a person types', () => {
    it('refuses a scheduled-looking manual event with an option, and calls nothing', async ({
      expect,
    }) => {
      // Prepare
      const deployment = await deploy();
      const due = seedDueAndFresh(deployment);

      // Act
      const outcome = await deployment.invoke({
        source: 'anything',
        'detail-type': 'Scheduled Event',
        dryRun: true,
      });

      // Assess
      expect(outcome.error?.errorType).toBe('InvalidEventError');
      expect(outcome.error?.errorMessage).toContain(
        `invalid event: source: must be "aws.scheduler" or "aws.events"; unknown field 'dryRun'`,
      );
      expect(deployment.secretsManager.calls).toEqual([]);
      expect(refreshCalls(deployment)).toBe(0);
      expect(deployment.storedRefreshToken(SHOP)).toBe(due.refreshToken);
    });

    it('names the first few of 100,000 unknown shops and counts the rest, in a short error and log line', async ({
      expect,
    }) => {
      // Prepare
      const deployment = await deploy();
      seedDueAndFresh(deployment);
      const shops = Array.from({ length: 100_000 }, (_, i) => `tiktok-shop/tokens/typo-${i}`);

      // Act
      const outcome = await deployment.invoke({ shops });

      // Assess
      expect(outcome.error?.errorType).toBe('InvalidEventError');
      expect(outcome.error?.errorMessage).toBe(
        `invalid event: shops: not configured: tiktok-shop/tokens/typo-0, tiktok-shop/tokens/typo-1, tiktok-shop/tokens/typo-2, tiktok-shop/tokens/typo-3, tiktok-shop/tokens/typo-4 and 99,995 more; configured shops: ${SHOP}, ${OTHER}`,
      );
      expect(Math.max(...outcome.logs.map((line) => line.length))).toBeLessThan(2_000);
      expect(refreshCalls(deployment)).toBe(0);
    });
  });

  describe.concurrent('what the operator configured', () => {
    it.for<[string, string, string]>([
      [
        'without a field',
        '{"app_key":"local-app-key"}',
        'does not hold {"app_key","app_secret"} (app_secret: missing)',
      ],
      ['empty', '', 'does not hold {"app_key","app_secret"} (not valid JSON)'],
      [
        'with an empty secret',
        '{"app_key":"local-app-key","app_secret":""}',
        'does not hold {"app_key","app_secret"} (app_secret: must not be empty)',
      ],
      [
        'with a key and a secret of blanks only',
        '{"app_key":"   ","app_secret":" \\t "}',
        'does not hold {"app_key","app_secret"} (app_key: must not be blank; app_secret: must not be blank)',
      ],
    ])(
      'fails a run with no shop due when the app credentials are %s, naming the secret and the problem',
      async ([, value, problem], { expect }) => {
        // Prepare
        const deployment = await deploy();
        deployment.seedShop(SHOP, { accessTtlSeconds: 5 * DAY });
        deployment.seedShop(OTHER, { accessTtlSeconds: 5 * DAY });
        const secretId = deployment.functionEnvironment.APP_CREDENTIALS_SECRET_ID ?? '';
        deployment.secretsManager.seed(secretId, value, { [DEFAULT_TOKEN_SECRET_TAG_KEY]: '' });

        // Act
        const outcome = await deployment.invoke(SCHEDULED_EVENT);

        // Assess
        expect(outcome.error?.errorType).toBe('MalformedSecretError');
        expect(outcome.error?.errorMessage).toBe(
          `app credentials: secret ${secretId} ${problem}; put the app's key and secret in it`,
        );
        expect(jsonLines(outcome).filter((line) => line.message === 'shop skipped')).toHaveLength(
          2,
        );
        expect(refreshCalls(deployment)).toBe(0);
      },
    );
  });
});
