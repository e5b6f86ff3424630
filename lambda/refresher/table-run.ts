// A run over the DynamoDB token table: the Scan survey settles the shops that are not due from
// the expiries stored beside each token, and only the others are read (in batches) and refreshed.
import type { AppsConfig } from '../shared/apps.js';
import { DEFAULTS, METRIC } from '../shared/contract.js';
import type { ShopSurvey } from '../shared/dynamodb-item.js';
import type { Metrics } from '../shared/observability.js';
import type { RunSummary } from './reports.js';
import type { RunRequest } from './run-request.js';
import { type Shop, selectShops, withApps } from './shops.js';
import { ACCESS_TOKEN_MAX_LIFE_SECONDS, type DueRule, isDue } from './token-policy.js';

/** What the survey settled without reading a token: shops whose token is not due. */
export interface NotDue {
  count: number;
  /** Shops whose seller's authorization ends within the warning period. */
  authorizationExpiring: number;
  /** Epoch seconds. */
  soonestAccessExpiry: number | undefined;
}

export interface TablePlan {
  /** The shops the core reads: due, or with anything the survey cannot settle. */
  readonly shops: Shop[];
  readonly notDue: NotDue;
}

/**
 * Goes through the table's survey pages once. A shop is settled as not due only when the survey
 * shows all the core would look at: both expiries (recorded when its token was written), no
 * pending version, a known app, a live refresh token, and an access token outside the refresh
 * window (the stated expiry, capped at 7 days after the version was stored, as the core does).
 * Everything else, and every shop a person names or a forced run, is read. Only the count and two
 * figures of the settled shops are kept, so memory grows with the due shops, not the fleet.
 */
export async function planTableRun(
  pages: AsyncIterable<readonly ShopSurvey[]>,
  request: RunRequest,
  settings: { readonly refreshBeforeExpirySeconds: number; readonly apps: AppsConfig },
  now: number,
): Promise<TablePlan> {
  const rule: DueRule = {
    force: request.force,
    refreshBeforeExpirySeconds: settings.refreshBeforeExpirySeconds,
  };
  const notDue: NotDue = { count: 0, authorizationExpiring: 0, soonestAccessExpiry: undefined };
  const toRead: Shop[] = [];
  const named: Shop[] = [];
  for await (const page of pages) {
    for (const survey of page) {
      const [shop] = withApps(
        [{ id: survey.shop, name: survey.shop, ...appTag(survey) }],
        settings.apps,
      );
      if (shop === undefined) continue;
      if (request.shops !== undefined) {
        if (request.shops.includes(shop.name)) named.push(shop);
        continue;
      }
      if (!settledAsNotDue(survey, shop, rule, now)) {
        toRead.push(shop);
        continue;
      }
      const { accessExpiresAt = 0, refreshExpiresAt = 0 } = survey;
      notDue.count++;
      notDue.soonestAccessExpiry = Math.min(
        notDue.soonestAccessExpiry ?? accessExpiresAt,
        accessExpiresAt,
      );
      if (refreshExpiresAt * 1000 - now < DEFAULTS.authorizationWarningSeconds * 1000) {
        notDue.authorizationExpiring++;
      }
    }
  }
  // A name that matched no item fails the run, as a shop not configured does with secrets.
  const shops = request.shops === undefined ? toRead : selectShops(named, request.shops);
  return { shops, notDue };
}

function appTag(survey: ShopSurvey): { appTag?: string } {
  return survey.app === undefined ? {} : { appTag: survey.app };
}

function settledAsNotDue(survey: ShopSurvey, shop: Shop, rule: DueRule, now: number): boolean {
  const { accessExpiresAt, refreshExpiresAt } = survey;
  if (accessExpiresAt === undefined || refreshExpiresAt === undefined) return false;
  if (survey.hasPending || shop.appProblem !== undefined) return false;
  if (refreshExpiresAt * 1000 <= now) return false;
  const refreshBy = Math.min(
    accessExpiresAt * 1000,
    survey.currentCreatedAt + ACCESS_TOKEN_MAX_LIFE_SECONDS * 1000,
  );
  return !isDue(refreshBy, now, rule);
}

/**
 * The run's metrics with the settled shops added: skipped count, authorizations expiring and the
 * soonest access expiry. `finish` emits the expiry when no shop the core read had one.
 */
export class TableRunMetrics implements Metrics {
  readonly #metrics: Metrics;
  readonly #notDue: NotDue;
  readonly #now: () => number;
  #lifetimeSent = false;

  constructor(metrics: Metrics, notDue: NotDue, now: () => number) {
    this.#metrics = metrics;
    this.#notDue = notDue;
    this.#now = now;
  }

  addMetric(name: string, unit: 'Count' | 'Seconds', value: number): void {
    let sent = value;
    if (name === METRIC.tokensSkipped) sent += this.#notDue.count;
    if (name === METRIC.authorizationExpiring) sent += this.#notDue.authorizationExpiring;
    if (name === METRIC.minAccessTokenLifetime) {
      this.#lifetimeSent = true;
      sent = Math.min(value, this.#settledLifetime() ?? value);
    }
    this.#metrics.addMetric(name, unit, sent);
  }

  /** The summary with the settled shops counted as skipped (they are not listed one by one). */
  finish(summary: RunSummary): RunSummary {
    const lifetime = this.#settledLifetime();
    if (!this.#lifetimeSent && lifetime !== undefined) {
      this.#metrics.addMetric(METRIC.minAccessTokenLifetime, 'Seconds', lifetime);
    }
    const counts = { ...summary.counts, skipped: summary.counts.skipped + this.#notDue.count };
    return { ...summary, counts };
  }

  #settledLifetime(): number | undefined {
    const soonest = this.#notDue.soonestAccessExpiry;
    return soonest === undefined
      ? undefined
      : Math.max(0, Math.floor(soonest - this.#now() / 1000));
  }
}
