import { beforeEach, describe, expect, it } from 'vitest';
import { DETAIL_TYPE, METRIC, WEBHOOK_METRIC } from '../../../lambda/shared/contract.js';
import type { AppCredentials } from '../../../lambda/shared/credentials.js';
import { CachedAppCredentials } from '../../../lambda/webhooks/app-credentials.js';
import {
  IN_FLIGHT_MS,
  MAX_BODY_BYTES,
  type ReceiverPorts,
  receiveNotification,
  type WebhookRequest,
} from '../../../lambda/webhooks/receive.js';
import { FakeClock } from '../../support/fake-clock.js';
import { leaksIn } from '../../support/leak-check.js';
import { RecordingLogger } from '../../support/refresh-fakes.js';
import {
  MemoryShopState,
  notificationJson,
  RecordingMetrics,
  RecordingPublisher,
  signedRequest,
} from '../../support/webhook-fakes.js';

const NOW = Date.UTC(2026, 11, 6, 12);
const NOW_SECONDS = NOW / 1000;
const DEFAULT_APP: AppCredentials = { app_key: 'default-key', app_secret: 'DEFAULT_SECRET_1a2b3c' };
const US_APP: AppCredentials = { app_key: 'us-key', app_secret: 'US_SECRET_9f8e7d6c' };
const TIKTOK_SHOP_ID = '7494049642642441621';

let clock: FakeClock;
let shops: MemoryShopState;
let events: RecordingPublisher;
let logger: RecordingLogger;
let metrics: RecordingMetrics;
let credentialReads: string[];
let rotated: Map<string, AppCredentials>;
let ports: ReceiverPorts;

beforeEach(() => {
  clock = new FakeClock(NOW);
  shops = new MemoryShopState();
  events = new RecordingPublisher();
  logger = new RecordingLogger();
  metrics = new RecordingMetrics();
  credentialReads = [];
  rotated = new Map();
  const secrets = new Map([
    ['default-credentials', DEFAULT_APP],
    ['us-credentials', US_APP],
  ]);
  const credentials = new CachedAppCredentials(
    new Map([
      ['default', 'default-credentials'],
      ['us', 'us-credentials'],
    ]),
    async (secretId) => {
      credentialReads.push(secretId);
      const found = rotated.get(secretId) ?? secrets.get(secretId);
      if (found === undefined) throw new Error(`no secret ${secretId}`);
      return found;
    },
    clock,
  );
  ports = { credentials, shops, events, clock, logger, metrics };
  shops.add('shop-a', {
    app: 'default',
    tiktokShopIds: [TIKTOK_SHOP_ID],
    connectedAt: NOW - 86_400_000,
  });
});

function deauthorization(
  fields: { id?: string; timestamp?: number; shopId?: string } = {},
): string {
  return notificationJson({
    type: 6,
    shopId: fields.shopId ?? TIKTOK_SHOP_ID,
    notificationId: fields.id ?? '7327000000000000001',
    timestamp: fields.timestamp ?? NOW_SECONDS - 10,
    data: { message: `Shop_id ${TIKTOK_SHOP_ID} is deauthorized from your APP by merchant.` },
  });
}

function expiration(
  expiresAt: number,
  id = '7327000000000000002',
  timestamp = NOW_SECONDS - 10,
): string {
  return notificationJson({
    type: 7,
    shopId: TIKTOK_SHOP_ID,
    notificationId: id,
    timestamp,
    data: { message: 'expiring', expiration_time: String(expiresAt) },
  });
}

function receive(request: WebhookRequest) {
  return receiveNotification(request, ports);
}

/** Nothing about any shop changed and nothing was published. */
function expectNothingChanged(): void {
  const shop = shops.shops.get('shop-a');
  expect(shop?.deauthorized).toBeUndefined();
  expect(shop?.authorizationExpiry).toBeUndefined();
  expect(events.events).toEqual([]);
}

