/**
 * The webhook receiver's core: checks a TikTok Shop notification, records what it says about a
 * shop's authorization and announces it, then answers TikTok. Builds nothing; takes its ports.
 */
import { DEFAULT_APP, DETAIL_TYPE, METRIC, WEBHOOK_METRIC } from '../shared/contract.js';
import type { AppCredentials } from '../shared/credentials.js';
import type { EventPublisher, RefresherEvent } from '../shared/event-publisher.js';
import type { Shop } from '../shared/shop.js';
import type { DeauthorizedMark } from '../shared/shop-state.js';
import type { Clock } from '../shared/timing.js';
import { expiresAt as isoOf } from '../shared/token.js';
import { NotificationNotRecordedError } from './errors.js';
import { type Notification, parseNotification } from './notification.js';
import { SIGNATURE_HEADER, type SignatureCheck, verifySignature } from './signature.js';

/** A notification is a few hundred bytes; TikTok's largest (orders) a few KB. */
export const MAX_BODY_BYTES = 64 * 1024;
/** TikTok's last retry comes about 15.5 h after the first try; a day leaves room for skew. */
export const MAX_AGE_SECONDS = 24 * 3600;
/** Clocks differ a little; a notification from further ahead is no TikTok's. */
export const MAX_FUTURE_SECONDS = 5 * 60;

/**
 * A token stored this long after a deauthorization may still come from a refresh TikTok answered
 * just before it (one TikTok attempt, then storing): such a token does not make it stale.
 */
export const IN_FLIGHT_MS = 60_000;

export type WebhookOutcome = keyof typeof WEBHOOK_METRIC;

export interface WebhookRequest {
  /** The function URL's path: `/` for the default app, `/<app>` for another app. */
  readonly path: string;
  /** Header names in lower case, as Lambda function URLs give them. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The body exactly as received: the signature covers these bytes. */
  readonly body: Buffer;
}

export interface WebhookResponse {
  readonly status: number;
  readonly body: string;
}

/** A shop whose token covers the notification's TikTok shop id, with the state its tags hold. */
export interface ShopState {
  readonly shop: Shop;
  readonly deauthorized?: DeauthorizedMark;
  readonly authorizationExpiry?: AuthorizationExpiry;
}

export interface AuthorizationExpiry {
  /** When the seller's authorization ends, epoch seconds. */
  readonly expiresAt: number;
  readonly notificationId: string;
}

/** Where the shops' authorization state lives (tags on their token secrets, see secret-tags.ts). */
export interface ShopStatePort {
  /** This app's shops whose token may act for TikTok shop id `tiktokShopId`. */
  findShops(app: string, tiktokShopId: string): Promise<readonly ShopState[]>;
  /**
   * When the shop's current token was stored (by a refresh or a reconnect), epoch ms; undefined
   * when it holds none.
   */
  connectedAt(shop: Shop): Promise<number | undefined>;
  markDeauthorized(shop: Shop, mark: DeauthorizedMark): Promise<void>;
  recordAuthorizationExpiry(shop: Shop, expiry: AuthorizationExpiry): Promise<void>;
}

/** An app's credentials, read and cached (see app-credentials.ts). */
export interface AppCredentialsPort {
  /** The apps of the deployment: a path naming another is refused before anything is read. */
  readonly apps: ReadonlySet<string>;
  /**
   * Checks `check` against the app's credentials; when it fails on credentials read a while
   * ago, reads them again once (the app secret may have been rotated) and checks again.
   */
  verify(
    app: string,
    check: (credentials: AppCredentials) => SignatureCheck,
  ): Promise<SignatureCheck>;
}

export interface Logger {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}

export interface Metrics {
  addMetric(name: string, unit: 'Count', value: number): void;
}

