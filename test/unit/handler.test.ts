import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  TagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { CHAINED_EVENT } from '../../infra/run-events.js';
import type { ChainedRunResult } from '../../lambda/refresher/invocation.js';
import type { RunSummary } from '../../lambda/refresher/refresh.js';
import { DEFAULTS, DETAIL_TYPE, ENV, METRIC } from '../../lambda/shared/contract.js';
import { KEPT_LABEL, versionIdFor } from '../../lambda/shared/secrets-store.js';
import { MAX_STORED_BYTES } from '../../lambda/shared/token.js';
import { type LocalOpenApi, startLocalOpenApi } from '../local/endpoints/open-api.js';
import {
  drift,
  type LocalTikTok,
  REFRESH_PATH,
  startLocalTikTok,
} from '../local/endpoints/tiktok.js';
import { leaksIn } from '../support/leak-check.js';
import { sellerToken } from '../support/seed-shop.js';

const APP_KEY = 'test-app-key';
const APP_SECRET = 'APPSECRET_0f9e8d7c6b5a';
const CREDENTIALS_ID = 'tiktok-shop/app-credentials';
const SHOP_A = 'tiktok-shop/tokens/shop-a';
const SHOP_B = 'tiktok-shop/tokens/shop-b';
const DAY = 24 * 3600;

const sm = mockClient(SecretsManagerClient);
const eb = mockClient(EventBridgeClient);
let tiktok: LocalTikTok;
/** The Open API of the local TikTok's sellers: their shop ids after a refresh. */
let openApi: LocalOpenApi;

/** Everything the current test's runs let out: log lines, results, errors and events. */
const emitted: string[] = [];
/** Values the current test planted in a secret, on top of what TikTok issued: they must not leak. */
const planted: string[] = [];

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A new seller's token as the secret holds it, its access token ending in `accessTtlSeconds`. */
function seller(accessTtlSeconds: number, options: { refreshTokenExpiresAt?: number } = {}) {
  return sellerToken(tiktok, { accessTtlSeconds, ...options });
}

/** Scripts Secrets Manager: what each label of a secret answers. */
function stored(
  secretId: string,
  current: { raw: string; versionId: string },
  pending?: { raw: string; versionId: string },
) {
  sm.on(GetSecretValueCommand, { SecretId: secretId, VersionStage: 'AWSCURRENT' }).resolves({
    Name: secretId,
    VersionId: current.versionId,
    SecretString: current.raw,
  });
  const pendingLabel = sm.on(GetSecretValueCommand, {
    SecretId: secretId,
    VersionStage: 'AWSPENDING',
  });
  if (pending === undefined) {
    pendingLabel.rejects(
      new ResourceNotFoundException({ message: "can't find label AWSPENDING", $metadata: {} }),
    );
  } else {
    pendingLabel.resolves({
      Name: secretId,
      VersionId: pending.versionId,
      SecretString: pending.raw,
    });
  }
}

function putValues(secretId: string): string[] {
  return sm
    .commandCalls(PutSecretValueCommand, { SecretId: secretId })
    .map((call) => call.args[0].input.SecretString ?? '');
}

function publishedEvents(): { detailType: string; detail: Record<string, unknown> }[] {
  return eb.commandCalls(PutEventsCommand).flatMap((call) =>
    (call.args[0].input.Entries ?? []).map((entry) => ({
      detailType: entry.DetailType ?? '',
      detail: JSON.parse(entry.Detail ?? '{}') as Record<string, unknown>,
    })),
  );
}

function refreshCalls(): number {
  return tiktok.calls.filter((call) => call.path === REFRESH_PATH).length;
}

/** The current test's JSON log lines (Powertools logs and EMF metrics). */
function logLines(): Record<string, unknown>[] {
  return emitted.flatMap((chunk) =>
    chunk
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>),
  );
}

async function invoke(
  event: unknown,
  remainingMs = 300_000,
): Promise<{ result?: RunSummary; error?: Error }> {
  const { handler } = await import('../../lambda/refresher/handler.js');
  const context = {
    functionName: 'refresher',
    awsRequestId: 'request-1',
    getRemainingTimeInMillis: () => remainingMs,
  } as unknown as Context;
  try {
    // A summary unless the event is chained (those tests read what they expect from it).
    const result = (await handler(event, context)) as RunSummary;
    emitted.push(JSON.stringify(result));
    return { result };
  } catch (error) {
    emitted.push(String(error), (error as Error).stack ?? '');
    return { error: error as Error };
  } finally {
    emitted.push(JSON.stringify(publishedEvents()));
  }
}

