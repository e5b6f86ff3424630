/**
 * Checks the signature TikTok Shop puts on a webhook notification, in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

// The scheme, as no TikTok page states it plainly (Partner Center's webhook page only says
// notifications are signed): header `Authorization`, no prefix, lowercase hex of
// HMAC-SHA256(key = app_secret, message = app_key + the raw body as received). Sources, checked
// 2026-12: EcomPHP/tiktokshop-php src/Webhook.php (`verify`: hash_hmac('sha256', app_key . raw,
// app_secret) against the Authorization header), easycb/easycb-go tiktok/sign.go (the same in
// Go), hookdeck's tiktok-shop-webhooks guide (the same, in words). TikTok for Developers'
// `TikTok-Signature: t=…,s=…` scheme belongs to another platform (Login Kit), not TikTok Shop.
// A wrong guess here refuses every notification with 401, counted in WebhookSignaturesRefused:
// loud, never an unverified notification accepted.

/** The header TikTok Shop signs with (Lambda function URLs give header names in lower case). */
export const SIGNATURE_HEADER = 'authorization';

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/** The signature TikTok Shop computes: lowercase hex HMAC-SHA256 over app_key + raw body. */
export function signNotification(
  credentials: { readonly app_key: string; readonly app_secret: string },
  rawBody: Buffer,
): string {
  return createHmac('sha256', credentials.app_secret)
    .update(credentials.app_key, 'utf8')
    .update(rawBody)
    .digest('hex');
}

export type SignatureCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'missing' | 'not hex SHA-256' | 'mismatch' };

/**
 * Whether `header` is the signature of `rawBody` for this app. The comparison takes the same
 * time wherever the first differing byte is; the reason says what was wrong, never the value.
 */
export function verifySignature(
  credentials: { readonly app_key: string; readonly app_secret: string },
  rawBody: Buffer,
  header: string | undefined,
): SignatureCheck {
  if (header === undefined || header.trim() === '') return { ok: false, reason: 'missing' };
  // Hex is case-insensitive; a length check first keeps timingSafeEqual's buffers equal.
  const given = header.trim().toLowerCase();
  if (!HEX_SHA256.test(given)) return { ok: false, reason: 'not hex SHA-256' };
  const expected = Buffer.from(signNotification(credentials, rawBody), 'utf8');
  return timingSafeEqual(Buffer.from(given, 'utf8'), expected)
    ? { ok: true }
    : { ok: false, reason: 'mismatch' };
}
