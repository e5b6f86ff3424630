import type { IncomingMessage } from 'node:http';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import {
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getShopToken } from '../../lambda/reader/index.js';
import { DETAIL_TYPE, METRIC } from '../../lambda/shared/contract.js';
import { KEPT_LABEL } from '../../lambda/shared/secrets-store.js';
import { MAX_ANSWER_BYTES } from '../../lambda/shared/tiktok-auth-client.js';
import { MAX_STORED_BYTES, TRIMMED_FIELD } from '../../lambda/shared/token.js';
import { LocalHttpServer } from '../local/endpoints/http.js';
import { drift } from '../local/endpoints/tiktok.js';
import { echoedParts, echoForms } from '../support/echo-forms.js';
import { type InvokeOutcome, LocalDeployment } from '../support/local-deployment.js';

/**
 * What the deployed bundle does with TikTok answers our own checks used to throw away: a code-0
 * answer in a changed shape, one too large to store or to read, one with an expired refresh
 * token or another seller's token, and redirects that would carry the secrets elsewhere. Each
 * scenario has its own deployment; they run one after the other (a function run is a process).
 * Every invocation's output is checked for secrets, in any encoding, as it returns.
 */

const SHOPS = ['shop-a', 'shop-b', 'shop-c', 'shop-d'];
const [SHOP_A, SHOP_B, SHOP_C, SHOP_D] = SHOPS.map((shop) => `tiktok-shop/tokens/${shop}`) as [
  string,
  string,
  string,
  string,
];
const DUE_SECONDS = 3600;
const FRESH_SECONDS = 6 * 24 * 3600;

const deployments: LocalDeployment[] = [];
const servers: LocalHttpServer[] = [];

const nowSeconds = () => Math.floor(Date.now() / 1000);

async function deploy(): Promise<LocalDeployment> {
  const deployment = await LocalDeployment.start({ shops: SHOPS, leakCheck: true });
  deployments.push(deployment);
  return deployment;
}

/** Every shop due (or fresh, for those in `fresh`), each with its own seller. */
function seedAll(
  deployment: LocalDeployment,
  fresh: readonly string[] = [],
): Record<string, { refreshToken: string; openId: string }> {
  return Object.fromEntries(
    [SHOP_A, SHOP_B, SHOP_C, SHOP_D].map((name) => [
      name,
      deployment.seedShop(name, {
        accessTtlSeconds: fresh.includes(name) ? FRESH_SECONDS : DUE_SECONDS,
      }),
    ]),
  );
}

function shopLine(outcome: InvokeOutcome, name: string) {
  return outcome.result?.shops.find((shop) => shop.shop === name);
}

/** The shop's `shop …` log line: what a run that failed its invocation said of the shop. */
function loggedShop(outcome: InvokeOutcome, name: string): Record<string, unknown> | undefined {
  return outcome.logs
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .find((line) => line.shop === name && String(line.message).startsWith('shop '));
}

/** The EMF metrics line the run printed. */
function metrics(outcome: InvokeOutcome): Record<string, unknown> {
  const line = outcome.logs.find((text) => text.includes('"_aws"'));
  return JSON.parse(line ?? '{}') as Record<string, unknown>;
}

function kept(deployment: LocalDeployment, name: string) {
  return deployment.secretsManager
    .versions(name)
    .find((version) => version.stages.includes(KEPT_LABEL));
}

function refreshTokenIn(raw: string | undefined): string {
  return (
    (JSON.parse(raw ?? '{}') as { data?: { refresh_token?: string } }).data?.refresh_token ?? ''
  );
}

