import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { TikTokShopApi } from '../../lambda/reader/api-request.js';
import { readShop } from '../../lambda/reader/example-handler.js';
import { DETAIL_TYPE, EVENT_SOURCE } from '../../lambda/shared/contract.js';
import { UnexpectedResponseError } from '../../lambda/shared/errors.js';

const SECRET = 'tiktok-shop/tokens/shop-a';
const EXPIRES = Math.floor(Date.now() / 1000) + 5 * 24 * 3600;
const sm = mockClient(SecretsManagerClient);

/** An API whose GET answers `data`; records the paths it was asked for. */
function fakeApi(data: unknown) {
  const paths: string[] = [];
  const api: TikTokShopApi = {
    get: async <T>(path: string) => {
      paths.push(path);
      return data as T;
    },
    post: vi.fn(),
    put: vi.fn(),
    delete: vi.fn(),
    request: vi.fn(),
    forgetShops: vi.fn(),
  };
  return { api, paths };
}

describe('Function: readShop', () => {
  let provider: SecretsProvider;

  beforeEach(() => {
    vi.stubEnv('AWS_REGION', 'us-east-1');
    sm.reset();
    // The token secret carries no deauthorized mark unless a test says so.
    sm.on(DescribeSecretCommand).resolves({});
    sm.on(GetSecretValueCommand, { SecretId: SECRET }).resolves({
      Name: SECRET,
      SecretString: JSON.stringify({
        code: 0,
        data: {
          access_token: 'TTS_AT_example_1',
          access_token_expire_in: EXPIRES,
          refresh_token: 'TTS_RT_example_1',
          refresh_token_expire_in: EXPIRES + 365 * 24 * 3600,
        },
      }),
    });
    provider = new SecretsProvider({
      awsSdkV3Client: new SecretsManagerClient({ region: 'us-east-1' }),
    });
  });

  it('answers the shops TikTok lists, without their ciphers or codes', async () => {
    // Prepare
    const { api, paths } = fakeApi({
      shops: [
        {
          id: '7494',
          name: 'Acme UK',
          region: 'GB',
          seller_type: 'LOCAL',
          cipher: 'ROW_x',
          code: 'GBLC1',
        },
        { id: '7495', name: 'Acme US', region: 'US', cipher: 'ROW_y' },
      ],
    });

    // Act
    const result = await readShop({}, api, SECRET, { provider });

    // Assess
    expect(paths).toEqual(['/authorization/202309/shops']);
    expect(result).toEqual({
      shop: SECRET,
      accessTokenExpiresAt: new Date(EXPIRES * 1000).toISOString(),
      shops: [
        { id: '7494', name: 'Acme UK', region: 'GB', sellerType: 'LOCAL' },
        { id: '7495', name: 'Acme US', region: 'US' },
      ],
    });
  });

  it('refuses a shop list of a shape it does not know, naming the field', async () => {
    const { api } = fakeApi({ shops: [{ id: 7494, name: 'Acme UK', region: 'GB' }] });

    const failure = readShop({}, api, SECRET, { provider });

    await expect(failure).rejects.toThrow(UnexpectedResponseError);
    await expect(failure).rejects.toThrow(
      'TikTok listed the authorized shops in a shape this reader does not know (shops.0.id: must be a string)',
    );
  });

  it("reads the token again and forgets the shops on its shop's Token Refreshed event", async () => {
    const { api, paths } = fakeApi({ shops: [] });

    const result = await readShop(
      { source: EVENT_SOURCE, 'detail-type': DETAIL_TYPE.tokenRefreshed, detail: { shop: SECRET } },
      api,
      SECRET,
      { provider },
    );

    expect(result).toEqual({
      shop: SECRET,
      accessTokenExpiresAt: new Date(EXPIRES * 1000).toISOString(),
      cacheRefreshed: true,
    });
    expect(api.forgetShops).toHaveBeenCalledTimes(1);
    expect(paths).toEqual([]);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });
});
