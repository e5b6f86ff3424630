import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DETAIL_TYPE } from '../../lambda/shared/contract.js';
import type { AwsFault } from '../local/endpoints/aws-json.js';
import { REFRESH_PATH, TIKTOK_CODE, type TikTokFault } from '../local/endpoints/tiktok.js';
import {
  type InvokeOutcome,
  LocalDeployment,
  QUICK_REFUSAL_RECHECK,
} from '../support/local-deployment.js';
import { synthesizeRefresher } from '../support/synth.js';

/**
 * Runs of the deployed bundle with random faults: 0 to 3 a run at TikTok (HTTP 5xx, 429, a slow
 * answer, a dropped connection, an answer lost after TikTok rotated the token, a refusal code, a
 * code nobody knows) and 0 to 3 at Secrets Manager (throttling, a 5xx, a dropped connection, 1
 * to 3 times in a row, on reads and writes). After every run, for every shop:
 *
 * 1. No shop is locked out in silence: its stored refresh token works at TikTok, or the run
 *    reported the shop failed (in its summary, its error or an event).
 * 2. No refresh token TikTok's answers brought is lost: the one TikTok accepts now for the shop's
 *    seller is in the shop's secret (current, or pending for the next run), unless the answer
 *    that carried it was lost on the way.
 * 3. A fault costs at most the shop it reached: every shop that no failing TikTok answer reached
 *    is refreshed (or skipped as not due, in a scheduled run). Secrets Manager's faults cost
 *    nothing (they are retried away). So a forced run refreshes at least 1 of the 4 shops (at
 *    most 3 faults), and over the runs about 80 %: 1.5 TikTok faults a run on average, half of
 *    them of a kind no retry gets past, cost 0.75 of 4 shops. Fewer than 60 % would be more than
 *    four standard deviations off; the test reports the share it saw.
 *
 * Every planned run takes place: a slow machine fails the test's timeout, not its claims. No
 * other writer races these runs, so the function looks for one only briefly after a refusal.
 * Replay a failure with FAULT_SEED=<seed from the test name>.
 */

const SEED = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 2 ** 32));
/** Independent deployments whose runs go side by side, each with its own stream of faults. */
const STREAMS = 3;
const RUNS_PER_STREAM = 10;

const SHOPS = ['shop-a', 'shop-b', 'shop-c', 'shop-d'];
const NAMES = SHOPS.map((shop) => `tiktok-shop/tokens/${shop}`);
const DUE_TTL_SECONDS = 3600;
const NEW_AUTHORIZATION_TTL_SECONDS = 7 * 24 * 3600;
const FAILURE_EVENTS: readonly string[] = [
  DETAIL_TYPE.tokenRefreshFailed,
  DETAIL_TYPE.reauthorizationRequired,
];

/** A small seeded PRNG (mulberry32): the same seed gives the same faults. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

class Dice {
  constructor(private readonly random: () => number) {}

  /** An integer from `min` to `max`, both included. */
  between(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[this.between(0, items.length - 1)] as T;
  }

  chance(probability: number): boolean {
    return this.random() < probability;
  }
}

/**
 * One of eight kinds, as likely each: three a retry gets past (5xx, 429, a dropped connection),
 * a slow answer that is no failure at all, and four no retry helps (a lost answer, two refusal
 * codes, a code nobody knows).
 */
function tiktokFault(dice: Dice): TikTokFault {
  return dice.pick<() => TikTokFault>([
    () => ({ httpStatus: dice.pick([500, 502, 503] as const) }),
    () => ({ httpStatus: 429, retryAfterSeconds: dice.between(0, 1) }),
    () => ({ delayMs: dice.between(50, 500) }),
    () => ({ loseAnswer: true }),
    () => ({ dropConnection: true }),
    () => ({ code: TIKTOK_CODE.noAuthRecord, message: 'can not find related auth record' }),
    () => ({ code: TIKTOK_CODE.refreshTokenExpired, message: 'rt has expired' }),
    () => ({ code: 99_000_001, message: 'something nobody documented' }),
  ])();
}

const SECRETS_MANAGER_OPERATIONS = ['PutSecretValue', 'UpdateSecretVersionStage', 'GetSecretValue'];
const SECRETS_MANAGER_FAULTS: readonly AwsFault[] = [
  'ThrottlingException',
  'InternalServiceError',
  'DropConnection',
];

