// What refuses a connection, as pure rules: before the code is exchanged (a used link, a shop
// already connected or not, another app) and once TikTok named the seller (whose shop it is).

import { clip } from './answer.js';
import type { LinkPurpose } from './consent-state.js';
import type { DestinationState, StoredSeller } from './destination.js';
import { ShopConnectionRefusedError } from './errors.js';

export interface ConnectRequest {
  readonly shop: string;
  readonly authCode: string;
  /** What the consent link was made for; `any` for the command, which decides by what is stored. */
  readonly purpose: LinkPurpose | 'any';
  /** The consent link's nonce; absent for the command. */
  readonly linkNonce?: string;
  /** The operator hands the shop to another seller on purpose (command only). */
  readonly replaceSeller?: boolean;
  /**
   * The app whose credentials exchange the code (the link's, or the command's `--app`).
   * @default DEFAULT_APP
   */
  readonly app?: string;
}

/** `new`: no token before. `reconnected`: the stored seller again. `seller-replaced`: on purpose. */
export type Connection = 'new' | 'reconnected' | 'seller-replaced';

/** What can be refused before the code is exchanged, so that the seller's code stays usable. */
export function refuseBeforeExchange(
  request: ConnectRequest,
  app: string,
  before: DestinationState,
): void {
  const { shop } = request;
  const about = { shop, app, codeUsed: false };
  // A link works once, even when its exchange failed: TikTok may have issued a token whose
  // answer was lost, and a second exchange could revoke it.
  if (before.linkUnfinished) {
    throw new ShopConnectionRefusedError(
      `this consent link for shop ${shop} was already used, and no token was stored by it or since: its connection did not finish (the code exchange failed or was cut short); a link works once, so the shop needs a new link`,
      'link-not-finished',
      about,
    );
  }
  if (before.linkUsed) {
    throw new ShopConnectionRefusedError(
      `this consent link for shop ${shop} was already used, and the shop holds a token stored by it or since; a link works once`,
      'link-already-used',
      about,
    );
  }
  refuseOtherApp(shop, app, before, false);
  if (request.purpose === 'connect' && before.current !== undefined) {
    throw new ShopConnectionRefusedError(
      `shop ${shop} already holds a token, and this link was made for a new shop; make a new link (it will be a reconnect link)`,
      'shop-already-connected',
      {
        ...about,
        ...(before.current.openId === undefined
          ? {}
          : { storedOpenId: clip(before.current.openId) }),
      },
    );
  }
  if (request.purpose === 'reconnect' && before.current === undefined) {
    throw new ShopConnectionRefusedError(
      `shop ${shop} holds no token to reconnect; make a new link (it will be a link for a new shop)`,
      'shop-not-connected',
      about,
    );
  }
  if (
    before.current !== undefined &&
    before.current.openId === undefined &&
    !request.replaceSeller
  ) {
    throw new ShopConnectionRefusedError(
      `the token stored for shop ${shop} names no seller (open_id), so a new token cannot be checked against it; to store one anyway: npm run authorize -- --replace-seller`,
      'stored-seller-unknown',
      about,
    );
  }
}

/**
 * A shop stays with its app: a token of another app could not be refreshed with the
 * credentials the refresher uses for the shop, and would rebind the seller's shop by surprise.
 */
export function refuseOtherApp(
  shop: string,
  app: string,
  state: DestinationState,
  codeUsed: boolean,
): void {
  if (state.app === undefined || state.app === app) return;
  const storedApp = clip(state.app);
  throw new ShopConnectionRefusedError(
    `shop ${shop} is bound to app "${storedApp}" (its secret's tiktok-shop-app tag), and this ${codeUsed ? 'authorization' : 'link'} is for app "${app}"; nothing was changed (make the link or run the command for app "${storedApp}")`,
    'app-mismatch',
    { shop, app, storedApp, codeUsed },
  );
}

/** Whether the new token may replace `current`, and what kind of connection that is. */
export function connectionFor(
  request: ConnectRequest,
  current: StoredSeller | undefined,
  openId: string,
  about: Readonly<Record<string, string | boolean>>,
): Connection {
  const { shop } = request;
  if (current === undefined) {
    if (request.purpose === 'reconnect') {
      throw new ShopConnectionRefusedError(
        `shop ${shop} holds no token to reconnect; nothing was stored`,
        'shop-not-connected',
        about,
      );
    }
    return 'new';
  }
  // The same seller, by another link at the same time: this token is the seller's latest.
  if (current.openId === openId) return 'reconnected';
  if (request.purpose === 'connect') {
    throw new ShopConnectionRefusedError(
      `shop ${shop} was connected by someone else while this link was in use; nothing was changed`,
      'shop-already-connected',
      about,
    );
  }
  if (request.replaceSeller === true) return 'seller-replaced';
  throw new ShopConnectionRefusedError(
    current.openId === undefined
      ? `the token stored for shop ${shop} names no seller (open_id); nothing was changed`
      : `shop ${shop} belongs to seller ${clip(current.openId)}, and the approval came from seller ${clip(openId)}; nothing was changed (to hand the shop to another seller on purpose: npm run authorize -- --replace-seller)`,
    current.openId === undefined ? 'stored-seller-unknown' : 'seller-mismatch',
    { ...about, ...(current.openId === undefined ? {} : { storedOpenId: clip(current.openId) }) },
  );
}
