import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { ShopResult } from '../../lambda/refresher/reports.js';
import { DETAIL_TYPE } from '../../lambda/shared/contract.js';
import { REFRESH_PATH, TIKTOK_CODE } from '../local/endpoints/tiktok.js';
import { type InvokeOutcome, LocalDeployment } from '../support/local-deployment.js';
import { synthesizeRefresher } from '../support/synth.js';

/**
 * Two writers at once: two invocations of the deployed bundle (each its own process, as two
 * Lambda execution environments would be), or an invocation and a seller authorizing again,
 * against a local TikTok host whose refresh tokens rotate: a refresh token works once. The
 * function keeps the template's environment: after a refusal, it looks for the other writer's
 * token for REFUSAL_RECHECK_MS's default, which these races need. Every invocation's output is
 * checked for secrets as it returns.
 */

const SHOPS = ['shop-a', 'shop-b', 'shop-c', 'shop-d'];
const NAMES = SHOPS.map((shop) => `tiktok-shop/tokens/${shop}`);
const [SHOP_A] = NAMES as [string];
const DAY = 24 * 3600;

const deployments: LocalDeployment[] = [];
let scheduledEvent: unknown;

async function deploy(): Promise<LocalDeployment> {
  const deployment = await LocalDeployment.start({ shops: SHOPS, leakCheck: true });
  deployments.push(deployment);
  return deployment;
}

function lineFor(outcome: InvokeOutcome, name: string): ShopResult | undefined {
  return outcome.result?.shops.find((line) => line.shop === name);
}

function storedTokenWorks(deployment: LocalDeployment, name: string): boolean {
  return deployment.tiktok.isRefreshTokenValid(deployment.storedRefreshToken(name) ?? '');
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (const started = Date.now(); !condition(); await sleep(10)) {
    if (Date.now() - started > 60_000) throw new Error(`timed out waiting until ${what}`);
  }
}

