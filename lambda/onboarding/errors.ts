// Why a shop connection is refused: the reasons events, logs and the seller's page name, and
// the error that carries one.
import { RefresherError } from '../shared/errors.js';

/**
 * Every reason a connection is refused. A reason added here without a page text in
 * `refusedPage` (pages.ts) does not compile.
 */
export type RefusalReason =
  /**
   * The consent link was already used, and a token was stored by it or since (the shop is
   * connected), or another approval of it is in progress.
   */
  | 'link-already-used'
  /** The consent link was already used, and no token was stored since: its exchange failed. */
  | 'link-not-finished'
  /** A `connect` link for a shop that holds a token. */
  | 'shop-already-connected'
  /** A `reconnect` link for a shop that holds none. */
  | 'shop-not-connected'
  /** The stored token belongs to another seller. */
  | 'seller-mismatch'
  /** The seller is connected under another shop name. */
  | 'seller-connected-elsewhere'
  /** The stored token names no seller, so the new one cannot be checked against it. */
  | 'stored-seller-unknown'
  /** The shop is bound to another app than the link's or the command's. */
  | 'app-mismatch'
  /** The link names an app this deployment does not have. */
  | 'app-unknown';

/**
 * A shop connection refused (connect.ts): a consent link used again, a token of another seller
 * than the one stored, a seller already connected under another shop name. Nothing was written
 * to the shop, though a token may have gone to the seller's own shop (ConnectedElsewhereError). `reason` is what events and logs carry; `detail` holds facts for the
 * operator (shop, open_id, seller name), never a token or a code.
 */
export class ShopConnectionRefusedError extends RefresherError {
  constructor(
    message: string,
    readonly reason: RefusalReason,
    readonly detail: Readonly<Record<string, string | boolean | readonly string[]>> = {},
  ) {
    super(message);
  }
}
