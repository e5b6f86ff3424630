// Where a shop's token goes (a Secrets Manager secret, or a local file): what connecting a shop
// asks of it, and the naming both kinds of destination share.
import { createHash } from 'node:crypto';
import { uuidFromSha256 } from '../shared/aws-call.js';
import { parseTokenDocument } from '../shared/token.js';

/** The seller a stored token belongs to, from its own document. */
export interface StoredSeller {
  readonly versionId: string;
  /** Absent when the stored value names no open_id (put in by hand, or not a token). */
  readonly openId?: string;
  readonly sellerName?: string;
}

export interface DestinationState {
  /** The token stored now; absent when the shop holds none yet. */
  readonly current?: StoredSeller;
  /**
   * The current version when it holds no token but a placeholder (see `placeholderValue`): the
   * version a first token's compare-and-swap replaces.
   */
  readonly placeholderVersionId?: string;
  /**
   * The app the shop's secret is bound to: its `tiktok-shop-app` tag, DEFAULT_APP without one.
   * Absent when there is no secret yet, or the destination keeps no app (a file).
   */
  readonly app?: string;
  /** The link was claimed (`claimLink`): it was used. */
  readonly linkUsed: boolean;
  /**
   * The link was claimed and no token was stored since, by it or anyone: its code exchange failed
   * or was cut short, so it connected nothing.
   */
  readonly linkUnfinished?: true;
}

/**
 * A link's use from when it was claimed and when the current token was stored (epoch ms; absent:
 * not claimed, no token). A claim whose time is unknown (made before it was recorded) counts as
 * older than any token.
 */
export function linkUse(
  claimedAt: number | undefined,
  tokenStoredAt: number | undefined,
): Pick<DestinationState, 'linkUsed' | 'linkUnfinished'> {
  if (claimedAt === undefined) return { linkUsed: false };
  return tokenStoredAt !== undefined && tokenStoredAt >= claimedAt
    ? { linkUsed: true }
    : { linkUsed: true, linkUnfinished: true };
}

/** What a write binds the token to: the version it replaces, the seller and the app. */
export interface WriteOptions {
  /** The current version the write replaces; undefined: none yet. */
  readonly basedOnVersionId: string | undefined;
  readonly openId: string;
  readonly app: string;
}

export type DestinationWrite =
  | {
      readonly stored: true;
      readonly versionId: string;
      /** True when the secret or file was created by this write. */
      readonly created: boolean;
      readonly arn?: string;
      /** What went wrong after the token was stored (a tag not updated), for the log. */
      readonly warnings: readonly string[];
    }
  /** Another token became current first. */
  | { readonly stored: false; readonly reason: 'moved' };

/** A consent link claimed by this use, or by another one first. */
export type LinkClaim =
  | {
      readonly claimed: true;
      /** Set when the claim is the secret's current version (a new shop's secret). */
      readonly currentVersionId?: string;
      /** The claim created the secret. */
      readonly created: boolean;
    }
  | { readonly claimed: false };

/** An answer kept beside the shop's token, not current: where it is, for a person to find. */
export interface KeptAnswer {
  readonly versionId: string;
  /** The label it carries (KEPT_LABEL), or the file it is in. */
  readonly label: string;
  /** `version … (label …) of secret …`, or `file …`. */
  readonly where: string;
}

/** Where a shop's token goes: a Secrets Manager secret, or a local file. */
export interface ShopTokenDestination {
  /** The shop's name. */
  readonly shop: string;
  /** Secret name or file path. */
  readonly name: string;
  inspect(linkNonce: string | undefined): Promise<DestinationState>;
  /**
   * Claims a consent link before its code is exchanged, once: of two uses at once, only one
   * exchanges a code (each exchange may revoke the token the other brought). Absent where no
   * link is used (a file).
   */
  claimLink?(linkNonce: string): Promise<LinkClaim>;
  /** The destinations of other shops whose stored token belongs to this seller. */
  shopsOfSeller(openId: string): Promise<ShopTokenDestination[]>;
  /**
   * Stores `raw` only if the current version is still `basedOnVersionId` (undefined: none
   * yet), bound to `app`.
   */
  write(raw: string, options: WriteOptions): Promise<DestinationWrite>;
  /** Stores `raw` beside the shop's token, never current (a secret without token included). */
  keep(raw: string): Promise<KeptAnswer>;
}

/**
 * The seller's shop of `app` other than `destination`'s, as it is now, when there is one: the
 * seller tag only points at it, the stored token decides.
 */
export async function sellersOwnShop(
  destination: ShopTokenDestination,
  openId: string,
  app: string,
): Promise<{ destination: ShopTokenDestination; state: DestinationState } | undefined> {
  for (const other of await destination.shopsOfSeller(openId)) {
    const state = await other.inspect(undefined);
    if (state.app === app && state.current?.openId === openId) return { destination: other, state };
  }
  return undefined;
}

/**
 * The version id of a consent link's claim: fixed by the secret and the link's nonce, so a second
 * use of the link, with its own claim, is a second value for the same version, which Secrets
 * Manager refuses (ResourceExistsException).
 */
export function linkVersionId(secretName: string, nonce: string): string {
  return uuidFromSha256('consent-link', secretName, nonce);
}

/** The key of a placeholder document: a version that holds no token, and says why. */
const PLACEHOLDER_KEY = 'tiktok_shop_no_token';

/**
 * A version that holds no token: a consent link's claim (`claim` unique to the use), or what a
 * secret gets first when TikTok's answer is kept in it (Secrets Manager makes a secret's first
 * version current, whatever it is). Onboarding takes it for no token; to the refresher and
 * readers it is a secret that holds no token document.
 */
export function placeholderValue(why: string, claim?: string): string {
  return JSON.stringify({ [PLACEHOLDER_KEY]: { why, ...(claim === undefined ? {} : { claim }) } });
}

export function isPlaceholder(raw: string): boolean {
  try {
    const parsed: unknown = JSON.parse(raw);
    return typeof parsed === 'object' && parsed !== null && PLACEHOLDER_KEY in parsed;
  } catch {
    return false;
  }
}

/**
 * A seller's open_id as a tag value: tag values allow letters, digits, spaces and `_.:/=+-@`
 * up to 256 characters; anything else is replaced by its hash, the same each time.
 */
export function sellerTagValue(openId: string): string {
  if (/^[A-Za-z0-9_.:/=+@-]{1,200}$/.test(openId)) return openId;
  return `sha256:${createHash('sha256').update(openId).digest('hex')}`;
}

/** The seller of a stored token document; undefined fields when it names none or is no token. */
export function storedSeller(versionId: string, raw: string): StoredSeller {
  const parsed = parseTokenDocument(stripByteOrderMark(raw));
  if (!parsed.ok) return { versionId };
  const { open_id: openId, seller_name: sellerName } = parsed.value.data;
  return {
    versionId,
    ...(openId === undefined || openId === '' ? {} : { openId }),
    ...(sellerName === undefined ? {} : { sellerName }),
  };
}

/** Text saved by an editor on Windows may start with a UTF-8 byte-order mark, which JSON refuses. */
export function stripByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
