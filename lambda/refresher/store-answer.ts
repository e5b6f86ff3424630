// Storing TikTok's answer: made current when it may be, kept beside the current token when not,
// and never lost between TikTok's answer and the write.
import {
  describeError,
  RefreshTokenExpiredError,
  SellerChangedError,
  TokenNotCurrentError,
  TokenNotStoredError,
} from '../shared/errors.js';
import {
  KEPT_LABEL,
  type StoredToken,
  type TokenStore,
  type WriteOutcome,
} from '../shared/secrets-store.js';
import {
  expiresAt,
  fitToStore,
  MAX_STORED_BYTES,
  type TokenAnswer,
  type TokenDocument,
} from '../shared/token.js';
import { failedReport, refreshedReport, type ShopReport, supersededReport } from './reports.js';
import type { Shop } from './shops.js';
import { judge, keptAnswerAhead } from './token-policy.js';

/** TikTok's answer to one refresh, and what it was asked with. */
export interface Answered {
  readonly shop: Shop;
  readonly answer: TokenAnswer;
  /** The token whose refresh token was presented. */
  readonly previous: TokenDocument;
  /** The version the answer replaces: the write succeeds only while it is still current. */
  readonly basedOn: string;
  /** The token presented came from an earlier run's write that this run made current. */
  readonly recovered: boolean;
}

/**
 * What TikTok answered is written before anything else can fail: made current when it is a
 * usable token for this seller, otherwise kept under KEPT_LABEL and reported with where it is.
 * Nothing between TikTok's answer and the write can throw.
 */
export async function storeAnswer(
  { shop, answer, previous, basedOn, recovered }: Answered,
  store: TokenStore,
  now: number,
): Promise<ShopReport> {
  const verdict = judge(answer, previous, now);
  const fitted = fitToStore(answer.raw);
  if (fitted === undefined) {
    throw new TokenNotStoredError(
      `TikTok issued a new token in an answer of ${Buffer.byteLength(answer.raw)} bytes, and even its token fields do not fit in the ${MAX_STORED_BYTES} bytes a secret holds; it could not be stored`,
    );
  }
  if (!verdict.current) {
    let versionId: string;
    try {
      versionId = await store.keep(shop.id, fitted.text);
    } catch (error) {
      throw new TokenNotStoredError(
        `TikTok answered code 0 with a refresh token that could not be stored (${verdict.reason}): ${describeError(error).message}`,
        { cause: error },
      );
    }
    const where = `kept as version ${versionId} (label ${KEPT_LABEL}) of secret ${shop.name}, not made current`;
    const kept = { versionId, label: KEPT_LABEL };
    if (verdict.sellerChanged) {
      throw new SellerChangedError(`TikTok's answer ${verdict.reason}: ${where}`, kept);
    }
    throw new TokenNotCurrentError(`TikTok answered code 0 but ${verdict.reason}: ${where}`, kept);
  }

  let written: WriteOutcome;
  try {
    written = await store.replace(shop.id, fitted.text, basedOn);
  } catch (error) {
    throw new TokenNotStoredError(
      `TikTok issued a new token that could not be stored: ${describeError(error).message}`,
      { cause: error },
    );
  }
  if (!written.stored) return supersededReport(shop);
  const { data } = verdict.document;
  if (data.refresh_token_expire_in * 1000 <= now) {
    return failedReport(
      shop,
      new RefreshTokenExpiredError(
        `seller must authorize again: TikTok issued a new access token, made current (version ${written.versionId}) and valid until ${expiresAt(data.access_token_expire_in)}, but its refresh token expired at ${expiresAt(data.refresh_token_expire_in)}`,
      ),
      verdict.document,
    );
  }
  const report = refreshedReport(shop, verdict.document, recovered, now);
  if (fitted.trimmedFromBytes === undefined) return report;
  return { ...report, result: { ...report.result, trimmedFromBytes: fitted.trimmedFromBytes } };
}

/**
 * An answer kept by an earlier run and written after the current token may hold the only refresh
 * token that works. Presenting the replaced one could make TikTok revoke it, so nothing is asked
 * until a person has made the kept answer current or removed its label; and every run, due or
 * not, dry or not, reports the shop failed meanwhile, so that the alarm stays on. The kept label
 * was read with the token, in the same round.
 */
export function refuseWhileAnswerKept(shop: Shop, stored: StoredToken): void {
  const kept = keptAnswerAhead(stored);
  if (kept === undefined) return;
  throw new TokenNotCurrentError(
    `an earlier run kept TikTok's answer as version ${kept.versionId} (label ${KEPT_LABEL}) of secret ${shop.name}, newer than the current token; TikTok is not called until someone makes it current or removes the label`,
    { versionId: kept.versionId, label: KEPT_LABEL },
  );
}
