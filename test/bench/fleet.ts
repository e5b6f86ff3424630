import { SCHEDULED_EVENT } from '../../infra/token-refresher.js';
import { ENV } from '../../lambda/shared/contract.js';
import { shopFromId } from '../../lambda/shared/shop.js';
import type { LocalDeployment } from '../support/local-deployment.js';

/** AWS's regional quota on PutSecretValue + UpdateSecretVersionStage (+ UpdateSecret). */
export const WRITE_QUOTA_PER_SECOND = 50;
/** Every tenth shop from 0 to 2 is due: 30 %. */
const DUE_PER_TEN = 3;
const DUE_TTL_SECONDS = 3 * 3600;
const FRESH_TTL_SECONDS = 6 * 24 * 3600;
const WRITES = new Set(['PutSecretValue', 'UpdateSecretVersionStage']);

export interface FleetRun {
  readonly shops: number;
  readonly due: number;
  /** How the function found the shops: the environment it ran with on top of the template's. */
  readonly environmentOverride: Readonly<Record<string, string>>;
  readonly writesNeeded: number;
  /** The function's own pace for writes (SECRET_WRITES_PER_SECOND), below the quota. */
  readonly pacedWritesPerSecond: number;
  /** writesNeeded / quota: no run can be faster. */
  readonly boundMs: number;
  readonly durationMs: number;
  readonly timeRatio: number;
  readonly maxRssKb: number;
  /** CPU time the function's process used, in ms. */
  readonly cpuMs: number;
  readonly throttledWrites: number;
  /** From the run's first Secrets Manager call to its first admitted write, and to its last. */
  readonly firstWriteMs: number;
  readonly lastWriteMs: number;
  /** Admitted writes per second between the first and the last. */
  readonly writesPerSecond: number;
  readonly refreshed: number;
  readonly failed: number;
  readonly invocationError?: string;
  readonly secretsManagerCalls: Readonly<Record<string, number>>;
  /**
   * Secrets Manager calls naming no secret (ListSecrets, BatchGetSecretValue: they read due
   * shops too, so this errs high) or a shop that was not due, per shop not due.
   */
  readonly callsPerSkippedShop: number;
  /** Secrets Manager calls naming a due shop: what refreshing costs, apart from the survey. */
  readonly dueShopCalls: number;
  readonly tiktokCalls: number;
  readonly eventBridgeCalls: number;
  readonly eventBridgeEntries: number;
  /** What the function printed (JSON logs, EMF metrics): what CloudWatch Logs ingests. */
  readonly logBytes: number;
  readonly lambdaTimeoutMs: number;
}

/**
 * One scheduled run over `size` shops, 30 % of them due, with the local Secrets Manager
 * refusing writes beyond AWS's quota. The shops carry their own tag key and the function finds
 * them by it, so fleets of different sizes can share one deployment.
 */
export async function runFleet(deployment: LocalDeployment, size: number): Promise<FleetRun> {
  const tagKey = `bench-fleet-${size}`;
  const { due, skipped, dueNames } = seedFleet(deployment, size, tagKey);
  const environmentOverride = { [ENV.tokenSecretIds]: '', [ENV.tokenSecretTagKey]: tagKey };
  const secretsFrom = deployment.secretsManager.calls.length;
  const tiktokFrom = deployment.tiktok.calls.length;
  const eventsFrom = deployment.eventBridge.callCount;
  const entriesFrom = deployment.eventBridge.events.length;
  const throttledFrom = deployment.secretsManager.throttledWrites;
  const outcome = await deployment.invoke(SCHEDULED_EVENT, { environment: environmentOverride });

  const writesNeeded = due * 2;
  const boundMs = (writesNeeded / WRITE_QUOTA_PER_SECOND) * 1000;
  const durationMs = outcome.durationMs ?? Number.NaN;
  const logged = shopOutcomes(outcome.logs);
  const secretCalls = deployment.secretsManager.calls.slice(secretsFrom);
  return {
    shops: size,
    due,
    environmentOverride,
    writesNeeded,
    pacedWritesPerSecond: Number(deployment.functionEnvironment[ENV.secretWritesPerSecond]),
    boundMs,
    durationMs,
    timeRatio: durationMs / boundMs,
    maxRssKb: outcome.maxRssKb ?? Number.NaN,
    cpuMs: outcome.cpuMs ?? Number.NaN,
    throttledWrites: deployment.secretsManager.throttledWrites - throttledFrom,
    refreshed: logged.get('refreshed') ?? 0,
    failed: logged.get('failed') ?? 0,
    ...(outcome.error === undefined ? {} : { invocationError: outcome.error.errorMessage }),
    ...writeTimeline(secretCalls),
    secretsManagerCalls: countBy(secretCalls.map((call) => call.operation)),
    callsPerSkippedShop: callsPerSkippedShop(secretCalls, skipped),
    dueShopCalls: secretCalls.filter(
      (call) => call.secretId !== undefined && dueNames.has(shopFromId(call.secretId).name),
    ).length,
    tiktokCalls: deployment.tiktok.calls.length - tiktokFrom,
    eventBridgeCalls: deployment.eventBridge.callCount - eventsFrom,
    eventBridgeEntries: deployment.eventBridge.events.length - entriesFrom,
    logBytes: logBytes(outcome.logs),
    lambdaTimeoutMs: deployment.timeoutMs,
  };
}

