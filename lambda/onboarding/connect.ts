// The connection rules: which authorization may become a shop's token, checked before the code
// is exchanged where possible and before anything is written always.
import { DEFAULT_APP, SHOP_NAME } from '../shared/contract.js';
import { describeError, TokenNotStoredError, UsageError } from '../shared/errors.js';
import {
  type AppCredentials,
  expiresAt,
  fitToStore,
  MAX_STORED_BYTES,
  type ParsedToken,
} from '../shared/token.js';
import type { LinkPurpose } from './consent-state.js';
import type {
  DestinationState,
  DestinationWrite,
  ShopTokenDestination,
  StoredSeller,
} from './destination.js';
import { ShopConnectionRefusedError } from './errors.js';
import {
  type SettledShopState,
  type ShopStateDependencies,
  settleShopState,
} from './shop-state.js';

/**
 * Connecting a shop: exchange the seller's authorization code for the shop's token and store
 * TikTok's answer unchanged where the refresher will find it. Shared by the consent callback
 * and the authorize command, so both refuse the same things:
 *
 * - a consent link used a second time (its nonce keys a version Secrets Manager accepts once);
 * - a `connect` link for a shop that already holds a token, a `reconnect` link for one that
 *   does not;
 * - a token of another seller (TikTok's `open_id`) than the one stored: only the operator
 *   replaces a shop's seller, on purpose (`npm run authorize -- --replace-seller`);
 * - a seller already connected under another shop name (two secrets refreshing one seller's
 *   rotating refresh token would lock one of them out);
 * - a code of another TikTok app than the one the shop's secret is bound to (its
 *   `tiktok-shop-app` tag): the refresher renews a shop's token with its own app's credentials.
 *
 * Everything that can be checked before the code is exchanged is: a refused link does not use
 * up the seller's code. The rest is checked before anything is written, and the write itself
 * is a compare-and-swap on the version that was checked.
 */

/** Attempts at the compare-and-swap when another writer (the refresher) moved the token meanwhile. */
const MAX_WRITE_ATTEMPTS = 3;

export function checkShopName(shop: string): string {
  if (!SHOP_NAME.test(shop)) {
    throw new UsageError(
      `shop name must be 1 to 64 letters, digits, '-' or '_', starting with a letter or digit (got ${JSON.stringify(shop.slice(0, 80))})`,
    );
  }
  return shop;
}

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

/** What may be shown about a connected shop: never a token. */
export interface ConnectedShop {
  readonly shop: string;
  /** The app the token was issued to, and the shop is bound to. */
  readonly app: string;
  readonly connection: Connection;
  readonly stored: {
    readonly name: string;
    readonly versionId: string;
    readonly created: boolean;
    readonly arn?: string;
  };
  readonly openId: string;
  readonly sellerName?: string;
  /** The seller the shop belonged to, when it was replaced. */
  readonly previousOpenId?: string;
  readonly accessTokenExpiresAt: string;
  readonly refreshTokenExpiresAt: string;
  /** The TikTok shop ids the token covers, tagged on the secret for the webhook receiver. */
  readonly tiktokShopIds?: readonly string[];
  /** The shop ids could not be learned or tagged (see the warnings); the next refresh tries again. */
  readonly shopIdsNotLearned?: true;
  readonly warnings: readonly string[];
}

export interface ConnectDependencies {
  readonly appCredentials: () => Promise<AppCredentials>;
  readonly tiktok: {
    getToken(credentials: AppCredentials, authCode: string): Promise<ParsedToken>;
  };
  readonly destination: ShopTokenDestination;
  /** The secret's shop state after the token is stored; absent for a file, which has none. */
  readonly shopState?: ShopStateDependencies;
}

/**
 * Checks, exchanges the code, checks the seller, stores. A refusal is
 * ShopConnectionRefusedError (nothing written; `detail.codeUsed` says whether the code was
 * exchanged). A refused code throws TikTok's error before anything is written. An auth code
 * works once, so a token that could not be stored is lost: that is TokenNotStoredError.
 */
