// The shops a token covers (TikTok's Get Authorized Shops), cached per execution environment,
// and the choice of the one a call acts for.

import { AUTHORIZED_SHOPS_PATH, type AuthorizedShop } from '../shared/authorized-shops.js';
import { redact } from '../shared/redact.js';
import { ShopSelectionError } from './errors.js';

/** A shop among those the token covers; every field given must match. */
export interface ShopSelector {
  /** TikTok's shop id. */
  readonly id?: string;
  /** The shop's name, case ignored. */
  readonly name?: string;
  /** The shop's region, e.g. `GB`, case ignored. */
  readonly region?: string;
}

/**
 * The shops each token covers, per base URL and token secret, for the life of the execution
 * environment: a pending lookup is shared by concurrent calls, a failed one is forgotten.
 */
const shopLists = new Map<string, Promise<readonly AuthorizedShop[]>>();

/** The shops cached under `key`, looked up with `lookUp` when none are. */
export function shopsOf(
  key: string,
  lookUp: () => Promise<readonly AuthorizedShop[]>,
): Promise<readonly AuthorizedShop[]> {
  let shops = shopLists.get(key);
  if (shops === undefined) {
    const pending = lookUp();
    shopLists.set(key, pending);
    pending.catch(() => {
      if (shopLists.get(key) === pending) shopLists.delete(key);
    });
    shops = pending;
  }
  return shops;
}

export function forgetShopsOf(key: string): void {
  shopLists.delete(key);
}

/**
 * The one shop `selector` picks; else a ShopSelectionError listing the shops the token covers.
 * What TikTok says of them is remote text: `secrets` are masked in it (see redact).
 */
export function selectShop(
  shops: readonly AuthorizedShop[],
  selector: ShopSelector,
  tokenSecretId: string,
  secrets: readonly string[] = [],
): AuthorizedShop {
  const same = (a: string | undefined, b: string) =>
    a === undefined || a.trim().toLowerCase() === b.trim().toLowerCase();
  const matching = shops.filter(
    (shop) =>
      (selector.id === undefined || selector.id === shop.id) &&
      same(selector.name, shop.name) &&
      same(selector.region, shop.region),
  );
  const [only] = matching;
  if (matching.length === 1 && only !== undefined) return only;
  const covered = `the token in secret ${tokenSecretId} covers`;
  if (shops.length === 0) {
    throw new ShopSelectionError(
      `${covered} no shop (TikTok's ${AUTHORIZED_SHOPS_PATH} lists none): the seller must authorize the app for a shop`,
    );
  }
  const wanted = describeSelector(selector);
  if (matching.length === 0) {
    throw new ShopSelectionError(
      `no shop ${wanted}: ${covered} ${listShops(shops, secrets)}; choose one with the shop option (id, name or region)`,
    );
  }
  throw new ShopSelectionError(
    `${wanted === '' ? 'which shop?' : `more than one shop ${wanted}:`} ${covered} ${listShops(shops, secrets)}; choose one with the shop option (id, name or region)`,
  );
}

function describeSelector(selector: ShopSelector): string {
  return (['id', 'name', 'region'] as const)
    .flatMap((field) => (selector[field] === undefined ? [] : [`${field} ${selector[field]}`]))
    .join(', ');
}

/** `2 shops: 7494… "Acme UK" (GB, LOCAL), …`, at most five named. */
function listShops(shops: readonly AuthorizedShop[], secrets: readonly string[]): string {
  const said = (text: string, length: number) => redact(text.slice(0, length), secrets);
  const named = shops
    .slice(0, 5)
    .map(
      (shop) =>
        `${said(shop.id, 40)} "${said(shop.name, 40)}" (${said(shop.region, 10)}${shop.seller_type === undefined ? '' : `, ${said(shop.seller_type, 20)}`})`,
    );
  const more = shops.length > 5 ? `, and ${shops.length - 5} more` : '';
  return `${shops.length} shop${shops.length === 1 ? '' : 's'}: ${named.join(', ')}${more}`;
}