describe('Function: receiveNotification', () => {
  describe('a seller deauthorization (type 6)', () => {
    it('marks the shop deauthorized and publishes Shop Deauthorized before answering 200', async () => {
      // Act
      const response = await receive(signedRequest('/', deauthorization(), DEFAULT_APP));

      // Assess
      expect(response.status).toBe(200);
      expect(shops.shops.get('shop-a')?.deauthorized).toEqual({
        at: NOW_SECONDS - 10,
        notificationId: '7327000000000000001',
      });
      expect(events.events).toEqual([
        {
          detailType: DETAIL_TYPE.shopDeauthorized,
          detail: {
            shop: 'shop-a',
            tiktokShopId: TIKTOK_SHOP_ID,
            notificationId: '7327000000000000001',
            deauthorizedAt: new Date((NOW_SECONDS - 10) * 1000).toISOString(),
          },
        },
      ]);
      expect(metrics.count(WEBHOOK_METRIC.accepted)).toBe(1);
      expect(metrics.count(METRIC.shopsDeauthorized)).toBe(1);
    });

    it('marks every shop of the app whose token covers the TikTok shop id, and no other app’s', async () => {
      // Prepare
      shops.add('shop-b', { app: 'default', tiktokShopIds: ['1', TIKTOK_SHOP_ID] });
      shops.add('shop-us', { app: 'us', tiktokShopIds: [TIKTOK_SHOP_ID] });

      // Act
      const response = await receive(signedRequest('/', deauthorization(), DEFAULT_APP));

      // Assess
      expect(response.status).toBe(200);
      expect(shops.shops.get('shop-a')?.deauthorized).toBeDefined();
      expect(shops.shops.get('shop-b')?.deauthorized).toBeDefined();
      expect(shops.shops.get('shop-us')?.deauthorized).toBeUndefined();
      expect(events.events.map((event) => event.detail.shop).sort()).toEqual(['shop-a', 'shop-b']);
    });

    it('serves another app at /<app>, verified with that app’s secret, its events naming the app', async () => {
      // Prepare
      shops.add('shop-us', { app: 'us', tiktokShopIds: [TIKTOK_SHOP_ID] });

      // Act
      const response = await receive(signedRequest('/us', deauthorization(), US_APP));

      // Assess
      expect(response.status).toBe(200);
      expect(shops.shops.get('shop-us')?.deauthorized).toBeDefined();
      expect(shops.shops.get('shop-a')?.deauthorized).toBeUndefined();
      expect(events.events[0]?.detail).toMatchObject({ shop: 'shop-us', app: 'us' });
    });

    it('changes nothing the second time the same notification comes (TikTok retries)', async () => {
      // Prepare
      await receive(signedRequest('/', deauthorization(), DEFAULT_APP));

      // Act
      const again = await receive(signedRequest('/', deauthorization(), DEFAULT_APP));

      // Assess
      expect(again.status).toBe(200);
      expect(JSON.parse(again.body)).toEqual({ outcome: 'duplicate' });
      expect(events.events).toHaveLength(1);
      expect(metrics.count(WEBHOOK_METRIC.duplicate)).toBe(1);
    });

    it('ignores a deauthorization sent before the shop’s current token was stored (reconnected since)', async () => {
      // Prepare
      const shop = shops.shops.get('shop-a');
      if (shop !== undefined) shop.connectedAt = NOW - 5_000;

      // Act
      const response = await receive(
        signedRequest('/', deauthorization({ timestamp: NOW_SECONDS - 3600 }), DEFAULT_APP),
      );

      // Assess
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body)).toEqual({ outcome: 'stale' });
      expectNothingChanged();
      expect(metrics.count(WEBHOOK_METRIC.stale)).toBe(1);
    });

    it('marks a shop whose token was stored just after the deauthorization (a refresh TikTok answered before it)', async () => {
      // Prepare
      const shop = shops.shops.get('shop-a');
      if (shop !== undefined) shop.connectedAt = NOW - 60_000 + IN_FLIGHT_MS - 1_000;

      // Act
      const response = await receive(
        signedRequest('/', deauthorization({ timestamp: NOW_SECONDS - 60 }), DEFAULT_APP),
      );

      // Assess
      expect(JSON.parse(response.body)).toEqual({ outcome: 'accepted' });
      expect(shops.shops.get('shop-a')?.deauthorized).toEqual({
        at: NOW_SECONDS - 60,
        notificationId: '7327000000000000001',
      });
    });

    it('accepts TikTok’s last retry, 23 hours after the first try', async () => {
      // Act
      const response = await receive(
        signedRequest('/', deauthorization({ timestamp: NOW_SECONDS - 23 * 3600 }), DEFAULT_APP),
      );

      // Assess
      expect(response.status).toBe(200);
      expect(shops.shops.get('shop-a')?.deauthorized).toBeDefined();
    });
  });

  describe('an upcoming authorization expiration (type 7)', () => {
    it('records when the authorization ends and publishes Authorization Expiring', async () => {
      // Prepare
      const expiresAt = NOW_SECONDS + 20 * 86_400;

      // Act
      const response = await receive(signedRequest('/', expiration(expiresAt), DEFAULT_APP));

      // Assess
      expect(response.status).toBe(200);
      expect(shops.shops.get('shop-a')?.authorizationExpiry).toEqual({
        expiresAt,
        notificationId: '7327000000000000002',
      });
      expect(events.events).toEqual([
        {
          detailType: DETAIL_TYPE.authorizationExpiring,
          detail: {
            shop: 'shop-a',
            tiktokShopId: TIKTOK_SHOP_ID,
            notificationId: '7327000000000000002',
            authorizationExpiresAt: new Date(expiresAt * 1000).toISOString(),
          },
        },
      ]);
      expect(metrics.count(METRIC.authorizationExpiring)).toBe(1);
    });

    it('announces each daily reminder, and a replay of one only once', async () => {
      // Prepare
      const expiresAt = NOW_SECONDS + 20 * 86_400;
      await receive(signedRequest('/', expiration(expiresAt, 'day-1'), DEFAULT_APP));

      // Act
      await receive(signedRequest('/', expiration(expiresAt, 'day-1'), DEFAULT_APP));
      await receive(signedRequest('/', expiration(expiresAt, 'day-2'), DEFAULT_APP));

      // Assess
      expect(events.events.map((event) => event.detail.notificationId)).toEqual(['day-1', 'day-2']);
      expect(metrics.count(WEBHOOK_METRIC.duplicate)).toBe(1);
    });

    it('records a notification TikTok retried after a scheduled refresh stored a new token', async () => {
      // Prepare: sent 2 min ago, answered 500; the refresher stored a new token 5 s ago.
      const shop = shops.shops.get('shop-a');
      if (shop !== undefined) shop.connectedAt = NOW - 5_000;
      const expiresAt = NOW_SECONDS + 20 * 86_400;

      // Act
      const response = await receive(
        signedRequest('/', expiration(expiresAt, 'retried', NOW_SECONDS - 120), DEFAULT_APP),
      );

      // Assess
      expect(JSON.parse(response.body)).toEqual({ outcome: 'accepted' });
      expect(shops.shops.get('shop-a')?.authorizationExpiry).toEqual({
        expiresAt,
        notificationId: 'retried',
      });
      expect(events.events.map((event) => event.detailType)).toEqual([
        DETAIL_TYPE.authorizationExpiring,
      ]);
    });

    it('keeps a later expiry over an earlier one, and replaces an earlier one with a later one', async () => {
      // Prepare
      const earlier = NOW_SECONDS + 10 * 86_400;
      const later = NOW_SECONDS + 300 * 86_400;
      await receive(signedRequest('/', expiration(earlier, 'old-authorization'), DEFAULT_APP));
      await receive(signedRequest('/', expiration(later, 'new-authorization'), DEFAULT_APP));

      // Act
      const older = await receive(
        signedRequest('/', expiration(earlier, 'old-authorization-day-2'), DEFAULT_APP),
      );

      // Assess
      expect(JSON.parse(older.body)).toEqual({ outcome: 'stale' });
      expect(shops.shops.get('shop-a')?.authorizationExpiry).toEqual({
        expiresAt: later,
        notificationId: 'new-authorization',
      });
      expect(events.events.map((event) => event.detail.notificationId)).toEqual([
        'old-authorization',
        'new-authorization',
      ]);
    });

    it('refuses with 400 an expiration without expiration_time', async () => {
      // Prepare
      const body = notificationJson({
        type: 7,
        shopId: TIKTOK_SHOP_ID,
        notificationId: '1',
        timestamp: NOW_SECONDS,
        data: { message: 'expiring' },
      });

      // Act
      const response = await receive(signedRequest('/', body, DEFAULT_APP));

      // Assess
      expect(response.status).toBe(400);
      expect(response.body).toContain('data.expiration_time: missing');
      expectNothingChanged();
    });
  });

  describe('refusals, which change nothing', () => {
    it('refuses a forged signature with 401, counted and logged with the reason', async () => {
      // Prepare
      const request = signedRequest('/', deauthorization(), {
        app_key: DEFAULT_APP.app_key,
        app_secret: 'a guess',
      });

      // Act
      const response = await receive(request);

      // Assess
      expect(response.status).toBe(401);
      expectNothingChanged();
      expect(shops.lookups).toBe(0);
      expect(metrics.count(WEBHOOK_METRIC.badSignature)).toBe(1);
      expect(logger.lines).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          extra: expect.objectContaining({ signatureProblem: 'mismatch', app: 'default' }),
        }),
      );
    });

    it('refuses with 401 a notification signed with another app of the deployment', async () => {
      // Act
      const response = await receive(signedRequest('/', deauthorization(), US_APP));

      // Assess
      expect(response.status).toBe(401);
      expectNothingChanged();
    });

    it('refuses with 401 a notification without signature', async () => {
      // Act
      const response = await receive({
        path: '/',
        headers: {},
        body: Buffer.from(deauthorization()),
      });

      // Assess
      expect(response.status).toBe(401);
      expect(logger.lines.at(-1)?.extra.signatureProblem).toBe('missing');
      expectNothingChanged();
    });

    it('refuses with 404 a path naming no app of the deployment, reading nothing', async () => {
      // Act
      const responses = await Promise.all(
        ['/nope', '/us/extra', '/../us', '/US'].map((path) =>
          receive(signedRequest(path, deauthorization(), US_APP)),
        ),
      );

      // Assess
      expect(responses.map((response) => response.status)).toEqual([404, 404, 404, 404]);
      expect(credentialReads).toEqual([]);
      expect(metrics.count(WEBHOOK_METRIC.unknownApp)).toBe(4);
    });

    it('refuses with 413 a body over the cap before reading anything', async () => {
      // Prepare
      const body = JSON.stringify({ padding: 'x'.repeat(MAX_BODY_BYTES) });

      // Act
      const response = await receive(signedRequest('/', body, DEFAULT_APP));

      // Assess
      expect(response.status).toBe(413);
      expect(credentialReads).toEqual([]);
    });

    it.each([
      ['not JSON', '{"type":6,', 'not valid JSON'],
      ['a JSON array', '[]', '(top level)'],
      [
        'without shop_id',
        '{"type":6,"tts_notification_id":"1","timestamp":1796558390}',
        'shop_id: missing',
      ],
      [
        'with a shop id that is no id',
        '{"type":6,"tts_notification_id":"1","shop_id":"a b","timestamp":1796558390}',
        'shop_id',
      ],
      [
        'with a timestamp in milliseconds',
        '{"type":6,"tts_notification_id":"1","shop_id":"1","timestamp":1796558390000}',
        'timestamp',
      ],
    ])('refuses with 400 a signed body %s', async (_, body, problem) => {
      // Act
      const response = await receive(signedRequest('/', body, DEFAULT_APP));

      // Assess
      expect(response.status).toBe(400);
      expect(response.body).toContain(problem);
      expectNothingChanged();
      expect(metrics.count(WEBHOOK_METRIC.malformed)).toBe(1);
    });

    it.each([
      ['older than a day', NOW_SECONDS - 24 * 3600 - 1],
      ['more than 5 minutes ahead', NOW_SECONDS + 5 * 60 + 1],
    ])('refuses with 400 a notification %s', async (_, timestamp) => {
      // Act
      const response = await receive(
        signedRequest('/', deauthorization({ timestamp }), DEFAULT_APP),
      );

      // Assess
      expect(response.status).toBe(400);
      expect(response.body).toContain('timestamp');
      expectNothingChanged();
    });
  });

  describe('notifications that are answered 200 and change nothing', () => {
    it('answers 200 to a type this product does not act on (an order update)', async () => {
      // Prepare
      const body = notificationJson({
        type: 1,
        shopId: TIKTOK_SHOP_ID,
        notificationId: '9',
        timestamp: NOW_SECONDS,
        data: { order_id: '576', order_status: 'AWAITING_SHIPMENT' },
      });

      // Act
      const response = await receive(signedRequest('/', body, DEFAULT_APP));

      // Assess
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body)).toEqual({ outcome: 'notOurs' });
      expectNothingChanged();
      expect(shops.lookups).toBe(0);
    });

    it('answers 200 to a shop id no shop is known to cover, logged and counted', async () => {
      // Act
      const response = await receive(
        signedRequest('/', deauthorization({ shopId: '1111' }), DEFAULT_APP),
      );

      // Assess
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body)).toEqual({ outcome: 'unknownShop' });
      expectNothingChanged();
      expect(metrics.count(WEBHOOK_METRIC.unknownShop)).toBe(1);
      expect(logger.lines.at(-1)?.extra).toMatchObject({ tiktokShopId: '1111' });
    });
  });

  describe('durability', () => {
    it('answers 500 and writes no mark when the event cannot be published; the retry records both', async () => {
      // Prepare
      events.failNext = 1;

      // Act
      const first = await receive(signedRequest('/', deauthorization(), DEFAULT_APP));
      const retry = await receive(signedRequest('/', deauthorization(), DEFAULT_APP));

      // Assess
      expect(first.status).toBe(500);
      expect(retry.status).toBe(200);
      expect(events.events).toHaveLength(1);
      expect(shops.shops.get('shop-a')?.deauthorized?.notificationId).toBe('7327000000000000001');
      expect(metrics.count(WEBHOOK_METRIC.failed)).toBe(1);
    });

    it('answers 500 when the mark cannot be written; the retry writes it', async () => {
      // Prepare
      shops.failWrites.push(
        Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }),
      );

      // Act
      const first = await receive(signedRequest('/', deauthorization(), DEFAULT_APP));
      const retry = await receive(signedRequest('/', deauthorization(), DEFAULT_APP));

      // Assess
      expect(first.status).toBe(500);
      expect(retry.status).toBe(200);
      expect(shops.shops.get('shop-a')?.deauthorized).toBeDefined();
    });

    it('answers 500 when the app credentials cannot be read, and reads them again next time', async () => {
      // Prepare
      const failing = new CachedAppCredentials(
        new Map([['default', 'missing-credentials']]),
        async (secretId) => {
          credentialReads.push(secretId);
          throw new Error('ResourceNotFoundException');
        },
        clock,
      );
      ports = { ...ports, credentials: failing };

      // Act
      const first = await receive(signedRequest('/', deauthorization(), DEFAULT_APP));
      const second = await receive(signedRequest('/', deauthorization(), DEFAULT_APP));

      // Assess
      expect([first.status, second.status]).toEqual([500, 500]);
      expect(credentialReads).toEqual(['missing-credentials', 'missing-credentials']);
      expectNothingChanged();
    });

    it('loses none of a burst of 200 parallel notifications and reads the credentials once', async () => {
      // Prepare
      for (let i = 0; i < 200; i++) {
        shops.add(`burst-${i}`, { app: 'default', tiktokShopIds: [`${9000 + i}`] });
      }

      // Act
      const responses = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          receive(
            signedRequest(
              '/',
              deauthorization({ shopId: `${9000 + i}`, id: `n-${i}` }),
              DEFAULT_APP,
            ),
          ),
        ),
      );

      // Assess
      expect(responses.every((response) => response.status === 200)).toBe(true);
      const marked = [...shops.shops.values()].filter((shop) => shop.deauthorized !== undefined);
      expect(marked).toHaveLength(200);
      expect(new Set(events.events.map((event) => event.detail.shop)).size).toBe(200);
      expect(credentialReads).toEqual(['default-credentials']);
    });
  });

  describe('app credentials', () => {
    it('reads the credentials again when a signature fails on ones read over a minute ago (rotated)', async () => {
      // Prepare
      await receive(signedRequest('/', deauthorization({ shopId: '1' }), DEFAULT_APP));
      const newSecret = { ...DEFAULT_APP, app_secret: 'ROTATED_SECRET_77aa' };
      rotated.set('default-credentials', newSecret);
      clock.setNow(NOW + 61_000);

      // Act
      const response = await receive(signedRequest('/', deauthorization(), newSecret));

      // Assess
      expect(response.status).toBe(200);
      expect(credentialReads).toEqual(['default-credentials', 'default-credentials']);
    });

    it('does not read them again for forged signatures within the minute', async () => {
      // Prepare
      const forged = { ...DEFAULT_APP, app_secret: 'forged' };

      // Act
      for (let i = 0; i < 5; i++) await receive(signedRequest('/', deauthorization(), forged));

      // Assess
      expect(credentialReads).toEqual(['default-credentials']);
      expect(metrics.count(WEBHOOK_METRIC.badSignature)).toBe(5);
    });
  });

  it('logs neither the app secret nor the signature, whatever the outcome', async () => {
    // Prepare
    const requests = [
      signedRequest('/', deauthorization(), DEFAULT_APP),
      signedRequest('/', deauthorization({ id: 'x' }), { ...DEFAULT_APP, app_secret: 'forged' }),
      signedRequest('/', '{"type":6,', DEFAULT_APP),
    ];

    // Act
    const answers = await Promise.all(requests.map((request) => receive(request)));

    // Assess
    const secrets = [
      DEFAULT_APP.app_secret,
      ...requests.map((request) => request.headers.authorization ?? ''),
    ];
    const output = [logger.text(), ...answers.map((answer) => answer.body)].join('\n');
    expect(leaksIn(output, secrets)).toEqual([]);
  });
});
