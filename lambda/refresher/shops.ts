import { InvalidEventError } from '../shared/errors.js';
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

/**
 * The shops a run covers: all configured ones, or those a person asked for by name or ARN.
 * Asking for a shop that is not configured is an error, so a typo never silently does nothing.
 */
export function selectShops(configured: readonly Shop[], requested?: readonly string[]): Shop[] {
  if (requested === undefined) return [...configured];
  const unknown: string[] = [];
  const selected = new Map<string, Shop>();
  for (const wanted of requested) {
    const { name } = shopFromId(wanted);
    const shop = configured.find((s) => s.id === wanted || s.arn === wanted || s.name === name);
    if (shop === undefined) unknown.push(wanted);
    else selected.set(shop.name, shop);
  }
  if (unknown.length > 0) {
    const known = configured.map((shop) => shop.name);
    const shown = known.length > 20 ? `${known.slice(0, 20).join(', ')}, …` : known.join(', ');
    throw new InvalidEventError(
      `invalid event: shops: not configured: ${unknown.join(', ')}; configured shops: ${shown || '(none)'}`,
    );
  }
  return [...selected.values()];
}