interface Plan {
  readonly forced: boolean;
  readonly tiktok: TikTokFault[];
  readonly secretsManager: { operation: string; count: number; fault: AwsFault }[];
}

function plan(dice: Dice): Plan {
  return {
    forced: dice.chance(0.7),
    tiktok: Array.from({ length: dice.between(0, 3) }, () => tiktokFault(dice)),
    secretsManager: Array.from({ length: dice.between(0, 3) }, () => ({
      operation: dice.pick(SECRETS_MANAGER_OPERATIONS),
      count: dice.between(1, 3),
      fault: dice.pick(SECRETS_MANAGER_FAULTS),
    })),
  };
}

function refreshTokenIn(raw: string | undefined): string {
  return (
    (JSON.parse(raw ?? '{}') as { data?: { refresh_token?: string } }).data?.refresh_token ?? ''
  );
}

/** Where the run told someone that this shop failed: its summary, its error or an event. */
function reportedFailure(
  outcome: InvokeOutcome,
  events: readonly { DetailType: string; Detail: unknown }[],
  name: string,
): boolean {
  const line = outcome.result?.shops.find((shop) => shop.shop === name);
  return (
    line?.outcome === 'failed' ||
    (outcome.error?.errorMessage.includes(`${name} (`) ?? false) ||
    events.some(
      (event) =>
        FAILURE_EVENTS.includes(event.DetailType) &&
        (event.Detail as { shop?: string }).shop === name,
    )
  );
}

/**
 * Each shop's outcome in a run, from its log line (`shop refreshed`, `shop skipped`, …), which a
 * run writes whether it returns or fails: the outcome, or for a skipped shop the reason.
 */
