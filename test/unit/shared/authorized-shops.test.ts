import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizedShopIds } from '../../../lambda/shared/authorized-shops.js';
import { TransientError, UnexpectedResponseError } from '../../../lambda/shared/errors.js';
import { type LocalOpenApi, startLocalOpenApi } from '../../local/endpoints/open-api.js';

const CREDENTIALS = { app_key: 'shops-app-key', app_secret: 'APPSECRET_shops_1a2b3c4d' };
const TOKEN = 'TTS_AT_shops_5e6f7a8b';
const SHOP_IDS = ['7494000000000000201', '7494000000000000202'];

let host: LocalOpenApi;

beforeAll(async () => {
  host = await startLocalOpenApi({
    appKey: CREDENTIALS.app_key,
    appSecret: CREDENTIALS.app_secret,
    accessTokens: (accessToken) => (accessToken === TOKEN ? 'valid' : 'unknown'),
    shopIdsOf: (accessToken) => (accessToken === TOKEN ? SHOP_IDS : []),
  });
});

afterAll(() => host.close());

function ask(overrides: { accessToken?: string } = {}) {
  return authorizedShopIds({
    baseUrl: host.url,
    credentials: CREDENTIALS,
    accessToken: overrides.accessToken ?? TOKEN,
    timeoutMs: 5_000,
    now: Date.now(),
  });
}

describe('Function: authorizedShopIds', () => {
  it('answers the ids of the shops the token covers, from one signed GET', async () => {
    // Act
    const ids = await ask();

    // Assess
    expect(ids).toEqual(SHOP_IDS);
    expect(host.calls.at(-1)).toMatchObject({
      method: 'GET',
      path: '/authorization/202309/shops',
      status: 200,
      code: 0,
      tokenHeader: true,
      queryKeys: ['app_key', 'timestamp', 'sign'],
    });
  });

  it("says TikTok's code when it refuses, quoting neither the token nor the app secret", async () => {
    // Act
    const error = await ask({ accessToken: 'TTS_AT_unknown_9c8d' }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect((error as Error).message).toMatch(
      /^TikTok answered GET \/authorization\/202309\/shops with code 36009004: /,
    );
    expect((error as Error).message).not.toContain('TTS_AT_unknown_9c8d');
    expect((error as Error).message).not.toContain(CREDENTIALS.app_secret);
  });

  it('takes an HTTP 5xx without TikTok’s envelope for a transient failure', async () => {
    // Prepare
    host.failNext(1, { httpStatus: 503 });

    // Act
    const error = await ask().catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(TransientError);
  });
});
