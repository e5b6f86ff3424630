import { SCHEDULED_EVENT } from '../../infra/token-refresher.js';
import type { LocalDeployment } from '../support/local-deployment.js';
import { type Figure, figure } from './figures.js';
import type { FloorBundle } from './floor.js';
import { median, milliseconds, millisecondsDelta, printedRatio, ratio } from './format.js';

const TARGET_RATIO = 1.1;
const WARM_UPS = 1;
const COLD_START_RUNS = 9;
const DAY = 24 * 3600;

/** Medians over the measured runs, in ms. */
export interface StartTimes {
  /** Importing the bundle: what Lambda reports as Init Duration. */
  readonly importMs: number;
  /** Serving the first invocation after the import. */
  readonly invocationMs: number;
  /** Import plus first invocation, per run. */
  readonly totalMs: number;
  /** The whole process, from spawn to exit, seen from outside. */
  readonly processMs: number;
}

export interface ColdStart {
  readonly runs: number;
  readonly handler: StartTimes;
  readonly floor: StartTimes;
  readonly ratio: number;
  readonly processRatio: number;
  readonly figure: Figure;
}

interface Sample {
  readonly importMs: number;
  readonly invocationMs: number;
  readonly processMs: number;
}

/**
 * A scheduled run in which no shop is due, in a fresh process each time, next to the floor's
 * no-op handler in the same conditions. Runs alternate so that load from elsewhere on the
 * machine hits both alike; the first of each is a warm-up (disk cache, JIT of the runner).
 */
export async function measureColdStart(
  deployment: LocalDeployment,
  floor: FloorBundle,
): Promise<ColdStart> {
  const shops = deployment.shopSecretNames;
  for (const shop of shops) deployment.seedShop(shop, { accessTtlSeconds: 6 * DAY });
  const handlerSamples: Sample[] = [];
  const floorSamples: Sample[] = [];
  for (let run = 0; run < WARM_UPS + COLD_START_RUNS; run++) {
    const handler = await timedInvoke(deployment, shops.length);
    const base = await timedInvoke(deployment, floor);
    if (run < WARM_UPS) continue;
    handlerSamples.push(handler);
    floorSamples.push(base);
  }
  const handler = medians(handlerSamples);
  const base = medians(floorSamples);
  const value = handler.totalMs / base.totalMs;
  return {
    runs: COLD_START_RUNS,
    handler,
    floor: base,
    ratio: value,
    processRatio: handler.processMs / base.processMs,
    figure: figure({
      name: 'cold start vs floor',
      value: printedRatio(value),
      measured: `${ratio(value)} (${milliseconds(handler.totalMs)} / ${milliseconds(base.totalMs)})`,
      limit: TARGET_RATIO,
      target: `≤ ${ratio(TARGET_RATIO)}`,
      why: () =>
        `import ${millisecondsDelta(handler.importMs - base.importMs)} for the larger bundle, first invocation ${millisecondsDelta(handler.invocationMs - base.invocationMs)}: it reads ${shops.length * 2} secret labels (the SDK's first request: credentials, signing, connection) where the floor makes no call`,
    }),
  };
}

/** The deployed handler, which must skip every shop, or the floor in its place. */
async function timedInvoke(
  deployment: LocalDeployment,
  target: number | FloorBundle,
): Promise<Sample> {
  const started = performance.now();
  const outcome = await deployment.invoke(
    SCHEDULED_EVENT,
    typeof target === 'number' ? {} : { bundle: target },
  );
  const processMs = performance.now() - started;
  if (outcome.error !== undefined || outcome.initMs === undefined) {
    throw new Error(`cold start run failed: ${outcome.error?.errorMessage ?? 'no timings'}`);
  }
  const skipped = outcome.result?.counts?.skipped;
  if (typeof target === 'number' && skipped !== target) {
    throw new Error(`cold start run skipped ${skipped} shops, expected all ${target}`);
  }
  return { importMs: outcome.initMs, invocationMs: outcome.durationMs ?? 0, processMs };
}

function medians(samples: readonly Sample[]): StartTimes {
  return {
    importMs: median(samples.map((sample) => sample.importMs)),
    invocationMs: median(samples.map((sample) => sample.invocationMs)),
    totalMs: median(samples.map((sample) => sample.importMs + sample.invocationMs)),
    processMs: median(samples.map((sample) => sample.processMs)),
  };
}
