import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DETAIL_TYPE, EVENT_SOURCE } from '../../lambda/shared/contract.js';
import type { RecordedEvent } from '../local/endpoints/eventbridge.js';
import { REFRESH_PATH, TIKTOK_CODE, type TikTokFault } from '../local/endpoints/tiktok.js';
import {
  type InvokeOutcome,
  LocalDeployment,
  QUICK_REFUSAL_RECHECK,
  type SeededShop,
} from '../support/local-deployment.js';
import { synthesizeRefresher } from '../support/synth.js';

/**
 * The bundle CDK synthesizes, run as Lambda would run it (a fresh process per invocation, the
 * template's environment) against local Secrets Manager, EventBridge and TikTok endpoints. Each
 * test gets its own deployment, so tests run side by side without sharing state or faults. No
 * other writer races these runs: after a refusal, the function looks for one only briefly. Every
 * invocation's output is checked for secrets as it returns (`leakCheck`).
 */

const SHOPS = ['shop-a', 'shop-b', 'shop-c'];
const [SHOP_A, SHOP_B, SHOP_C] = SHOPS.map((shop) => `tiktok-shop/tokens/${shop}`) as [
  string,
  string,
  string,
];
const DAY = 24 * 3600;
const WRITES = ['PutSecretValue', 'UpdateSecretVersionStage'];

/** What a token secret holds: TikTok's answer to a refresh, unchanged. */
interface TokenAnswer {
  code: number;
  message: string;
  request_id: string;
  data: {
    access_token: string;
    access_token_expire_in: number;
    refresh_token: string;
    refresh_token_expire_in: number;
    open_id: string;
  };
}

const deployments: LocalDeployment[] = [];
/** The event the synthesized schedule sends, read from the template. */
let scheduledEvent: unknown;

const nowSeconds = () => Math.floor(Date.now() / 1000);
const iso = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString();

/**
 * Function processes allowed at once. Scenarios run side by side, but each invocation is a Node
 * process that needs most of a core for a moment: more at once only makes each one slower.
 */
const MAX_PROCESSES = 4;
let running = 0;
const waiting: (() => void)[] = [];

