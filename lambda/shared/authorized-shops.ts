// TikTok's Get Authorized Shops (the shops one token may act for, with their ids and ciphers):
// its answer's shape for the reader's client, and one signed call for onboarding and the refresher.
import * as z from 'zod/mini';
import type { AppCredentials } from './credentials.js';
import { TransientError, UnexpectedResponseError } from './errors.js';
import { redact } from './redact.js';
import { signRequest } from './signing.js';
import { sendToTikTok } from './tiktok-http.js';
import { describeIssue, parseJson, TikTokEnvelope } from './token.js';

export const AUTHORIZED_SHOPS_PATH = '/authorization/202309/shops';

const AuthorizedShops = z.looseObject({
  shops: z.array(
    z.looseObject({
      id: z.string(),
      name: z.string(),
      region: z.string(),
      seller_type: z.optional(z.string()),
      cipher: z.string().check(z.minLength(1, 'must not be empty')),
    }),
  ),
});
/** A shop as TikTok lists it (a plain type: the reader's published declarations need no zod). */
export interface AuthorizedShop {
  readonly id: string;
  readonly name: string;
  readonly region: string;
  readonly seller_type?: string | undefined;
  readonly cipher: string;
}

/** TikTok's `data` for AUTHORIZED_SHOPS_PATH as a shop list, naming every field that is wrong. */
export function parseAuthorizedShops(data: unknown): readonly AuthorizedShop[] {
  const parsed = AuthorizedShops.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) =>
      describeIssue({ ...issue, path: ['data', ...issue.path] }, { data }),
    );
    throw new UnexpectedResponseError(
      `TikTok answered GET ${AUTHORIZED_SHOPS_PATH} without a usable shop list (${problems.join('; ')})`,
      0,
    );
  }
  return parsed.data.shops;
}

export interface AuthorizedShopsRequest {
  /** The Open API host, e.g. DEFAULT_TIKTOK_API_BASE_URL. */
  readonly baseUrl: string;
  readonly credentials: AppCredentials;
  readonly accessToken: string;
  /** Bound on the whole call. */
  readonly timeoutMs: number;
  /** Epoch ms, for the signed timestamp. */
  readonly now: number;
  readonly fetch?: typeof globalThis.fetch;
}

/** The largest shop list read: a seller's few shops are a few KB. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * The TikTok shop ids the token may act for: one signed GET of AUTHORIZED_SHOPS_PATH, no retry
 * (callers try again on their next occasion). Nothing thrown quotes the token, the app secret or
 * the signature.
 */
export async function authorizedShopIds(request: AuthorizedShopsRequest): Promise<string[]> {
  const { credentials, accessToken } = request;
  const query = {
    app_key: credentials.app_key,
    timestamp: String(Math.floor(request.now / 1000)),
  };
  const sign = signRequest({
    appSecret: credentials.app_secret,
    path: AUTHORIZED_SHOPS_PATH,
    query,
  });
  const what = `GET ${AUTHORIZED_SHOPS_PATH}`;
  const { status, text } = await sendToTikTok({
    fetch: request.fetch ?? globalThis.fetch,
    url: `${new URL(request.baseUrl).origin}${AUTHORIZED_SHOPS_PATH}?${new URLSearchParams({ ...query, sign })}`,
    init: {
      method: 'GET',
      headers: { accept: 'application/json', 'x-tts-access-token': accessToken },
    },
    timeoutMs: request.timeoutMs,
    maxBytes: MAX_ANSWER_BYTES,
    what,
    say: {
      redirect: (code) => `TikTok answered ${what} with a redirect (HTTP ${code}), not followed`,
      oversized: (maxBytes) =>
        `TikTok's answer to ${what} is larger than ${maxBytes} bytes; not read`,
    },
  });
  const envelope = parseJson(text, TikTokEnvelope);
  if (!envelope.ok) {
    const error = `TikTok answered ${what} with HTTP ${status} and a body that is not its JSON envelope`;
    throw status >= 500 || status === 429
      ? new TransientError(error)
      : new UnexpectedResponseError(error);
  }
  const { code, message = '' } = envelope.value;
  if (code !== 0) {
    const said = redact(message, [accessToken, credentials.app_secret, sign]).slice(0, 200);
    throw new UnexpectedResponseError(`TikTok answered ${what} with code ${code}: ${said}`, code);
  }
  return parseAuthorizedShops(envelope.value.data).map((shop) => shop.id);
}
