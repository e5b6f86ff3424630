/**
 * Issue 19's fleet questions, answered from what the backlog runs measured: how long a backlog of
 * 100,000 due shops takes as a run state machine's back-to-back 15-minute invocations
 * (`invocationsPerRun`), and up to which fleet size one 15-minute run refreshes the shops due in
 * it. The inputs are measured on this machine against the local endpoints (a read per shop, the
 * refresh pace with TikTok answering in 300 ms); the arithmetic over invocations is a projection.
 */
import { type Figure, figure } from './figures.js';

/** Lambda's longest timeout: the invocation a large fleet runs with. */
export const LONGEST_TIMEOUT_MS = 900_000;
/** Issue 19: a backlog of 100,000 due shops refreshed within 2 hours. */
export const CHAIN_SHOPS = 100_000;
const CHAIN_TARGET_MS = 2 * 3600_000;
/** Step Functions' next state and the next invocation's start, between two invocations. */
const GAP_MS = 2_000;
/**
 * A shop is refreshed about every 5 days (7-day access tokens, refreshed 48 hours before they
 * expire), so an hourly run finds about 1 in 120 shops due.
 */
const STEADY_DUE_SHARE = 1 / 120;

/** What one store's backlog run measured. */
export interface BacklogPace {
  readonly store: 'Secrets Manager' | 'DynamoDB';
  /** Shops in the measured run (all due). */
  readonly shops: number;
  /** From the invocation's start until every shop was read. */
  readonly readAllMs: number;
  /** Refreshes per second between the run's first and last TikTok call. */
  readonly refreshesPerSecond: number;
  /** Of the shops refreshed once all were read, the share more urgent than every shop left. */
  readonly urgentFirstShare: number;
}

export interface ChainProjection {
  readonly pace: BacklogPace;
  readonly shops: number;
  readonly timeoutMs: number;
  /** Shops each invocation refreshes, in order. */
  readonly perInvocation: readonly number[];
  readonly totalMs: number;
  /** The largest fleet whose due shops (1 in 120) one run refreshes within the timeout. */
  readonly fitsOneRun: number;
  /** The most shops, all due, one invocation refreshes. */
  readonly allDueOneRun: number;
}

/**
 * Each invocation reads the whole backlog still due (the measured read time per shop, scaled)
 * and refreshes at the measured pace until one more refresh would not fit (`refreshNeedMs`
 * before the timeout); an invocation that leaves shops is counted at its full timeout.
 */
export function projectChain(
  pace: BacklogPace,
  refreshNeedMs: number,
  shops = CHAIN_SHOPS,
  timeoutMs = LONGEST_TIMEOUT_MS,
): ChainProjection {
  const readPerShopMs = pace.readAllMs / pace.shops;
  const perSecond = pace.refreshesPerSecond;
  const perInvocation: number[] = [];
  let remaining = shops;
  let totalMs = 0;
  while (remaining > 0 && perInvocation.length < 100) {
    const readMs = readPerShopMs * remaining;
    const windowMs = Math.max(0, timeoutMs - refreshNeedMs - readMs);
    const refreshed = Math.min(remaining, Math.floor((perSecond * windowMs) / 1000));
    if (refreshed === 0) break;
    perInvocation.push(refreshed);
    totalMs +=
      refreshed === remaining ? readMs + (refreshed / perSecond) * 1000 : timeoutMs + GAP_MS;
    remaining -= refreshed;
  }
  const usableMs = timeoutMs - refreshNeedMs;
  const msPerShop = readPerShopMs + (STEADY_DUE_SHARE / perSecond) * 1000;
  return {
    pace,
    shops,
    timeoutMs,
    perInvocation,
    totalMs: remaining > 0 ? Number.POSITIVE_INFINITY : totalMs,
    fitsOneRun: Math.floor(usableMs / msPerShop),
    allDueOneRun: Math.floor(usableMs / (readPerShopMs + 1000 / perSecond)),
  };
}

export function chainFigures(projection: ChainProjection): Figure[] {
  const { pace, shops } = projection;
  const hours = (ms: number) => `${(ms / 3600_000).toFixed(2)} h`;
  return [
    figure({
      name: `backlog ${shops.toLocaleString('en-US')} due, ${pace.store}: time as 15-min invocations (projected)`,
      value: Math.round(projection.totalMs / 1000),
      measured: `${hours(projection.totalMs)} in ${projection.perInvocation.length} invocations (${pace.refreshesPerSecond.toFixed(1)} refreshes/s, reads ${((pace.readAllMs / pace.shops) * 1000).toFixed(0)} µs/shop, measured at ${pace.shops.toLocaleString('en-US')})`,
      limit: CHAIN_TARGET_MS / 1000,
      target: '≤ 2 h',
      why: () => `each 15-min invocation refreshes about ${projection.perInvocation[0] ?? 0}`,
    }),
    figure({
      name: `backlog, ${pace.store}: refreshed before every shop left, once all were read`,
      value: Math.round((1 - pace.urgentFirstShare) * 1000) / 1000,
      measured: `${(pace.urgentFirstShare * 100).toFixed(1)} %`,
      limit: 0,
      target: '100 %',
      why: () => 'a less urgent shop was refreshed while a more urgent one was left',
    }),
  ];
}

/** The fleet sizes one 15-minute run serves, for the report. */
export function renderChain(projections: readonly ChainProjection[]): string[] {
  return [
    `Fleets beyond one invocation (projected from the measured pace and reads; ${CHAIN_SHOPS.toLocaleString('en-US')} due shops, 15-min invocations, TikTok at 300 ms):`,
    ...projections.map(
      (p) =>
        `  ${p.pace.store}: ${p.perInvocation.map((n) => n.toLocaleString('en-US')).join(' + ')} shops per invocation, ${(p.totalMs / 60_000).toFixed(0)} min in all; one 15-min run refreshes at most ${p.allDueOneRun.toLocaleString('en-US')} due shops, and serves a fleet of up to ${p.fitsOneRun.toLocaleString('en-US')} shops at 1 in 120 due per hourly run`,
    ),
  ];
}
