import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { APP_NAME_RULE, isAppName } from '../shared/apps.js';
import { DEFAULT_APP } from '../shared/contract.js';
import { MalformedSecretError, secretReadError, UsageError } from '../shared/errors.js';

/**
 * The `state` carried through TikTok's seller consent page. The callback stores a token for the
 * shop named in it, so it must be one this app issued: an HMAC-SHA256 over the shop name, what
 * the link is for, the TikTok app whose consent page it opens, a random nonce and an expiry,
 * keyed with a secret only the CLI and the callback can read. Without it, anyone could send a seller's consent to the callback under
 * another shop's name and replace that token.
 *
 * - `purpose`: `connect` links a shop whose secret holds no token yet; `reconnect` renews the
 *   authorization of the seller already stored. Neither replaces a shop's seller.
 * - `app`: the app the seller approves, whose credentials exchange the code (DEFAULT_APP unless
 *   the deployment has several apps).
 * - `nonce`: makes each link single-use. The callback writes the token as the secret version
 *   whose id is derived from it, which Secrets Manager accepts once per secret.
 *
 * Format: `<base64url(shop)>.<c|r>.<nonce>.<expiry, epoch seconds>.<base64url(mac)>` for
 * DEFAULT_APP, exactly as before there were several apps (so links issued then still work);
 * `<base64url(shop)>.<c|r>.<nonce>.<expiry>.<app>.<base64url(mac)>` for any other app, whose MAC
 * is made under another domain: neither kind of state can be turned into the other.
 */

/** A consent link is used within minutes; an hour leaves room for a seller to find it. */
export const CONSENT_STATE_TTL_SECONDS = 3600;

/** Shorter keys are refused: the MAC is only as strong as the key. */
export const MIN_SIGNING_KEY_LENGTH = 32;

/** Far longer than any state issued here; longer input is refused before any work. */
const MAX_STATE_LENGTH = 512;

/** Names what the MAC covers, so that it cannot be mistaken for a MAC made for anything else. */
const DOMAIN = 'tiktok-shop-consent-state:v2';
/** The same for a state naming an app other than DEFAULT_APP. */
const APP_DOMAIN = 'tiktok-shop-consent-state:v3-app';

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
  /** The app whose consent page the link opens; DEFAULT_APP for a state without one. */
  readonly app: string;
  /** Unique per link: the link's once-only write is keyed on it. */
  readonly nonce: string;
}

export type StateCheck =
  | ({ readonly valid: true; readonly expiresAt: Date } & ConsentLinkState)
  | { readonly valid: false; readonly reason: 'malformed' | 'bad-signature' | 'expired' };

/**
 * A state for the link that the callback accepts until `now + ttlSeconds`, with a fresh nonce.
 * `app` defaults to DEFAULT_APP; another app must be an app name.
 */
export function signConsentState(
  link: { readonly shop: string; readonly purpose: LinkPurpose; readonly app?: string },
  key: string,
  options: { readonly now: number; readonly ttlSeconds?: number; readonly nonce?: string },
): string {
  const app = link.app ?? DEFAULT_APP;
  if (!isAppName(app)) {
    throw new UsageError(`a consent link names its app by an app name (${APP_NAME_RULE})`);
  }
  const expiry = Math.floor(options.now / 1000) + (options.ttlSeconds ?? CONSENT_STATE_TTL_SECONDS);
  const nonce = options.nonce ?? randomBytes(NONCE_BYTES).toString('base64url');
  const signed = { shop: link.shop, purpose: link.purpose, app, nonce };
  const encodedShop = Buffer.from(link.shop, 'utf8').toString('base64url');
  const code = PURPOSE_CODES[link.purpose];
  const appPart = app === DEFAULT_APP ? '' : `.${app}`;
  return `${encodedShop}.${code}.${nonce}.${expiry}${appPart}.${mac(key, signed, expiry).toString('base64url')}`;
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
  // Five parts for DEFAULT_APP, six with the app before the MAC for any other.
  const [encodedShop, code, nonce, expiryText] = parts;
  const app = parts.length === 6 ? parts[4] : DEFAULT_APP;
  const encodedMac = parts.at(-1);
  const purpose: LinkPurpose | undefined =
    code === 'c' ? 'connect' : code === 'r' ? 'reconnect' : undefined;
  if (
    (parts.length !== 5 && parts.length !== 6) ||
    app === undefined ||
    !isAppName(app) ||
    // One spelling per state: the default app is the five-part form.
    (parts.length === 6 && app === DEFAULT_APP) ||
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
    app,
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
  const { shop, purpose, app, nonce } = link;
  // DEFAULT_APP's MAC is the one made before there were several apps.
  const signed =
    app === DEFAULT_APP
      ? `${DOMAIN}\n${shop}\n${purpose}\n${nonce}\n${expiry}`
      : `${APP_DOMAIN}\n${app}\n${shop}\n${purpose}\n${nonce}\n${expiry}`;
  return createHmac('sha256', key).update(signed).digest();
}
