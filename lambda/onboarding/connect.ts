// The connection rules: which authorization may become a shop's token, checked before the code
// is exchanged where possible; once TikTok has answered, its answer is stored somewhere.
import { DEFAULT_APP, SHOP_NAME } from '../shared/contract.js';
import { describeError, TokenNotStoredError, UsageError } from '../shared/errors.js';
import {
  type AppCredentials,
  expiresAt,
  fitToStore,
  MAX_STORED_BYTES,
  type TokenAnswer,
  type TokenDocument,
} from '../shared/token.js';
import { aboutSeller, clip, judgeAnswer, keepAnswer } from './answer.js';
import {
  type DestinationState,
  type DestinationWrite,
  type ShopTokenDestination,
  type StoredSeller,
  sellersOwnShop,
} from './destination.js';
import { ShopConnectionRefusedError } from './errors.js';
import {
  type Connection,
  type ConnectRequest,
  connectionFor,
  refuseBeforeExchange,
  refuseOtherApp,
} from './refusals.js';
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
 * - a consent link used a second time, or twice at once (a double approval): the link is
 *   claimed before its code is exchanged, so only one use exchanges a code;
 * - a `connect` link for a shop that holds a token, a `reconnect` link for one that does not;
 * - another seller (TikTok's `open_id`) than the one stored: only the operator replaces a
 *   shop's seller, on purpose (`npm run authorize -- --replace-seller`);
 * - a seller already connected under another shop name (two secrets refreshing one seller's
 *   rotating refresh token would lock one of them out);
 * - a code of another TikTok app than the one the shop's secret is bound to (its
 *   `tiktok-shop-app` tag): the refresher renews a shop's token with its own app's credentials.
 *
 * Everything that can be checked before the code is exchanged is: a refused link does not use
 * up the seller's code. An exchange may revoke the seller's earlier tokens (TikTok at its worst),
 * so a token TikTok issued is never thrown away by the checks made after it:
 *
 * - a token of a seller who already holds a shop of this app belongs to that shop: it is stored
 *   there (compare-and-swap, seller checked), whatever link brought it, and the link's shop is
 *   refused, naming the shop that received it (ConnectedElsewhereError);
 * - an answer that cannot be a current token is kept beside the shop's token, never current,
 *   and reported (TokenNotCurrentError), as the refresher keeps its own;
 * - only a token of a seller who holds no shop here is dropped when refused: none of the
 *   tokens kept here was that seller's, so none was revoked.
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

export type { Connection, ConnectRequest } from './refusals.js';

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
    /** Any code-0 answer that carries a refresh token, usable or not; throws for the rest. */
    getToken(credentials: AppCredentials, authCode: string): Promise<TokenAnswer>;
  };
  readonly destination: ShopTokenDestination;
  /** Epoch ms. */
  readonly now: () => number;
  /** The secret's shop state after the token is stored; absent for a file, which has none. */
  readonly shopState?: ShopStateDependencies;
}

/**
 * The link's shop was refused after the seller's token was stored in the seller's own shop
 * (`connected`): the page, the event and the log name the shop that received it.
 */
export class ConnectedElsewhereError extends ShopConnectionRefusedError {
  constructor(
    message: string,
    reason: ShopConnectionRefusedError['reason'],
    detail: ShopConnectionRefusedError['detail'],
    readonly connected: ConnectedShop,
  ) {
    super(message, reason, detail);
  }
}

