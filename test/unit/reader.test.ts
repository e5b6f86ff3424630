import { clearCaches } from '@aws-lambda-powertools/parameters';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as reader from '../../lambda/reader/index.js';
import {
  AccessTokenRejectedError,
  DEFAULT_MAX_AGE_SECONDS,
  getShopToken,
  isAccessTokenRejected,
  isTikTokShopError,
  ShopDeauthorizedError,
  ShopTokenExpiredError,
  TikTokShopError,
  withShopToken,
} from '../../lambda/reader/index.js';

const SECRET = 'tiktok-shop/tokens/shop-a';
const NOW = 1_750_000_000_000;
const DAY = 24 * 3600;
const sm = mockClient(SecretsManagerClient);

let serial = 0;
/** Every token value a test stored, so that the last test can check none leaked. */
const tokensUsed: string[] = [];
/** Every message of every error the reader threw. */
const errorMessages: string[] = [];

/** A token document as the secret holds it, with a new access token. */
function tokenSecret(expiresInSeconds: number, data: Record<string, unknown> = {}) {
  serial++;
  const accessToken = `TTS_AT_reader_${serial}_3f9a1c`;
  const refreshToken = `TTS_RT_reader_${serial}_8b2e7d`;
  tokensUsed.push(accessToken, refreshToken);
  const raw = JSON.stringify({
    code: 0,
    message: 'success',
    data: {
      access_token: accessToken,
      access_token_expire_in: Math.floor(Date.now() / 1000) + expiresInSeconds,
      refresh_token: refreshToken,
      refresh_token_expire_in: Math.floor(Date.now() / 1000) + 365 * DAY,
      open_id: 'open_123',
      seller_name: 'Shop A Ltd',
      ...data,
    },
    request_id: 'req',
  });
  return { raw, accessToken };
}

/** GetSecretValue answers these values in turn, the last one from then on. */
function secretHolds(...raws: string[]) {
  const stub = sm.on(GetSecretValueCommand, { SecretId: SECRET });
  raws.forEach((raw, index) => {
    const answer = { Name: SECRET, VersionId: `v${index + 1}`, SecretString: raw };
    if (index === raws.length - 1) stub.resolves(answer);
    else stub.resolvesOnce(answer);
  });
}

