import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lambda/refresher/config.js';
import { openFleet } from '../../../lambda/refresher/fleet.js';
import { APPS_ENV, DEFAULT_APP_TAG_KEY, ENV } from '../../../lambda/shared/contract.js';
import type { Metrics } from '../../../lambda/shared/observability.js';
import { SecretsManagerTokenStore } from '../../../lambda/shared/secrets-store.js';

const SHOP = 'tiktok-shop/tokens/shop-a';
const sm = mockClient(SecretsManagerClient);

/** The apps whose credentials a run over SHOP (tagged `tag`) starts reading before its tags. */
async function appsReadAhead(env: Record<string, string>, tag?: string): Promise<string[]> {
  sm.on(DescribeSecretCommand).resolves({
    Tags: tag === undefined ? [] : [{ Key: DEFAULT_APP_TAG_KEY, Value: tag }],
  });
  const config = loadConfig({
    [ENV.appCredentialsSecretId]: 'creds-default',
    [ENV.tokenSecretIds]: SHOP,
    [ENV.tokenSecretTagKey]: '',
    ...env,
  });
  const client = new SecretsManagerClient({ region: 'us-east-1' });
  const apps: string[] = [];
  const fleet = await openFleet(
    config,
    { trigger: 'schedule', force: false, dryRun: false },
    {
      secrets: new SecretsManagerTokenStore({ client, writesPerSecond: 48 }),
      secretsManager: client,
      dynamodb: () => {
        throw new Error('no table here');
      },
      metrics: {} as Metrics,
      readCredentialsAhead: (ahead) => apps.push(...ahead),
    },
  );
  expect(fleet.shops.map((shop) => shop.name)).toEqual([SHOP]);
  return apps;
}

describe('Function: openFleet, reading ahead', () => {
  beforeEach(() => {
    sm.reset();
    sm.on(GetSecretValueCommand).rejects(
      new ResourceNotFoundException({ message: 'no such version', $metadata: {} }),
    );
  });

  it("reads the one app's credentials ahead in a deployment of one app", async () => {
    expect(await appsReadAhead({})).toEqual(['default']);
  });

  it('reads no credentials ahead for a shop whose app only its tag will tell', async () => {
    const env = { [APPS_ENV.appCredentialsSecretIds]: JSON.stringify({ us: 'creds-us' }) };

    expect(await appsReadAhead(env, 'us')).toEqual([]);
  });

  it("reads the bound app's credentials ahead for a shop bound to an app", async () => {
    const env = {
      [APPS_ENV.appCredentialsSecretIds]: JSON.stringify({ us: 'creds-us' }),
      [APPS_ENV.shopApps]: JSON.stringify({ [SHOP]: 'us' }),
    };

    expect(await appsReadAhead(env, 'us')).toEqual(['us']);
  });

  it('reads the token of a shop configured by name beside its tags', async () => {
    await appsReadAhead({});

    const reads = sm.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input);
    expect(reads).toContainEqual(
      expect.objectContaining({ SecretId: SHOP, VersionStage: 'AWSCURRENT' }),
    );
  });
});