/**
 * Checks, claims the link, exchanges the code, checks the seller, stores. A refusal before the
 * exchange has `detail.codeUsed` false; after it, the token went to the seller's own shop
 * (ConnectedElsewhereError) or belongs to no shop here. A refused code throws TikTok's error; an
 * answer that cannot be current is kept (TokenNotCurrentError); a token that could not be
 * stored is lost (an auth code works once): TokenNotStoredError.
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
  let state = before;
  let created = false;
  if (linkNonce !== undefined) {
    const claim = (await destination.claimLink?.(linkNonce)) ?? { claimed: true, created };
    if (!claim.claimed) {
      throw new ShopConnectionRefusedError(
        `this consent link for shop ${shop} was claimed by another approval of it just before this one (approved twice at once?); only that one exchanges its code, so nothing was changed by this one`,
        'link-already-used',
        { shop, app, codeUsed: false },
      );
    }
    if (claim.currentVersionId !== undefined) {
      state = { ...before, placeholderVersionId: claim.currentVersionId };
    }
    created = claim.created;
  }

  const credentials = await deps.appCredentials();
  const answer = await deps.tiktok.getToken(credentials, request.authCode);
  // TikTok issued a token, and the exchange may have revoked the seller's earlier ones: from
  // here on, the answer is stored somewhere before anything else can fail.
  const storable = fitToStore(answer.raw);
  if (storable === undefined) {
    throw new TokenNotStoredError(
      `TikTok issued the shop's token in an answer too large for a secret (over ${MAX_STORED_BYTES} bytes even without its optional fields); nothing was stored, and the seller must approve the app again`,
    );
  }
  const verdict = judgeAnswer(answer, deps.now());
  if (!verdict.current) {
    throw await keepAnswer(destination, storable.text, verdict.reason);
  }
  const token = { raw: storable.text, document: verdict.document };
  // Once stored, a secret's shop state follows: the deauthorized mark cleared, shop ids tagged.
  const settle = (secretName: string, accessToken: string) =>
    deps.shopState === undefined
      ? Promise.resolve(undefined)
      : settleShopState(secretName, credentials, accessToken, deps.shopState);
  const openId = verdict.openId;
  const about = aboutSeller(shop, app, token.document);

  if (state.current?.openId !== openId) {
    const own = await sellersOwnShop(destination, openId, app).catch((error: unknown) => {
      throw notStored(error);
    });
    if (own !== undefined) {
      const connected = await store(own.destination, own.state, token, app, settle, (current) => {
        if (current?.openId === openId) return 'reconnected';
        throw new ShopConnectionRefusedError(
          `seller ${clip(openId)} was connected as shop ${own.destination.shop}, which went to another seller while this token was being stored there; nothing was changed`,
          'seller-mismatch',
          about,
        );
      });
      const message =
        state.current === undefined
          ? `seller ${clip(openId)} is already connected as shop ${own.destination.shop}: the new token was stored there (version ${connected.stored.versionId} of ${connected.stored.name}), and shop ${shop} was not connected (one seller's token is kept under one shop name only)`
          : `shop ${shop} belongs to ${state.current.openId === undefined ? 'no known seller' : `seller ${clip(state.current.openId)}`}, and the approval came from seller ${clip(openId)}, who is connected as shop ${own.destination.shop}: the new token was stored there (version ${connected.stored.versionId} of ${connected.stored.name}); shop ${shop} was not changed`;
      throw new ConnectedElsewhereError(
        message,
        state.current === undefined ? 'seller-connected-elsewhere' : 'seller-mismatch',
        {
          ...about,
          otherShops: [own.destination.name],
          tokenStoredIn: own.destination.name,
          ...(state.current?.openId === undefined
            ? {}
            : { storedOpenId: clip(state.current.openId) }),
        },
        connected,
      );
    }
  }
  const connected = await store(destination, state, token, app, settle, (current) =>
    connectionFor(request, current, openId, about),
  );
  // The link's claim created the secret: this connection did.
  return created ? { ...connected, stored: { ...connected.stored, created } } : connected;
}

/** A token TikTok issued: as it is stored, and its document. */
interface IssuedToken {
  readonly raw: string;
  readonly document: TokenDocument;
}

/**
 * Writes the token over the version `state` saw, by compare-and-swap: when another writer made
 * a token current meanwhile, looks again and asks `allow` again (which throws a refusal).
 */
async function store(
  destination: ShopTokenDestination,
  state: DestinationState,
  token: IssuedToken,
  app: string,
  settle: (secretName: string, accessToken: string) => Promise<SettledShopState | undefined>,
  allow: (current: StoredSeller | undefined) => Connection,
): Promise<ConnectedShop> {
  const { data } = token.document;
  const openId = data.open_id ?? '';
  let current = state.current;
  let basedOn = current?.versionId ?? state.placeholderVersionId;
  for (let attempt = 1; ; attempt++) {
    const connection = allow(current);
    let written: DestinationWrite;
    try {
      written = await destination.write(token.raw, { basedOnVersionId: basedOn, openId, app });
    } catch (error) {
      throw notStored(error);
    }
    if (written.stored) {
      const settled = await settle(destination.name, data.access_token);
      return {
        shop: destination.shop,
        app,
        connection,
        stored: {
          name: destination.name,
          versionId: written.versionId,
          created: written.created,
          ...(written.arn === undefined ? {} : { arn: written.arn }),
        },
        openId: clip(openId),
        ...(data.seller_name === undefined ? {} : { sellerName: clip(data.seller_name) }),
        ...(connection === 'seller-replaced' && state.current?.openId !== undefined
          ? { previousOpenId: clip(state.current.openId) }
          : {}),
        accessTokenExpiresAt: expiresAt(data.access_token_expire_in),
        refreshTokenExpiresAt: expiresAt(data.refresh_token_expire_in),
        ...shopStateFields(settled),
        warnings: [...written.warnings, ...(settled?.warnings ?? [])],
      };
    }
    if (attempt >= MAX_WRITE_ATTEMPTS) {
      throw new TokenNotStoredError(
        `TikTok issued the shop's token and it could not be stored: the stored token changed ${attempt} times while it was being written; the authorization code is used up, so the seller must approve the app again`,
      );
    }
    // Another writer made a token current since the look (most likely the refresher): look
    // again, and store only if the shop still belongs to this seller and this app.
    let again: DestinationState;
    try {
      again = await destination.inspect(undefined);
    } catch (error) {
      throw notStored(error);
    }
    refuseOtherApp(destination.shop, app, again, true);
    current = again.current;
    basedOn = current?.versionId ?? again.placeholderVersionId;
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

function notStored(error: unknown): Error {
  if (error instanceof ShopConnectionRefusedError || error instanceof TokenNotStoredError) {
    return error;
  }
  return new TokenNotStoredError(
    `TikTok issued the shop's token and it could not be stored; the authorization code is used up, so the seller must approve the app again: ${describeError(error).message}`,
    { cause: error },
  );
}
