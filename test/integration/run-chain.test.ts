import { Duration } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../lambda/shared/contract.js';
import { synthesizeVariant } from '../infra/variants.js';
import { REFRESH_PATH } from '../local/endpoints/tiktok.js';
import { LocalDeployment } from '../support/local-deployment.js';
import { runChain, runChainDefinition, TaskError } from '../support/run-chain.js';

/**
 * A backlog larger than one invocation can refresh, run as the construct's run state machine
 * runs it: the synthesized definition, executed by an independent States Language interpreter,
 * invoking the deployed bundle against the local endpoints. Writes are held to 10 a second
 * (5 refreshes) and the function has 30 s, so one invocation reaches about half of the shops.
 */

const DUE = 60;
const FRESH = 5;
const TAG_KEY = 'chain-test';
const TIMEOUT_MS = 30_000;
const WRITES_PER_SECOND = 10;
const HOUR = 3600;

let deployment: LocalDeployment;
/** Each due shop's access-token expiry (epoch seconds), by secret name. */
const expiries = new Map<string, number>();

beforeAll(async () => {
  deployment = await LocalDeployment.start({
    shops: ['shop-a'],
    writeQuotaPerSecond: WRITES_PER_SECOND,
    tiktok: { latencyMs: 100 },
    leakCheck: true,
  });
  const now = Math.floor(Date.now() / 1000);
  for (let index = 0; index < DUE; index++) {
    // Expiries from 1 to 31 hours, in shuffled order (7 is prime to 60).
    const ttl = HOUR + ((index * 7) % DUE) * 30 * 60;
    const name = `tiktok-shop/tokens/chain-${String(index).padStart(3, '0')}`;
    deployment.seedShop(name, { accessTtlSeconds: ttl, tagKey: TAG_KEY });
    expiries.set(name, now + ttl);
  }
  for (let index = 0; index < FRESH; index++) {
    deployment.seedShop(`tiktok-shop/tokens/fresh-${index}`, {
      accessTtlSeconds: 6 * 24 * HOUR,
      tagKey: TAG_KEY,
    });
  }
}, 60_000);

afterAll(async () => {
  await deployment?.close();
});

describe('Run state machine with the refresher bundle', () => {
  it('refreshes a backlog over several invocations, each shop once, most urgent first', async () => {
    // Prepare
    const { template } = synthesizeVariant({
      shops: ['shop-a'],
      invocationsPerRun: 5,
      timeout: Duration.millis(TIMEOUT_MS),
    });
    const refreshedBy: string[][] = [];

    // Act
    const run = await runChain(runChainDefinition(template), {
      invoke: async (event) => {
        const outcome = await deployment.invoke(event, {
          timeoutMs: TIMEOUT_MS,
          environment: {
            [ENV.tokenSecretIds]: '',
            [ENV.tokenSecretTagKey]: TAG_KEY,
            [ENV.secretWritesPerSecond]: String(WRITES_PER_SECOND),
          },
        });
        refreshedBy.push(
          outcome.logs.flatMap((line) => {
            const entry = JSON.parse(line.startsWith('{') ? line : '{}') as Record<string, unknown>;
            return entry.message === 'shop refreshed' ? [String(entry.shop)] : [];
          }),
        );
        if (outcome.error !== undefined) {
          throw new TaskError(outcome.error.errorType, outcome.error.errorMessage);
        }
        return outcome.result;
      },
    });

    // Assess
    expect(run.status).toBe('SUCCEEDED');
    expect(refreshedBy.length).toBeGreaterThanOrEqual(2);
    const all = refreshedBy.flat();
    expect(all).toHaveLength(DUE);
    expect(new Set(all)).toEqual(new Set(expiries.keys()));
    expect(deployment.tiktok.calls.filter((call) => call.path === REFRESH_PATH)).toHaveLength(DUE);
    for (const name of expiries.keys()) {
      expect(deployment.tiktok.isRefreshTokenValid(deployment.storedRefreshToken(name) ?? '')).toBe(
        true,
      );
    }
    // Every invocation refreshed shops expiring no later than any the next ones refreshed.
    for (let index = 1; index < refreshedBy.length; index++) {
      const earlier = Math.max(
        ...(refreshedBy[index - 1] ?? []).map((name) => expiries.get(name) ?? 0),
      );
      const later = Math.min(
        ...refreshedBy
          .slice(index)
          .flat()
          .map((name) => expiries.get(name) ?? 0),
      );
      expect(earlier).toBeLessThanOrEqual(later);
    }
  }, 240_000);
});
