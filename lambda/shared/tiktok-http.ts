// The one way anything here sends a request to TikTok (auth host and Open API alike): no redirect
// followed, a bound on the whole exchange's time and on the answer's size, one retry policy.
import { OversizedAnswerError, TransientError, UnexpectedResponseError } from './errors.js';

/**
 * How calls to TikTok are retried: jittered exponential backoff, and a Retry-After obeyed up to
 * `maxRetryAfterMs`. The cap is a security control too: a host (or anything answering in its
 * name) must not hold a function idle for long. TikTok's rate limits count per second, so ten
 * seconds is ample for a real one.
 */
export const TIKTOK_RETRY = {
  baseDelayMs: 250,
  maxDelayMs: 4_000,
  maxRetryAfterMs: 10_000,
} as const;

export interface TikTokRequest {
  readonly fetch: typeof globalThis.fetch;
  /** Never quoted: it may hold the app secret, a token or a signature. */
  readonly url: string;
  readonly init?: Omit<RequestInit, 'redirect' | 'signal'>;
  /** Bound on the whole exchange, from sending to the last byte of the answer. */
  readonly timeoutMs: number;
  /** Largest answer read; one announced or found larger fails with OversizedAnswerError. */
  readonly maxBytes: number;
  /** How messages name the call, e.g. `GET /order/202309/orders`; absent, they name none. */
  readonly what?: string;
  /** The client's own wording of the two refusals, which say what it protects and how to fix it. */
  readonly say: {
    readonly redirect: (status: number) => string;
    readonly oversized: (maxBytes: number) => string;
  };
}

export interface TikTokAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/**
 * Sends one request and reads its whole answer, whatever its status. A redirect is refused, its
 * Location never quoted (it may repeat the query); a timeout or a network failure is a
 * TransientError; an answer over `maxBytes` stops the read there and is an OversizedAnswerError.
 */
export async function sendToTikTok(request: TikTokRequest): Promise<TikTokAnswer> {
  const { what, timeoutMs } = request;
  try {
    const response = await request.fetch(request.url, {
      ...request.init,
      // A redirect would carry the query (secrets, signature) to whatever host it names.
      redirect: 'manual',
      // One signal for the whole exchange: it aborts the body's read too, so a host sending a
      // byte now and then cannot stretch the call.
      signal: AbortSignal.timeout(timeoutMs),
    });
    const { status, headers } = response;
    if (status >= 300 && status < 400) {
      await discard(response);
      throw new UnexpectedResponseError(request.say.redirect(status));
    }
    const text = await readCapped(response, request.maxBytes);
    if (text === undefined) throw new OversizedAnswerError(request.say.oversized(request.maxBytes));
    return { status, headers, text };
  } catch (error) {
    if (error instanceof UnexpectedResponseError || error instanceof OversizedAnswerError) {
      throw error;
    }
    const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
    throw new TransientError(
      timedOut
        ? `TikTok did not answer${what === undefined ? '' : ` ${what}`} within ${timeoutMs} ms`
        : `could not reach TikTok${what === undefined ? '' : ` for ${what}`} (network error)`,
      { cause: error },
    );
  }
}

/** The wait a Retry-After header (in seconds) asks for, in ms, at most `capMs`; 0 without one. */
export function retryAfterMs(
  header: string | null,
  capMs: number = TIKTOK_RETRY.maxRetryAfterMs,
): number {
  const asked = Number(header) * 1000;
  return Number.isFinite(asked) && asked > 0 ? Math.min(asked, capMs) : 0;
}

/**
 * The body as text, or undefined when it is larger than `maxBytes`: a Content-Length over it is
 * believed without reading, and a body that turns out longer is cut off at the cap either way.
 */
async function readCapped(response: Response, maxBytes: number): Promise<string | undefined> {
  if (Number(response.headers.get('content-length') ?? 0) > maxBytes) return discard(response);
  if (response.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > maxBytes) return discard(response);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/** Closes the answer unread, so that its connection carries nothing more. */
async function discard(response: Response): Promise<undefined> {
  await response.body?.cancel().catch(() => undefined);
  return undefined;
}