/** Seeds `size` shops carrying `tagKey`, every tenth from 0 to 2 due; answers how many are due. */
function seedFleet(
  deployment: LocalDeployment,
  size: number,
  tagKey: string,
): { due: number; skipped: Set<string>; dueNames: Set<string> } {
  let due = 0;
  const skipped = new Set<string>();
  const dueNames = new Set<string>();
  for (let index = 0; index < size; index++) {
    const isDue = index % 10 < DUE_PER_TEN;
    const name = `tiktok-shop/tokens/fleet-${size}-${String(index).padStart(4, '0')}`;
    if (isDue) {
      due++;
      dueNames.add(name);
    } else skipped.add(name);
    deployment.seedShop(name, {
      accessTtlSeconds: isDue ? DUE_TTL_SECONDS : FRESH_TTL_SECONDS,
      tagKey,
    });
  }
  return { due, skipped, dueNames };
}

/** See FleetRun.callsPerSkippedShop. */
export function callsPerSkippedShop(
  calls: readonly { secretId?: string }[],
  skipped: ReadonlySet<string>,
): number {
  const counted = calls.filter(
    (call) => call.secretId === undefined || skipped.has(shopFromId(call.secretId).name),
  );
  return counted.length / skipped.size;
}

/** When admitted writes began and ended, counted from the run's first call, and their pace. */
export function writeTimeline(
  calls: readonly { operation: string; at: number; status?: number }[],
): { firstWriteMs: number; lastWriteMs: number; writesPerSecond: number } {
  const start = calls[0]?.at ?? Number.NaN;
  const writes = calls
    .filter((call) => WRITES.has(call.operation) && call.status === 200)
    .map((call) => call.at - start);
  const first = writes[0] ?? Number.NaN;
  const last = writes.at(-1) ?? Number.NaN;
  return {
    firstWriteMs: first,
    lastWriteMs: last,
    writesPerSecond: (writes.length - 1) / ((last - first) / 1000),
  };
}

export function writesIn(calls: Readonly<Record<string, number>>): number {
  return Object.entries(calls)
    .filter(([operation]) => WRITES.has(operation))
    .reduce((sum, [, count]) => sum + count, 0);
}

/** The bytes of the lines the function printed, as CloudWatch Logs ingests them (with newlines). */
export function logBytes(lines: readonly string[]): number {
  return lines.reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0);
}

/** Outcomes per shop from the function's `shop <outcome>` / `shop failed` log lines. */
export function shopOutcomes(logs: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of logs) {
    const message = parseMessage(line);
    const outcome = message?.startsWith('shop ') ? message.slice(5) : undefined;
    if (outcome !== undefined) counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  }
  return counts;
}

function parseMessage(line: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(line);
    const message = (parsed as { message?: unknown } | null)?.message;
    return typeof message === 'string' ? message : undefined;
  } catch {
    return undefined; // not a JSON log line (a runtime warning, say)
  }
}

export function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}
