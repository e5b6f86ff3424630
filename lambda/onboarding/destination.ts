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
   * The app the shop's secret is bound to: its `tiktok-shop-app` tag, DEFAULT_APP without one.
   * Absent when there is no secret yet, or the destination keeps no app (a file).
   */
  readonly app?: string;
  /** A version written with this link's nonce exists: the link was used. */
  readonly linkUsed: boolean;
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
  /** `link-used`: the link's version holds another value. `moved`: another token became current first. */
  | { readonly stored: false; readonly reason: 'link-used' | 'moved' };

/** Where a shop's token goes: a Secrets Manager secret, or a local file. */
export interface ShopTokenDestination {
  /** Secret name or file path. */
  readonly name: string;
  inspect(linkNonce: string | undefined): Promise<DestinationState>;
  /** Other shops whose stored token belongs to this seller. */
  shopsOfSeller(openId: string): Promise<string[]>;
  /**
   * Stores `raw` only if the current token is still `basedOnVersionId` (undefined: none yet),
   * as the link's own version when there is a link, bound to `app`.
   */
  write(
    raw: string,
    options: {
      readonly basedOnVersionId: string | undefined;
      readonly linkNonce: string | undefined;
      readonly openId: string;
      readonly app: string;
    },
  ): Promise<DestinationWrite>;
}

/**
 * The version id a consent link writes: fixed by the secret and the link's nonce, so a second
 * use of the link, with another seller's token, is a second value for the same version, which
 * Secrets Manager refuses (ResourceExistsException).
 */
export function linkVersionId(secretName: string, nonce: string): string {
  return uuidFromSha256('consent-link', secretName, nonce);
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
