import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { MalformedSecretError, secretReadError } from '../shared/errors.js';

/**
 * The `state` carried through TikTok's seller consent page. The callback stores a token for the
 * shop named in it, so it must be one this app issued: an HMAC-SHA256 over the shop name, what
 * the link is for, a random nonce and an expiry, keyed with a secret only the CLI and the
 * callback can read. Without it, anyone could send a seller's consent to the callback under
 * another shop's name and replace that token.
 *
 * - `purpose`: `connect` links a shop whose secret holds no token yet; `reconnect` renews the
 *   authorization of the seller already stored. Neither replaces a shop's seller.
 * - `nonce`: makes each link single-use. The callback writes the token as the secret version
 *   whose id is derived from it, which Secrets Manager accepts once per secret.
 *
 * Format: `<base64url(shop)>.<c|r>.<nonce>.<expiry, epoch seconds>.<base64url(mac)>`.
 */

/** A consent link is used within minutes; an hour leaves room for a seller to find it. */
export const CONSENT_STATE_TTL_SECONDS = 3600;

/** Shorter keys are refused: the MAC is only as strong as the key. */
export const MIN_SIGNING_KEY_LENGTH = 32;

/** Far longer than any state issued here; longer input is refused before any work. */
const MAX_STATE_LENGTH = 512;

/** Names what the MAC covers, so that it cannot be mistaken for a MAC made for anything else. */
const DOMAIN = 'tiktok-shop-consent-state:v2';

/** 128 random bits, base64url: 22 characters. */
const NONCE_BYTES = 16;

export const CONSENT_HOSTS = {
  /** Rest of the world. */
  row: 'https://services.tiktokshop.com',
  us: 'https://services.us.tiktokshop.com',
} as const;
export type ConsentRegion = keyof typeof CONSENT_HOSTS;

export type LinkPurpose = 'connect' | 'reconnect';
const PURPOSE_CODES: Readonly<Record<LinkPurpose, string>> = { connect: 'c', reconnect: 'r' };

export interface ConsentLinkState {
  readonly shop: string;
  readonly purpose: LinkPurpose;
  /** Unique per link: the link's once-only write is keyed on it. */
  readonly nonce: string;
}

export type StateCheck =
  | ({ readonly valid: true; readonly expiresAt: Date } & ConsentLinkState)
  | { readonly valid: false; readonly reason: 'malformed' | 'bad-signature' | 'expired' };

/** A state for the link that the callback accepts until `now + ttlSeconds`, with a fresh nonce. */
export function signConsentState(
  link: { readonly shop: string; readonly purpose: LinkPurpose },
  key: string,
  options: { readonly now: number; readonly ttlSeconds?: number; readonly nonce?: string },
): string {
  const expiry = Math.floor(options.now / 1000) + (options.ttlSeconds ?? CONSENT_STATE_TTL_SECONDS);
  const nonce = options.nonce ?? randomBytes(NONCE_BYTES).toString('base64url');
  const signed = { shop: link.shop, purpose: link.purpose, nonce };
  const encodedShop = Buffer.from(link.shop, 'utf8').toString('base64url');
  const code = PURPOSE_CODES[link.purpose];
  return `${encodedShop}.${code}.${nonce}.${expiry}.${mac(key, signed, expiry).toString('base64url')}`;
}

/**
 * Accepts only a state signed with `key` that has not expired. The signature is checked before
 * anything in the state is believed, and compared in constant time.
 */
export function verifyConsentState(
  state: string,
  key: string,
  options: { readonly now: number },
): StateCheck {
  const parts = state.length <= MAX_STATE_LENGTH ? state.split('.') : [];
  const [encodedShop, code, nonce, expiryText, encodedMac] = parts;
  const purpose: LinkPurpose | undefined =
    code === 'c' ? 'connect' : code === 'r' ? 'reconnect' : undefined;
  if (
    parts.length !== 5 ||
    encodedShop === undefined ||
    purpose === undefined ||
    nonce === undefined ||
    expiryText === undefined ||
    encodedMac === undefined ||
    !/^[A-Za-z0-9_-]+$/.test(encodedShop) ||
    !/^[A-Za-z0-9_-]{16,64}$/.test(nonce) ||
    !/^\d{1,12}$/.test(expiryText) ||
    !/^[A-Za-z0-9_-]+$/.test(encodedMac)
  ) {
    return { valid: false, reason: 'malformed' };
  }
  const link: ConsentLinkState = {
    shop: Buffer.from(encodedShop, 'base64url').toString('utf8'),
    purpose,
    nonce,
  };
  const expiry = Number(expiryText);
  const expected = mac(key, link, expiry);
  const presented = Buffer.from(encodedMac, 'base64url');
  // The length of a SHA-256 MAC is public; only equal lengths reach the constant-time compare.
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
    return { valid: false, reason: 'bad-signature' };
  }
  if (expiry * 1000 <= options.now) return { valid: false, reason: 'expired' };
  return { valid: true, ...link, expiresAt: new Date(expiry * 1000) };
}

/** The page where a seller grants the app access to their shop, with `state` passed through. */
export function consentLink(options: {
  readonly region: ConsentRegion;
  readonly serviceId: string;
  readonly state: string;
}): string {
  const url = new URL('/open/authorize', CONSENT_HOSTS[options.region]);
  url.searchParams.set('service_id', options.serviceId);
  url.searchParams.set('state', options.state);
  return url.toString();
}

/**
 * The signing key is the secret's whole string value (in CDK: a secret with
 * `generateSecretString`), read through `get` so that the caller decides about caching.
 */
export async function readSigningKey(
  secretId: string,
  get: (secretId: string) => Promise<unknown>,
): Promise<string> {
  let value: unknown;
  try {
    value = await get(secretId);
  } catch (error) {
    throw secretReadError(secretId, error);
  }
  if (typeof value !== 'string' || value.length < MIN_SIGNING_KEY_LENGTH) {
    throw new MalformedSecretError(
      `secret ${secretId} must hold a signing key of at least ${MIN_SIGNING_KEY_LENGTH} characters as its string value`,
    );
  }
  return value;
}

function mac(key: string, link: ConsentLinkState, expiry: number): Buffer {
  const { shop, purpose, nonce } = link;
  return createHmac('sha256', key)
    .update(`${DOMAIN}\n${shop}\n${purpose}\n${nonce}\n${expiry}`)
    .digest();
}
