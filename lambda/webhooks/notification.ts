/**
 * What a TikTok Shop webhook notification's body may be, and the two types this product acts on.
 */
import * as z from 'zod/mini';
import { describeIssue } from '../shared/token.js';

/** TikTok's notification types about a seller's authorization; every other type is not ours. */
export const NOTIFICATION_TYPE = {
  sellerDeauthorization: 6,
  upcomingAuthorizationExpiration: 7,
} as const;

// Ids end up in tag values (letters, digits, spaces and `_ . : / = + - @`, at most 256) and in
// tag keys (at most 128): anything else is no notification of TikTok's.
const id = z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1 to 64 letters or digits'));
const epochSeconds = z
  .int()
  .check(
    z.gte(1_000_000_000, 'must be Unix seconds'),
    z.lt(100_000_000_000, 'must be Unix seconds'),
  );

const Envelope = z.looseObject({
  type: z.int(),
  tts_notification_id: id,
  shop_id: id,
  timestamp: epochSeconds,
  data: z.optional(z.looseObject({})),
});

const ExpirationData = z.looseObject({
  // Unix seconds as a string, per TikTok's docs; a number is read the same.
  expiration_time: z.pipe(
    z.transform((value: unknown) =>
      typeof value === 'string' && /^\d{1,12}$/.test(value) ? Number(value) : value,
    ),
    epochSeconds,
  ),
});

interface Common {
  readonly notificationId: string;
  readonly shopId: string;
  /** When TikTok sent it, epoch seconds (the same on each retry). */
  readonly timestamp: number;
}

export type Notification =
  | (Common & { readonly kind: 'deauthorized' })
  | (Common & { readonly kind: 'expiring'; readonly expiresAt: number })
  | (Common & { readonly kind: 'not ours'; readonly type: number });

/** The notification in `json`, or what is wrong with it (field names only, never values). */
export function parseNotification(
  json: unknown,
): { ok: true; value: Notification } | { ok: false; problems: string[] } {
  const envelope = Envelope.safeParse(json);
  if (!envelope.success) return failure(envelope.error, json);
  const { type, tts_notification_id, shop_id, timestamp, data } = envelope.data;
  const common = { notificationId: tts_notification_id, shopId: shop_id, timestamp };
  switch (type) {
    case NOTIFICATION_TYPE.sellerDeauthorization:
      return { ok: true, value: { ...common, kind: 'deauthorized' } };
    case NOTIFICATION_TYPE.upcomingAuthorizationExpiration: {
      const parsed = ExpirationData.safeParse(data ?? {});
      if (!parsed.success) return failure(parsed.error, data ?? {}, 'data.');
      return {
        ok: true,
        value: { ...common, kind: 'expiring', expiresAt: parsed.data.expiration_time },
      };
    }
    default:
      return { ok: true, value: { ...common, kind: 'not ours', type } };
  }
}

function failure(
  error: z.core.$ZodError,
  input: unknown,
  prefix = '',
): { ok: false; problems: string[] } {
  return {
    ok: false,
    problems: error.issues.map((issue) => `${prefix}${describeIssue(issue, input)}`),
  };
}
