import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEDULED_EVENT } from '../../infra/token-refresher.js';
import { ENV } from '../../lambda/shared/contract.js';
import { KEPT_LABEL } from '../../lambda/shared/secrets-store.js';
import { shopFromId } from '../../lambda/shared/shop.js';
import { shopOutcomes } from '../bench/fleet.js';
import { REFRESH_PATH } from '../local/endpoints/tiktok.js';
import { LocalDeployment, type SeededShop } from '../support/local-deployment.js';

/**
 * The bundle CDK synthesizes, run over a fleet large enough to read in batches, against the
 * local Secrets Manager: the calls a run makes per skipped shop, and the promises batching must
 * keep (an interrupted write recovered, a kept answer reported, due shops refreshed).
 */

const DAY = 24 * 3600;
const HOUR = 3600;
const TARGET_CALLS_PER_SKIPPED_SHOP = 0.2;

let deployment: LocalDeployment;

beforeAll(async () => {
  deployment = await LocalDeployment.start({ shops: ['shop-a'], leakCheck: true });
});

afterAll(async () => {
  await deployment.close();
});

/** Puts a version under `label` beside the current one, as an operator (or a cut-short run) would. */
async function putLabelled(secretId: string, value: string, label: string): Promise<void> {
  const client = new SecretsManagerClient({
    endpoint: deployment.secretsManager.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  await client.send(
    new PutSecretValueCommand({ SecretId: secretId, SecretString: value, VersionStages: [label] }),
  );
  client.destroy();
}

/** A newer token of the seeded shop's seller, whose access token ends in `ttlSeconds`. */
function newerToken(shop: SeededShop, ttlSeconds: number): string {
  const data = deployment.tiktok.tokenDocument(shop.refreshToken, {
    accessTokenExpiresAt: Math.floor(Date.now() / 1000) + ttlSeconds,
  });
  return JSON.stringify({ code: 0, message: 'success', data, request_id: 'newer' });
}

/**
 * Secrets Manager calls of one run per skipped shop: those naming no secret (ListSecrets,
 * BatchGetSecretValue, which also read the other shops) and those naming a skipped shop.
 */
function callsPerSkippedShop(from: number, skipped: readonly string[]): number {
  const names = new Set(skipped);
  const calls = deployment.secretsManager.calls
    .slice(from)
    .filter((call) => call.secretId === undefined || names.has(shopFromId(call.secretId).name));
  return calls.length / skipped.length;
}

describe('Deployed refresher, reading a large fleet in batches', { timeout: 120_000 }, () => {
  it('reads shops found by tag at under 0.2 calls per skipped shop, recovering a pending write and reporting a kept answer', async () => {
    // Prepare: 200 shops, one with an interrupted write, one due with a kept answer, one due
    const tagKey = 'batched-by-tag';
    const names = Array.from({ length: 200 }, (_, i) => `tiktok-shop/tokens/tagged-${i}`);
    const [interrupted, keeper, due] = [names[17], names[42], names[99]] as [
      string,
      string,
      string,
    ];
    const seeded = new Map(
      names.map((name) => [
        name,
        deployment.seedShop(name, {
          accessTtlSeconds: name === keeper || name === due ? HOUR : 5 * DAY,
          tagKey,
        }),
      ]),
    );
    const pending = newerToken(seeded.get(interrupted) as SeededShop, 7 * DAY);
    await putLabelled(interrupted, pending, 'AWSPENDING');
    await putLabelled(keeper, newerToken(seeded.get(keeper) as SeededShop, 7 * DAY), KEPT_LABEL);
    const from = deployment.secretsManager.calls.length;

    // Act
    const outcome = await deployment.invoke(SCHEDULED_EVENT, {
      environment: { [ENV.tokenSecretIds]: '', [ENV.tokenSecretTagKey]: tagKey },
    });

    // Assess
    expect(outcome.error?.errorMessage).toContain(`${keeper} (TokenNotCurrentError`);
    expect(outcome.logs.join('\n')).toContain('"message":"shop refreshed"');
    expect(deployment.secretsManager.current(interrupted)).toBe(pending);
    expect(deployment.storedRefreshToken(due)).not.toBe(seeded.get(due)?.refreshToken);
    expect(deployment.tiktok.calls.filter((call) => call.path === REFRESH_PATH)).toHaveLength(1);
    const skipped = names.filter((name) => ![interrupted, keeper, due].includes(name));
    expect(shopOutcomes(outcome.logs).get('skipped')).toBe(skipped.length);
    expect(callsPerSkippedShop(from, skipped)).toBeLessThanOrEqual(TARGET_CALLS_PER_SKIPPED_SHOP);
    const reads = deployment.secretsManager.calls
      .slice(from)
      .filter((call) => call.operation === 'GetSecretValue' && call.secretId !== undefined)
      .map((call) => shopFromId(call.secretId ?? '').name)
      .filter((name) => names.includes(name));
    expect(new Set(reads)).toEqual(new Set([interrupted, keeper, due]));
  });

  it('lists shops configured by name ten to a call and reads them in batches', async () => {
    // Prepare
    const names = Array.from({ length: 30 }, (_, i) => `tiktok-shop/tokens/named-${i}`);
    for (const name of names) deployment.seedShop(name, { accessTtlSeconds: 5 * DAY });
    const from = deployment.secretsManager.calls.length;

    // Act
    const outcome = await deployment.invoke(SCHEDULED_EVENT, {
      environment: { [ENV.tokenSecretIds]: names.join(','), [ENV.tokenSecretTagKey]: '' },
    });

    // Assess
    expect(outcome.error).toBeUndefined();
    expect(outcome.result?.counts.skipped).toBe(30);
    const operations = deployment.secretsManager.calls.slice(from).map((call) => call.operation);
    expect(operations.filter((operation) => operation === 'ListSecrets')).toHaveLength(3);
    expect(operations.filter((operation) => operation === 'BatchGetSecretValue')).toHaveLength(2);
    expect(callsPerSkippedShop(from, names)).toBeLessThanOrEqual(TARGET_CALLS_PER_SKIPPED_SHOP);
  });
});