export interface ReceiverPorts {
  readonly credentials: AppCredentialsPort;
  readonly shops: ShopStatePort;
  readonly events: EventPublisher;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/**
 * Answers one delivery. Checks come first and in this order, and a refused request changes
 * nothing: size (413), app (404), signature (401), body (400), time window (400). Then the
 * event is published and the shop's state written, both before 200; if either fails, 500 and
 * TikTok retries, which is safe: processing is idempotent.
 */
export async function receiveNotification(
  request: WebhookRequest,
  ports: ReceiverPorts,
): Promise<WebhookResponse> {
  const { logger } = ports;
  const refuse = (
    outcome: WebhookOutcome,
    status: number,
    error: string,
    extra: Record<string, unknown> = {},
  ): WebhookResponse => {
    ports.metrics.addMetric(WEBHOOK_METRIC[outcome], 'Count', 1);
    logger.warn('webhook notification refused', { outcome, status, reason: error, ...extra });
    return answer(status, { error });
  };

  if (request.body.length > MAX_BODY_BYTES) {
    return refuse('malformed', 413, `body larger than ${MAX_BODY_BYTES} bytes`, {
      bytes: request.body.length,
    });
  }
  const app = appOfPath(request.path, ports.credentials.apps);
  if (app === undefined) return refuse('unknownApp', 404, 'no such app');

  let signature: SignatureCheck;
  try {
    const header = request.headers[SIGNATURE_HEADER];
    signature = await ports.credentials.verify(app, (credentials) =>
      verifySignature(credentials, request.body, header),
    );
  } catch (error) {
    return failed(ports, app, 'app credentials could not be read', error);
  }
  if (!signature.ok) {
    // Every notification refused here means the scheme or the secret is wrong: an alarm's job.
    return refuse('badSignature', 401, 'signature does not verify', {
      app,
      signatureProblem: signature.reason,
      bytes: request.body.length,
    });
  }

  const json = parseJsonText(request.body);
  const parsed = json === NOT_JSON ? undefined : parseNotification(json);
  if (parsed === undefined || !parsed.ok) {
    const problems = parsed === undefined ? ['not valid JSON'] : parsed.problems;
    return refuse('malformed', 400, `not a notification: ${problems.join('; ')}`, { app });
  }
  const notification = parsed.value;
  const nowSeconds = Math.floor(ports.clock.now() / 1000);
  const age = nowSeconds - notification.timestamp;
  if (age > MAX_AGE_SECONDS || -age > MAX_FUTURE_SECONDS) {
    return refuse('malformed', 400, 'timestamp outside the accepted window', {
      app,
      ...identity(notification),
      ageSeconds: age,
    });
  }

  if (notification.kind === 'not ours') {
    return done(ports, 'notOurs', app, notification, { type: notification.type });
  }
  let shops: readonly ShopState[];
  try {
    shops = await ports.shops.findShops(app, notification.shopId);
  } catch (error) {
    return failed(ports, app, 'the shops could not be looked up', error, notification);
  }
  if (shops.length === 0) return done(ports, 'unknownShop', app, notification);

  try {
    const outcomes = await Promise.all(
      shops.map((state) => applyToShop(state, app, notification, ports)),
    );
    const outcome = (['accepted', 'stale', 'duplicate'] as const).find((o) => outcomes.includes(o));
    return done(ports, outcome ?? 'duplicate', app, notification, {
      shops: shops.map((state) => state.shop.name),
    });
  } catch (error) {
    return failed(ports, app, 'the notification could not be recorded', error, notification);
  }
}

type ShopOutcome = 'accepted' | 'stale' | 'duplicate';

/**
 * One shop's part: the event is published first and the state written after it, so that state
 * written means event published, and a retry after a failure of either does both again.
 */
async function applyToShop(
  state: ShopState,
  app: string,
  notification: Exclude<Notification, { kind: 'not ours' }>,
  ports: ReceiverPorts,
): Promise<ShopOutcome> {
  const { shop } = state;
  if (notification.kind === 'deauthorized') {
    if (state.deauthorized !== undefined && state.deauthorized.at >= notification.timestamp) {
      return 'duplicate';
    }
    // A token stored after the deauthorization was issued by TikTok after it: a reconnect, or a
    // refresh, which TikTok refuses (36004005) once the seller has revoked the app. Either way
    // the authorization the notification ended is not the one the shop holds.
    const storedAt = await ports.shops.connectedAt(shop);
    if (storedAt !== undefined && storedAt - IN_FLIGHT_MS > notification.timestamp * 1000) {
      return 'stale';
    }
  } else {
    // The expiry is the authorization's, which a refresh does not renew: no stale check. Only an
    // expiry earlier than the one recorded (an older authorization's) is no news.
    const recorded = state.authorizationExpiry;
    if (recorded?.notificationId === notification.notificationId) return 'duplicate';
    if (recorded !== undefined && recorded.expiresAt > notification.expiresAt) return 'stale';
  }

  const appField = app === DEFAULT_APP ? {} : { app };
  const about = {
    shop: shop.name,
    ...appField,
    tiktokShopId: notification.shopId,
    notificationId: notification.notificationId,
  };
  // An expiring authorization publishes the refresher's own event about the same thing: one
  // event for subscribers to follow.
  await publish(
    ports.events,
    notification.kind === 'deauthorized'
      ? {
          detailType: DETAIL_TYPE.shopDeauthorized,
          detail: { ...about, deauthorizedAt: isoOf(notification.timestamp) },
        }
      : {
          detailType: DETAIL_TYPE.authorizationExpiring,
          detail: { ...about, authorizationExpiresAt: isoOf(notification.expiresAt) },
        },
  );
  const { notificationId } = notification;
  if (notification.kind === 'deauthorized') {
    await ports.shops.markDeauthorized(shop, { at: notification.timestamp, notificationId });
    ports.metrics.addMetric(METRIC.shopsDeauthorized, 'Count', 1);
  } else {
    const { expiresAt } = notification;
    await ports.shops.recordAuthorizationExpiry(shop, { expiresAt, notificationId });
    ports.metrics.addMetric(METRIC.authorizationExpiring, 'Count', 1);
  }
  return 'accepted';
}

async function publish(events: EventPublisher, event: RefresherEvent): Promise<void> {
  const result = await events.publish([event]);
  if (result.failed > 0) {
    throw new NotificationNotRecordedError(
      `event ${event.detailType} not published: ${result.reasons.join('; ')}`,
    );
  }
}

/** `/` is the default app, `/<app>` an app of the deployment; anything else no app. */
function appOfPath(path: string, apps: ReadonlySet<string>): string | undefined {
  const match = /^\/([a-z0-9-]{0,32})\/?$/.exec(path);
  if (match === null) return undefined;
  const app = match[1] === '' ? DEFAULT_APP : (match[1] as string);
  return apps.has(app) ? app : undefined;
}

function done(
  ports: ReceiverPorts,
  outcome: WebhookOutcome,
  app: string,
  notification: Notification,
  extra: Record<string, unknown> = {},
): WebhookResponse {
  ports.metrics.addMetric(WEBHOOK_METRIC[outcome], 'Count', 1);
  ports.logger.info('webhook notification answered', {
    outcome,
    app,
    ...identity(notification),
    ...extra,
  });
  return answer(200, { outcome });
}

function failed(
  ports: ReceiverPorts,
  app: string,
  what: string,
  error: unknown,
  notification?: Notification,
): WebhookResponse {
  ports.metrics.addMetric(WEBHOOK_METRIC.failed, 'Count', 1);
  ports.logger.error(`webhook notification not recorded: ${what}`, {
    app,
    ...(notification === undefined ? {} : identity(notification)),
    errorType: error instanceof Error ? error.name : typeof error,
    errorMessage: error instanceof Error ? error.message : String(error),
  });
  return answer(500, { error: 'not recorded; retry later' });
}

function identity(notification: Notification): Record<string, unknown> {
  return {
    kind: notification.kind,
    notificationId: notification.notificationId,
    tiktokShopId: notification.shopId,
    notifiedAt: isoOf(notification.timestamp),
  };
}

function answer(status: number, body: Record<string, unknown>): WebhookResponse {
  return { status, body: JSON.stringify(body) };
}

const NOT_JSON = Symbol('not JSON');

function parseJsonText(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    // JSON.parse's message quotes the input: dropped on purpose.
    return NOT_JSON;
  }
}
