// The errors a reader's calls throw that only the reader throws, and the base every error it
// throws extends. Messages never hold the query string, a token, the app secret or the cipher.
import { RefresherError, TikTokAnswerError, TransientError } from '../shared/errors.js';

/**
 * The base of every error the reader throws (the refresher's own base, under a name that does
 * not tie a reader to the refresher): catch it to tell this library's failures from others.
 */
export { RefresherError as TikTokShopError };

/** Whether `error` is one this library threw (a TikTokShopError). */
export function isTikTokShopError(error: unknown): error is RefresherError {
  return error instanceof RefresherError;
}

/**
 * Thrown by a reader's own API call (lambda/reader/api-client.ts) when TikTok refused the access token:
 * `withShopToken` then re-reads the secret and retries once. Its message must not hold the token.
 */
export class AccessTokenRejectedError extends RefresherError {}

/**
 * The stored access token has expired even on a fresh read: the refresher has not renewed it
 * (its alarms say why), or the seller must authorize again. Calling TikTok with it cannot work.
 */
export class ShopTokenExpiredError extends RefresherError {}

/**
 * TikTok answered a non-zero code the client does not handle itself: the caller reads
 * `tiktokCode` (e.g. an order that does not exist). Also the base of the specific refusals below.
 */
export class TikTokApiError extends TikTokAnswerError {
  constructor(
    message: string,
    tiktokCode: number | undefined,
    /** HTTP status of TikTok's answer. */
    readonly httpStatus: number,
    /** TikTok's request_id, for TikTok's support. */
    readonly requestId?: string,
  ) {
    super(message, tiktokCode);
  }
}

/** Code 106001: TikTok refused the signature. A signing bug or the wrong app secret: never retried. */
export class SignatureRejectedError extends TikTokApiError {}

/** Code 105005: the app lacks a scope the API needs; enable it, then the seller authorizes again. */
export class ScopeNotGrantedError extends TikTokApiError {}

/** Code 36009033: the caller's IP is not in the app's IP allow list (Partner Center). */
export class IpNotAllowedError extends TikTokApiError {}

/** HTTP 429 or code 36009002 / 36009037 after every attempt: call less often, or later. */
export class RateLimitedError extends TransientError {}

/** The token covers no shop matching the selection, or several: the message lists them. */
export class ShopSelectionError extends RefresherError {}
