// What TikTok's refusal of an Open API call means: each code, or an answer without TikTok's
// envelope, to the one error that says what to do. Quotes only redacted, bounded text.
import {
  ReauthorizationRequiredError,
  TransientError,
  UnexpectedResponseError,
} from '../shared/errors.js';
import { redact } from '../shared/redact.js';
import { retryAfterMs } from '../shared/tiktok-http.js';
import {
  AccessTokenRejectedError,
  IpNotAllowedError,
  RateLimitedError,
  ScopeNotGrantedError,
  SignatureRejectedError,
  TikTokApiError,
} from './errors.js';

/** Longest request_id quoted: TikTok's are about 32 characters. */
const MAX_REQUEST_ID_LENGTH = 128;

export function answerWithoutEnvelope(
  what: string,
  status: number,
  retryAfter: string | null,
): Error {
  if (status === 429) {
    return new RateLimitedError(`TikTok rate-limited ${what} (HTTP 429)`, {
      retryAfterMs: retryAfterMs(retryAfter),
    });
  }
  if (status >= 500) return new TransientError(`TikTok answered ${what} with HTTP ${status}`);
  return new UnexpectedResponseError(
    `TikTok answered ${what} with HTTP ${status} and a body that is not its JSON envelope`,
  );
}

/** TikTok's request_id as it may be quoted: another host's may repeat the signed request. */
export function boundedRequestId(requestId: string, secrets: readonly string[]): string {
  const clean = redact(requestId, secrets);
  return clean.length > MAX_REQUEST_ID_LENGTH ? `${clean.slice(0, MAX_REQUEST_ID_LENGTH)}…` : clean;
}

export interface Refusal {
  readonly what: string;
  readonly status: number;
  readonly code: number;
  /** TikTok's message, redacted. */
  readonly said: string;
  /** Redacted and bounded. */
  readonly requestId?: string;
  readonly retryAfter: string | null;
  readonly tokenSecretId: string;
  readonly appCredentialsSecretId: string;
}

/** TikTok's reference table, narrowly: each code to the one error that says what to do. */
export function refusal(answer: Refusal): Error {
  const { what, status, code, said, requestId } = answer;
  const told = `TikTok code ${code}: ${said}${requestId === undefined ? '' : `, request_id ${requestId}`}`;
  const api = (
    ErrorClass: new (
      message: string,
      tiktokCode: number,
      httpStatus: number,
      requestId?: string,
    ) => TikTokApiError,
    advice: string,
  ) => new ErrorClass(`TikTok refused ${what} (${told}): ${advice}`, code, status, requestId);

  if (code === 105002 || (code === 36009004 && /access[\s_-]?token/i.test(said))) {
    return new AccessTokenRejectedError(
      `TikTok refused the access token of secret ${answer.tokenSecretId} for ${what} (${told})`,
    );
  }
  switch (code) {
    case 105001:
      return new ReauthorizationRequiredError(
        `seller must authorize again: TikTok says the authorization behind secret ${answer.tokenSecretId} was revoked (${told})`,
        code,
      );
    case 105005:
      return api(
        ScopeNotGrantedError,
        'the app lacks the scope this API needs: add it in Partner Center, then the seller authorizes again (a token refresh does not help)',
      );
    case 106001:
      return api(
        SignatureRejectedError,
        `the signature does not match: a signing bug, or secret ${answer.appCredentialsSecretId} holds another app's secret; not retried`,
      );
    case 36009033:
      return api(
        IpNotAllowedError,
        "this function's IP is not in the app's IP allow list (Partner Center, App & Service): give it a fixed egress IP (VPC subnets behind a NAT gateway with an Elastic IP) and list that IP",
      );
    case 36009002:
    case 36009037:
      return new RateLimitedError(
        `TikTok rate-limited ${what} (${told}): call less often, or spread calls out`,
        { retryAfterMs: retryAfterMs(answer.retryAfter) },
      );
    case 36009003:
    case 36009007:
      return new TransientError(`TikTok failed ${what} on its side (${told})`);
    case 101000:
      return api(
        TikTokApiError,
        'the shop cipher does not belong to this token, even after looking it up again: check the shop option',
      );
    case 106013:
      return api(TikTokApiError, 'this API needs a shop: call it with shopScoped: true');
    case 36009004:
      return api(
        TikTokApiError,
        'a bad app_key, signature, timestamp or an unexpected shop_cipher (a seller-level API called with shopScoped: true?); not retried',
      );
  }
  if (status === 429) {
    return new RateLimitedError(`TikTok rate-limited ${what} (${told})`, {
      retryAfterMs: retryAfterMs(answer.retryAfter),
    });
  }
  if (status >= 500) return new TransientError(`TikTok failed ${what} (${told})`);
  return api(TikTokApiError, 'see TikTok’s error code reference for this API');
}

/** Codes after which looking the shop's cipher up again may help. */
export function isCipherRefusal(error: unknown): boolean {
  return (
    error instanceof TikTokApiError && (error.tiktokCode === 101000 || error.tiktokCode === 106013)
  );
}