function outcomes(outcome: InvokeOutcome): Map<string, string> {
  const found = new Map<string, string>();
  for (const line of outcome.logs) {
    let entry: { message?: unknown; shop?: unknown; outcome?: unknown; reason?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    if (typeof entry.shop !== 'string' || !String(entry.message).startsWith('shop ')) continue;
    found.set(entry.shop, String(entry.reason ?? entry.outcome));
  }
  return found;
}

interface StreamReport {
  runs: number;
  /** Shops a run was to refresh (forced, or due), and how many of them it refreshed. */
  toRefresh: number;
  refreshed: number;
  failuresReported: number;
  answersLost: number;
  problems: string[];
}

/** Runs one stream and checks the claims after every run; answers what it saw. */
async function stream(
  deployment: LocalDeployment,
  seed: number,
  scheduledEvent: unknown,
): Promise<StreamReport> {
  const dice = new Dice(mulberry32(seed));
  const report: StreamReport = {
    runs: 0,
    toRefresh: 0,
    refreshed: 0,
    failuresReported: 0,
    answersLost: 0,
    problems: [],
  };
  /** The seller each shop is authorized for now. */
  const sellers = new Map<string, string>();
  const authorize = (name: string, accessTtlSeconds: number) =>
    sellers.set(name, deployment.seedShop(name, { accessTtlSeconds }).openId);
  for (const name of NAMES) authorize(name, DUE_TTL_SECONDS);

  for (let run = 0; run < RUNS_PER_STREAM; run++) {
    const faults = plan(dice);
    deployment.tiktok.reset();
    deployment.secretsManager.reset();
    for (const fault of faults.tiktok) deployment.tiktok.failNext(1, fault);
    for (const { operation, count, fault } of faults.secretsManager) {
      deployment.secretsManager.failNext(operation, count, fault);
    }
    const firstEvent = deployment.eventBridge.events.length;

    const outcome = await deployment.invoke(faults.forced ? { force: true } : scheduledEvent);

    report.runs++;
    const events = deployment.eventBridge.events.slice(firstEvent);
    const seen = outcomes(outcome);
    const where = `seed ${seed}, run ${run}, faults ${JSON.stringify(faults)}`;
    if (
      outcome.error !== undefined &&
      !/^\d+ of \d+ shops failed/.test(outcome.error.errorMessage)
    ) {
      report.problems.push(`${where}: the run failed as a whole: ${JSON.stringify(outcome.error)}`);
    }
    for (const name of NAMES) {
      const openId = sellers.get(name) ?? '';
      const calls = deployment.tiktok.calls.filter(
        (call) => call.path === REFRESH_PATH && call.openId === openId,
      );
      const failingAnswers = calls.filter((call) => call.fault && !('delayMs' in call.fault));
      const answerLost = calls.some((call) => call.fault && 'loseAnswer' in call.fault);
      if (answerLost) report.answersLost++;
      const reported = reportedFailure(outcome, events, name);
      if (reported) report.failuresReported++;

      // 1. locked out only out loud
      const stored = deployment.storedRefreshToken(name) ?? '';
      if (!deployment.tiktok.isRefreshTokenValid(stored) && !reported) {
        report.problems.push(`${where}: ${name} holds a refresh token TikTok refuses, unreported`);
      }

      // 2. the refresh token that works now is in the secret, unless its answer never came
      const working = deployment.tiktok.refreshTokenOf(openId);
      const held = deployment.secretsManager
        .versions(name)
        .filter((v) => v.stages.includes('AWSCURRENT') || v.stages.includes('AWSPENDING'))
        .map((version) => refreshTokenIn(version.secretString));
      const kept = working !== undefined && held.includes(working);
      if (!kept && !answerLost) {
        report.problems.push(`${where}: ${name} lost the refresh token TikTok's answer brought`);
      }

      // 3. a shop no failing answer reached is refreshed, or left alone as not due
      const outcomeSeen = seen.get(name);
      const toRefresh = faults.forced || outcomeSeen !== 'not-due';
      if (toRefresh) report.toRefresh++;
      if (outcomeSeen === 'refreshed') report.refreshed++;
      if (toRefresh && outcomeSeen !== 'refreshed' && failingAnswers.length === 0) {
        report.problems.push(
          `${where}: ${name} ended ${outcomeSeen ?? 'unreported'} though no TikTok fault reached it`,
        );
      }

      // Locked out (TikTok's answer with the new token was lost): the seller authorizes again.
      if (!kept) authorize(name, NEW_AUTHORIZATION_TTL_SECONDS);
    }
  }
  return report;
}

describe('Deployed refresher', { timeout: 180_000 }, () => {
  const deployments: LocalDeployment[] = [];
  let scheduledEvent: unknown;

  beforeAll(async () => {
    const { template } = synthesizeRefresher({ shops: SHOPS });
    const [schedule] = Object.values(template.findResources('AWS::Scheduler::Schedule'));
    scheduledEvent = JSON.parse(schedule?.Properties?.Target?.Input as string);
    for (let i = 0; i < STREAMS; i++) {
      deployments.push(
        await LocalDeployment.start({
          shops: SHOPS,
          environment: QUICK_REFUSAL_RECHECK,
          leakCheck: true,
        }),
      );
    }
  });

  afterAll(async () => {
    await Promise.all(deployments.map((deployment) => deployment.close()));
  });

  describe('when TikTok and Secrets Manager fail at random', () => {
    it(`locks no shop out in silence, loses no token TikTok delivered, and loses a shop only to a fault that reached it, in every run (FAULT_SEED=${SEED})`, async ({
      annotate,
    }) => {
      // Act
      const reports = await Promise.all(
        deployments.map((deployment, index) => stream(deployment, SEED + index, scheduledEvent)),
      );

      // Assess
      const sum = (key: 'runs' | 'toRefresh' | 'refreshed' | 'failuresReported' | 'answersLost') =>
        reports.reduce((total, report) => total + report[key], 0);
      await annotate(
        `${sum('runs')} runs: ${sum('refreshed')} of ${sum('toRefresh')} shops to refresh refreshed (${Math.round((100 * sum('refreshed')) / Math.max(1, sum('toRefresh')))} %), ${sum('failuresReported')} failures reported, ${sum('answersLost')} answers lost`,
      );
      expect(reports.flatMap((report) => report.problems)).toEqual([]);
      expect(sum('runs')).toBe(STREAMS * RUNS_PER_STREAM);
      expect(sum('refreshed')).toBeGreaterThanOrEqual(0.6 * sum('toRefresh'));
      // The faults did bite, and still every claim held.
      expect(sum('failuresReported')).toBeGreaterThan(0);
    });
  });
});
