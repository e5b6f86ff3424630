// The shops of one run as the store lists them: those found by tag, those configured by name,
// and for a large run what the listing says of each one's versions (see batch-reads).
import type { SurveyedShop, SurveySource } from '../shared/survey-source.js';
import { batchesReads } from './batch-reads.js';
import type { RunRequest } from './run-request.js';
import { configuredShops, type ListedShop, selectShops, withListing } from './shops.js';

/**
 * The shops the run covers (all configured and discovered ones, or those the request names),
 * each with its secret's tags and listed versions where the store listed it. Shops configured by
 * name are listed too when the run reads in batches: one ListSecrets per ten of them, so that a
 * batch can read their current tokens.
 */
export async function listShops(
  source: SurveySource,
  configuredIds: readonly string[],
  request: RunRequest,
): Promise<ListedShop[]> {
  const discovered: SurveyedShop[] = [];
  for await (const page of source.pages()) discovered.push(...page);
  const selected = selectShops(configuredShops(configuredIds, discovered), request.shops);
  if (!batchesReads(selected.length, request)) return selected;
  const unlisted = selected.filter((shop) => shop.listed === undefined).map((shop) => shop.id);
  if (unlisted.length === 0) return selected;
  const named: SurveyedShop[] = [];
  for await (const page of source.named(unlisted)) named.push(...page);
  return withListing(selected, named);
}