function reads(): number {
  return sm.commandCalls(GetSecretValueCommand).length;
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    errorMessages.push((error as Error).message);
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe('Module: reader', () => {
  let provider: SecretsProvider;

  beforeEach(() => {
    vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
    vi.stubEnv('AWS_REGION', 'us-east-1');
    sm.reset();
    // The token secret carries no deauthorized mark unless a test says so.
    sm.on(DescribeSecretCommand).resolves({});
    clearCaches();
    provider = new SecretsProvider({
      awsSdkV3Client: new SecretsManagerClient({ region: 'us-east-1' }),
    });
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  describe('Function: getShopToken', () => {
    it('answers the access token, its expiry and the seller, never the refresh token', async () => {
      // Prepare
      const { raw, accessToken } = tokenSecret(5 * DAY);
      secretHolds(raw);

      // Act
      const token = await getShopToken(SECRET, { provider });

      // Assess
      expect(token).toEqual({
        accessToken,
        accessTokenExpiresAt: new Date(Math.floor(NOW / 1000) * 1000 + 5 * DAY * 1000),
        sellerName: 'Shop A Ltd',
        openId: 'open_123',
      });
      expect(JSON.stringify(token)).not.toContain('TTS_RT_');
    });

    it('leaves out seller name and open id when the secret has none', async () => {
      const { raw } = tokenSecret(5 * DAY, { seller_name: undefined, open_id: undefined });
      secretHolds(raw);

      const token = await getShopToken(SECRET, { provider });

      expect(Object.keys(token)).toEqual(['accessToken', 'accessTokenExpiresAt']);
    });

    it('reads a token the refresher accepted leniently: expiries as strings, optional fields of another type', async () => {
      // Prepare
      const expiresAt = Math.floor(NOW / 1000) + 5 * DAY;
      const { raw, accessToken } = tokenSecret(0, {
        access_token_expire_in: String(expiresAt),
        refresh_token_expire_in: String(expiresAt + 365 * DAY),
        seller_name: { en: 'Shop A Ltd' },
        open_id: 123,
      });
      secretHolds(raw);

      // Act
      const token = await getShopToken(SECRET, { provider });

      // Assess
      expect(token).toEqual({ accessToken, accessTokenExpiresAt: new Date(expiresAt * 1000) });
    });

    it('serves reads within the cache age from memory', async () => {
      secretHolds(tokenSecret(5 * DAY).raw);

      await getShopToken(SECRET, { provider });
      vi.setSystemTime(NOW + (DEFAULT_MAX_AGE_SECONDS - 1) * 1000);
      await getShopToken(SECRET, { provider });

      expect(reads()).toBe(1);
    });

    it('reads Secrets Manager again once the cache age has passed', async () => {
      const first = tokenSecret(5 * DAY);
      const second = tokenSecret(6 * DAY);
      secretHolds(first.raw, second.raw);

      await getShopToken(SECRET, { provider });
      vi.setSystemTime(NOW + (DEFAULT_MAX_AGE_SECONDS + 1) * 1000);
      const token = await getShopToken(SECRET, { provider });

      expect(token.accessToken).toBe(second.accessToken);
      expect(reads()).toBe(2);
    });

    it('honours a shorter cache age', async () => {
      secretHolds(tokenSecret(5 * DAY).raw);

      await getShopToken(SECRET, { provider, maxAge: 5 });
      vi.setSystemTime(NOW + 6_000);
      await getShopToken(SECRET, { provider, maxAge: 5 });

      expect(reads()).toBe(2);
    });

    it('bypasses the cache with forceFetch and caches what it read', async () => {
      const first = tokenSecret(5 * DAY);
      const second = tokenSecret(6 * DAY);
      secretHolds(first.raw, second.raw);

      await getShopToken(SECRET, { provider });
      const forced = await getShopToken(SECRET, { provider, forceFetch: true });
      const cached = await getShopToken(SECRET, { provider });

      expect(forced.accessToken).toBe(second.accessToken);
      expect(cached.accessToken).toBe(second.accessToken);
      expect(reads()).toBe(2);
    });

    it('reads again instead of answering a cached token that has expired', async () => {
      const expiring = tokenSecret(30);
      const renewed = tokenSecret(7 * DAY);
      secretHolds(expiring.raw, renewed.raw);
      await getShopToken(SECRET, { provider });
      vi.setSystemTime(NOW + 31_000);

      const token = await getShopToken(SECRET, { provider });

      expect(token.accessToken).toBe(renewed.accessToken);
      expect(reads()).toBe(2);
    });

    it('says the token was not renewed when even a fresh read is expired', async () => {
      secretHolds(tokenSecret(-60).raw);

      const error = await failure(getShopToken(SECRET, { provider }));

      expect(error).toBeInstanceOf(ShopTokenExpiredError);
      expect(error.message).toContain(`the access token in secret ${SECRET} expired at`);
      expect(error.message).toContain('check the refresher');
      expect(reads()).toBe(2);
    });

    it('reads once, not twice, when a forced read finds an expired token', async () => {
      secretHolds(tokenSecret(-60).raw);

      await failure(getShopToken(SECRET, { provider, forceFetch: true }));

      expect(reads()).toBe(1);
    });

    it.each([
      ['a missing access token', { access_token: undefined }, 'data.access_token: missing'],
      [
        'an expiry given as a duration',
        { access_token_expire_in: 604_800 },
        'data.access_token_expire_in: must be an absolute Unix timestamp in seconds',
      ],
      [
        'an expiry in milliseconds',
        { access_token_expire_in: NOW + 1000 },
        'data.access_token_expire_in: must be in seconds, not milliseconds',
      ],
    ])('names the field, not the value, of a secret with %s', async (_, data, expected) => {
      const { raw } = tokenSecret(5 * DAY, data);
      secretHolds(raw);

      const error = await failure(getShopToken(SECRET, { provider }));

      expect(error.name).toBe('MalformedSecretError');
      expect(error.message).toContain(`secret ${SECRET} does not hold a TikTok token document`);
      expect(error.message).toContain(expected);
      expect(error.message).not.toContain('TTS_');
    });

    it('refuses a secret that is not JSON without quoting it', async () => {
      secretHolds('access_token=TTS_AT_not_json_5d1e');
      tokensUsed.push('TTS_AT_not_json_5d1e');

      const error = await failure(getShopToken(SECRET, { provider }));

      expect(error.message).toContain('(not valid JSON)');
      expect(error.message).not.toContain('TTS_AT_not_json_5d1e');
    });

    it('refuses a binary secret', async () => {
      sm.on(GetSecretValueCommand).resolves({ VersionId: 'v1', SecretBinary: Uint8Array.of(1) });

      const error = await failure(getShopToken(SECRET, { provider }));

      expect(error.name).toBe('MalformedSecretError');
      expect(error.message).toBe(`secret ${SECRET} holds binary data, not a token document`);
    });

    it('names the secret and the AWS error when the secret cannot be read', async () => {
      sm.on(GetSecretValueCommand).rejects(
        new ResourceNotFoundException({
          message: "Secrets Manager can't find the specified secret.",
          $metadata: {},
        }),
      );

      const error = await failure(getShopToken(SECRET, { provider }));

      expect(error).toMatchObject({
        name: 'SecretStoreError',
        awsName: 'ResourceNotFoundException',
        message: `could not read secret ${SECRET}: ResourceNotFoundException: Secrets Manager can't find the specified secret.`,
      });
    });

    it('reads through Powertools’ shared provider when none is given', async () => {
      const { raw, accessToken } = tokenSecret(5 * DAY);
      secretHolds(raw);

      const first = await getShopToken(SECRET);
      const second = await getShopToken(SECRET);

      expect(first.accessToken).toBe(accessToken);
      expect(second.accessToken).toBe(accessToken);
      expect(reads()).toBe(1);
    });
  });

  describe('Function: getShopToken, for a shop TikTok said was deauthorized', () => {
    /** The receiver's mark on the token secret, for a notification sent at `atSeconds`. */
    function markedAt(atSeconds: number) {
      sm.on(DescribeSecretCommand, { SecretId: SECRET }).resolves({
        Name: SECRET,
        Tags: [{ Key: 'tiktok-shop-deauthorized', Value: `${atSeconds}:n-6` }],
      });
    }

    /** GetSecretValue answers `raw` as a version stored at `createdAt` (epoch ms). */
    function storedAt(raw: string, createdAt: number) {
      sm.on(GetSecretValueCommand, { SecretId: SECRET }).resolves({
        Name: SECRET,
        VersionId: 'v1',
        SecretString: raw,
        CreatedDate: new Date(createdAt),
      });
    }

    it('throws ShopDeauthorizedError naming the shop when the token predates the notification', async () => {
      // Prepare
      const { raw, accessToken } = tokenSecret(5 * DAY);
      storedAt(raw, NOW - 3_600_000);
      markedAt(Math.floor(NOW / 1000) - 60);

      // Act
      const error = await failure(getShopToken(SECRET, { provider }));

      // Assess
      expect(error).toBeInstanceOf(ShopDeauthorizedError);
      expect(error).toBeInstanceOf(TikTokShopError);
      expect(error).toMatchObject({
        shop: SECRET,
        deauthorizedAt: new Date((Math.floor(NOW / 1000) - 60) * 1000).toISOString(),
      });
      expect(error.message).toContain(`secret ${SECRET}`);
      expect(error.message).not.toContain(accessToken);
    });

    it('answers the token once the shop was connected again after the notification', async () => {
      // Prepare
      const { raw, accessToken } = tokenSecret(5 * DAY);
      markedAt(Math.floor(NOW / 1000) - 60);
      storedAt(raw, NOW - 1_000);

      // Act
      const token = await getShopToken(SECRET, { provider });

      // Assess
      expect(token.accessToken).toBe(accessToken);
    });

    it('reads the token as before for a role not allowed to describe the secret', async () => {
      // Prepare
      const { raw, accessToken } = tokenSecret(5 * DAY);
      storedAt(raw, NOW - 3_600_000);
      sm.on(DescribeSecretCommand, { SecretId: SECRET }).rejects(
        Object.assign(new Error('not authorized to perform secretsmanager:DescribeSecret'), {
          name: 'AccessDeniedException',
        }),
      );

      // Act
      const token = await getShopToken(SECRET, { provider });

      // Assess
      expect(token.accessToken).toBe(accessToken);
    });

    it('sees a mark that arrived after a read once the cache age has passed, or on a forced read', async () => {
      // Prepare
      const { raw } = tokenSecret(5 * DAY);
      storedAt(raw, NOW - 3_600_000);
      await getShopToken(SECRET, { provider });
      markedAt(Math.floor(NOW / 1000) - 1);

      // Act
      const cached = await getShopToken(SECRET, { provider });
      const forced = await failure(getShopToken(SECRET, { provider, forceFetch: true }));
      vi.setSystemTime(NOW + (DEFAULT_MAX_AGE_SECONDS + 1) * 1000);
      const later = await failure(getShopToken(SECRET, { provider }));

      // Assess
      expect(cached.accessTokenExpiresAt.getTime()).toBeGreaterThan(NOW);
      expect(forced).toBeInstanceOf(ShopDeauthorizedError);
      expect(later).toBeInstanceOf(ShopDeauthorizedError);
    });
  });

  describe('Function: withShopToken', () => {
    it('runs the call with the access token and answers its result', async () => {
      const { raw, accessToken } = tokenSecret(5 * DAY);
      secretHolds(raw);

      const result = await withShopToken(
        SECRET,
        async (token, details) => `${token === accessToken}:${details.sellerName}`,
        { provider },
      );

      expect(result).toBe('true:Shop A Ltd');
    });

    it('re-reads bypassing the cache and retries once with the new token when TikTok refuses the cached one', async () => {
      // Prepare: the reader cached a token, then a new authorization replaced it.
      const replaced = tokenSecret(5 * DAY);
      const current = tokenSecret(7 * DAY);
      secretHolds(replaced.raw, current.raw);
      await getShopToken(SECRET, { provider });
      const seen: string[] = [];

      // Act
      const result = await withShopToken(
        SECRET,
        async (accessToken) => {
          seen.push(accessToken);
          if (accessToken !== current.accessToken) {
            throw new AccessTokenRejectedError('TikTok answered 105002 access token expired');
          }
          return 'orders';
        },
        { provider },
      );

      // Assess
      expect(result).toBe('orders');
      expect(seen).toEqual([replaced.accessToken, current.accessToken]);
      expect(reads()).toBe(2);
    });

    it('retries only once: a second refusal is thrown to the caller', async () => {
      secretHolds(tokenSecret(5 * DAY).raw, tokenSecret(7 * DAY).raw, tokenSecret(7 * DAY).raw);
      let calls = 0;

      const error = await failure(
        withShopToken(
          SECRET,
          async () => {
            calls++;
            throw Object.assign(new Error(`refused ${calls}`), { code: 105002 });
          },
          { provider },
        ),
      );

      expect(error.message).toBe('refused 2');
      expect(calls).toBe(2);
      expect(reads()).toBe(2);
    });

    it('throws the refusal without a second call when the secret still holds the refused token', async () => {
      secretHolds(tokenSecret(5 * DAY).raw);
      let calls = 0;

      const error = await failure(
        withShopToken(
          SECRET,
          async () => {
            calls++;
            throw new AccessTokenRejectedError('access token invalid');
          },
          { provider },
        ),
      );

      expect(error).toBeInstanceOf(AccessTokenRejectedError);
      expect(calls).toBe(1);
      expect(reads()).toBe(2);
    });

    it('neither re-reads nor retries after an error that is not about the token', async () => {
      secretHolds(tokenSecret(5 * DAY).raw, tokenSecret(7 * DAY).raw);
      let calls = 0;

      const error = await failure(
        withShopToken(
          SECRET,
          async () => {
            calls++;
            throw Object.assign(new Error('rate limited'), { status: 429, code: 12019001 });
          },
          { provider },
        ),
      );

      expect(error.message).toBe('rate limited');
      expect(calls).toBe(1);
      expect(reads()).toBe(1);
    });

    it('uses a caller’s own test for a refused token', async () => {
      const replaced = tokenSecret(5 * DAY);
      const current = tokenSecret(7 * DAY);
      secretHolds(replaced.raw, current.raw);
      const seen: string[] = [];

      await withShopToken(
        SECRET,
        async (accessToken) => {
          seen.push(accessToken);
          if (seen.length === 1) throw new Error('IllegalAccessToken');
          return 'ok';
        },
        { provider, isTokenRejected: (error) => (error as Error).message === 'IllegalAccessToken' },
      );

      expect(seen).toEqual([replaced.accessToken, current.accessToken]);
    });
  });

  describe('Function: isAccessTokenRejected', () => {
    it.each([
      ['AccessTokenRejectedError', new AccessTokenRejectedError('refused')],
      ['status 401', { status: 401 }],
      ['statusCode 401', { statusCode: 401 }],
      ['an axios-style response.status 401', { response: { status: 401 } }],
      ['an AWS SDK $metadata.httpStatusCode 401', { $metadata: { httpStatusCode: 401 } }],
      ['code 105002 (expired)', { code: 105002 }],
      ['code "105002" as a string', { code: '105002' }],
      ['tiktokCode 36009004', { tiktokCode: 36009004 }],
      ['a response body code 105002', { response: { data: { code: 105002 } } }],
      ['a body code 36009004', { body: { code: 36009004 } }],
      ['an HTTP 401 with code 105002', { status: 401, code: 105002 }],
    ])('recognises %s', (_, error) => {
      expect(isAccessTokenRejected(error)).toBe(true);
    });

    it.each([
      ['status 403', { status: 403 }],
      ['status 500', { statusCode: 500 }],
      ['code 0', { code: 0 }],
      ['code 105 (too short to be a family)', { code: 105 }],
      ['code 12019001', { code: 12019001 }],
      ['code 105001 (deauthorized: the seller must authorize again)', { code: 105001 }],
      ['code 105005 (scope not granted)', { code: 105005 }],
      ['code 36009002 (rate limited)', { code: 36009002 }],
      ['code 36009033 (IP not allowed)', { tiktokCode: 36009033 }],
      ['an HTTP 401 with code 106001 (signature invalid)', { status: 401, code: 106001 }],
      ['a Node error code', { code: 'ECONNRESET' }],
      ['a string', 'token expired'],
      ['null', null],
      ['undefined', undefined],
    ])('does not take %s for a refused token', (_, error) => {
      expect(isAccessTokenRejected(error)).toBe(false);
    });
  });

  it('never puts a token into an error message', () => {
    expect(errorMessages.length).toBeGreaterThan(8);
    expect(tokensUsed.length).toBeGreaterThan(20);
    const everything = errorMessages.join('\n');
    for (const token of tokensUsed) expect(everything).not.toContain(token);
  });
});

describe('Function: isTikTokShopError', () => {
  /** Every error class the reader exports, by its exported name. */
  const errorClasses = Object.entries(reader).filter(
    ([name, value]) =>
      typeof value === 'function' && /^[A-Z]\w*Error$/.test(name) && name !== 'TikTokShopError',
  ) as [string, new (message: string, ...rest: never[]) => Error][];

  it('finds the error classes a reader catches', () => {
    expect(errorClasses.map(([name]) => name)).toEqual(
      expect.arrayContaining(['TikTokApiError', 'TransientError', 'OversizedAnswerError']),
    );
  });

  it.each(errorClasses)("recognizes %s as one of the library's errors", (_, ErrorClass) => {
    const error = Reflect.construct(ErrorClass, ['failed']) as Error;

    expect(error).toBeInstanceOf(TikTokShopError);
    expect(isTikTokShopError(error)).toBe(true);
  });

  it.each([new Error('other'), new TypeError('fetch failed'), 'text', undefined])(
    'does not take %s for one of them',
    (value) => {
      expect(isTikTokShopError(value)).toBe(false);
    },
  );
});
