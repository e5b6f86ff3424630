import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KEPT_LABEL } from '../../../lambda/shared/secrets-store.js';
import {
  labelsOf,
  type SecretSurvey,
  SecretsManagerShopSurvey,
} from '../../../lambda/shared/secrets-survey.js';
import {
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../../local/endpoints/secrets-manager.js';

const TAG = 'tiktok-shop-token';

describe('SecretsManagerShopSurvey against the local Secrets Manager', () => {
  let endpoint: LocalSecretsManager;
  let client: SecretsManagerClient;
  let survey: SecretsManagerShopSurvey;

  beforeEach(async () => {
    endpoint = await startLocalSecretsManager();
    client = new SecretsManagerClient({
      endpoint: endpoint.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      maxAttempts: 1,
    });
    survey = new SecretsManagerShopSurvey({ client });
  });

  afterEach(async () => {
    client.destroy();
    await endpoint.close();
  });

  const putLabelled = (shop: string, value: string, label: string) =>
    client.send(
      new PutSecretValueCommand({ SecretId: shop, SecretString: value, VersionStages: [label] }),
    );

  it('lists every token secret with what its labels say, 100 a call, reading no value', async () => {
    // Prepare
    for (let i = 0; i < 250; i++) endpoint.seed(`shop-${i}`, `token-${i}`, { [TAG]: `s${i}` });
    endpoint.seed('not-a-shop', 'x', { other: '' });
    await putLabelled('shop-3', 'pending', 'AWSPENDING');
    await putLabelled('shop-4', 'kept', KEPT_LABEL);
    endpoint.reset();

    // Act
    const found: SecretSurvey[] = [];
    for await (const page of survey.pages(TAG)) found.push(...page);

    // Assess
    expect(found).toHaveLength(250);
    expect(endpoint.callCounts).toEqual({ ListSecrets: 3 });
    const byName = new Map(found.map((secret) => [secret.name, secret]));
    expect(byName.get('shop-0')).toMatchObject({
      currentVersionId: endpoint.versions('shop-0')[0]?.versionId,
      hasPending: false,
      hasKept: false,
      tags: [{ Key: TAG, Value: 's0' }],
    });
    expect(byName.get('shop-3')).toMatchObject({ hasPending: true, hasKept: false });
    expect(byName.get('shop-4')).toMatchObject({ hasPending: false, hasKept: true });
    expect(JSON.stringify(found)).not.toContain('token-');
  });

  it('reads current values 20 to a call, leaving out secrets it cannot read', async () => {
    // Prepare
    const ids = Array.from({ length: 45 }, (_, i) => `shop-${i}`);
    for (const id of ids) endpoint.seed(id, `token-${id}`);
    await putLabelled('shop-0', 'pending', 'AWSPENDING');
    endpoint.reset();

    // Act
    const values = await survey.readCurrent([...ids, 'shop-missing', 'shop-1']);

    // Assess
    expect(endpoint.callCounts).toEqual({ BatchGetSecretValue: 3 });
    expect(values.size).toBe(45);
    expect(values.get('shop-0')).toMatchObject({
      versionId: endpoint.versions('shop-0')[0]?.versionId,
      raw: 'token-shop-0',
      createdAt: expect.any(Number),
    });
    expect(values.has('shop-missing')).toBe(false);
  });

  it('surveys a fleet of skipped shops in well under 0.2 calls a shop', async () => {
    // Prepare
    const shops = 1_000;
    for (let i = 0; i < shops; i++) endpoint.seed(`shop-${i}`, `token-${i}`, { [TAG]: '' });
    endpoint.reset();

    // Act: the labels of all, then the current value of every shop with nothing pending or kept.
    const plain: string[] = [];
    for await (const page of survey.pages(TAG)) {
      plain.push(...page.filter((s) => !s.hasPending && !s.hasKept).map((s) => s.arn));
    }
    const values = await survey.readCurrent(plain);

    // Assess
    expect(values.size).toBe(shops);
    const calls = Object.values(endpoint.callCounts).reduce((sum, count) => sum + count, 0);
    expect(endpoint.callCounts).toEqual({ ListSecrets: 10, BatchGetSecretValue: 50 });
    expect(calls / shops).toBeLessThanOrEqual(0.2);
  });

  it('finds configured secrets by name, ten to a call, not those whose names only begin alike', async () => {
    // Prepare
    const seeded = Array.from({ length: 25 }, (_, i) =>
      endpoint.seed(`tokens/shop-${i}`, `token-${i}`, { app: 'a' }),
    );
    await putLabelled('tokens/shop-2', 'pending', 'AWSPENDING');
    const arn = seeded[3]?.arn ?? '';
    endpoint.reset();

    // Act
    const found: SecretSurvey[] = [];
    const ids = ['tokens/shop-1', 'tokens/shop-2', arn, 'tokens/shop-missing'];
    for await (const page of survey.named([
      ...ids,
      ...Array.from({ length: 8 }, (_, i) => `x-${i}`),
    ])) {
      found.push(...page);
    }

    // Assess: shop-1's name is the prefix of shop-10 to shop-19, which are listed and left out.
    expect(found.map((secret) => secret.name).sort()).toEqual([
      'tokens/shop-1',
      'tokens/shop-2',
      'tokens/shop-3',
    ]);
    expect(found.find((secret) => secret.name === 'tokens/shop-2')).toMatchObject({
      hasPending: true,
      tags: [{ Key: 'app', Value: 'a' }],
    });
    expect(endpoint.callCounts).toEqual({ ListSecrets: 2 });
  });

  it('finds nothing by tag without a tag key', async () => {
    // Prepare
    endpoint.seed('shop-a', 'token', { [TAG]: '' });
    endpoint.reset();

    // Act
    const found: SecretSurvey[] = [];
    for await (const page of survey.pages()) found.push(...page);

    // Assess
    expect(found).toEqual([]);
    expect(endpoint.callCounts).toEqual({});
  });

  it('gives up with the service and operation named once the run is aborted', async () => {
    // Prepare
    const controller = new AbortController();
    controller.abort();
    const aborted = new SecretsManagerShopSurvey({ client, signal: controller.signal });

    // Act
    const failure = await aborted.readCurrent(['shop-a']).catch((error: unknown) => error);

    // Assess
    expect((failure as Error).message).toBe(
      "Secrets Manager BatchGetSecretValue did not finish before the run's deadline",
    );
  });
});

describe('labelsOf', () => {
  it('counts pending and kept only on a version other than the current one', () => {
    expect(labelsOf({ v1: ['AWSPREVIOUS'], v2: ['AWSCURRENT', 'AWSPENDING', KEPT_LABEL] })).toEqual(
      { currentVersionId: 'v2', hasPending: false, hasKept: false },
    );
    expect(labelsOf({ v1: ['AWSCURRENT'], v2: ['AWSPENDING'], v3: [KEPT_LABEL] })).toEqual({
      currentVersionId: 'v1',
      hasPending: true,
      hasKept: true,
    });
    expect(labelsOf({})).toEqual({
      currentVersionId: undefined,
      hasPending: false,
      hasKept: false,
    });
  });
});