/** A reader with its own client and cache, pointed at the deployment's Secrets Manager. */
function reader(deployment: LocalDeployment): SecretsProvider {
  return new SecretsProvider({
    awsSdkV3Client: new SecretsManagerClient({
      endpoint: deployment.secretsManager.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
  });
}

function operator(deployment: LocalDeployment): SecretsManagerClient {
  return new SecretsManagerClient({
    endpoint: deployment.secretsManager.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
}

describe('Deployed refresher, with answers our checks used to throw away', {
  timeout: 120_000,
}, () => {
  afterAll(async () => {
    await Promise.all([...deployments, ...servers].map((endpoint) => endpoint.close()));
  });

  describe('when the auth host redirects (301, 302, 307, 308) with the query in the Location', () => {
    let deployment: LocalDeployment;
    let seeded: Record<string, { refreshToken: string; openId: string }>;
    let stored: Record<string, string | undefined>;
    let elsewhere: LocalHttpServer;
    /** What the redirect target received: path and query of every request. */
    const received: string[] = [];
    let outcome: InvokeOutcome;

    beforeAll(async () => {
      // Prepare
      elsewhere = new LocalHttpServer(async (req: IncomingMessage, res) => {
        received.push(req.url ?? '');
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"code":0}');
      });
      await elsewhere.listen();
      servers.push(elsewhere);
      deployment = await deploy();
      seeded = seedAll(deployment);
      stored = Object.fromEntries(
        Object.keys(seeded).map((name) => [name, deployment.secretsManager.current(name)]),
      );
      for (const status of [301, 302, 307, 308] as const) {
        deployment.tiktok.failNext(1, { redirect: status, to: elsewhere.url });
      }

      // Act
      outcome = await deployment.invoke({});
    });

    it('sends nothing to the redirect target', () => {
      // Assess
      expect(deployment.tiktok.calls.map((call) => call.status).sort()).toEqual([
        301, 302, 307, 308,
      ]);
      expect(received).toEqual([]);
    });

    it('reports each shop as an unexpected answer naming the status, never the Location', () => {
      const messages = SHOPS.map((_, i) => {
        const line = outcome.result?.shops[i];
        expect(line).toMatchObject({ outcome: 'failed', errorType: 'UnexpectedResponseError' });
        return line?.message ?? '';
      });
      expect(
        messages.map((message) => /HTTP (\d{3}), a redirect/.exec(message)?.[1]).sort(),
      ).toEqual(['301', '302', '307', '308']);
      expect(deployment.outputs.join('\n')).not.toContain(elsewhere.url);
    });

    it('leaves every stored token as it was, still working', () => {
      for (const [name, { refreshToken }] of Object.entries(seeded)) {
        expect(deployment.secretsManager.current(name)).toBe(stored[name]);
        expect(deployment.tiktok.isRefreshTokenValid(refreshToken)).toBe(true);
      }
    });
  });

  describe('when TikTok answers code 0 in a shape our schema refuses', () => {
    let deployment: LocalDeployment;
    let before: string | undefined;
    let first: InvokeOutcome;
    let second: InvokeOutcome;
    let callsAfterFirst: number;

    beforeAll(async () => {
      // Prepare: only shop A is due
      deployment = await deploy();
      seedAll(deployment, [SHOP_B, SHOP_C, SHOP_D]);
      before = deployment.secretsManager.current(SHOP_A);
      deployment.tiktok.failNext(1, { rewrite: drift.accessTokenExpiryAsDate });

      // Act: the run that gets the answer, then the next one
      first = await deployment.invoke({});
      callsAfterFirst = deployment.tiktok.calls.length;
      second = await deployment.invoke({});
    });

    it('keeps the answer, whose refresh token is the only one that works now, as a version that is not current', () => {
      // Assess
      const version = kept(deployment, SHOP_A);
      expect(version?.stages).toEqual([KEPT_LABEL]);
      expect(deployment.tiktok.isRefreshTokenValid(refreshTokenIn(version?.secretString))).toBe(
        true,
      );
      expect(deployment.secretsManager.current(SHOP_A)).toBe(before);
    });

    it('fails the run loudly, saying where the answer is and why it is not current', () => {
      const versionId = kept(deployment, SHOP_A)?.versionId;
      expect(first.error?.errorType).toBe('RefreshIncompleteError');
      expect(first.error?.errorMessage).toContain(
        `${SHOP_A} (TokenNotCurrentError: TikTok answered code 0 but it is not a token document (data.access_token_expire_in: must be a number): kept as version ${versionId} (label ${KEPT_LABEL}) of secret ${SHOP_A}, not made current)`,
      );
      expect(deployment.eventBridge.events[0]).toMatchObject({
        DetailType: DETAIL_TYPE.tokenNotCurrent,
        Detail: { shop: SHOP_A, errorType: 'TokenNotCurrentError', versionId, label: KEPT_LABEL },
      });
      expect(metrics(first)[METRIC.tokensNotCurrent]).toBe(1);
    });

    it('does not call TikTok with the replaced refresh token on the next run, and fails it again', () => {
      expect(deployment.tiktok.calls).toHaveLength(callsAfterFirst);
      expect(second.error?.errorMessage).toContain(
        `an earlier run kept TikTok's answer as version ${kept(deployment, SHOP_A)?.versionId} (label ${KEPT_LABEL})`,
      );
    });

    it('refreshes again once an operator has stored the corrected answer and removed the label', async () => {
      // Prepare: what the README tells an operator to do
      const version = kept(deployment, SHOP_A);
      const answer = JSON.parse(version?.secretString ?? '{}') as {
        data: Record<string, unknown>;
      };
      answer.data.access_token_expire_in = Math.floor(
        Date.parse(String(answer.data.access_token_expire_in)) / 1000,
      );
      const client = operator(deployment);
      await client.send(
        new PutSecretValueCommand({ SecretId: SHOP_A, SecretString: JSON.stringify(answer) }),
      );
      await client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: SHOP_A,
          VersionStage: KEPT_LABEL,
          RemoveFromVersionId: version?.versionId,
        }),
      );
      client.destroy();

      // Act
      const outcome = await deployment.invoke({ force: true, shops: [SHOP_A] });

      // Assess
      expect(outcome.result?.shops[0]).toMatchObject({ shop: SHOP_A, outcome: 'refreshed' });
      expect(
        deployment.tiktok.isRefreshTokenValid(
          refreshTokenIn(deployment.secretsManager.current(SHOP_A)),
        ),
      ).toBe(true);
    });
  });

  describe('when TikTok quotes the refresh token and the app secret back, in part or reshaped', () => {
    let deployment: LocalDeployment;
    let refreshToken: string;
    let appSecret: string;
    const outputs: { form: string; echoes: string[]; output: string }[] = [];

    beforeAll(async () => {
      // Prepare: shop A is due; each forced run gets a refusal quoting both secrets one way
      deployment = await deploy();
      refreshToken = seedAll(deployment)[SHOP_A]?.refreshToken ?? '';
      appSecret = deployment.tiktok.issuedSecrets()[0] ?? '';
      const secretEchoes = new Map(echoForms(appSecret));

      // Act
      for (const [form, tokenEcho] of echoForms(refreshToken)) {
        const secretEcho = secretEchoes.get(form) ?? '';
        deployment.tiktok.failNext(1, {
          code: 36001234,
          message: `bad refresh_token ${tokenEcho} for app_secret ${secretEcho}`,
        });
        const eventsBefore = deployment.eventBridge.events.length;
        const outcome = await deployment.invoke({ force: true, shops: [SHOP_A] });
        const published = JSON.stringify(deployment.eventBridge.events.slice(eventsBefore));
        const output = [...outcome.logs, JSON.stringify(outcome), published].join('\n');
        outputs.push({ form, echoes: [tokenEcho, secretEcho], output });
      }
    });

    it('reports each refusal with TikTok’s code and what is left of its message', () => {
      for (const { form, output } of outputs) {
        expect(output, form).toContain('TikTok answered code 36001234: bad refresh_token ');
        expect(output, form).toContain('[redacted]');
      }
    });

    it('lets no 8 characters of either reach the summary, the log or an event', () => {
      expect(refreshToken).not.toBe('');
      expect(appSecret).not.toBe('');
      for (const { form, echoes, output } of outputs) {
        for (const echo of echoes) expect(echoedParts(output, echo), form).toEqual([]);
      }
    });

    it('keeps the stored token, which still works', () => {
      expect(deployment.storedRefreshToken(SHOP_A)).toBe(refreshToken);
      expect(deployment.tiktok.isRefreshTokenValid(refreshToken)).toBe(true);
    });
  });

  describe('when a forced console run kept an answer of a shop that is not due', () => {
    const SCHEDULED = { source: 'aws.scheduler', 'detail-type': 'Scheduled Event', detail: {} };
    let deployment: LocalDeployment;
    let versionId: string | undefined;
    let scheduled: InvokeOutcome;
    let dryRun: InvokeOutcome;
    let callsAfterConsole: number;
    let eventsAfterConsole: number;

    beforeAll(async () => {
      // Prepare: every shop fresh; a person forces shop A from the console, TikTok's answer drifts
      deployment = await deploy();
      seedAll(deployment, [SHOP_A, SHOP_B, SHOP_C, SHOP_D]);
      deployment.tiktok.failNext(1, { rewrite: drift.accessTokenExpiryAsDate });
      await deployment.invoke({ force: true, shops: [SHOP_A] });
      versionId = kept(deployment, SHOP_A)?.versionId;
      callsAfterConsole = deployment.tiktok.calls.length;
      eventsAfterConsole = deployment.eventBridge.events.length;

      // Act: the next scheduled run, then a dry run
      scheduled = await deployment.invoke(SCHEDULED);
      dryRun = await deployment.invoke({ dryRun: true });
    });

    it('reports the shop failed on the next scheduled run, with its event and metric, until a person acts', () => {
      expect(versionId).toBeDefined();
      expect(loggedShop(scheduled, SHOP_A)).toMatchObject({
        outcome: 'failed',
        errorType: 'TokenNotCurrentError',
      });
      expect(scheduled.error?.errorMessage).toContain(
        `${SHOP_A} (TokenNotCurrentError: an earlier run kept TikTok's answer as version ${versionId} (label ${KEPT_LABEL})`,
      );
      expect(metrics(scheduled)[METRIC.tokensNotCurrent]).toBe(1);
      expect(metrics(scheduled)[METRIC.refreshFailures]).toBe(1);
      expect(deployment.eventBridge.events.slice(eventsAfterConsole)).toContainEqual(
        expect.objectContaining({
          DetailType: DETAIL_TYPE.tokenNotCurrent,
          Detail: expect.objectContaining({ shop: SHOP_A, versionId, label: KEPT_LABEL }),
        }),
      );
    });

    it('reports it failed in a dry run too, and calls TikTok in neither', () => {
      expect(loggedShop(dryRun, SHOP_A)).toMatchObject({
        outcome: 'failed',
        errorType: 'TokenNotCurrentError',
      });
      expect(metrics(dryRun)[METRIC.tokensNotCurrent]).toBe(1);
      expect(loggedShop(dryRun, SHOP_B)).toMatchObject({ outcome: 'skipped', reason: 'not-due' });
      expect(deployment.tiktok.calls).toHaveLength(callsAfterConsole);
    });
  });

  describe('when TikTok answers code 0 with expiries as strings, optional fields missing and fields nobody knows', () => {
    let deployment: LocalDeployment;
    let first: InvokeOutcome;

    beforeAll(async () => {
      deployment = await deploy();
      seedAll(deployment, [SHOP_B, SHOP_C, SHOP_D]);
      deployment.tiktok.failNext(1, { rewrite: drift.expiriesAsStrings });
      deployment.tiktok.failNext(1, { rewrite: drift.optionalFieldsMissingAndExtraFields });

      first = await deployment.invoke({});
    });

    it('makes TikTok’s answer current, as sent', () => {
      const current = JSON.parse(deployment.secretsManager.current(SHOP_A) ?? '{}') as {
        data: Record<string, unknown>;
      };
      expect(shopLine(first, SHOP_A)).toMatchObject({ outcome: 'refreshed' });
      expect(typeof current.data.access_token_expire_in).toBe('string');
      expect(deployment.tiktok.isRefreshTokenValid(String(current.data.refresh_token))).toBe(true);
      expect(shopLine(first, SHOP_A)?.accessTokenExpiresAt).toBe(
        new Date(Number(current.data.access_token_expire_in) * 1000).toISOString(),
      );
    });

    it('hands the stored token to a reader', async () => {
      const current = JSON.parse(deployment.secretsManager.current(SHOP_A) ?? '{}') as {
        data: { access_token: string };
      };

      const token = await getShopToken(SHOP_A, { provider: reader(deployment) });

      expect(token.accessToken).toBe(current.data.access_token);
      expect(token.accessTokenExpiresAt.getTime()).toBeGreaterThan(Date.now());
    });

    it('reads it back on the next run and refreshes with it', async () => {
      const outcome = await deployment.invoke({ force: true, shops: [SHOP_A] });

      expect(outcome.result?.shops[0]).toMatchObject({ outcome: 'refreshed' });
      const current = JSON.parse(deployment.secretsManager.current(SHOP_A) ?? '{}') as {
        data: { open_id?: unknown; shop_cipher?: string };
      };
      // The second answer: an open_id of another type reads as absent, extra fields are kept
      expect(current.data).toMatchObject({ open_id: 42, shop_cipher: 'GCP_XXXX' });
      expect(
        deployment.tiktok.isRefreshTokenValid(
          refreshTokenIn(deployment.secretsManager.current(SHOP_A)),
        ),
      ).toBe(true);
    });
  });

  describe('when TikTok’s answer is larger than a secret holds, or larger than is read', () => {
    let deployment: LocalDeployment;
    let normal: InvokeOutcome;
    let oversized: InvokeOutcome;
    let huge: InvokeOutcome;
    let hugeRefreshToken: string;

    beforeAll(async () => {
      // Prepare
      deployment = await deploy();
      const seeded = seedAll(deployment, [SHOP_B, SHOP_C, SHOP_D]);
      hugeRefreshToken = seeded[SHOP_B]?.refreshToken ?? '';

      // Act: a normal refresh (for a memory baseline), a 200 KB answer, a 150 MB stream
      normal = await deployment.invoke({ force: true, shops: [SHOP_C] });
      deployment.tiktok.failNext(1, { padToBytes: 200_000 });
      oversized = await deployment.invoke({ shops: [SHOP_A] });
      deployment.tiktok.failNext(1, { streamBytes: 150 * 1024 * 1024 });
      huge = await deployment.invoke({ force: true, shops: [SHOP_B] });
    });

    it('stores the token’s fields of an answer too large for a secret, makes them current and says so', async () => {
      const current = deployment.secretsManager.current(SHOP_A) ?? '';
      const document = JSON.parse(current) as Record<string, unknown>;
      expect(Buffer.byteLength(current)).toBeLessThanOrEqual(MAX_STORED_BYTES);
      expect(document[TRIMMED_FIELD]).toBe(200_000);
      expect(deployment.tiktok.isRefreshTokenValid(refreshTokenIn(current))).toBe(true);
      expect(oversized.result?.shops[0]).toMatchObject({
        outcome: 'refreshed',
        trimmedFromBytes: 200_000,
      });
      expect(metrics(oversized)[METRIC.answersTrimmed]).toBe(1);
      expect((await getShopToken(SHOP_A, { provider: reader(deployment) })).accessToken).toBe(
        (document.data as { access_token: string }).access_token,
      );
    });

    it('stops reading a huge answer at the cap and fails the run saying what was lost', () => {
      expect(huge.error?.errorMessage).toContain(
        `${SHOP_B} (OversizedAnswerError: TikTok answered more than ${MAX_ANSWER_BYTES} bytes`,
      );
      expect(deployment.tiktok.calls.at(-1)?.streamed).toBeLessThan(100 * 1024 * 1024);
      expect(deployment.tiktok.isRefreshTokenValid(hugeRefreshToken)).toBe(false);
      expect(deployment.secretsManager.current(SHOP_B)).toContain(hugeRefreshToken);
    });

    it('keeps the function’s memory bounded while a huge answer arrives', () => {
      expect(normal.maxRssKb).toBeGreaterThan(0);
      // Before the cap, a 150 MB answer grew the process by more than 500 MB.
      expect(huge.maxRssKb ?? Number.POSITIVE_INFINITY).toBeLessThan(
        (normal.maxRssKb ?? 0) + 40 * 1024,
      );
    });
  });

  describe('when TikTok’s code-0 answer says the seller’s authorization has ended', () => {
    let deployment: LocalDeployment;
    let first: InvokeOutcome;
    let next: InvokeOutcome;
    let callsAfterFirst: number;

    beforeAll(async () => {
      deployment = await deploy();
      seedAll(deployment, [SHOP_B, SHOP_C, SHOP_D]);
      deployment.tiktok.failNext(1, { rewrite: drift.refreshTokenExpired(nowSeconds() - 3600) });

      first = await deployment.invoke({});
      callsAfterFirst = deployment.tiktok.calls.length;
      next = await deployment.invoke({ force: true, shops: [SHOP_A] });
    });

    it('makes the new access token current: readers can use it until it expires', async () => {
      const current = JSON.parse(deployment.secretsManager.current(SHOP_A) ?? '{}') as {
        data: { access_token: string };
      };
      const token = await getShopToken(SHOP_A, { provider: reader(deployment) });

      expect(token.accessToken).toBe(current.data.access_token);
    });

    it('reports reauthorization needed, not a plain refresh, with its own event and metric', () => {
      expect(first.error).toBeUndefined();
      expect(shopLine(first, SHOP_A)).toMatchObject({
        outcome: 'failed',
        errorType: 'RefreshTokenExpiredError',
        retryable: false,
      });
      expect(shopLine(first, SHOP_A)?.message).toContain(
        'seller must authorize again: TikTok issued a new access token, made current',
      );
      expect(deployment.eventBridge.events.map((event) => event.DetailType)).toContain(
        DETAIL_TYPE.refreshTokenExpired,
      );
      expect(metrics(first)).toMatchObject({
        [METRIC.refreshTokensExpired]: 1,
        [METRIC.reauthorizationRequired]: 1,
      });
    });

    it('asks for reauthorization on the next run without calling TikTok', () => {
      expect(deployment.tiktok.calls).toHaveLength(callsAfterFirst);
      expect(next.result?.shops[0]).toMatchObject({ errorType: 'ReauthorizationRequiredError' });
    });
  });

  describe('when TikTok answers a refresh with another seller’s token', () => {
    let deployment: LocalDeployment;
    let before: string | undefined;
    let outcome: InvokeOutcome;

    beforeAll(async () => {
      deployment = await deploy();
      seedAll(deployment, [SHOP_B, SHOP_C, SHOP_D]);
      before = deployment.secretsManager.current(SHOP_A);
      deployment.tiktok.failNext(1, { rewrite: drift.openId('open_another_seller') });

      outcome = await deployment.invoke({});
    });

    it('keeps that token out of readers’ reach: stored, not current', async () => {
      const version = kept(deployment, SHOP_A);
      expect(JSON.parse(version?.secretString ?? '{}')).toMatchObject({
        data: { open_id: 'open_another_seller' },
      });
      expect(deployment.secretsManager.current(SHOP_A)).toBe(before);
      const token = await getShopToken(SHOP_A, { provider: reader(deployment) });
      expect(token.openId).not.toBe('open_another_seller');
    });

    it('says the seller changed, with its own event and metric, and fails the run', () => {
      expect(outcome.error?.errorMessage).toContain(
        `${SHOP_A} (SellerChangedError: TikTok's answer names another seller`,
      );
      expect(deployment.eventBridge.events[0]).toMatchObject({
        DetailType: DETAIL_TYPE.sellerChanged,
        Detail: { shop: SHOP_A, label: KEPT_LABEL },
      });
      expect(metrics(outcome)[METRIC.sellersChanged]).toBe(1);
      expect(deployment.outputs.join('\n')).not.toContain('open_another_seller');
    });
  });
});