export async function connectShop(
  request: ConnectRequest,
  deps: ConnectDependencies,
): Promise<ConnectedShop> {
  const { shop, linkNonce } = request;
  const app = request.app ?? DEFAULT_APP;
  const { destination } = deps;
  const before = await destination.inspect(linkNonce);
  refuseBeforeExchange(request, app, before);

  const credentials = await deps.appCredentials();
  const token = await deps.tiktok.getToken(credentials, request.authCode);
  // A secret holds 64 KB: a larger answer is stored as the token's fields (the code is used up).
  const storable = fitToStore(token.raw);
  if (storable === undefined) {
    throw new TokenNotStoredError(
      `TikTok issued the shop's token in an answer too large for a secret (over ${MAX_STORED_BYTES} bytes even without its optional fields); nothing was stored, and the seller must approve the app again`,
    );
  }
  const { data } = token.document;
  const openId = data.open_id ?? '';
  const sellerName = data.seller_name === undefined ? undefined : clip(data.seller_name);
  const about = {
    shop,
    app,
    codeUsed: true,
    ...(openId === '' ? {} : { openId: clip(openId) }),
    ...(sellerName === undefined ? {} : { sellerName }),
  };
  if (openId === '') {
    throw new ShopConnectionRefusedError(
      `TikTok's answer for shop ${shop} names no seller (open_id), so it cannot be bound to one; nothing was stored`,
      'seller-unknown',
      about,
    );
  }
  let current = before.current;
  let connection = connectionFor(request, current, openId, about);
  const elsewhere = await destination.shopsOfSeller(openId);
  if (elsewhere.length > 0) {
    throw new ShopConnectionRefusedError(
      `seller ${clip(openId)} is already connected as ${elsewhere.slice(0, 5).join(', ')}; shop ${shop} was not connected (one seller's token is kept under one shop name only)`,
      'seller-connected-elsewhere',
      { ...about, otherShops: elsewhere.slice(0, 5) },
    );
  }

  for (let attempt = 1; ; attempt++) {
    let written: DestinationWrite;
    try {
      written = await destination.write(storable.text, {
        basedOnVersionId: current?.versionId,
        linkNonce,
        openId,
        app,
      });
      if (!written.stored && written.reason === 'moved' && attempt < MAX_WRITE_ATTEMPTS) {
        // Another writer made a token current since the look (most likely the refresher): look
        // again, and store only if the shop still belongs to this seller and this app.
        const again = await destination.inspect(linkNonce);
        refuseOtherApp(shop, app, again, true);
        current = again.current;
      }
    } catch (error) {
      throw error instanceof ShopConnectionRefusedError ? error : notStored(error);
    }
    if (written.stored) {
      const settled =
        deps.shopState === undefined
          ? undefined
          : await settleShopState(destination.name, credentials, data.access_token, deps.shopState);
      return {
        shop,
        app,
        connection,
        stored: {
          name: destination.name,
          versionId: written.versionId,
          created: written.created,
          ...(written.arn === undefined ? {} : { arn: written.arn }),
        },
        openId: clip(openId),
        ...(sellerName === undefined ? {} : { sellerName }),
        ...(connection === 'seller-replaced' && before.current?.openId !== undefined
          ? { previousOpenId: clip(before.current.openId) }
          : {}),
        accessTokenExpiresAt: expiresAt(data.access_token_expire_in),
        refreshTokenExpiresAt: expiresAt(data.refresh_token_expire_in),
        ...shopStateFields(settled),
        warnings: [...written.warnings, ...(settled?.warnings ?? [])],
      };
    }
    if (written.reason === 'link-used') {
      throw new ShopConnectionRefusedError(
        `this consent link for shop ${shop} was used at the same time by another approval, which was stored first; nothing was changed by this one`,
        'link-already-used',
        about,
      );
    }
    if (attempt >= MAX_WRITE_ATTEMPTS) {
      throw new TokenNotStoredError(
        `TikTok issued the shop's token and it could not be stored: the stored token changed ${attempt} times while it was being written; the authorization code is used up, so the seller must approve the app again`,
      );
    }
    connection = connectionFor(request, current, openId, about);
  }
}

function shopStateFields(
  settled: SettledShopState | undefined,
): Pick<ConnectedShop, 'tiktokShopIds' | 'shopIdsNotLearned'> {
  if (settled === undefined) return {};
  return settled.shopIdsLearned && settled.tiktokShopIds !== undefined
    ? { tiktokShopIds: settled.tiktokShopIds }
    : { shopIdsNotLearned: true };
}

function notStored(error: unknown): TokenNotStoredError {
  return new TokenNotStoredError(
    `TikTok issued the shop's token and it could not be stored; the authorization code is used up, so the seller must approve the app again: ${describeError(error).message}`,
    { cause: error },
  );
}

/** What can be refused before the code is exchanged, so that the seller's code stays usable. */
function refuseBeforeExchange(
  request: ConnectRequest,
  app: string,
  before: DestinationState,
): void {
  const { shop } = request;
  const about = { shop, app, codeUsed: false };
  if (before.linkUsed) {
    throw new ShopConnectionRefusedError(
      `this consent link for shop ${shop} was already used to connect it; a link works once`,
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
function refuseOtherApp(
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
function connectionFor(
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
  if (request.purpose === 'connect') {
    throw new ShopConnectionRefusedError(
      `shop ${shop} was connected by someone else while this link was in use; nothing was changed`,
      'shop-already-connected',
      about,
    );
  }
  if (current.openId === openId) return 'reconnected';
  if (request.replaceSeller === true) return 'seller-replaced';
  throw new ShopConnectionRefusedError(
    current.openId === undefined
      ? `the token stored for shop ${shop} names no seller (open_id); nothing was changed`
      : `shop ${shop} belongs to seller ${clip(current.openId)}, and the approval came from seller ${clip(openId)}; nothing was changed (to hand the shop to another seller on purpose: npm run authorize -- --replace-seller)`,
    current.openId === undefined ? 'stored-seller-unknown' : 'seller-mismatch',
    { ...about, ...(current.openId === undefined ? {} : { storedOpenId: clip(current.openId) }) },
  );
}

/** TikTok's words about a seller, bounded before they reach a message, a log line or an event. */
function clip(text: string): string {
  return text.length > 128 ? `${text.slice(0, 128)}…` : text;
}