describe('Function: handler', () => {
  beforeAll(async () => {
    tiktok = await startLocalTikTok({ appKey: APP_KEY, appSecret: APP_SECRET });
    openApi = await startLocalOpenApi({
      appKey: APP_KEY,
      appSecret: APP_SECRET,
      accessTokens: (accessToken) => tiktok.accessTokenStatus(accessToken),
      shopIdsOf: (accessToken) => tiktok.shopIdsOfAccessToken(accessToken),
    });
  });

  afterAll(async () => {
    await Promise.all([tiktok.close(), openApi.close()]);
  });

  beforeEach(() => {
    emitted.length = 0;
    planted.length = 0;
    vi.resetModules();
    sm.reset();
    eb.reset();
    tiktok.reset();
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    sm.on(GetSecretValueCommand, { SecretId: CREDENTIALS_ID }).resolves({
      VersionId: 'c1',
      SecretString: JSON.stringify({ app_key: APP_KEY, app_secret: APP_SECRET }),
    });
    sm.on(PutSecretValueCommand).resolves({});
    sm.on(UpdateSecretVersionStageCommand).resolves({});
    // The configured secrets carry no app tag: the default app's, unless a test says otherwise.
    sm.on(DescribeSecretCommand).resolves({ Tags: [] });
    // No answer kept from an earlier run, unless a test says otherwise.
    sm.on(GetSecretValueCommand, { VersionStage: KEPT_LABEL }).rejects(
      new ResourceNotFoundException({ message: `can't find label ${KEPT_LABEL}`, $metadata: {} }),
    );
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'refresher-test');
    vi.stubEnv('APP_CREDENTIALS_SECRET_ID', CREDENTIALS_ID);
    vi.stubEnv('TOKEN_SECRET_IDS', `${SHOP_A},${SHOP_B}`);
    vi.stubEnv('TOKEN_SECRET_TAG_KEY', '');
    vi.stubEnv('TIKTOK_AUTH_BASE_URL', tiktok.url);
    vi.stubEnv(ENV.tiktokApiBaseUrl, openApi.url);
    sm.on(TagResourceCommand).resolves({});
    // No other writer races these runs: a quick look for one after a refusal (see the tests of
    // REFUSAL_RECHECK_MS below).
    vi.stubEnv(ENV.refusalRecheckMs, '15');
    const capture = (chunk: unknown) => {
      emitted.push(String(chunk));
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  });

  afterEach(() => {
    // Assess: nothing the test's runs logged, returned, threw or published gives a secret away
    const secrets = [...tiktok.issuedSecrets(), ...planted, APP_SECRET];
    expect(leaksIn(emitted.join('\n'), secrets)).toEqual([]);
  });

  describe('a scheduled run', () => {
    it('stores exactly what TikTok answered for a due shop and skips a fresh one', async () => {
      // Prepare
      const due = seller(3600);
      const fresh = seller(6 * DAY);
      stored(SHOP_A, { raw: due.raw, versionId: 'a1' });
      stored(SHOP_B, { raw: fresh.raw, versionId: 'b1' });

      // Act
      const { result, error } = await invoke({
        source: 'aws.scheduler',
        'detail-type': 'Scheduled Event',
        detail: {},
      });

      // Assess
      expect(error).toBeUndefined();
      expect(result?.counts).toEqual({ refreshed: 1, skipped: 1, superseded: 0, failed: 0 });
      const [written] = putValues(SHOP_A);
      const answer = JSON.parse(written ?? '{}') as {
        code: number;
        data: { refresh_token: string };
      };
      expect(answer.code).toBe(0);
      expect(tiktok.isRefreshTokenValid(answer.data.refresh_token)).toBe(true);
      expect(tiktok.isRefreshTokenValid(due.refreshToken)).toBe(false);
      expect(putValues(SHOP_B)).toEqual([]);
      expect(sm.commandCalls(UpdateSecretVersionStageCommand)[0]?.args[0].input).toMatchObject({
        SecretId: SHOP_A,
        VersionStage: 'AWSCURRENT',
        RemoveFromVersionId: 'a1',
        MoveToVersionId: versionIdFor(SHOP_A, written ?? ''),
      });
      expect(result?.trigger).toBe('schedule');
    });

    it('reports expiry times in ISO 8601 and publishes Token Refreshed without the token', async () => {
      const due = seller(60);
      stored(SHOP_A, { raw: due.raw, versionId: 'a1' });
      vi.stubEnv('TOKEN_SECRET_IDS', SHOP_A);

      const { result } = await invoke({});

      const line = result?.shops[0];
      expect(line?.outcome).toBe('refreshed');
      expect(line?.accessTokenExpiresAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Date.parse(line?.accessTokenExpiresAt ?? '')).toBeGreaterThan(
        Date.now() + 6 * DAY * 1000,
      );
      const events = publishedEvents();
      expect(events.map((event) => event.detailType)).toEqual([DETAIL_TYPE.tokenRefreshed]);
      expect(events[0]?.detail).toEqual({
        shop: SHOP_A,
        accessTokenExpiresAt: line?.accessTokenExpiresAt,
        refreshTokenExpiresAt: line?.refreshTokenExpiresAt,
      });
    });

    it('calls nothing but Secrets Manager reads when no shop is due', async () => {
      stored(SHOP_A, { raw: seller(5 * DAY).raw, versionId: 'a1' });
      stored(SHOP_B, { raw: seller(5 * DAY).raw, versionId: 'b1' });

      const { result } = await invoke({});

      expect(result?.counts.skipped).toBe(2);
      expect(result?.shops.map((shop) => shop.reason)).toEqual(['not-due', 'not-due']);
      expect(refreshCalls()).toBe(0);
      // The app credentials are read once, beside the shops' reads, not once per shop.
      expect(sm.commandCalls(GetSecretValueCommand, { SecretId: CREDENTIALS_ID })).toHaveLength(1);
      expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(0);
      expect(sm.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(0);
    });

    it('reads the tags of each configured secret not found by tag once a run, with DescribeSecret', async () => {
      stored(SHOP_A, { raw: seller(5 * DAY).raw, versionId: 'a1' });
      stored(SHOP_B, { raw: seller(5 * DAY).raw, versionId: 'b1' });

      await invoke({});

      const described = sm.commandCalls(DescribeSecretCommand).map((call) => call.args[0].input);
      expect(described).toEqual([{ SecretId: SHOP_A }, { SecretId: SHOP_B }]);
    });

    it('fails a run with nothing due when the app credentials cannot be read, after reporting every shop', async () => {
      // Prepare: the app-credentials secret was created empty and never filled
      sm.on(GetSecretValueCommand, { SecretId: CREDENTIALS_ID }).rejects(
        new ResourceNotFoundException({ message: 'no value', $metadata: {} }),
      );
      stored(SHOP_A, { raw: seller(5 * DAY).raw, versionId: 'a1' });
      stored(SHOP_B, { raw: seller(5 * DAY).raw, versionId: 'b1' });

      // Act
      const { result, error } = await invoke({});

      // Assess
      expect(result).toBeUndefined();
      expect(error?.name).toBe('SecretStoreError');
      expect(error?.message).toBe(
        `app credentials: secret ${CREDENTIALS_ID} does not exist or holds no value yet; put the app's {"app_key","app_secret"} in it`,
      );
      expect(logLines().filter((line) => line.message === 'shop skipped')).toHaveLength(2);
      expect(logLines().find((line) => line.message === 'invocation failed')).toMatchObject({
        errorType: 'SecretStoreError',
      });
      expect(sm.commandCalls(GetSecretValueCommand, { SecretId: CREDENTIALS_ID })).toHaveLength(1);
    });

    it('finds shops by tag as well as by name, each once', async () => {
      vi.stubEnv('TOKEN_SECRET_IDS', SHOP_A);
      vi.stubEnv('TOKEN_SECRET_TAG_KEY', 'tiktok-shop-token');
      sm.on(ListSecretsCommand).resolves({
        SecretList: [
          {
            Name: SHOP_A,
            ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${SHOP_A}-AbCdEf`,
          },
          {
            Name: SHOP_B,
            ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${SHOP_B}-GhIjKl`,
          },
        ],
      });
      stored(SHOP_A, { raw: seller(5 * DAY).raw, versionId: 'a1' });
      stored(`arn:aws:secretsmanager:us-east-1:123456789012:secret:${SHOP_B}-GhIjKl`, {
        raw: seller(5 * DAY).raw,
        versionId: 'b1',
      });

      const { result } = await invoke({});

      expect(result?.shops.map((shop) => shop.shop)).toEqual([SHOP_A, SHOP_B]);
    });

    it('publishes Authorization Expiring when the seller authorization ends within 30 days', async () => {
      vi.stubEnv('TOKEN_SECRET_IDS', SHOP_A);
      const due = seller(60, { refreshTokenExpiresAt: nowSeconds() + 10 * DAY });
      stored(SHOP_A, { raw: due.raw, versionId: 'a1' });

      await invoke({});

      expect(publishedEvents().map((event) => event.detailType)).toEqual([
        DETAIL_TYPE.tokenRefreshed,
        DETAIL_TYPE.authorizationExpiring,
      ]);
    });

    it('emits outcome counts and the smallest remaining access-token lifetime as metrics', async () => {
      stored(SHOP_A, { raw: seller(3 * DAY).raw, versionId: 'a1' });
      stored(SHOP_B, { raw: seller(5 * DAY).raw, versionId: 'b1' });

      await invoke({});

      const emf = logLines().find((line) => '_aws' in line);
      expect(emf?.[METRIC.tokensSkipped]).toBe(2);
      expect(emf?.[METRIC.refreshFailures]).toBe(0);
      expect(emf?.[METRIC.minAccessTokenLifetime]).toBeGreaterThan(3 * DAY - 60);
      expect(emf?.[METRIC.minAccessTokenLifetime]).toBeLessThanOrEqual(3 * DAY);
    });
  });

  describe('a manual run', () => {
    it('refreshes a token that is not due when forced', async () => {
      vi.stubEnv('TOKEN_SECRET_IDS', SHOP_A);
      stored(SHOP_A, { raw: seller(6 * DAY).raw, versionId: 'a1' });

      const { result } = await invoke({ force: true });

      expect(result?.shops[0]?.outcome).toBe('refreshed');
      expect(putValues(SHOP_A)).toHaveLength(1);
    });

    it('only touches the shops asked for, by name or ARN', async () => {
      stored(SHOP_A, { raw: seller(6 * DAY).raw, versionId: 'a1' });
      stored(SHOP_B, { raw: seller(6 * DAY).raw, versionId: 'b1' });

      const { result } = await invoke({
        force: true,
        shops: [`arn:aws:secretsmanager:us-east-1:123456789012:secret:${SHOP_B}-GhIjKl`],
      });

      expect(result?.shops.map((shop) => shop.shop)).toEqual([SHOP_B]);
      expect(putValues(SHOP_A)).toEqual([]);
      expect(putValues(SHOP_B)).toHaveLength(1);
    });

    it('decides but neither calls TikTok nor writes in a dry run', async () => {
      const due = seller(60);
      stored(SHOP_A, { raw: due.raw, versionId: 'a1' });
      stored(SHOP_B, { raw: seller(6 * DAY).raw, versionId: 'b1' });

      const { result } = await invoke({ dryRun: true });

      expect(result?.shops.map((shop) => [shop.outcome, shop.reason])).toEqual([
        ['skipped', 'dry-run'],
        ['skipped', 'not-due'],
      ]);
      expect(refreshCalls()).toBe(0);
      expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(0);
      expect(tiktok.isRefreshTokenValid(due.refreshToken)).toBe(true);
    });

    it.each([
      [{ forse: true }, "unknown field 'forse'"],
      [{ force: 'yes' }, 'force: must be a boolean'],
      [{ shops: 'shop-a' }, 'shops: must be an array'],
      [{ shops: ['tiktok-shop/tokens/nope'] }, 'not configured: tiktok-shop/tokens/nope'],
      [[], 'must be a JSON object'],
    ])('refuses the event %j before any call, naming what is wrong', async (event, expected) => {
      const { error } = await invoke(event);

      expect(error?.name).toBe('InvalidEventError');
      expect(error?.message).toContain(expected);
      expect(refreshCalls()).toBe(0);
      expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(0);
    });

    it('names every missing or invalid setting in one error', async () => {
      vi.stubEnv('APP_CREDENTIALS_SECRET_ID', '');
      vi.stubEnv('TOKEN_SECRET_IDS', '');
      vi.stubEnv('TIKTOK_AUTH_BASE_URL', 'http://auth.example.com');

      const { error } = await invoke({});

      expect(error?.name).toBe('ConfigurationError');
      expect(error?.message).toContain('APP_CREDENTIALS_SECRET_ID is required');
      expect(error?.message).toContain('TOKEN_SECRET_IDS or TOKEN_SECRET_TAG_KEY');
      expect(error?.message).toContain('TIKTOK_AUTH_BASE_URL must use https');
    });
  });

  describe('when TikTok refuses', () => {
    beforeEach(() => {
      vi.stubEnv('TOKEN_SECRET_IDS', SHOP_A);
    });

    it.each([36004001, 36004005])(
      'keeps the stored token when TikTok answers code %i, asks for reauthorization and does not retry',
      async (code) => {
        stored(SHOP_A, { raw: seller(60).raw, versionId: 'a1' });
        tiktok.failNext(1, { code, message: 'refresh token invalid' });

        const { result, error } = await invoke({});

        expect(error).toBeUndefined();
        expect(result?.shops[0]).toMatchObject({
          outcome: 'failed',
          errorType: 'ReauthorizationRequiredError',
          tiktokCode: code,
          retryable: false,
        });
        expect(refreshCalls()).toBe(1);
        expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(0);
        expect(publishedEvents()[0]?.detailType).toBe(DETAIL_TYPE.reauthorizationRequired);
      },
    );

    it('asks for reauthorization without calling TikTok when the stored refresh token has expired', async () => {
      const expired = seller(60);
      const document = JSON.parse(expired.raw) as { data: Record<string, unknown> };
      document.data.refresh_token_expire_in = nowSeconds() - DAY;
      stored(SHOP_A, { raw: JSON.stringify(document), versionId: 'a1' });

      const { result } = await invoke({});

      expect(result?.shops[0]?.errorType).toBe('ReauthorizationRequiredError');
      expect(result?.shops[0]?.message).toContain('stored refresh token expired at');
      expect(refreshCalls()).toBe(0);
    });

    it('reports a shop as superseded when another writer refreshed it meanwhile', async () => {
      const due = seller(60);
      // First read sees a1; the re-read after TikTok's refusal sees the other writer's a2.
      sm.on(GetSecretValueCommand, { SecretId: SHOP_A, VersionStage: 'AWSCURRENT' })
        .resolvesOnce({ VersionId: 'a1', SecretString: due.raw })
        .resolves({ VersionId: 'a2', SecretString: due.raw });
      sm.on(GetSecretValueCommand, { SecretId: SHOP_A, VersionStage: 'AWSPENDING' }).rejects(
        new ResourceNotFoundException({ message: 'no label', $metadata: {} }),
      );
      tiktok.failNext(1, { code: 36004005, message: 'no related auth record' });

      const { result, error } = await invoke({});

      expect(error).toBeUndefined();
      expect(result?.shops[0]?.outcome).toBe('superseded');
      expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(0);
    });

    it('waits for a concurrent writer whose new token is not yet current before reporting superseded', async () => {
      const due = seller(60);
      sm.on(GetSecretValueCommand, { SecretId: SHOP_A, VersionStage: 'AWSCURRENT' }).resolves({
        VersionId: 'a1',
        SecretString: due.raw,
        CreatedDate: new Date('2026-11-20T00:00:00Z'),
      });
      // Our read, then the first look after the refusal, see no pending version; the second does.
      sm.on(GetSecretValueCommand, { SecretId: SHOP_A, VersionStage: 'AWSPENDING' })
        .rejectsOnce(new ResourceNotFoundException({ message: 'no label', $metadata: {} }))
        .rejectsOnce(new ResourceNotFoundException({ message: 'no label', $metadata: {} }))
        .resolves({
          VersionId: 'a2',
          SecretString: due.raw,
          CreatedDate: new Date('2026-11-25T00:00:00Z'),
        });
      tiktok.failNext(1, { code: 36004005, message: 'no related auth record' });

      const { result } = await invoke({});

      expect(result?.shops[0]?.outcome).toBe('superseded');
      expect(publishedEvents()).toEqual([]);
    });

    it.each([
      ['0', 1],
      ['15', 5],
    ])(
      'with REFUSAL_RECHECK_MS=%s, reads the token %i more times before asking for reauthorization',
      async (recheckMs, looks) => {
        // Prepare
        vi.stubEnv(ENV.refusalRecheckMs, recheckMs);
        stored(SHOP_A, { raw: seller(60).raw, versionId: 'a1' });
        tiktok.failNext(1, { code: 36004005, message: 'no related auth record' });

        // Act
        const { result } = await invoke({});

        // Assess
        expect(result?.shops[0]?.errorType).toBe('ReauthorizationRequiredError');
        const currentReads = sm.commandCalls(GetSecretValueCommand, {
          SecretId: SHOP_A,
          VersionStage: 'AWSCURRENT',
        });
        expect(currentReads).toHaveLength(1 + looks);
      },
    );

    it('spreads its looks for another writer over REFUSAL_RECHECK_MS', async () => {
      // Prepare
      vi.stubEnv(ENV.refusalRecheckMs, '600');
      stored(SHOP_A, { raw: seller(60).raw, versionId: 'a1' });
      tiktok.failNext(1, { code: 36004005, message: 'no related auth record' });

      // Act
      const started = Date.now();
      const { result } = await invoke({});
      const tookMs = Date.now() - started;

      // Assess
      expect(result?.shops[0]?.errorType).toBe('ReauthorizationRequiredError');
      expect(tookMs).toBeGreaterThanOrEqual(600);
      expect(tookMs).toBeLessThan(DEFAULTS.refusalRecheckMs);
    });

    it('retries HTTP 503, then fails the invocation so Lambda retries it', async () => {
      const due = seller(60);
      stored(SHOP_A, { raw: due.raw, versionId: 'a1' });
      tiktok.failAlways({ httpStatus: 503 });

      const { error } = await invoke({});

      expect(error?.name).toBe('RefreshIncompleteError');
      expect(error?.message).toContain(`${SHOP_A} (TransientError: TikTok answered HTTP 503)`);
      expect(refreshCalls()).toBe(3);
      expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(0);
      expect(tiktok.isRefreshTokenValid(due.refreshToken)).toBe(true);
    });

    it('names the other failed shops too when a retryable failure fails the run', async () => {
      vi.stubEnv('TOKEN_SECRET_IDS', `${SHOP_A},${SHOP_B}`);
      stored(SHOP_A, { raw: seller(60).raw, versionId: 'a1' });
      stored(SHOP_B, { raw: '{"code":0}', versionId: 'b1' });
      tiktok.failAlways({ httpStatus: 503 });

      const { error } = await invoke({});

      expect(error?.message).toContain(
        `1 of 2 shops failed and may succeed on retry: ${SHOP_A} (Transient`,
      );
      expect(error?.message).toContain(
        `also failed, a retry will not help: ${SHOP_B} (MalformedSecret`,
      );
    });

    it('succeeds when TikTok recovers within the retries', async () => {
      stored(SHOP_A, { raw: seller(60).raw, versionId: 'a1' });
      tiktok.failNext(1, { httpStatus: 429, retryAfterSeconds: 0 });

      const { result } = await invoke({});

      expect(result?.shops[0]?.outcome).toBe('refreshed');
      expect(refreshCalls()).toBe(2);
    });

    it('treats a timeout as transient', async () => {
      vi.stubEnv('TIKTOK_TIMEOUT_MS', '200');
      stored(SHOP_A, { raw: seller(60).raw, versionId: 'a1' });
      tiktok.failAlways({ delayMs: 1_000 });

      const { error } = await invoke({});

      expect(error?.message).toContain('TikTok did not answer within 200 ms');
    });

    it.each([
      [{ body: '<html>bad gateway</html>' }, 'unusable body (not valid JSON)'],
      [
        { json: { code: 0, message: 'success', data: { access_token: 'x' } } },
        'data.refresh_token: missing',
      ],
      [
        { code: 12345678, message: 'something new' },
        'TikTok answered code 12345678: something new',
      ],
    ])('writes nothing when TikTok answers %j', async (fault, expected) => {
      stored(SHOP_A, { raw: seller(60).raw, versionId: 'a1' });
      tiktok.failNext(1, fault);

      const { result, error } = await invoke({});

      expect(error).toBeUndefined();
      expect(result?.shops[0]).toMatchObject({
        outcome: 'failed',
        errorType: 'UnexpectedResponseError',
      });
      expect(result?.shops[0]?.message).toContain(expected);
      expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(0);
      expect(publishedEvents()[0]?.detailType).toBe(DETAIL_TYPE.tokenRefreshFailed);
    });
  });

  describe('reading and storing', () => {
    beforeEach(() => {
      vi.stubEnv('TOKEN_SECRET_IDS', SHOP_A);
    });

    it('reports a malformed secret by shop without calling TikTok', async () => {
      stored(SHOP_A, {
        raw: '{"code":0,"data":{"access_token":"AT_LEAK_CHECK"}}',
        versionId: 'a1',
      });
      planted.push('AT_LEAK_CHECK');

      const { result } = await invoke({});

      expect(result?.shops[0]).toMatchObject({
        shop: SHOP_A,
        outcome: 'failed',
        errorType: 'MalformedSecretError',
      });
      expect(result?.shops[0]?.message).toContain('data.refresh_token: missing');
      expect(refreshCalls()).toBe(0);
    });

    it('fails the run on malformed app credentials, naming the problem and never the value', async () => {
      // Prepare
      vi.stubEnv('TOKEN_SECRET_IDS', `${SHOP_A},${SHOP_B}`);
      sm.on(GetSecretValueCommand, { SecretId: CREDENTIALS_ID }).resolves({
        VersionId: 'c1',
        SecretString: '{"app_key":"k-value-1234","app_secret":""}',
      });
      stored(SHOP_A, { raw: seller(60).raw, versionId: 'a1' });
      stored(SHOP_B, { raw: seller(6 * DAY).raw, versionId: 'b1' });

      // Act
      const { error } = await invoke({});

      // Assess
      expect(error?.name).toBe('MalformedSecretError');
      expect(error?.message).toBe(
        `app credentials: secret ${CREDENTIALS_ID} does not hold {"app_key","app_secret"} (app_secret: must not be empty); put the app's key and secret in it`,
      );
      expect(emitted.join('\n')).not.toContain('k-value-1234');
      const shopLines = logLines().filter((line) => String(line.message).startsWith('shop '));
      expect(shopLines.map((line) => [line.shop, line.message, line.errorType]).sort()).toEqual([
        [SHOP_A, 'shop failed', 'MalformedSecretError'],
        [SHOP_B, 'shop skipped', undefined],
      ]);
      expect(refreshCalls()).toBe(0);
    });

    it('stores the token after throttled writes without calling TikTok again', async () => {
      stored(SHOP_A, { raw: seller(60).raw, versionId: 'a1' });
      const throttled = Object.assign(new Error('Rate exceeded'), {
        name: 'ThrottlingException',
        $metadata: { httpStatusCode: 400 },
      });
      sm.on(PutSecretValueCommand).rejectsOnce(throttled).rejectsOnce(throttled).resolves({});

      const { result } = await invoke({});

      expect(result?.shops[0]?.outcome).toBe('refreshed');
      expect(refreshCalls()).toBe(1);
      expect(new Set(putValues(SHOP_A)).size).toBe(1);
      expect(putValues(SHOP_A)).toHaveLength(3);
    });

    it('fails loudly when a token TikTok issued cannot be stored', async () => {
      stored(SHOP_A, { raw: seller(60).raw, versionId: 'a1' });
      sm.on(PutSecretValueCommand).rejects(
        Object.assign(new Error('not authorized to perform PutSecretValue'), {
          name: 'AccessDeniedException',
          $metadata: { httpStatusCode: 400 },
        }),
      );

      const { result, error } = await invoke({});

      expect(result).toBeUndefined();
      expect(error?.message).toContain(
        'TokenNotStoredError: TikTok issued a new token that could not be stored',
      );
      expect(publishedEvents()[0]).toMatchObject({
        detailType: DETAIL_TYPE.tokenRefreshFailed,
        detail: { errorType: 'TokenNotStoredError' },
      });
      const errorLog = logLines().find((line) => line.message === 'shop failed');
      expect(errorLog).toMatchObject({
        level: 'ERROR',
        errorType: 'TokenNotStoredError',
        shop: SHOP_A,
      });
      expect(errorLog?.errorMessage).toContain(
        'could not be stored: Secrets Manager PutSecretValue failed',
      );
    });

    it('keeps the other writer’s token when the compare-and-swap is lost', async () => {
      stored(SHOP_A, { raw: seller(60).raw, versionId: 'a1' });
      sm.on(UpdateSecretVersionStageCommand, { VersionStage: 'AWSCURRENT' }).rejects(
        Object.assign(new Error('AWSCURRENT is not on a1'), {
          name: 'InvalidParameterException',
          $metadata: { httpStatusCode: 400 },
        }),
      );
      sm.on(DescribeSecretCommand).resolves({
        VersionIdsToStages: { a1: ['AWSPREVIOUS'], a2: ['AWSCURRENT'] },
      });

      const { result, error } = await invoke({});

      expect(error).toBeUndefined();
      expect(result?.shops[0]).toMatchObject({ outcome: 'superseded' });
      expect(result?.counts.superseded).toBe(1);
    });

    it('promotes a newer token left pending by an interrupted run instead of calling TikTok', async () => {
      const old = seller(60);
      const newer = JSON.parse(old.raw) as { data: Record<string, unknown> };
      newer.data.access_token_expire_in = nowSeconds() + 7 * DAY;
      const pendingRaw = JSON.stringify(newer);
      stored(SHOP_A, { raw: old.raw, versionId: 'a1' }, { raw: pendingRaw, versionId: 'a2' });

      const { result } = await invoke({});

      expect(result?.shops[0]).toMatchObject({ outcome: 'refreshed', recovered: true });
      expect(refreshCalls()).toBe(0);
      expect(sm.commandCalls(UpdateSecretVersionStageCommand)[0]?.args[0].input).toEqual({
        SecretId: SHOP_A,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: 'a2',
        RemoveFromVersionId: 'a1',
      });
    });

    it('never promotes a pending token of another seller: it refreshes the stored seller’s', async () => {
      // Prepare: an interrupted onboarding write left another seller's newer token pending
      const ours = seller(60);
      const other = seller(7 * DAY);
      stored(SHOP_A, { raw: ours.raw, versionId: 'a1' }, { raw: other.raw, versionId: 'a2' });

      // Act
      const { result } = await invoke({});

      // Assess
      expect(result?.shops[0]).toMatchObject({ outcome: 'refreshed' });
      expect(result?.shops[0]?.recovered).toBeUndefined();
      const moves = sm
        .commandCalls(UpdateSecretVersionStageCommand)
        .map((call) => call.args[0].input);
      expect(moves).not.toContainEqual(expect.objectContaining({ MoveToVersionId: 'a2' }));
      const written = putValues(SHOP_A).map((raw) => JSON.parse(raw).data.open_id);
      expect(written).toEqual([ours.openId]);
    });

    it('ignores an AWSPENDING label left on a version older than the current one', async () => {
      const old = seller(6 * DAY);
      const reauthorized = seller(60);
      sm.on(GetSecretValueCommand, { SecretId: SHOP_A, VersionStage: 'AWSCURRENT' }).resolves({
        VersionId: 'a3',
        SecretString: reauthorized.raw,
        CreatedDate: new Date('2026-11-20T00:00:00Z'),
      });
      sm.on(GetSecretValueCommand, { SecretId: SHOP_A, VersionStage: 'AWSPENDING' }).resolves({
        VersionId: 'a2',
        SecretString: old.raw,
        CreatedDate: new Date('2026-11-10T00:00:00Z'),
      });

      const { result } = await invoke({});

      expect(result?.shops[0]).toMatchObject({ outcome: 'refreshed' });
      expect(result?.shops[0]?.recovered).toBeUndefined();
      expect(tiktok.isRefreshTokenValid(reauthorized.refreshToken)).toBe(false);
      expect(sm.commandCalls(UpdateSecretVersionStageCommand)[0]?.args[0].input).toMatchObject({
        RemoveFromVersionId: 'a3',
      });
    });

    it('does not start a refresh without time left to store its result', async () => {
      stored(SHOP_A, { raw: seller(60).raw, versionId: 'a1' });

      const { error } = await invoke({}, 20_000);

      expect(error?.message).toContain('DeadlineExceededError: refresh not started');
      expect(refreshCalls()).toBe(0);
    });

    it('in a chain, hands a shop left for lack of time to the next invocation instead of failing', async () => {
      vi.stubEnv('TOKEN_SECRET_IDS', `${SHOP_A},${SHOP_B}`);
      stored(SHOP_A, { raw: seller(60).raw, versionId: 'a1' });
      stored(SHOP_B, { raw: seller(6 * DAY).raw, versionId: 'b1' });

      const { result, error } = await invoke(CHAINED_EVENT, 20_000);

      expect(error).toBeUndefined();
      expect(result).toEqual({
        trigger: 'schedule',
        force: false,
        dryRun: false,
        counts: { refreshed: 0, skipped: 1, superseded: 0, failed: 1 },
        shopsLeft: 1,
        failure: null,
      });
      expect(refreshCalls()).toBe(0);
      // The next invocation's shop is no failure: nothing to alarm on.
      expect(logLines().find((line) => '_aws' in line)?.[METRIC.refreshFailures]).toBe(0);
    });

    it('in a chain, returns the failure for the state machine when the app credentials cannot be used', async () => {
      sm.on(GetSecretValueCommand, { SecretId: CREDENTIALS_ID }).resolves({
        VersionId: 'c1',
        SecretString: '{"app_key":"k-value-1234","app_secret":""}',
      });
      stored(SHOP_A, { raw: seller(60).raw, versionId: 'a1' });

      const { result, error } = await invoke(CHAINED_EVENT);

      expect(error).toBeUndefined();
      expect((result as unknown as ChainedRunResult).failure).toEqual({
        errorType: 'MalformedSecretError',
        message: expect.stringContaining(`secret ${CREDENTIALS_ID} does not hold`),
        retryable: false,
      });
      expect(logLines().find((line) => line.message === 'invocation failed')).toMatchObject({
        errorType: 'MalformedSecretError',
      });
      expect(refreshCalls()).toBe(0);
    });

    it('logs and counts events it could not publish, and still refreshes', async () => {
      stored(SHOP_A, { raw: seller(60).raw, versionId: 'a1' });
      eb.on(PutEventsCommand).rejects(
        Object.assign(new Error('bus gone'), { name: 'ResourceNotFoundException' }),
      );

      const { result } = await invoke({});

      expect(result?.shops[0]?.outcome).toBe('refreshed');
      expect(logLines().find((line) => line.message === 'events not published')).toMatchObject({
        failed: 1,
        reasons: ['ResourceNotFoundException: bus gone'],
      });
      expect(logLines().find((line) => '_aws' in line)?.[METRIC.eventPublishFailures]).toBe(1);
    });
  });

  describe('TikTok answers that must not be lost', () => {
    beforeEach(() => {
      vi.stubEnv('TOKEN_SECRET_IDS', SHOP_A);
    });

    /** The metrics line of the current test. */
    function emf(): Record<string, unknown> | undefined {
      return logLines().find((line) => '_aws' in line);
    }

    function keptPuts() {
      return sm
        .commandCalls(PutSecretValueCommand)
        .map((call) => call.args[0].input)
        .filter((input) => input.VersionStages?.includes(KEPT_LABEL));
    }

    it('keeps a code-0 answer it cannot read as a version of its own, and fails the run saying where', async () => {
      // Prepare
      const due = seller(60);
      stored(SHOP_A, { raw: due.raw, versionId: 'a1' });
      tiktok.failNext(1, { rewrite: drift.accessTokenExpiryAsDate });

      // Act
      const { result, error } = await invoke({});

      // Assess: the refresh token that works now is stored; nothing became current
      expect(result).toBeUndefined();
      const [kept] = keptPuts();
      const keptRaw = kept?.SecretString ?? '';
      const keptRefreshToken = (JSON.parse(keptRaw) as { data: { refresh_token: string } }).data
        .refresh_token;
      expect(tiktok.isRefreshTokenValid(keptRefreshToken)).toBe(true);
      expect(tiktok.isRefreshTokenValid(due.refreshToken)).toBe(false);
      expect(kept).toMatchObject({ SecretId: SHOP_A, VersionStages: [KEPT_LABEL] });
      expect(sm.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(0);
      const versionId = versionIdFor(SHOP_A, keptRaw);
      expect(error?.message).toContain(
        `${SHOP_A} (TokenNotCurrentError: TikTok answered code 0 but it is not a token document (data.access_token_expire_in: must be a number): kept as version ${versionId} (label ${KEPT_LABEL}) of secret ${SHOP_A}, not made current)`,
      );
      expect(publishedEvents()).toMatchObject([
        {
          detailType: DETAIL_TYPE.tokenNotCurrent,
          detail: { shop: SHOP_A, errorType: 'TokenNotCurrentError', versionId, label: KEPT_LABEL },
        },
      ]);
      expect(emf()?.[METRIC.tokensNotCurrent]).toBe(1);
      expect(emf()?.[METRIC.refreshFailures]).toBe(1);
    });

    it('keeps an answer whose access token has already expired instead of making it current', async () => {
      stored(SHOP_A, { raw: seller(60).raw, versionId: 'a1' });
      tiktok.failNext(1, {
        rewrite: (answer) => ({
          ...answer,
          data: { ...answer.data, access_token_expire_in: nowSeconds() - 60 },
        }),
      });

      const { error } = await invoke({});

      expect(keptPuts()).toHaveLength(1);
      expect(error?.message).toMatch(
        /TokenNotCurrentError: TikTok answered code 0 but its access token had already expired \(at [^)]+\): kept as version/,
      );
    });

    it('keeps another seller’s answer out of readers’ reach and says the seller changed', async () => {
      // Prepare
      stored(SHOP_A, { raw: seller(60).raw, versionId: 'a1' });
      tiktok.failNext(1, { rewrite: drift.openId('open_somebody_else') });

      // Act
      const { error } = await invoke({});

      // Assess
      expect(keptPuts()).toHaveLength(1);
      expect(sm.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(0);
      expect(error?.message).toContain(
        "SellerChangedError: TikTok's answer names another seller (its open_id is not the stored token's): readers would act on that seller's shop: kept as version",
      );
      expect(error?.message).not.toContain('open_somebody_else');
      expect(publishedEvents()).toMatchObject([
        { detailType: DETAIL_TYPE.sellerChanged, detail: { errorType: 'SellerChangedError' } },
      ]);
      expect(emf()?.[METRIC.sellersChanged]).toBe(1);
      expect(emf()?.[METRIC.tokensNotCurrent]).toBe(1);
    });

    it('does not call TikTok while an answer kept by an earlier run is newer than the current token', async () => {
      // Prepare
      stored(SHOP_A, { raw: seller(60).raw, versionId: 'a1' });
      sm.on(GetSecretValueCommand, { SecretId: SHOP_A, VersionStage: KEPT_LABEL }).resolves({
        VersionId: 'a2',
        SecretString: '{"code":0,"data":{"refresh_token":"kept"}}',
        CreatedDate: new Date(),
      });

      // Act
      const { error } = await invoke({});

      // Assess
      expect(refreshCalls()).toBe(0);
      expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(0);
      expect(error?.message).toContain(
        `TokenNotCurrentError: an earlier run kept TikTok's answer as version a2 (label ${KEPT_LABEL}) of secret ${SHOP_A}, newer than the current token; TikTok is not called until someone makes it current or removes the label`,
      );
    });

    it('refreshes again once the current token is newer than the kept answer', async () => {
      sm.on(GetSecretValueCommand, { SecretId: SHOP_A, VersionStage: 'AWSCURRENT' }).resolves({
        VersionId: 'a3',
        SecretString: seller(60).raw,
        CreatedDate: new Date('2026-11-20T00:00:00Z'),
      });
      sm.on(GetSecretValueCommand, { SecretId: SHOP_A, VersionStage: 'AWSPENDING' }).rejects(
        new ResourceNotFoundException({ message: "can't find label AWSPENDING", $metadata: {} }),
      );
      sm.on(GetSecretValueCommand, { SecretId: SHOP_A, VersionStage: KEPT_LABEL }).resolves({
        VersionId: 'a2',
        SecretString: '{"code":0,"data":{"refresh_token":"kept"}}',
        CreatedDate: new Date('2026-11-10T00:00:00Z'),
      });

      const { result } = await invoke({});

      expect(result?.shops[0]?.outcome).toBe('refreshed');
      expect(refreshCalls()).toBe(1);
    });

    it('makes current a token whose refresh token has expired, and asks for reauthorization', async () => {
      // Prepare
      stored(SHOP_A, { raw: seller(60).raw, versionId: 'a1' });
      tiktok.failNext(1, { rewrite: drift.refreshTokenExpired(nowSeconds() - 3600) });

      // Act
      const { result, error } = await invoke({});

      // Assess
      expect(error).toBeUndefined();
      expect(sm.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(1);
      expect(result?.shops[0]).toMatchObject({
        outcome: 'failed',
        errorType: 'RefreshTokenExpiredError',
        retryable: false,
      });
      expect(result?.shops[0]?.message).toMatch(
        /^seller must authorize again: TikTok issued a new access token, made current \(version [0-9a-f-]+\) and valid until .+, but its refresh token expired at /,
      );
      expect(publishedEvents()).toMatchObject([{ detailType: DETAIL_TYPE.refreshTokenExpired }]);
      expect(emf()?.[METRIC.refreshTokensExpired]).toBe(1);
      expect(emf()?.[METRIC.reauthorizationRequired]).toBe(1);
      expect(emf()?.[METRIC.minAccessTokenLifetime]).toBeGreaterThan(6 * DAY);
    });

    it('stores the token’s fields of an answer too large for a secret and makes them current', async () => {
      // Prepare
      stored(SHOP_A, { raw: seller(60).raw, versionId: 'a1' });
      tiktok.failNext(1, { padToBytes: 200_000 });

      // Act
      const { result } = await invoke({});

      // Assess
      const [written] = putValues(SHOP_A);
      expect(Buffer.byteLength(written ?? '')).toBeLessThanOrEqual(MAX_STORED_BYTES);
      const document = JSON.parse(written ?? '{}') as { data: Record<string, unknown> };
      expect(tiktok.isRefreshTokenValid(String(document.data.refresh_token))).toBe(true);
      expect(document.data.padding).toBeUndefined();
      expect(result?.shops[0]).toMatchObject({ outcome: 'refreshed', trimmedFromBytes: 200_000 });
      expect(emf()?.[METRIC.answersTrimmed]).toBe(1);
    });
  });
});
