/**
 * In-memory stand-ins for what the refresh core talks to, driven by a FakeClock: a token store
 * with Secrets Manager's versions, labels and compare-and-swap, TikTok issuing rotating refresh
 * tokens, an event bus, a logger and metrics. Each can be told to fail, to be slow or to hang.
 */
import type {
  RefreshDependencies,
  RefreshSettings,
  TokenRefresher,
} from '../../lambda/refresher/refresh.js';
import type { ListedVersions } from '../../lambda/refresher/shops.js';
import { runBudget } from '../../lambda/shared/budget.js';
import { DEFAULTS } from '../../lambda/shared/contract.js';
import { ReauthorizationRequiredError, SecretStoreError } from '../../lambda/shared/errors.js';
import type { EventPublisher, RefresherEvent } from '../../lambda/shared/event-publisher.js';
import type { Logger, Metrics } from '../../lambda/shared/observability.js';
import {
  KEPT_LABEL,
  type StoredToken,
  type StoredVersion,
  type TokenStore,
  type WriteOutcome,
} from '../../lambda/shared/secrets-store.js';
import type { SurveySource } from '../../lambda/shared/survey-source.js';
import type { AppCredentials, TokenAnswer, TokenDocument } from '../../lambda/shared/token.js';
import { FakeClock } from './fake-clock.js';

export const APP_CREDENTIALS: AppCredentials = { app_key: 'app-key', app_secret: 'APP_SECRET_x1' };
const DAY_SECONDS = 24 * 3600;

/** Settings as the handler builds them from the defaults, with a quick second look. */
export function settings(overrides: Partial<RefreshSettings> = {}): RefreshSettings {
  return {
    refreshBeforeExpirySeconds: DEFAULTS.refreshBeforeExpirySeconds,
    maxConcurrency: DEFAULTS.maxConcurrency,
    budget: runBudget(DEFAULTS),
    movedOnChecksMs: [0, 10, 20],
    ...overrides,
  };
}

type StoreOperation = 'read' | 'put' | 'promote' | 'batch';

interface Version {
  readonly id: string;
  readonly raw: string;
  readonly createdAt: number;
  readonly labels: Set<string>;
}

/** One scripted misbehaviour of the next call of an operation. */
type StoreFault =
  | { readonly kind: 'hang' }
  | { readonly kind: 'fail'; readonly error: Error }
  | { readonly kind: 'delay'; readonly ms: number };

/**
 * Secrets Manager's model of a token secret, in memory, with its listing (labels as ListSecrets
 * shows them, taken when a test asks) and batch reads of current versions.
 */
export class MemoryTokenStore implements TokenStore, Pick<SurveySource, 'readCurrent'> {
  /** Every call, in order. */
  readonly calls: { operation: StoreOperation; shopId: string; at: number }[] = [];
  readonly #secrets = new Map<string, Version[]>();
  readonly #faults = new Map<StoreOperation, StoreFault[]>();
  readonly #clock: FakeClock;
  #versions = 0;

  constructor(clock: FakeClock) {
    this.#clock = clock;
  }

  /** Stores `raw` as the shop's current version (see seedShop). */
  seed(shopId: string, raw: string): { versionId: string } {
    const versions = this.#secrets.get(shopId) ?? [];
    for (const version of versions) version.labels.delete('AWSCURRENT');
    const version = this.#add(shopId, raw, ['AWSCURRENT']);
    return { versionId: version.id };
  }

  /** The next `count` calls of `operation` misbehave as `fault` says. */
  next(operation: StoreOperation, fault: StoreFault, count = 1): void {
    const queue = this.#faults.get(operation) ?? [];
    for (let i = 0; i < count; i++) queue.push(fault);
    this.#faults.set(operation, queue);
  }

