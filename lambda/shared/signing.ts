// TikTok Shop's Open API request signature, shared by the reader's client and onboarding's and
// the refresher's Get Authorized Shops call.
import { createHmac } from 'node:crypto';

/**
 * TikTok Shop's request signature (Partner Center, "Sign your API request"), version 202309 on:
 *
 * 1. every query parameter except `sign` and `access_token`, sorted by key (byte order),
 *    each written as key immediately followed by its decoded value;
 * 2. the request path (no host, no query string) in front;
 * 3. the body exactly as sent at the end, unless the media type is multipart/form-data;
 * 4. the app secret on both ends, HMAC-SHA256 keyed with the app secret, lower-case hex.
 */
export interface SignatureInput {
  readonly appSecret: string;
  /** e.g. `/order/202309/orders/search`. */
  readonly path: string;
  /** The query parameters as sent, decoded. */
  readonly query: Readonly<Record<string, string>>;
  /** The body exactly as sent: signing a different serialization than the one sent fails. */
  readonly body?: string | Uint8Array;
  /** The request's content type; a multipart body is not signed. */
  readonly contentType?: string;
}

/** Parameters that are never part of the signature. */
const UNSIGNED = new Set(['sign', 'access_token']);

export function signRequest(input: SignatureInput): string {
  const hmac = createHmac('sha256', input.appSecret);
  hmac.update(input.appSecret);
  hmac.update(input.path);
  const keys = Object.keys(input.query)
    .filter((key) => !UNSIGNED.has(key))
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const key of keys) hmac.update(`${key}${input.query[key]}`);
  if (input.body !== undefined && !isMultipart(input.contentType)) hmac.update(input.body);
  hmac.update(input.appSecret);
  return hmac.digest('hex');
}

/** Compares the media type only: `multipart/form-data; boundary=…` is multipart. */
export function isMultipart(contentType: string | undefined): boolean {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  return mediaType === 'multipart/form-data';
}