async function deploy(): Promise<LocalDeployment> {
  const deployment = await LocalDeployment.start({
    shops: SHOPS,
    environment: QUICK_REFUSAL_RECHECK,
    leakCheck: true,
  });
  deployments.push(deployment);
  const invoke = deployment.invoke.bind(deployment);
  deployment.invoke = async (...args) => {
    if (running >= MAX_PROCESSES) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await invoke(...args);
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
  return deployment;
}

/** Every configured shop but `except` with a token that is not due, so a run leaves them alone. */
function seedFresh(deployment: LocalDeployment, ...except: string[]): SeededShop[] {
  return [SHOP_A, SHOP_B, SHOP_C]
    .filter((name) => !except.includes(name))
    .map((name) => deployment.seedShop(name, { accessTtlSeconds: 5 * DAY }));
}

function stored(deployment: LocalDeployment, name: string): TokenAnswer {
  return JSON.parse(deployment.secretsManager.current(name) ?? 'null') as TokenAnswer;
}

function refreshCalls(deployment: LocalDeployment): number {
  return deployment.tiktok.calls.filter((call) => call.path === REFRESH_PATH).length;
}

function callsTo(deployment: LocalDeployment, operations: readonly string[]) {
  return deployment.secretsManager.calls.filter((call) => operations.includes(call.operation));
}

function events(deployment: LocalDeployment): { source: string; type: string; detail: unknown }[] {
  return deployment.eventBridge.events.map((event: RecordedEvent) => ({
    source: event.Source,
    type: event.DetailType,
    detail: event.Detail,
  }));
}

/** Labels of every version of the secret, oldest first. */
function labels(deployment: LocalDeployment, name: string): string[][] {
  return deployment.secretsManager.versions(name).map((version) => version.stages.sort());
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (const started = Date.now(); !condition(); await sleep(10)) {
    if (Date.now() - started > 60_000) throw new Error(`timed out waiting until ${what}`);
  }
}

interface RelayRequest {
  /** The query string: for TikTok it holds the refresh token presented. */
  readonly query: URLSearchParams;
  /** The AWS operation (from X-Amz-Target), for Secrets Manager. */
  readonly operation: string;
}

/**
 * Sits between the function and a local endpoint, for what the endpoint does not offer on its
 * own: it records every answer byte for byte, can answer in the endpoint's place (one shop's
 * outage) and can lose an answer after the endpoint acted on the request.
 */
class Relay {
  readonly answers: { readonly query: URLSearchParams; readonly body: string }[] = [];
  standIn: (request: RelayRequest) => { status: number; body: string } | undefined = () =>
    undefined;
  loseAnswer: (request: RelayRequest) => boolean = () => false;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(upstream: string): Promise<Relay> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const relay = new Relay(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('request', (req, res) => {
      relay.pass(upstream, req).then(
        (answer) => {
          if (answer === undefined) res.destroy();
          else res.writeHead(answer.status, answer.headers).end(answer.body);
        },
        () => res.destroy(),
      );
    });
    return relay;
  }

  /** The answer to send back, or undefined to drop the connection. */
  private async pass(
    upstream: string,
    req: IncomingMessage,
  ): Promise<{ status: number; headers: Record<string, string>; body: string } | undefined> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', upstream);
    const target = req.headers['x-amz-target'];
    const request = {
      query: url.searchParams,
      operation: typeof target === 'string' ? (target.split('.').at(-1) ?? '') : '',
    };
    const standIn = this.standIn(request);
    if (standIn !== undefined) return { ...standIn, headers: { 'content-type': 'text/html' } };
    const headers: Record<string, string> = {};
    for (const [header, value] of Object.entries(req.headers)) {
      if (typeof value === 'string' && !['host', 'connection', 'content-length'].includes(header)) {
        headers[header] = value;
      }
    }
    const answer = await fetch(url, {
      method: req.method ?? 'GET',
      headers,
      ...(req.method === 'GET' ? {} : { body: Buffer.concat(chunks) }),
    });
    const body = await answer.text();
    this.answers.push({ query: url.searchParams, body });
    if (this.loseAnswer(request)) return undefined;
    const back: Record<string, string> = {};
    answer.headers.forEach((value, header) => {
      if (!['connection', 'content-length', 'keep-alive', 'transfer-encoding'].includes(header)) {
        back[header] = value;
      }
    });
    return { status: answer.status, headers: back, body };
  }

  /** TikTok's answer bodies to requests that presented `refreshToken`. */
  answersTo(refreshToken: string): string[] {
    return this.answers
      .filter((answer) => answer.query.get('refresh_token') === refreshToken)
      .map((answer) => answer.body);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const relays: Relay[] = [];

/** A relay in front of the deployment's TikTok host, and the environment that routes to it. */
async function tiktokRelay(deployment: LocalDeployment): Promise<[Relay, Record<string, string>]> {
  const relay = await Relay.start(deployment.tiktok.url);
  relays.push(relay);
  return [relay, { TIKTOK_AUTH_BASE_URL: relay.url }];
}

async function secretsManagerRelay(
  deployment: LocalDeployment,
): Promise<[Relay, Record<string, string>]> {
  const relay = await Relay.start(deployment.secretsManager.url);
  relays.push(relay);
  return [relay, { AWS_ENDPOINT_URL_SECRETS_MANAGER: relay.url }];
}

describe('Deployed refresher', { timeout: 120_000 }, () => {
  beforeAll(() => {
    const { template } = synthesizeRefresher({ shops: SHOPS });
    const [schedule] = Object.values(template.findResources('AWS::Scheduler::Schedule'));
    scheduledEvent = JSON.parse(schedule?.Properties?.Target?.Input as string);
  });

  afterAll(async () => {
    await Promise.all([...deployments, ...relays].map((endpoint) => endpoint.close()));
  });

  describe.concurrent('when a scheduled run finds one shop due, one fresh and one whose authorization ends soon', () => {
    let deployment: LocalDeployment;
    let relay: Relay;
    let due: SeededShop;
    let fresh: SeededShop;
    let ending: SeededShop;
    let outcome: InvokeOutcome;

    beforeAll(async () => {
      // Prepare
      deployment = await deploy();
      let environment: Record<string, string>;
      [relay, environment] = await tiktokRelay(deployment);
      due = deployment.seedShop(SHOP_A, { accessTtlSeconds: 3600 });
      fresh = deployment.seedShop(SHOP_B, { accessTtlSeconds: 6 * DAY });
      ending = deployment.seedShop(SHOP_C, {
        accessTtlSeconds: 600,
        refreshTokenExpiresAt: nowSeconds() + 10 * DAY,
      });

      // Act
      outcome = await deployment.invoke(scheduledEvent, { environment });
    });

    it('stores in each due shop’s secret exactly the answer TikTok gave, byte for byte', () => {
      // Assess
      for (const shop of [due, ending]) {
        const answers = relay.answersTo(shop.refreshToken);
        expect(answers).toHaveLength(1);
        expect(deployment.secretsManager.current(shop.name)).toBe(answers[0]);
      }
    });

    it('stores the refresh token TikTok now accepts, and the replaced one no longer works', () => {
      for (const shop of [due, ending]) {
        const refreshToken = stored(deployment, shop.name).data.refresh_token;
        expect(refreshToken).not.toBe(shop.refreshToken);
        expect(deployment.tiktok.isRefreshTokenValid(refreshToken)).toBe(true);
        expect(deployment.tiktok.isRefreshTokenValid(shop.refreshToken)).toBe(false);
      }
    });

    it('keeps the replaced token reachable as AWSPREVIOUS', () => {
      for (const shop of [due, ending]) {
        const versions = deployment.secretsManager.versions(shop.name);
        const previous = versions.filter((version) => version.stages.includes('AWSPREVIOUS'));
        expect(previous.map((version) => version.secretString)).toEqual([shop.raw]);
        expect(previous[0]?.versionId).toBe(shop.versionId);
      }
    });

    it('leaves the fresh shop alone: TikTok is not asked and no version is added', () => {
      expect(relay.answersTo(fresh.refreshToken)).toEqual([]);
      expect(deployment.secretsManager.versions(fresh.name)).toHaveLength(1);
      expect(deployment.secretsManager.current(fresh.name)).toBe(fresh.raw);
      expect(deployment.tiktok.isRefreshTokenValid(fresh.refreshToken)).toBe(true);
    });

    it('publishes Token Refreshed per refreshed shop and Authorization Expiring for the ending one, without tokens', () => {
      const expiries = (name: string) => {
        const { data } = stored(deployment, name);
        return {
          shop: name,
          accessTokenExpiresAt: iso(data.access_token_expire_in),
          refreshTokenExpiresAt: iso(data.refresh_token_expire_in),
        };
      };
      // Each shop's events go out once the shop is settled: in no particular order across shops.
      expect(events(deployment)).toHaveLength(3);
      expect(events(deployment)).toEqual(
        expect.arrayContaining([
          { source: EVENT_SOURCE, type: DETAIL_TYPE.tokenRefreshed, detail: expiries(SHOP_A) },
          { source: EVENT_SOURCE, type: DETAIL_TYPE.tokenRefreshed, detail: expiries(SHOP_C) },
          {
            source: EVENT_SOURCE,
            type: DETAIL_TYPE.authorizationExpiring,
            detail: {
              ...expiries(SHOP_C),
              authorizationExpiresAt: expiries(SHOP_C).refreshTokenExpiresAt,
            },
          },
        ]),
      );
      expect(deployment.eventBridge.events.map((event) => event.EventBusName)).toEqual([
        'default',
        'default',
        'default',
      ]);
    });

    it('answers a summary of what it did, with the expiry times of the tokens now in effect', () => {
      const times = (name: string) => {
        const { data } = stored(deployment, name);
        return {
          accessTokenExpiresAt: iso(data.access_token_expire_in),
          refreshTokenExpiresAt: iso(data.refresh_token_expire_in),
        };
      };
      expect(outcome.error).toBeUndefined();
      expect(outcome.result).toEqual({
        trigger: 'schedule',
        force: false,
        dryRun: false,
        counts: { refreshed: 2, skipped: 1, superseded: 0, failed: 0 },
        shops: [
          { shop: SHOP_A, outcome: 'refreshed', ...times(SHOP_A) },
          { shop: SHOP_B, outcome: 'skipped', reason: 'not-due', ...times(SHOP_B) },
          { shop: SHOP_C, outcome: 'refreshed', ...times(SHOP_C) },
        ],
      });
    });
  });

  describe.concurrent('when TikTok says the seller must authorize again', () => {
    it.for([
      {
        cause: 'the seller revoked the authorization',
        code: TIKTOK_CODE.noAuthRecord,
        refuse: (deployment: LocalDeployment, refreshToken: string) =>
          deployment.tiktok.revoke(refreshToken),
      },
      {
        cause: 'TikTok reports the refresh token expired',
        code: TIKTOK_CODE.refreshTokenExpired,
        refuse: (deployment: LocalDeployment) =>
          deployment.tiktok.failNext(1, {
            code: TIKTOK_CODE.refreshTokenExpired,
            message: 'rt has expired',
          }),
      },
    ])(
      'keeps the stored token and reports code $code without retrying, when $cause',
      async ({ code, refuse }, { expect }) => {
        // Prepare
        const deployment = await deploy();
        seedFresh(deployment, SHOP_A);
        const shop = deployment.seedShop(SHOP_A, { accessTtlSeconds: 3600 });
        refuse(deployment, shop.refreshToken);

        // Act
        const outcome = await deployment.invoke(scheduledEvent);

        // Assess
        expect(outcome.error).toBeUndefined();
        expect(outcome.result?.shops[0]).toMatchObject({
          shop: SHOP_A,
          outcome: 'failed',
          errorType: 'ReauthorizationRequiredError',
          tiktokCode: code,
          retryable: false,
        });
        expect(outcome.result?.counts).toEqual({
          refreshed: 0,
          skipped: 2,
          superseded: 0,
          failed: 1,
        });
        expect(refreshCalls(deployment)).toBe(1);
        expect(deployment.secretsManager.current(SHOP_A)).toBe(shop.raw);
        expect(callsTo(deployment, WRITES)).toEqual([]);
        expect(events(deployment)).toEqual([
          {
            source: EVENT_SOURCE,
            type: DETAIL_TYPE.reauthorizationRequired,
            detail: expect.objectContaining({
              shop: SHOP_A,
              errorType: 'ReauthorizationRequiredError',
              tiktokCode: code,
            }),
          },
        ]);
      },
    );

    it('asks for re-authorization without calling TikTok when the stored refresh token has expired', async ({
      expect,
    }) => {
      // Prepare
      const deployment = await deploy();
      seedFresh(deployment, SHOP_B);
      const shop = deployment.seedShop(SHOP_B, {
        accessTtlSeconds: 3600,
        refreshTokenExpiresAt: nowSeconds() - DAY,
      });

      // Act
      const outcome = await deployment.invoke(scheduledEvent);

      // Assess
      expect(outcome.result?.shops[1]).toMatchObject({
        shop: SHOP_B,
        outcome: 'failed',
        errorType: 'ReauthorizationRequiredError',
        retryable: false,
      });
      expect(outcome.result?.shops[1]?.message).toContain('the stored refresh token expired at');
      expect(deployment.tiktok.calls).toEqual([]);
      expect(deployment.secretsManager.current(SHOP_B)).toBe(shop.raw);
      expect(events(deployment).map((event) => event.type)).toEqual([
        DETAIL_TYPE.reauthorizationRequired,
      ]);
    });
  });

  describe.concurrent('when TikTok fails in a way a retry may fix', () => {
    it.for([
      {
        what: 'HTTP 503 on every attempt',
        fault: { httpStatus: 503 },
        said: 'TikTok answered HTTP 503',
        environment: {},
      },
      {
        what: 'HTTP 429 on every attempt',
        fault: { httpStatus: 429, retryAfterSeconds: 1 },
        said: 'TikTok answered HTTP 429',
        environment: {},
      },
      {
        what: 'no answer within the timeout',
        fault: { delayMs: 5_000 },
        said: 'TikTok did not answer within 1000 ms',
        environment: { TIKTOK_TIMEOUT_MS: '1000' },
      },
      {
        what: 'a dropped connection on every attempt',
        fault: { dropConnection: true },
        said: 'could not reach TikTok (network error)',
        environment: {},
      },
    ] as {
      what: string;
      fault: TikTokFault;
      said: string;
      environment: Record<string, string>;
    }[])(
      'fails the invocation so that Lambda retries, and keeps the stored token, on $what',
      async ({ fault, said, environment }, { expect }) => {
        // Prepare
        const deployment = await deploy();
        seedFresh(deployment, SHOP_C);
        const shop = deployment.seedShop(SHOP_C, { accessTtlSeconds: 3600 });
        deployment.tiktok.failAlways(fault);

        // Act
        const outcome = await deployment.invoke(scheduledEvent, { environment });

        // Assess
        expect(outcome.result).toBeUndefined();
        expect(outcome.error?.errorType).toBe('RefreshIncompleteError');
        expect(outcome.error?.errorMessage).toContain(
          `1 of 3 shops failed and may succeed on retry`,
        );
        expect(outcome.error?.errorMessage).toContain(`${SHOP_C} (TransientError: ${said})`);
        expect(refreshCalls(deployment)).toBe(3);
        expect(deployment.secretsManager.current(SHOP_C)).toBe(shop.raw);
        expect(deployment.tiktok.isRefreshTokenValid(shop.refreshToken)).toBe(true);
        expect(events(deployment)).toEqual([
          {
            source: EVENT_SOURCE,
            type: DETAIL_TYPE.tokenRefreshFailed,
            detail: expect.objectContaining({
              shop: SHOP_C,
              errorType: 'TransientError',
              retryable: true,
            }),
          },
        ]);
      },
    );

    it('stores the token when TikTok recovers within the retries', async ({ expect }) => {
      // Prepare
      const deployment = await deploy();
      seedFresh(deployment, SHOP_A);
      const shop = deployment.seedShop(SHOP_A, { accessTtlSeconds: 3600 });
      deployment.tiktok.failNext(1, { httpStatus: 502 });
      deployment.tiktok.failNext(1, { dropConnection: true });

      // Act
      const outcome = await deployment.invoke(scheduledEvent);

      // Assess
      expect(outcome.result?.shops[0]?.outcome).toBe('refreshed');
      expect(refreshCalls(deployment)).toBe(3);
      expect(
        deployment.tiktok.isRefreshTokenValid(deployment.storedRefreshToken(SHOP_A) ?? ''),
      ).toBe(true);
      expect(deployment.tiktok.isRefreshTokenValid(shop.refreshToken)).toBe(false);
    });
  });

  describe.concurrent('when TikTok answers something that is not a usable token', () => {
    it.for([
      {
        what: 'an HTML page',
        fault: { body: '<html>gateway</html>' },
        said: 'unusable body (not valid JSON)',
      },
      {
        what: 'code 0 without a refresh token',
        fault: { json: { code: 0, message: 'success', data: { access_token: 'TTS_AT_shape' } } },
        said: 'data.refresh_token: missing',
      },
      {
        what: 'a code nobody knows',
        fault: { code: 10_000_042, message: 'something new' },
        said: 'TikTok answered code 10000042: something new',
      },
    ] as { what: string; fault: TikTokFault; said: string }[])(
      'writes nothing and reports the shop failed when TikTok answers $what',
      async ({ fault, said }, { expect }) => {
        // Prepare
        const deployment = await deploy();
        seedFresh(deployment, SHOP_A);
        const shop = deployment.seedShop(SHOP_A, { accessTtlSeconds: 3600 });
        deployment.tiktok.failNext(1, fault);
        deployment.plant('TTS_AT_shape');

        // Act
        const outcome = await deployment.invoke(scheduledEvent);

        // Assess
        expect(outcome.error).toBeUndefined();
        expect(outcome.result?.shops[0]).toMatchObject({
          shop: SHOP_A,
          outcome: 'failed',
          errorType: 'UnexpectedResponseError',
          retryable: false,
        });
        expect(outcome.result?.shops[0]?.message).toContain(said);
        expect(refreshCalls(deployment)).toBe(1);
        expect(callsTo(deployment, WRITES)).toEqual([]);
        expect(deployment.secretsManager.current(SHOP_A)).toBe(shop.raw);
        expect(events(deployment).map((event) => event.type)).toEqual([
          DETAIL_TYPE.tokenRefreshFailed,
        ]);
      },
    );
  });

  describe.concurrent('when a token secret does not hold a token document', () => {
    it.for([
      { what: 'text that is not JSON', raw: 'TTS_RT_planted_not_json', problem: 'not valid JSON' },
      {
        what: 'a document without a refresh token',
        raw: JSON.stringify({
          code: 0,
          data: { access_token: 'TTS_AT_planted', access_token_expire_in: 1_700_000_000 },
        }),
        problem: 'data.refresh_token: missing',
      },
    ])(
      'reports the shop failed without calling TikTok, when it holds $what',
      async ({ raw, problem }, { expect }) => {
        // Prepare
        const deployment = await deploy();
        seedFresh(deployment, SHOP_B);
        deployment.secretsManager.seed(SHOP_B, raw);
        deployment.plant('TTS_RT_planted_not_json', 'TTS_AT_planted');

        // Act
        const outcome = await deployment.invoke(scheduledEvent);

        // Assess
        expect(outcome.error).toBeUndefined();
        expect(outcome.result?.shops[1]).toMatchObject({
          shop: SHOP_B,
          outcome: 'failed',
          errorType: 'MalformedSecretError',
          retryable: false,
        });
        expect(outcome.result?.shops[1]?.message).toContain(problem);
        expect(outcome.result?.shops[1]?.message).toContain('TikTok was not called');
        expect(deployment.tiktok.calls).toEqual([]);
        expect(deployment.secretsManager.current(SHOP_B)).toBe(raw);
        expect(events(deployment).map((event) => event.type)).toEqual([
          DETAIL_TYPE.tokenRefreshFailed,
        ]);
      },
    );
  });

  describe.concurrent('when a person invokes it by hand', () => {
    it.for([
      [{ forse: true }, "unknown field 'forse'"],
      [{ force: 'yes' }, 'force: must be a boolean'],
      [{ dryRun: 1 }, 'dryRun: must be a boolean'],
      [{ shops: [] }, 'shops: must name at least one shop'],
      [{ shops: ['tiktok-shop/tokens/nope'] }, 'not configured: tiktok-shop/tokens/nope'],
    ])(
      'refuses %j before any call, naming what is wrong',
      async ([event, expected], { expect }) => {
        // Prepare
        const deployment = await deploy();
        seedFresh(deployment);

        // Act
        const outcome = await deployment.invoke(event);

        // Assess
        expect(outcome.result).toBeUndefined();
        expect(outcome.error?.errorType).toBe('InvalidEventError');
        expect(outcome.error?.errorMessage).toContain(expected);
        expect(deployment.secretsManager.calls).toEqual([]);
        expect(deployment.tiktok.calls).toEqual([]);
        expect(deployment.eventBridge.events).toEqual([]);
      },
    );

    it('decides in a dry run, but neither calls TikTok nor writes', async ({ expect }) => {
      // Prepare
      const deployment = await deploy();
      const [due, fresh] = [
        deployment.seedShop(SHOP_A, { accessTtlSeconds: 3600 }),
        deployment.seedShop(SHOP_B, { accessTtlSeconds: 5 * DAY }),
      ];
      deployment.seedShop(SHOP_C, { accessTtlSeconds: 60 });

      // Act
      const outcome = await deployment.invoke({ dryRun: true });

      // Assess
      expect(outcome.result?.shops.map((shop) => [shop.shop, shop.outcome, shop.reason])).toEqual([
        [SHOP_A, 'skipped', 'dry-run'],
        [SHOP_B, 'skipped', 'not-due'],
        [SHOP_C, 'skipped', 'dry-run'],
      ]);
      expect(deployment.tiktok.calls).toEqual([]);
      expect(callsTo(deployment, WRITES)).toEqual([]);
      // It still proves that the app credentials can be read.
      expect(
        deployment.secretsManager.calls.some(
          (call) => call.secretId === deployment.functionEnvironment.APP_CREDENTIALS_SECRET_ID,
        ),
      ).toBe(true);
      expect(deployment.secretsManager.current(SHOP_A)).toBe(due.raw);
      expect(deployment.tiktok.isRefreshTokenValid(due.refreshToken)).toBe(true);
      expect(deployment.tiktok.isRefreshTokenValid(fresh.refreshToken)).toBe(true);
      expect(deployment.eventBridge.events).toEqual([]);
    });

    it('refreshes tokens that are not due when forced', async ({ expect }) => {
      // Prepare
      const deployment = await deploy();
      const before = seedFresh(deployment);

      // Act
      const outcome = await deployment.invoke({ force: true });

      // Assess
      expect(outcome.result).toMatchObject({
        trigger: 'manual',
        force: true,
        counts: { refreshed: 3, skipped: 0, superseded: 0, failed: 0 },
      });
      for (const shop of before) {
        const refreshToken = deployment.storedRefreshToken(shop.name) ?? '';
        expect(deployment.tiktok.isRefreshTokenValid(refreshToken)).toBe(true);
        expect(deployment.tiktok.isRefreshTokenValid(shop.refreshToken)).toBe(false);
      }
    });

    it('touches only the shops asked for, by name or by ARN', async ({ expect }) => {
      // Prepare
      const deployment = await deploy();
      const [a, b, c] = seedFresh(deployment) as [SeededShop, SeededShop, SeededShop];

      // Act
      const outcome = await deployment.invoke({ force: true, shops: [a.name, c.arn] });

      // Assess
      expect(outcome.result?.shops.map((shop) => [shop.shop, shop.outcome])).toEqual([
        [SHOP_A, 'refreshed'],
        [SHOP_C, 'refreshed'],
      ]);
      expect(deployment.secretsManager.current(SHOP_B)).toBe(b.raw);
      expect(deployment.tiktok.isRefreshTokenValid(b.refreshToken)).toBe(true);
      expect(deployment.secretsManager.current(SHOP_A)).not.toBe(a.raw);
      expect(deployment.secretsManager.current(SHOP_C)).not.toBe(c.raw);
      expect(new Set(callsTo(deployment, WRITES).map((call) => call.secretId))).toEqual(
        new Set([SHOP_A, SHOP_C]),
      );
    });
  });

  describe.concurrent('when its configuration is broken', () => {
    it('names every wrong setting in one error and calls nothing', async ({ expect }) => {
      // Prepare
      const deployment = await deploy();
      seedFresh(deployment);

      // Act
      const outcome = await deployment.invoke(scheduledEvent, {
        environment: {
          APP_CREDENTIALS_SECRET_ID: '',
          TIKTOK_AUTH_BASE_URL: 'http://auth.example.com',
          MAX_CONCURRENCY: 'ten',
        },
      });

      // Assess
      expect(outcome.error?.errorType).toBe('ConfigurationError');
      expect(outcome.error?.errorMessage).toContain('APP_CREDENTIALS_SECRET_ID is required');
      expect(outcome.error?.errorMessage).toContain('TIKTOK_AUTH_BASE_URL must use https');
      expect(outcome.error?.errorMessage).toContain('MAX_CONCURRENCY must be a whole number');
      expect(deployment.secretsManager.calls).toEqual([]);
      expect(deployment.tiktok.calls).toEqual([]);
    });
  });

  describe.concurrent('when one shop fails and the others do not', () => {
    it('refreshes the others and reports each failure by shop', async ({ expect }) => {
      // Prepare
      const deployment = await deploy();
      const revoked = deployment.seedShop(SHOP_A, { accessTtlSeconds: 3600 });
      deployment.tiktok.revoke(revoked.refreshToken);
      deployment.secretsManager.seed(SHOP_B, '{"code":0}');
      const due = deployment.seedShop(SHOP_C, { accessTtlSeconds: 3600 });

      // Act
      const outcome = await deployment.invoke(scheduledEvent);

      // Assess
      expect(outcome.error).toBeUndefined();
      expect(
        outcome.result?.shops.map((shop) => [shop.shop, shop.outcome, shop.errorType]),
      ).toEqual([
        [SHOP_A, 'failed', 'ReauthorizationRequiredError'],
        [SHOP_B, 'failed', 'MalformedSecretError'],
        [SHOP_C, 'refreshed', undefined],
      ]);
      const refreshToken = deployment.storedRefreshToken(SHOP_C) ?? '';
      expect(refreshToken).not.toBe(due.refreshToken);
      expect(deployment.tiktok.isRefreshTokenValid(refreshToken)).toBe(true);
      // Each shop's events go out once the shop is settled, so their order is not the shops'.
      expect(
        events(deployment)
          .map((event) => [event.type, (event.detail as { shop: string }).shop])
          .sort((a, b) => String(a[1]).localeCompare(String(b[1]))),
      ).toEqual([
        [DETAIL_TYPE.reauthorizationRequired, SHOP_A],
        [DETAIL_TYPE.tokenRefreshFailed, SHOP_B],
        [DETAIL_TYPE.tokenRefreshed, SHOP_C],
      ]);
    });

    it('stores the others’ tokens and fails the invocation naming only the shop TikTok could not serve', async ({
      expect,
    }) => {
      // Prepare
      const deployment = await deploy();
      const [relay, environment] = await tiktokRelay(deployment);
      const [down, b, c] = [SHOP_A, SHOP_B, SHOP_C].map((name) =>
        deployment.seedShop(name, { accessTtlSeconds: 3600 }),
      ) as [SeededShop, SeededShop, SeededShop];
      relay.standIn = ({ query }) =>
        query.get('refresh_token') === down.refreshToken
          ? { status: 503, body: '<html>503</html>' }
          : undefined;

      // Act
      const outcome = await deployment.invoke(scheduledEvent, { environment });

      // Assess
      expect(outcome.error?.errorType).toBe('RefreshIncompleteError');
      expect(outcome.error?.errorMessage).toMatch(
        new RegExp(`^1 of 3 shops failed and may succeed on retry: ${SHOP_A} \\(TransientError: `),
      );
      for (const shop of [b, c]) {
        expect(relay.answersTo(shop.refreshToken)).toEqual([
          deployment.secretsManager.current(shop.name),
        ]);
        expect(
          deployment.tiktok.isRefreshTokenValid(deployment.storedRefreshToken(shop.name) ?? ''),
        ).toBe(true);
      }
      expect(deployment.secretsManager.current(SHOP_A)).toBe(down.raw);
      expect(deployment.tiktok.isRefreshTokenValid(down.refreshToken)).toBe(true);
    });
  });

  describe.concurrent('when Secrets Manager writes fail for a while after TikTok answered', () => {
    it.for([
      ['ThrottlingException', 3],
      ['InternalServiceError', 3],
      ['DropConnection', 2],
    ] as const)(
      'stores the new token after PutSecretValue and UpdateSecretVersionStage each fail with %s %i times, having asked TikTok once',
      async ([fault, count], { expect }) => {
        // Prepare
        const deployment = await deploy();
        seedFresh(deployment, SHOP_A);
        const shop = deployment.seedShop(SHOP_A, { accessTtlSeconds: 3600 });
        for (const operation of WRITES) deployment.secretsManager.failNext(operation, count, fault);

        // Act
        const outcome = await deployment.invoke(scheduledEvent);

        // Assess
        expect(outcome.error).toBeUndefined();
        expect(outcome.result?.shops[0]?.outcome).toBe('refreshed');
        expect(refreshCalls(deployment)).toBe(1);
        for (const operation of WRITES) {
          const failed = callsTo(deployment, [operation]).filter((call) => call.status !== 200);
          expect(failed, operation).toHaveLength(count);
        }
        const refreshToken = deployment.storedRefreshToken(SHOP_A) ?? '';
        expect(deployment.tiktok.isRefreshTokenValid(refreshToken)).toBe(true);
        expect(deployment.tiktok.isRefreshTokenValid(shop.refreshToken)).toBe(false);
        // One new version, current; the seeded one previous.
        expect(labels(deployment, SHOP_A)).toEqual([['AWSPREVIOUS'], ['AWSCURRENT', 'AWSPENDING']]);
      },
    );

    it.for(['PutSecretValue', 'UpdateSecretVersionStage'])(
      'stores the new token once when the answer to %s is lost after Secrets Manager acted on it',
      async (operation, { expect }) => {
        // Prepare
        const deployment = await deploy();
        const [relay, environment] = await secretsManagerRelay(deployment);
        seedFresh(deployment, SHOP_A);
        const shop = deployment.seedShop(SHOP_A, { accessTtlSeconds: 3600 });
        let lost = 0;
        relay.loseAnswer = (request) => request.operation === operation && lost++ === 0;

        // Act
        const outcome = await deployment.invoke(scheduledEvent, { environment });

        // Assess
        expect(lost).toBeGreaterThan(1);
        expect(outcome.error).toBeUndefined();
        expect(outcome.result?.shops[0]?.outcome).toBe('refreshed');
        expect(refreshCalls(deployment)).toBe(1);
        expect(
          deployment.tiktok.isRefreshTokenValid(deployment.storedRefreshToken(SHOP_A) ?? ''),
        ).toBe(true);
        expect(deployment.tiktok.isRefreshTokenValid(shop.refreshToken)).toBe(false);
        expect(labels(deployment, SHOP_A)).toEqual([['AWSPREVIOUS'], ['AWSCURRENT', 'AWSPENDING']]);
      },
    );
  });

  describe.concurrent('when a write is interrupted after TikTok answered', () => {
    it('leaves the new token pending when Lambda stops the run mid-write, and the next run makes it current without asking TikTok', async ({
      expect,
    }) => {
      // Prepare
      const deployment = await deploy();
      seedFresh(deployment, SHOP_A);
      const shop = deployment.seedShop(SHOP_A, { accessTtlSeconds: 3600 });
      deployment.secretsManager.failNext('UpdateSecretVersionStage', 100, 'ThrottlingException');
      const lambda = new AbortController();

      // Act: Lambda ends the invocation while the promotion keeps being throttled.
      const interrupted = deployment.invoke(scheduledEvent, { signal: lambda.signal });
      await until(
        () => callsTo(deployment, ['UpdateSecretVersionStage']).some((call) => call.status === 400),
        'the promotion is throttled',
      );
      lambda.abort();
      const first = await interrupted;
      deployment.secretsManager.reset();
      const pending = deployment.secretsManager
        .versions(SHOP_A)
        .find((version) => version.stages.includes('AWSPENDING'));
      const second = await deployment.invoke(scheduledEvent);

      // Assess
      expect(first.error?.errorType).toBe('Sandbox.Timedout');
      expect(pending).toBeDefined();
      const pendingToken = (JSON.parse(pending?.secretString ?? 'null') as TokenAnswer).data
        .refresh_token;
      expect(deployment.tiktok.isRefreshTokenValid(pendingToken)).toBe(true);
      expect(second.error).toBeUndefined();
      expect(second.result?.shops[0]).toMatchObject({
        shop: SHOP_A,
        outcome: 'refreshed',
        recovered: true,
      });
      expect(refreshCalls(deployment)).toBe(1);
      expect(deployment.secretsManager.current(SHOP_A)).toBe(pending?.secretString);
      expect(
        deployment.tiktok.isRefreshTokenValid(deployment.storedRefreshToken(SHOP_A) ?? ''),
      ).toBe(true);
      expect(deployment.tiktok.isRefreshTokenValid(shop.refreshToken)).toBe(false);
    });

    it('fails loudly when Secrets Manager refuses the promotion, and the next run makes the token current', async ({
      expect,
    }) => {
      // Prepare
      const deployment = await deploy();
      seedFresh(deployment, SHOP_B);
      deployment.seedShop(SHOP_B, { accessTtlSeconds: 3600 });
      deployment.secretsManager.failNext('UpdateSecretVersionStage', 1, {
        type: 'AccessDeniedException',
        message: 'not authorized to perform secretsmanager:UpdateSecretVersionStage',
      });

      // Act
      const first = await deployment.invoke(scheduledEvent);
      const pending = deployment.secretsManager
        .versions(SHOP_B)
        .find((version) => version.stages.includes('AWSPENDING'));
      const second = await deployment.invoke(scheduledEvent);

      // Assess
      expect(first.error?.errorType).toBe('RefreshIncompleteError');
      expect(first.error?.errorMessage).toContain(
        `${SHOP_B} (TokenNotStoredError: TikTok issued a new token that could not be stored`,
      );
      expect(events(deployment)[0]).toMatchObject({
        type: DETAIL_TYPE.tokenRefreshFailed,
        detail: { shop: SHOP_B, errorType: 'TokenNotStoredError', retryable: true },
      });
      expect(pending?.stages).toEqual(['AWSPENDING']);
      expect(second.result?.shops[1]).toMatchObject({ outcome: 'refreshed', recovered: true });
      expect(refreshCalls(deployment)).toBe(1);
      expect(deployment.secretsManager.current(SHOP_B)).toBe(pending?.secretString);
      expect(
        deployment.tiktok.isRefreshTokenValid(deployment.storedRefreshToken(SHOP_B) ?? ''),
      ).toBe(true);
    });
  });

  describe.concurrent('when a seller authorizes again after a refresh', () => {
    it('keeps the new authorization’s token even if the token the refresh stored (still labelled AWSPENDING) outlives it', async ({
      expect,
    }) => {
      // Prepare: a refresh, then a new authorization that ends the old one and whose access
      // token ends in three days (how long TikTok makes it is not documented).
      const deployment = await deploy();
      seedFresh(deployment, SHOP_A);
      deployment.seedShop(SHOP_A, { accessTtlSeconds: 3600 });
      const refreshed = await deployment.invoke(scheduledEvent);
      const refreshToken = deployment.storedRefreshToken(SHOP_A) ?? '';
      deployment.tiktok.revoke(refreshToken);
      const reauthorized = deployment.seedShop(SHOP_A, { accessTtlSeconds: 3 * DAY });

      // Act
      const outcome = await deployment.invoke(scheduledEvent);

      // Assess
      expect(refreshed.result?.shops[0]?.outcome).toBe('refreshed');
      expect(deployment.secretsManager.current(SHOP_A)).toBe(reauthorized.raw);
      expect(deployment.tiktok.isRefreshTokenValid(reauthorized.refreshToken)).toBe(true);
      expect(outcome.result?.shops[0]).toMatchObject({ outcome: 'skipped', reason: 'not-due' });
    });
  });
});