describe('Deployed refresher', { timeout: 120_000 }, () => {
  beforeAll(() => {
    const { template } = synthesizeRefresher({ shops: SHOPS });
    const [schedule] = Object.values(template.findResources('AWS::Scheduler::Schedule'));
    scheduledEvent = JSON.parse(schedule?.Properties?.Target?.Input as string);
  });

  afterAll(async () => {
    await Promise.all(deployments.map((deployment) => deployment.close()));
  });

  describe.concurrent('when two runs start at the same moment for the same due shops, and writes are slow', () => {
    let runs: InvokeOutcome[];
    /** Right after the two runs: does TikTok accept each shop's stored refresh token, and the seeded one? */
    let storedWorks: boolean[];
    let seededWorks: boolean[];
    let eventTypes: string[];
    let later: InvokeOutcome;
    let storedWorksLater: boolean[];

    beforeAll(async () => {
      // Prepare
      const deployment = await deploy();
      const seeded = NAMES.map((name) => deployment.seedShop(name, { accessTtlSeconds: 3600 }));
      // Secrets Manager takes 2 s per write, as under load: the run TikTok answers first has not
      // stored its token yet when TikTok refuses the other run's now rotated one.
      deployment.secretsManager.delayNext('PutSecretValue', 2 * NAMES.length, 2_000);

      // Act: the same scheduled event delivered twice, to two execution environments.
      runs = await Promise.all([
        deployment.invoke(scheduledEvent),
        deployment.invoke(scheduledEvent),
      ]);
      storedWorks = NAMES.map((name) => storedTokenWorks(deployment, name));
      seededWorks = seeded.map((shop) => deployment.tiktok.isRefreshTokenValid(shop.refreshToken));
      eventTypes = deployment.eventBridge.events.map((event) => event.DetailType);
      // And then a person forces a refresh of every shop.
      later = await deployment.invoke({ force: true });
      storedWorksLater = NAMES.map((name) => storedTokenWorks(deployment, name));
    });

    it('keeps in every secret a refresh token that TikTok accepts', ({ expect }) => {
      // Assess
      expect(storedWorks).toEqual(NAMES.map(() => true));
      expect(seededWorks).toEqual(NAMES.map(() => false));
    });

    it('refreshes each shop in one run, and the other run reports it superseded, never failed', ({
      expect,
    }) => {
      expect(runs.map((run) => run.error)).toEqual([undefined, undefined]);
      for (const name of NAMES) {
        const lines = runs.map((run) => lineFor(run, name));
        expect(
          lines.map((line) => line?.outcome),
          name,
        ).not.toContain('failed');
        const fresh = lines.filter((line) => line?.outcome === 'refreshed' && !line.recovered);
        expect(fresh, name).toHaveLength(1);
        for (const line of lines) {
          expect(['refreshed', 'superseded', 'skipped'], name).toContain(line?.outcome);
        }
      }
    });

    it('publishes no failure and no call for re-authorization', ({ expect }) => {
      expect(eventTypes).not.toContain(DETAIL_TYPE.reauthorizationRequired);
      expect(eventTypes).not.toContain(DETAIL_TYPE.tokenRefreshFailed);
      expect(
        eventTypes.filter((type) => type === DETAIL_TYPE.tokenRefreshed).length,
      ).toBeGreaterThanOrEqual(NAMES.length);
    });

    it('lets a later forced run refresh every shop again', ({ expect }) => {
      expect(later.result?.counts).toEqual({
        refreshed: NAMES.length,
        skipped: 0,
        superseded: 0,
        failed: 0,
      });
      expect(storedWorksLater).toEqual(NAMES.map(() => true));
    });
  });

  describe.concurrent('when a run races a seller who authorizes again', () => {
    it('keeps the new authorization’s token when the run’s write comes second', async ({
      expect,
    }) => {
      // Prepare
      const deployment = await deploy();
      for (const name of NAMES.slice(1)) deployment.seedShop(name, { accessTtlSeconds: 5 * DAY });
      const old = deployment.seedShop(SHOP_A, { accessTtlSeconds: 3600 });
      deployment.tiktok.failNext(1, { delayMs: 2_000 });

      // Act: the seller authorizes again while TikTok is still answering the run's refresh.
      const run = deployment.invoke(scheduledEvent);
      await until(
        () => deployment.tiktok.calls.some((call) => call.path === REFRESH_PATH),
        'the refresh reaches TikTok',
      );
      const reauthorized = deployment.seedShop(SHOP_A, { accessTtlSeconds: 7 * DAY });
      const outcome = await run;

      // Assess
      expect(deployment.tiktok.isRefreshTokenValid(old.refreshToken)).toBe(false);
      expect(lineFor(outcome, SHOP_A)?.outcome).toBe('superseded');
      expect(deployment.secretsManager.current(SHOP_A)).toBe(reauthorized.raw);
      expect(deployment.tiktok.isRefreshTokenValid(reauthorized.refreshToken)).toBe(true);
      // The run's own token is kept as a version without labels, never as a pending one.
      const versions = deployment.secretsManager.versions(SHOP_A);
      expect(versions.filter((version) => version.stages.includes('AWSPENDING'))).toEqual([]);
      expect(versions).toHaveLength(3);

      const later = await deployment.invoke({ force: true, shops: [SHOP_A] });
      expect(later.result?.shops[0]?.outcome).toBe('refreshed');
      expect(deployment.tiktok.isRefreshTokenValid(reauthorized.refreshToken)).toBe(false);
      expect(storedTokenWorks(deployment, SHOP_A)).toBe(true);
    });

    it('reports the shop superseded, not in need of authorization, when TikTok already refused the old token', async ({
      expect,
    }) => {
      // Prepare
      const deployment = await deploy();
      for (const name of NAMES.slice(1)) deployment.seedShop(name, { accessTtlSeconds: 5 * DAY });
      const old = deployment.seedShop(SHOP_A, { accessTtlSeconds: 3600 });
      deployment.tiktok.failNext(1, { delayMs: 2_000 });

      // Act: the new authorization ends the old one before TikTok handles the run's refresh.
      const run = deployment.invoke(scheduledEvent);
      await until(
        () => deployment.tiktok.calls.some((call) => call.path === REFRESH_PATH),
        'the refresh reaches TikTok',
      );
      deployment.tiktok.revoke(old.refreshToken);
      const reauthorized = deployment.seedShop(SHOP_A, { accessTtlSeconds: 7 * DAY });
      const outcome = await run;

      // Assess
      expect(deployment.tiktok.calls.map((call) => call.code)).toEqual([TIKTOK_CODE.noAuthRecord]);
      expect(outcome.error).toBeUndefined();
      expect(lineFor(outcome, SHOP_A)?.outcome).toBe('superseded');
      expect(deployment.secretsManager.current(SHOP_A)).toBe(reauthorized.raw);
      expect(deployment.tiktok.isRefreshTokenValid(reauthorized.refreshToken)).toBe(true);
      expect(deployment.eventBridge.events.map((event) => event.DetailType)).not.toContain(
        DETAIL_TYPE.reauthorizationRequired,
      );
    });
  });
});
