// Reading a large fleet in batches: the shops whose listing shows nothing but a current version
// get that version from one call per 20 shops; every other shop is read in full, as before.
import type { StoredToken, StoredVersion } from '../shared/secrets-store.js';
import type { SurveySource } from '../shared/survey-source.js';
import type { RunRequest } from './run-request.js';
import type { Shop } from './shops.js';

/** BatchGetSecretValue takes 20 secrets a call. */
export const BATCH_SIZE = 20;
/**
 * A run of fewer shops reads each in full: at most 60 GetSecretValue a run ($0.0003), in one
 * round trip, where listing and batching would take two.
 */
export const BATCH_FROM_SHOPS = 20;

/**
 * Whether a run of `shopCount` shops reads their current tokens in batches. A forced run does
 * not: every shop in it is due, and a due shop is read in full before its refresh anyway.
 */
export function batchesReads(shopCount: number, request: RunRequest): boolean {
  return !request.force && shopCount >= BATCH_FROM_SHOPS;
}

export interface Indexed {
  readonly shop: Shop;
  readonly index: number;
}

/**
 * The shops in the order given, as groups read together: up to BATCH_SIZE shops in a row that a
 * batch can read, and every other shop alone.
 */
export function readGroups(shops: readonly Shop[], batched: boolean): Indexed[][] {
  const groups: Indexed[][] = [];
  let batch: Indexed[] = [];
  shops.forEach((shop, index) => {
    if (!batched || !batchable(shop)) {
      groups.push([{ shop, index }]);
      return;
    }
    batch.push({ shop, index });
    if (batch.length === BATCH_SIZE) {
      groups.push(batch);
      batch = [];
    }
  });
  if (batch.length > 0) groups.push(batch);
  return groups;
}

/** Listed with a current version and nothing pending or kept beside it, with an app to refresh. */
export function batchable(shop: Shop): boolean {
  const { listed } = shop;
  return (
    listed !== undefined &&
    listed.currentVersionId !== undefined &&
    !listed.hasPending &&
    !listed.hasKept &&
    shop.appProblem === undefined
  );
}

/**
 * The stored tokens of a group's batchable shops by index, current version only: from the
 * listing where it carries the value, else from one batch read. A shop whose current version is
 * not the listed one (the listing lags behind writes) or that the batch could not read is left
 * out, to be read in full; so is the whole group when the batch read fails (`failed` is told).
 */
export async function readCurrent(
  group: readonly Indexed[],
  source: Pick<SurveySource, 'readCurrent'>,
  failed: (error: unknown) => void,
): Promise<Map<number, StoredToken>> {
  const read = new Map<number, StoredToken>();
  const listed = group.filter(({ shop }) => batchable(shop));
  if (listed.length === 0) return read;
  let values: ReadonlyMap<string, StoredVersion> = new Map();
  if (listed.some(({ shop }) => shop.listed?.current === undefined)) {
    try {
      values = await source.readCurrent(listed.map(({ shop }) => shop.id));
    } catch (error) {
      failed(error);
    }
  }
  for (const { shop, index } of listed) {
    const current = shop.listed?.current ?? values.get(shop.name);
    if (current !== undefined && current.versionId === shop.listed?.currentVersionId) {
      read.set(index, { current });
    }
  }
  return read;
}
