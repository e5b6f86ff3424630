/**
 * Fakes of the webhook receiver's ports: shop state in memory, an event bus that records, a
 * logger and metrics that keep every line, and TikTok's side (signed notifications).
 */
import { createHmac } from 'node:crypto';
import type { AppCredentials } from '../../lambda/shared/credentials.js';
import type {
  EventPublisher,
  PublishResult,
  RefresherEvent,
} from '../../lambda/shared/event-publisher.js';
import type { Shop } from '../../lambda/shared/shop.js';
import type { DeauthorizedMark } from '../../lambda/shared/shop-state.js';
import type {
  AuthorizationExpiry,
  Metrics,
  ShopState,
  ShopStatePort,
  WebhookRequest,
} from '../../lambda/webhooks/receive.js';

export interface MemoryShop {
  readonly shop: Shop;
  readonly app: string;
  readonly tiktokShopIds: readonly string[];
  /** When its current token was stored, epoch ms. */
  connectedAt?: number;
  deauthorized?: DeauthorizedMark;
  authorizationExpiry?: AuthorizationExpiry;
}

/** Shop state as the tags on token secrets would hold it; a write can be made to fail. */
export class MemoryShopState implements ShopStatePort {
  readonly shops = new Map<string, MemoryShop>();
  /** Writes to fail next, with this error each. */
  readonly failWrites: Error[] = [];
  lookups = 0;

  add(name: string, options: Omit<MemoryShop, 'shop'>): MemoryShop {
    const entry: MemoryShop = { shop: { id: name, name }, ...options };
    this.shops.set(name, entry);
    return entry;
  }

  async findShops(app: string, tiktokShopId: string): Promise<readonly ShopState[]> {
    this.lookups++;
    await Promise.resolve();
    return [...this.shops.values()]
      .filter((entry) => entry.app === app && entry.tiktokShopIds.includes(tiktokShopId))
      .map((entry) => ({
        shop: entry.shop,
        ...(entry.deauthorized === undefined ? {} : { deauthorized: entry.deauthorized }),
        ...(entry.authorizationExpiry === undefined
          ? {}
          : { authorizationExpiry: entry.authorizationExpiry }),
      }));
  }

  async connectedAt(shop: Shop): Promise<number | undefined> {
    await Promise.resolve();
    return this.shops.get(shop.name)?.connectedAt;
  }

  async markDeauthorized(shop: Shop, mark: DeauthorizedMark): Promise<void> {
    this.#write(shop).deauthorized = mark;
  }

  async recordAuthorizationExpiry(shop: Shop, expiry: AuthorizationExpiry): Promise<void> {
    this.#write(shop).authorizationExpiry = expiry;
  }

  #write(shop: Shop): MemoryShop {
    const failure = this.failWrites.shift();
    if (failure !== undefined) throw failure;
    const entry = this.shops.get(shop.name);
    if (entry === undefined) throw new Error(`no shop ${shop.name}`);
    return entry;
  }
}

/** Records what it publishes; the next `failNext` publishes are refused. */
export class RecordingPublisher implements EventPublisher {
  readonly events: RefresherEvent[] = [];
  failNext = 0;

  async publish(events: readonly RefresherEvent[]): Promise<PublishResult> {
    await Promise.resolve();
    if (this.failNext > 0) {
      this.failNext--;
      return { failed: events.length, reasons: ['ThrottlingException: Rate exceeded'] };
    }
    this.events.push(...events);
    return { failed: 0, reasons: [] };
  }
}

export class RecordingMetrics implements Metrics {
  readonly counts = new Map<string, number>();

  addMetric(name: string, _unit: 'Count', value: number): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + value);
  }

  count(name: string): number {
    return this.counts.get(name) ?? 0;
  }
}

/** A notification body as TikTok Shop sends it. */
export function notificationJson(fields: {
  type: number;
  shopId: string;
  notificationId: string;
  timestamp: number;
  data?: Record<string, unknown>;
}): string {
  return JSON.stringify({
    type: fields.type,
    tts_notification_id: fields.notificationId,
    shop_id: fields.shopId,
    timestamp: fields.timestamp,
    data: fields.data ?? {},
  });
}

/** A delivery to `path` of `body`, signed with `app` (TikTok's scheme, written independently). */
export function signedRequest(path: string, body: string, app: AppCredentials): WebhookRequest {
  const signature = createHmac('sha256', app.app_secret)
    .update(`${app.app_key}${body}`)
    .digest('hex');
  return { path, headers: { authorization: signature }, body: Buffer.from(body) };
}
