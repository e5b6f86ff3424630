import { InvalidEventError, listSome } from '../shared/errors.js';
import { type Shop, shopFromId } from '../shared/shop.js';

export type { Shop };

/** Shops named in the configuration plus those found by tag, each once. */
export function configuredShops(
  ids: readonly string[],
  discovered: readonly { name: string; arn: string }[],
): Shop[] {
  const byName = new Map<string, Shop>();
  for (const shop of ids.map(shopFromId)) byName.set(shop.name, shop);
  for (const { name, arn } of discovered) {
    if (!byName.has(name)) byName.set(name, { id: arn, name, arn });
  }
  return [...byName.values()];
}

/** Names one message echoes of a list; the rest are counted. */
const NAMED = 5;
const CONFIGURED_NAMED = 20;

/**
 * The shops a run covers: all configured ones, or those a person asked for by name or ARN.
 * Asking for a shop that is not configured is an error, so a typo never silently does nothing;
 * the error names the first few unknown shops and counts the rest, however many were asked for.
 */
export function selectShops(configured: readonly Shop[], requested?: readonly string[]): Shop[] {
  if (requested === undefined) return [...configured];
  const byKey = new Map<string, Shop>();
  for (const shop of configured) {
    for (const key of [shop.name, shop.id, shop.arn]) {
      if (key !== undefined && !byKey.has(key)) byKey.set(key, shop);
    }
  }
  const unknown: string[] = [];
  const selected = new Map<string, Shop>();
  for (const wanted of requested) {
    const shop = byKey.get(wanted) ?? byKey.get(shopFromId(wanted).name);
    if (shop === undefined) unknown.push(wanted);
    else selected.set(shop.name, shop);
  }
  if (unknown.length > 0) {
    const known = configured.map((shop) => shop.name);
    throw new InvalidEventError(
      `invalid event: shops: not configured: ${listSome(unknown, NAMED)}; configured shops: ${known.length === 0 ? '(none)' : listSome(known, CONFIGURED_NAMED)}`,
    );
  }
  return [...selected.values()];
}