  /** Stores `raw` as a pending version beside the current one: a write that was not promoted. */
  seedPending(shopId: string, raw: string): { versionId: string } {
    for (const version of this.#secrets.get(shopId) ?? []) version.labels.delete('AWSPENDING');
    return { versionId: this.#add(shopId, raw, ['AWSPENDING']).id };
  }

  /** What a listing shows of the shop's versions now (ListSecrets' label map). */
  listing(shopId: string): ListedVersions {
    const current = this.#labelled(shopId, 'AWSCURRENT');
    const other = (label: string) => {
      const version = this.#labelled(shopId, label);
      return version !== undefined && version !== current;
    };
    return {
      currentVersionId: current?.id,
      hasPending: other('AWSPENDING'),
      hasKept: other(KEPT_LABEL),
    };
  }

  /** Current versions by shop, as BatchGetSecretValue answers them: one call per batch. */
  async readCurrent(shopIds: readonly string[]): Promise<Map<string, StoredVersion>> {
    await this.#call('batch', shopIds.join(' '));
    const values = new Map<string, StoredVersion>();
    for (const shopId of shopIds) {
      const current = this.#labelled(shopId, 'AWSCURRENT');
      if (current !== undefined) {
        values.set(shopId, {
          versionId: current.id,
          raw: current.raw,
          createdAt: current.createdAt,
        });
      }
    }
    return values;
  }

  current(shopId: string): string | undefined {
    return this.#labelled(shopId, 'AWSCURRENT')?.raw;
  }

  pending(shopId: string): string | undefined {
    return this.#labelled(shopId, 'AWSPENDING')?.raw;
  }

  async read(shopId: string): Promise<StoredToken> {
    await this.#call('read', shopId);
    const current = this.#labelled(shopId, 'AWSCURRENT');
    if (current === undefined) {
      throw new SecretStoreError(`secret ${shopId} does not exist or holds no token yet`, {
        awsName: 'ResourceNotFoundException',
      });
    }
    const view = (version: Version): StoredVersion => ({
      versionId: version.id,
      raw: version.raw,
      createdAt: version.createdAt,
    });
    const other = (label: string) => {
      const version = this.#labelled(shopId, label);
      return version === undefined || version === current ? undefined : view(version);
    };
    const [pending, kept] = [other('AWSPENDING'), other(KEPT_LABEL)];
    return {
      current: view(current),
      ...(pending === undefined ? {} : { pending }),
      ...(kept === undefined ? {} : { kept }),
    };
  }

  /** Stores `raw` under KEPT_LABEL, not current, as the Secrets Manager store does. */
  async keep(shopId: string, raw: string): Promise<string> {
    await this.#call('put', shopId);
    for (const version of this.#secrets.get(shopId) ?? []) version.labels.delete(KEPT_LABEL);
    return this.#add(shopId, raw, [KEPT_LABEL]).id;
  }

  async replace(shopId: string, raw: string, basedOnVersionId: string): Promise<WriteOutcome> {
    await this.#call('put', shopId);
    for (const version of this.#secrets.get(shopId) ?? []) version.labels.delete('AWSPENDING');
    const version = this.#add(shopId, raw, ['AWSPENDING']);
    return this.promote(shopId, version.id, basedOnVersionId);
  }

  async promote(
    shopId: string,
    versionId: string,
    basedOnVersionId: string,
  ): Promise<WriteOutcome> {
    await this.#call('promote', shopId);
    const current = this.#labelled(shopId, 'AWSCURRENT');
    const target = this.#secrets.get(shopId)?.find((version) => version.id === versionId);
    if (current?.id !== basedOnVersionId || target === undefined) {
      target?.labels.delete('AWSPENDING');
      return { stored: false, currentVersionId: current?.id };
    }
    current.labels.delete('AWSCURRENT');
    target.labels.add('AWSCURRENT');
    return { stored: true, versionId };
  }

  async #call(operation: StoreOperation, shopId: string): Promise<void> {
    this.calls.push({ operation, shopId, at: this.#clock.now() });
    const fault = this.#faults.get(operation)?.shift();
    if (fault?.kind === 'hang') await new Promise<never>(() => {});
    if (fault?.kind === 'fail') throw fault.error;
    if (fault?.kind === 'delay') await this.#clock.sleep(fault.ms);
  }

  #add(shopId: string, raw: string, labels: string[]): Version {
    const version: Version = {
      id: `v${++this.#versions}`,
      raw,
      createdAt: this.#clock.now(),
      labels: new Set(labels),
    };
    this.#secrets.set(shopId, [...(this.#secrets.get(shopId) ?? []), version]);
    return version;
  }

  #labelled(shopId: string, label: string): Version | undefined {
    return this.#secrets.get(shopId)?.find((version) => version.labels.has(label));
  }
}

/**
 * TikTok's auth host as the core sees it: every refresh token works once and is replaced by the
 * one it answers with. Each call takes `latencyMs` of the fake clock.
 */
export class FakeTikTok implements TokenRefresher {
  /** Every refresh, with the app key it was signed with. */
  readonly calls: {
    refreshToken: string;
    appKey: string;
    deadline: number | undefined;
    at: number;
  }[] = [];
  latencyMs = 0;
  readonly #valid = new Set<string>();
  readonly #clock: FakeClock;
  #issued = 0;

  constructor(clock: FakeClock) {
    this.#clock = clock;
  }

  /** Authorizes a seller (see seedShop): its refresh token works once from now on. */
  addSeller(): { openId: string; refreshToken: string } {
    return { openId: 'open-id', refreshToken: this.#issue() };
  }

  /** TikTok's answer's `data` for `refreshToken`, whose access token ends at the given time. */
  tokenDocument(
    refreshToken: string,
    options: { accessTokenExpiresAt: number },
  ): TokenDocument['data'] {
    return {
      access_token: `at-${refreshToken}`,
      access_token_expire_in: options.accessTokenExpiresAt,
      refresh_token: refreshToken,
      refresh_token_expire_in: Math.floor(this.#clock.now() / 1000) + 365 * DAY_SECONDS,
      open_id: 'open-id',
      seller_name: 'seller',
    };
  }

  isValid(refreshToken: string): boolean {
    return this.#valid.has(refreshToken);
  }

  async refreshToken(
    credentials: AppCredentials,
    refreshToken: string,
    deadline?: number,
  ): Promise<TokenAnswer> {
    this.calls.push({
      refreshToken,
      appKey: credentials.app_key,
      deadline,
      at: this.#clock.now(),
    });
    await this.#clock.sleep(this.latencyMs);
    if (!this.#valid.delete(refreshToken)) {
      throw new ReauthorizationRequiredError(
        'seller must authorize again: TikTok has no authorization for this refresh token',
        36004005,
      );
    }
    const document: TokenDocument = {
      code: 0,
      message: 'success',
      data: this.tokenDocument(this.#issue(), {
        accessTokenExpiresAt: Math.floor(this.#clock.now() / 1000) + 7 * DAY_SECONDS,
      }),
      request_id: 'request',
    };
    return { usable: true, raw: JSON.stringify(document), document };
  }

  /** A new refresh token that works once. */
  #issue(): string {
    const refreshToken = `rt-${++this.#issued}`;
    this.#valid.add(refreshToken);
    return refreshToken;
  }
}

export class RecordingEvents implements EventPublisher {
  readonly published: RefresherEvent[] = [];
  hang = false;

  async publish(events: readonly RefresherEvent[]) {
    if (this.hang) await new Promise<never>(() => {});
    this.published.push(...events);
    return { failed: 0, reasons: [] };
  }
}

export class RecordingLogger implements Logger {
  readonly lines: { level: string; message: string; extra: Record<string, unknown> }[] = [];

  info(message: string, extra: Record<string, unknown>): void {
    this.lines.push({ level: 'info', message, extra });
  }

  warn(message: string, extra: Record<string, unknown>): void {
    this.lines.push({ level: 'warn', message, extra });
  }

  error(message: string, extra: Record<string, unknown>): void {
    this.lines.push({ level: 'error', message, extra });
  }

  /** Everything logged, as one text: what a leak check reads. */
  text(): string {
    return this.lines.map((line) => JSON.stringify(line)).join('\n');
  }
}

export class RecordingMetrics implements Metrics {
  readonly values = new Map<string, number>();

  addMetric(name: string, _unit: 'Count' | 'Seconds', value: number): void {
    this.values.set(name, value);
  }
}

export interface Fakes {
  readonly clock: FakeClock;
  readonly store: MemoryTokenStore;
  readonly tiktok: FakeTikTok;
  readonly events: RecordingEvents;
  readonly logger: RecordingLogger;
  readonly metrics: RecordingMetrics;
}

export function fakes(): Fakes {
  const clock = new FakeClock();
  return {
    clock,
    store: new MemoryTokenStore(clock),
    tiktok: new FakeTikTok(clock),
    events: new RecordingEvents(),
    logger: new RecordingLogger(),
    metrics: new RecordingMetrics(),
  };
}

/**
 * Dependencies for one run with `remainingMs` left in the invocation at the clock's present
 * time. `appCredentials` answers an app's credentials (the same for every app unless told
 * otherwise); `credentialReads` counts how often the core asked for them.
 */
export function dependencies(
  parts: Fakes,
  remainingMs: number,
  appCredentials: (app: string) => Promise<AppCredentials> = async () => APP_CREDENTIALS,
): { deps: RefreshDependencies; credentialReads: () => number } {
  const end = parts.clock.now() + remainingMs;
  let reads = 0;
  return {
    deps: {
      store: parts.store,
      tiktok: parts.tiktok,
      appCredentials: (app) => {
        reads++;
        return appCredentials(app);
      },
      events: parts.events,
      logger: parts.logger,
      metrics: parts.metrics,
      clock: parts.clock,
      remainingMs: () => end - parts.clock.now(),
    },
    credentialReads: () => reads,
  };
}
