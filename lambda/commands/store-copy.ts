// Copying every shop's current token from one store to the other (npm run switch-store), pass
// after pass until no source token moves, then checking each copy against its source.
import { describeError } from '../shared/errors.js';
import { mapWithConcurrency } from '../shared/timing.js';

/** A shop's current token as a copy moves it: its version id, text and when it was written. */
export interface CopiedVersion {
  readonly versionId: string;
  readonly raw: string;
  /** Epoch ms; unknown for a store that does not say. */
  readonly createdAt?: number;
}

export interface SourceShop {
  readonly shop: string;
  /** The app the shop is bound to, when the source records one. */
  readonly app?: string;
}

export interface CopySource {
  /** Every shop with a token. */
  list(): Promise<SourceShop[]>;
  /** The shop's current token. */
  read(shop: string): Promise<CopiedVersion>;
}

export interface CopyDestination {
  /** The shop's current token in the destination; undefined when it holds none. */
  look(shop: string): Promise<CopiedVersion | undefined>;
  /**
   * Makes `version` current if the destination's current version is still `basedOnVersionId`
   * (undefined: none yet); answers the version id written, or undefined when it moved first.
   */
  put(
    shop: SourceShop,
    version: CopiedVersion,
    basedOnVersionId: string | undefined,
  ): Promise<string | undefined>;
}

export interface CopyReport {
  readonly shops: number;
  readonly passes: number;
  /** Shops whose copy holds the source's current token. */
  readonly verified: number;
  /** Shops whose destination holds a token newer than the source's: it is kept. */
  readonly keptNewer: readonly string[];
  /** Shops whose copy could not be made or checked, with why (no token text). */
  readonly failed: readonly { readonly shop: string; readonly problem: string }[];
}

export interface CopyOptions {
  /** Passes before giving up on a source that keeps moving. @default 5 */
  readonly maxPasses?: number;
  /** Shops copied at once. @default 8 */
  readonly concurrency?: number;
}

/**
 * A token moves only onto an older one: the destination is written when it holds nothing, holds
 * a copy this run wrote, or holds a token written before the source's (each write a
 * compare-and-swap on the version just looked at). So a token the destination's own refresher or
 * onboarding stored after the switch is never replaced, and re-running the command is safe. Each
 * pass re-reads every source token and copies again those that moved since their copy (a refresh
 * by a run still going on the old store); the passes end when one finds nothing moved. The check
 * then reads both stores again.
 */
export async function copyTokens(
  source: CopySource,
  destination: CopyDestination,
  options: CopyOptions = {},
): Promise<CopyReport> {
  const maxPasses = options.maxPasses ?? 5;
  const concurrency = options.concurrency ?? 8;
  const shops = await source.list();
  /** Per shop: the source version last copied, and the destination version that copy made. */
  const copies = new Map<string, { from: string; to: string }>();
  const keptNewer = new Set<string>();
  const problems = new Map<string, string>();
  let passes = 0;
  for (let moved = true; moved && passes < maxPasses; passes++) {
    const outcomes = await mapWithConcurrency(shops, concurrency, async (shop) => {
      try {
        const changed = await copyOne(shop, source, destination, copies, keptNewer);
        problems.delete(shop.shop);
        return changed;
      } catch (error) {
        problems.set(shop.shop, problemOf(error));
        return true;
      }
    });
    moved = outcomes.some(Boolean);
  }

  let verified = 0;
  await mapWithConcurrency(shops, concurrency, async ({ shop }) => {
    if (problems.has(shop)) return;
    try {
      const [from, to] = await Promise.all([source.read(shop), destination.look(shop)]);
      if (to !== undefined && to.raw === from.raw) verified++;
      else if (!keptNewer.has(shop)) problems.set(shop, 'the copy differs from the source');
    } catch (error) {
      problems.set(shop, problemOf(error));
    }
  });
  return {
    shops: shops.length,
    passes,
    verified,
    keptNewer: [...keptNewer].sort(),
    failed: [...problems].map(([shop, problem]) => ({ shop, problem })),
  };
}

/** Copies one shop if its source moved since its copy; answers whether anything was written. */
async function copyOne(
  shop: SourceShop,
  source: CopySource,
  destination: CopyDestination,
  copies: Map<string, { from: string; to: string }>,
  keptNewer: Set<string>,
): Promise<boolean> {
  const from = await source.read(shop.shop);
  const copy = copies.get(shop.shop);
  if (copy?.from === from.versionId) return false;
  const to = await destination.look(shop.shop);
  if (to !== undefined && to.raw === from.raw) {
    copies.set(shop.shop, { from: from.versionId, to: to.versionId });
    return copy !== undefined;
  }
  const ours = to !== undefined && to.versionId === copy?.to;
  if (to !== undefined && !ours && (to.createdAt ?? 0) >= (from.createdAt ?? 0)) {
    keptNewer.add(shop.shop);
    copies.set(shop.shop, { from: from.versionId, to: to.versionId });
    return false;
  }
  keptNewer.delete(shop.shop);
  const written = await destination.put(shop, from, to?.versionId);
  // Moved since the look: the next pass looks again.
  if (written !== undefined) copies.set(shop.shop, { from: from.versionId, to: written });
  return true;
}

/** What went wrong, as the store's own errors say it (they never quote a token). */
function problemOf(error: unknown): string {
  const { errorType, message } = describeError(error);
  return `${errorType}: ${message}`.slice(0, 300);
}
