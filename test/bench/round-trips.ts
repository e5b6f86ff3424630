import type { LocalDeployment } from '../support/local-deployment.js';
import { type Figure, figure } from './figures.js';
import { median, milliseconds } from './format.js';
import { describeRounds, sequentialRounds, type TimedCall } from './rounds.js';

/** Read, TikTok, store, promote, event. */
const TARGET_REFRESHED = 5;
/** Read. */
const TARGET_SKIPPED = 1;
/** Runs per kind and latency; the median duration is kept. */
const RUNS = 3;
const APP_LABEL = ' (app credentials)';

type Kind = 'refreshed' | 'skipped';

export interface RunShape {
  readonly outcome: Kind;
  /** Median invocation time with the latency added. */
  readonly durationMs: number;
  /** Median of the same run with no added latency: work that does not wait on the network. */
  readonly baselineMs: number;
  /** (durationMs − baselineMs) / latency: the round trips the invocation waited for. */
  readonly timedRoundTrips: number;
  /** Sequential round trips as the endpoints saw them, and each round's calls. */
  readonly rounds: number;
  readonly path: string;
  /** The app credentials are read in a round trip of their own, not beside the shop's read. */
  readonly separateAppRead: boolean;
  /** Calls per run naming the shop's secret. */
  readonly secretsManagerCalls: number;
  /** GetSecretValue of the app credentials: once per run and app, whether or not a shop is due. */
  readonly appCredentialReads: number;
  readonly tiktokCalls: number;
  readonly eventBridgeCalls: number;
}

export interface RoundTrips {
  readonly latencyMs: number;
  readonly runs: number;
  readonly refreshed: RunShape;
  readonly skipped: RunShape;
  readonly figures: readonly Figure[];
}

interface Observed {
  readonly durationMs: number;
  readonly calls: readonly TimedCall[];
  readonly shopCalls: number;
  readonly appCredentialReads: number;
  readonly tiktokCalls: number;
  readonly eventBridgeCalls: number;
}

/**
 * One shop per invocation, refreshed (forced, so that the same shop can be refreshed again: a
 * forced refresh takes the path of a due one) and skipped, each with `latencyMs` added to every
 * Secrets Manager, EventBridge and TikTok call and with none.
 */
export async function measureRoundTrips(
  deployment: LocalDeployment,
  latencyMs: number,
): Promise<RoundTrips> {
  const [shop] = deployment.shopSecretNames;
  if (shop === undefined) throw new Error('the round-trip runs need a stack with a shop');
  deployment.seedShop(shop, { accessTtlSeconds: 6 * 24 * 3600 });
  const runAll = async (latency: number) => {
    setLatency(deployment, latency);
    const refreshed: Observed[] = [];
    const skipped: Observed[] = [];
    for (let run = 0; run < RUNS; run++) {
      refreshed.push(await observe(deployment, shop, 'refreshed'));
      skipped.push(await observe(deployment, shop, 'skipped'));
    }
    return { refreshed, skipped };
  };
  try {
    const baseline = await runAll(0);
    const delayed = await runAll(latencyMs);
    const refreshed = shape('refreshed', delayed.refreshed, baseline.refreshed, latencyMs);
    const skipped = shape('skipped', delayed.skipped, baseline.skipped, latencyMs);
    return {
      latencyMs,
      runs: RUNS,
      refreshed,
      skipped,
      figures: [roundsFigure(refreshed, TARGET_REFRESHED), roundsFigure(skipped, TARGET_SKIPPED)],
    };
  } finally {
    setLatency(deployment, 0);
  }
}

function setLatency(deployment: LocalDeployment, ms: number): void {
  deployment.secretsManager.latencyMs = ms;
  deployment.eventBridge.latencyMs = ms;
  deployment.tiktok.latencyMs = ms;
}

/** Runs the shop alone, as a person would name it, and keeps what the endpoints saw. */
async function observe(deployment: LocalDeployment, shop: string, kind: Kind): Promise<Observed> {
  const appCredentials = deployment.functionEnvironment.APP_CREDENTIALS_SECRET_ID;
  const secretsFrom = deployment.secretsManager.calls.length;
  const tiktokFrom = deployment.tiktok.calls.length;
  const eventsFrom = deployment.eventBridge.callCount;
  const event = kind === 'refreshed' ? { force: true, shops: [shop] } : { shops: [shop] };
  const outcome = await deployment.invoke(event);
  const got = outcome.result?.shops[0]?.outcome;
  if (got !== kind || outcome.durationMs === undefined) {
    throw new Error(
      `round-trip run: ${shop} was ${got ?? outcome.error?.errorMessage}, expected ${kind}`,
    );
  }
  const secretCalls = deployment.secretsManager.calls.slice(secretsFrom);
  const tiktokCalls = deployment.tiktok.calls.slice(tiktokFrom);
  return {
    durationMs: outcome.durationMs,
    calls: [
      ...secretCalls.map((call) => ({
        at: call.at,
        label: call.secretId === appCredentials ? `${call.operation}${APP_LABEL}` : call.operation,
      })),
      ...tiktokCalls.map((call) => ({ at: call.at, label: `TikTok ${call.path}` })),
    ],
    shopCalls: secretCalls.filter((call) => call.secretId === shop).length,
    appCredentialReads: secretCalls.filter((call) => call.secretId === appCredentials).length,
    tiktokCalls: tiktokCalls.length,
    eventBridgeCalls: deployment.eventBridge.callCount - eventsFrom,
  };
}

function shape(
  kind: Kind,
  delayed: readonly Observed[],
  baseline: readonly Observed[],
  latencyMs: number,
): RunShape {
  const last = delayed.at(-1);
  if (last === undefined) throw new Error('no round-trip run');
  const durationMs = median(delayed.map((run) => run.durationMs));
  const baselineMs = median(baseline.map((run) => run.durationMs));
  // The local EventBridge keeps no arrival times; PutEvents is sent once, after every shop.
  const rounds = sequentialRounds(last.calls, latencyMs);
  if (last.eventBridgeCalls > 0) rounds.push(['PutEvents']);
  return {
    outcome: kind,
    durationMs,
    baselineMs,
    timedRoundTrips: (durationMs - baselineMs) / latencyMs,
    rounds: rounds.length,
    path: describeRounds(rounds),
    separateAppRead: rounds.some((labels) => labels.every((label) => label.endsWith(APP_LABEL))),
    secretsManagerCalls: last.shopCalls,
    appCredentialReads: last.appCredentialReads,
    tiktokCalls: last.tiktokCalls,
    eventBridgeCalls: last.eventBridgeCalls,
  };
}

/**
 * Judged on the count the endpoints saw, which timing noise cannot shift; the timed estimate is
 * printed beside it as a check (CPU work between calls makes it run a little higher).
 */
function roundsFigure(run: RunShape, limit: number): Figure {
  return figure({
    name: `round trips, ${run.outcome} shop`,
    value: run.rounds,
    measured: `${run.rounds} (timed: ${run.timedRoundTrips.toFixed(1)} = ${milliseconds(run.durationMs)} − ${milliseconds(run.baselineMs)} at 0 ms)`,
    limit,
    target: `≤ ${limit}`,
    why: () =>
      run.separateAppRead
        ? `the app-credentials read waits for the shop's read instead of going beside it: ${run.path}`
        : `each of these waits for the one before: ${run.path}`,
  });
}
