// The refresher function's configuration, read once from its environment.
import { type AppsConfig, readAppsEnv } from '../shared/apps.js';
import { DEFAULT_TIKTOK_API_BASE_URL, DEFAULTS, ENV } from '../shared/contract.js';
import { type Env, readEnv } from '../shared/env.js';
import { readStoreChoice, type StoreChoice } from '../shared/store-choice.js';
import { MOVED_ON_CHECKS_MS } from './refresh.js';

export interface Config {
  /**
   * Each app's credentials secret (the default app's from APP_CREDENTIALS_SECRET_ID, the others'
   * from APP_CREDENTIALS_SECRET_IDS) and the app of each configured shop of another app.
   */
  readonly apps: AppsConfig;
  /** Where the tokens are: secrets (named and tagged below), or a DynamoDB table's items. */
  readonly tokenStore: StoreChoice;
  /** Token secrets named explicitly (names or ARNs). */
  readonly tokenSecretIds: readonly string[];
  /** Every secret carrying this tag key is a shop token too. */
  readonly tokenSecretTagKey?: string;
  readonly tiktokAuthBaseUrl: string;
  /** The Open API host: the TikTok shop ids of a refreshed shop whose secret names none. */
  readonly tiktokApiBaseUrl: string;
  readonly refreshBeforeExpirySeconds: number;
  readonly eventBusName: string;
  readonly tiktokTimeoutMs: number;
  readonly maxConcurrency: number;
  readonly secretWritesPerSecond: number;
  /** How long to look for another writer's token after TikTok refused a refresh token. */
  readonly refusalRecheckMs: number;
}

/** The longest REFUSAL_RECHECK_MS: a shop holds one of the run's concurrent slots meanwhile. */
export const MAX_REFUSAL_RECHECK_MS = 60_000;

/**
 * Reads the configuration once. Every problem is collected first, so one error names all of
 * them instead of making a person fix them one deployment at a time.
 */
export function loadConfig(env: Env): Config {
  const { apps, problems } = readAppsEnv(env);
  const read = readEnv(env, problems);
  const { text, integer } = read;

  const tokenSecretIds = (text(ENV.tokenSecretIds) ?? '')
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  const tokenSecretTagKey = text(ENV.tokenSecretTagKey);
  const tokenStore = readStoreChoice(read);
  // A table lists its shops itself: every item is a shop.
  if (
    tokenStore.kind === 'secrets-manager' &&
    tokenSecretIds.length === 0 &&
    tokenSecretTagKey === undefined
  ) {
    problems.push(`set ${ENV.tokenSecretIds} or ${ENV.tokenSecretTagKey} (or both)`);
  }

  const tiktokAuthBaseUrl = read.baseUrl(ENV.tiktokAuthBaseUrl, DEFAULTS.tiktokAuthBaseUrl);
  const tiktokApiBaseUrl = read.baseUrl(ENV.tiktokApiBaseUrl, DEFAULT_TIKTOK_API_BASE_URL);

  const config: Config = {
    apps,
    tokenStore,
    tokenSecretIds: [...new Set(tokenSecretIds)],
    ...(tokenSecretTagKey === undefined ? {} : { tokenSecretTagKey }),
    tiktokAuthBaseUrl: tiktokAuthBaseUrl.replace(/\/+$/, ''),
    tiktokApiBaseUrl,
    // Beyond an access token's ~7-day life every run would refresh every shop.
    refreshBeforeExpirySeconds: integer(
      ENV.refreshBeforeExpirySeconds,
      DEFAULTS.refreshBeforeExpirySeconds,
      0,
      7 * 24 * 3600,
    ),
    eventBusName: text(ENV.eventBusName) ?? DEFAULTS.eventBusName,
    tiktokTimeoutMs: integer(ENV.tiktokTimeoutMs, DEFAULTS.tiktokTimeoutMs, 100, 60_000),
    maxConcurrency: integer(ENV.maxConcurrency, DEFAULTS.maxConcurrency, 1, 100),
    secretWritesPerSecond: integer(
      ENV.secretWritesPerSecond,
      DEFAULTS.secretWritesPerSecond,
      1,
      1000,
    ),
    refusalRecheckMs: integer(
      ENV.refusalRecheckMs,
      DEFAULTS.refusalRecheckMs,
      0,
      MAX_REFUSAL_RECHECK_MS,
    ),
  };
  read.check();
  return config;
}

/**
 * The pauses between looks at the store after TikTok refused a refresh token, for a look of
 * `totalMs` in all (REFUSAL_RECHECK_MS): MOVED_ON_CHECKS_MS scaled, so that the first looks come
 * at once and the later ones further apart. 0: one look, at once.
 */
export function movedOnChecks(totalMs: number): readonly number[] {
  const defaultTotalMs = MOVED_ON_CHECKS_MS.reduce((sum, ms) => sum + ms, 0);
  return MOVED_ON_CHECKS_MS.map((ms) => Math.round((ms * totalMs) / defaultTotalMs)).filter(
    (ms, index) => index === 0 || ms > 0,
  );
}
