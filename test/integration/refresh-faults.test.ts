import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TOKEN_SECRET_TAG_KEY, DETAIL_TYPE } from '../../lambda/shared/contract.js';
import type { AwsFault } from '../local/endpoints/aws-json.js';
import { REFRESH_PATH, TIKTOK_CODE, type TikTokFault } from '../local/endpoints/tiktok.js';
import { type InvokeOutcome, LocalDeployment } from '../support/local-deployment.js';
import { synthesizeRefresher } from '../support/synth.js';

/**
 * Runs of the deployed bundle with random faults at TikTok and Secrets Manager. Whatever
 * happens, no shop may end up locked out in silence: after every run each shop's stored refresh
 * token still works at TikTok, or the run reported that shop as failed. Replay a failure with
 * FAULT_SEED=<seed from the test name>.
 */

const SEED = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 2 ** 32));
/** Independent deployments whose runs go side by side, each with its own stream of faults. */
const STREAMS = 3;
const RUNS_PER_STREAM = 10;
/** A stream starts no new run after this long, so a slow machine still finishes in time. */
const STREAM_BUDGET_MS = 60_000;

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

function tiktokFault(dice: Dice): TikTokFault {
  return dice.pick<() => TikTokFault>([
    () => ({ httpStatus: dice.pick([500, 502, 503] as const) }),
    () => ({ httpStatus: 429, retryAfterSeconds: dice.between(0, 1) }),
    () => ({ delayMs: dice.between(50, 1_500) }),
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
  readonly event: unknown;
  readonly tiktok: TikTokFault[];
  readonly secretsManager: { operation: string; count: number; fault: AwsFault }[];
}

function plan(dice: Dice, scheduledEvent: unknown): Plan {
  return {
    event: dice.chance(0.7) ? { force: true } : scheduledEvent,
    tiktok: Array.from({ length: dice.between(0, 3) }, () => tiktokFault(dice)),
    secretsManager: Array.from({ length: dice.between(0, 3) }, () => ({
      operation: dice.pick(SECRETS_MANAGER_OPERATIONS),
      count: dice.between(1, 3),
      fault: dice.pick(SECRETS_MANAGER_FAULTS),
    })),
  };
}

/**
 * A newly authorized seller's token in the shop's secret: due for a refresh at the start, and
 * with the access token lifetime TikTok gives a new authorization when a locked-out seller
 * authorizes again.
 */
function authorize(deployment: LocalDeployment, name: string, accessTtlSeconds: number): void {
  const seller = deployment.tiktok.addSeller();
  const data = deployment.tiktok.tokenDocument(seller.refreshToken ?? '', {
    accessTokenExpiresAt: Math.floor(Date.now() / 1000) + accessTtlSeconds,
  });
  const raw = JSON.stringify({ code: 0, message: 'success', data, request_id: 'authorize' });
  deployment.secretsManager.seed(name, raw, { [DEFAULT_TOKEN_SECRET_TAG_KEY]: name });
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

interface StreamReport {
  runs: number;
  lockouts: number;
  failuresReported: number;
  problems: string[];
}

/** Runs one stream and checks the rule after every run; answers what it saw. */
async function stream(
  deployment: LocalDeployment,
  seed: number,
  scheduledEvent: unknown,
): Promise<StreamReport> {
  const dice = new Dice(mulberry32(seed));
  const report: StreamReport = { runs: 0, lockouts: 0, failuresReported: 0, problems: [] };
  for (const name of NAMES) authorize(deployment, name, DUE_TTL_SECONDS);
  const started = Date.now();

  for (let run = 0; run < RUNS_PER_STREAM && Date.now() - started < STREAM_BUDGET_MS; run++) {
    const faults = plan(dice, scheduledEvent);
    deployment.tiktok.clearFaults();
    deployment.secretsManager.reset();
    for (const fault of faults.tiktok) deployment.tiktok.failNext(1, fault);
    for (const { operation, count, fault } of faults.secretsManager) {
      deployment.secretsManager.failNext(operation, count, fault);
    }
    const firstEvent = deployment.eventBridge.events.length;

    const outcome = await deployment.invoke(faults.event);

    report.runs++;
    const events = deployment.eventBridge.events.slice(firstEvent);
    const where = `seed ${seed}, run ${run}, faults ${JSON.stringify(faults)}`;
    if (
      outcome.error !== undefined &&
      outcome.error.errorMessage.match(/^\d+ of \d+ shops failed/) === null
    ) {
      report.problems.push(
        `${where}: invocation failed unexpectedly: ${JSON.stringify(outcome.error)}`,
      );
    }
    for (const name of NAMES) {
      const works = deployment.tiktok.isRefreshTokenValid(
        deployment.storedRefreshToken(name) ?? '',
      );
      const reported = reportedFailure(outcome, events, name);
      if (reported) report.failuresReported++;
      if (works) continue;
      if (!reported) {
        report.problems.push(
          `${where}: ${name} holds a refresh token TikTok refuses, and no failure was reported`,
        );
      }
      // A token stored but not made current is promoted by the next run: leave it to that run.
      const pending = deployment.secretsManager
        .versions(name)
        .find(
          (version) =>
            version.stages.includes('AWSPENDING') && !version.stages.includes('AWSCURRENT'),
        );
      if (
        pending !== undefined &&
        deployment.tiktok.isRefreshTokenValid(refreshTokenIn(pending.secretString))
      ) {
        continue;
      }
      // Locked out (TikTok rotated the token but its answer was lost): the seller authorizes again.
      report.lockouts++;
      authorize(deployment, name, NEW_AUTHORIZATION_TTL_SECONDS);
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
    for (let i = 0; i < STREAMS; i++)
      deployments.push(await LocalDeployment.start({ shops: SHOPS }));
  });

  afterAll(async () => {
    await Promise.all(deployments.map((deployment) => deployment.close()));
  });

  describe('when TikTok and Secrets Manager fail at random', () => {
    it(`keeps every shop’s token working or reports the shop failed, run after run (FAULT_SEED=${SEED})`, async ({
      annotate,
    }) => {
      // Act
      const reports = await Promise.all(
        deployments.map((deployment, index) => stream(deployment, SEED + index, scheduledEvent)),
      );

      // Assess
      await annotate(
        `runs ${reports.map((r) => r.runs).join('+')}, failures reported ${reports.map((r) => r.failuresReported).join('+')}, shops locked out and authorized again ${reports.map((r) => r.lockouts).join('+')}`,
      );
      expect(reports.flatMap((report) => report.problems)).toEqual([]);
      expect(reports.reduce((sum, report) => sum + report.runs, 0)).toBeGreaterThanOrEqual(STREAMS);
      // The faults did bite: some runs reported failures (and still no shop was lost silently).
      expect(reports.reduce((sum, report) => sum + report.failuresReported, 0)).toBeGreaterThan(0);
      for (const deployment of deployments) {
        for (const name of NAMES) {
          expect(refreshTokenIn(deployment.secretsManager.current(name))).not.toBe('');
        }
      }
    });
  });

  describe('when the whole suite has run', () => {
    it('never let a token, secret or refresh URL reach a log line, result, error or event', () => {
      // Prepare
      const secrets = deployments.flatMap((deployment) => deployment.tiktok.issuedSecrets());
      const everything = [
        ...deployments.flatMap((deployment) => deployment.outputs),
        ...deployments.map((deployment) => JSON.stringify(deployment.eventBridge.events)),
      ].join('\n');

      // Assess
      expect(everything.length).toBeGreaterThan(10_000);
      for (const secret of new Set(secrets)) expect(everything).not.toContain(secret);
      expect(everything).not.toContain('app_secret=');
      expect(everything).not.toContain('refresh_token=');
      expect(everything).not.toContain(REFRESH_PATH);
    });
  });
});
