// TikTok's answer to a code exchange: whether it can become a shop's current token, and where
// it is kept when it cannot (never thrown away: the exchange may have revoked the seller's tokens).
import { describeError, TokenNotCurrentError, TokenNotStoredError } from '../shared/errors.js';
import { expiresAt, type TokenAnswer, type TokenDocument } from '../shared/token.js';
import type { KeptAnswer, ShopTokenDestination } from './destination.js';

type AnswerVerdict =
  | { readonly current: true; readonly document: TokenDocument; readonly openId: string }
  | { readonly current: false; readonly reason: string };

/** Whether TikTok's answer can be a shop's current token, and why not. */
export function judgeAnswer(answer: TokenAnswer, now: number): AnswerVerdict {
  if (!answer.usable) {
    return {
      current: false,
      reason: `it is not a token document (${answer.problems.join('; ')})`,
    };
  }
  const { data } = answer.document;
  if (data.access_token_expire_in * 1000 <= now) {
    return {
      current: false,
      reason: `its access token had already expired (at ${expiresAt(data.access_token_expire_in)})`,
    };
  }
  if (data.open_id === undefined || data.open_id === '') {
    return { current: false, reason: 'it names no seller (open_id), so it cannot be bound to one' };
  }
  return { current: true, document: answer.document, openId: data.open_id };
}

/** An answer that cannot be current, kept beside the link's shop token: the error that says where. */
export async function keepAnswer(
  destination: ShopTokenDestination,
  raw: string,
  reason: string,
): Promise<TokenNotCurrentError | TokenNotStoredError> {
  let kept: KeptAnswer;
  try {
    kept = await destination.keep(raw);
  } catch (error) {
    return new TokenNotStoredError(
      `TikTok answered code 0 but ${reason}, and the answer could not be kept: ${describeError(error).message}; the authorization code is used up, so the seller must approve the app again`,
      { cause: error },
    );
  }
  return new TokenNotCurrentError(
    `TikTok answered code 0 but ${reason}: kept as ${kept.where}, not made current; shop ${destination.shop} is not connected until someone makes it current or the seller approves the app again`,
    { versionId: kept.versionId, label: kept.label },
  );
}

/** What events and logs may say about the seller of an answer: never a token. */
export function aboutSeller(
  shop: string,
  app: string,
  document: TokenDocument,
): Readonly<Record<string, string | boolean>> {
  const { open_id: openId, seller_name: sellerName } = document.data;
  return {
    shop,
    app,
    codeUsed: true,
    ...(openId === undefined ? {} : { openId: clip(openId) }),
    ...(sellerName === undefined ? {} : { sellerName: clip(sellerName) }),
  };
}

/** TikTok's words about a seller, bounded before they reach a message, a log line or an event. */
export function clip(text: string): string {
  return text.length > 128 ? `${text.slice(0, 128)}…` : text;
}
