/**
 * The one way tests give a shop its token: a seller authorized at a TikTok host (the local one, or
 * the core's fake) and TikTok's answer for it, unchanged, as onboarding stores it in the shop's
 * secret (the local Secrets Manager, the core's in-memory store) or as a test scripts it.
 */
import { DEFAULT_TOKEN_SECRET_TAG_KEY } from '../../lambda/shared/contract.js';

export interface SeedOptions {
  /** Seconds until the access token expires. */
  readonly accessTtlSeconds: number;
  /** Epoch seconds at which the seller's authorization (its refresh tokens) ends. */
  readonly refreshTokenExpiresAt?: number;
  /** Epoch ms the lifetime counts from: the clock of the host and the code under test. @default Date.now() */
  readonly now?: number;
}

/** A TikTok auth host that authorizes sellers and answers their tokens. */
export interface SellerHost {
  addSeller(options: { refreshTokenExpiresAt?: number }): {
    readonly openId: string;
    readonly refreshToken?: string;
  };
  tokenDocument(
    refreshToken: string,
    options: { accessTokenExpiresAt: number },
  ): { readonly access_token: string; readonly refresh_token: string };
}

/** A Secrets Manager (or a stand-in) that takes a secret's value without a call. */
export interface SeedableSecrets<Seeded extends { readonly versionId: string }> {
  seed(name: string, raw: string, tags: Record<string, string>): Seeded;
}

/** A seller's token: TikTok's answer as the secret holds it. */
export interface SellerToken {
  /** `{"code":0,"message":"success","data":{…},"request_id":…}`, byte for byte. */
  readonly raw: string;
  readonly refreshToken: string;
  readonly accessToken: string;
  readonly openId: string;
}

/** A newly authorized seller and TikTok's answer for it, ready to be stored or scripted. */
export function sellerToken(tiktok: SellerHost, options: SeedOptions): SellerToken {
  const seller = tiktok.addSeller(
    options.refreshTokenExpiresAt === undefined
      ? {}
      : { refreshTokenExpiresAt: options.refreshTokenExpiresAt },
  );
  const data = tiktok.tokenDocument(seller.refreshToken ?? '', {
    accessTokenExpiresAt: Math.floor((options.now ?? Date.now()) / 1000) + options.accessTtlSeconds,
  });
  const raw = JSON.stringify({ code: 0, message: 'success', data, request_id: 'seed' });
  return {
    raw,
    refreshToken: data.refresh_token,
    accessToken: data.access_token,
    openId: seller.openId,
  };
}

/**
 * A seller's token stored as the current version of the shop's secret `name`, tagged for
 * discovery (`tagKey`, DEFAULT_TOKEN_SECRET_TAG_KEY unless told otherwise). Seeding a shop again
 * stands for the seller authorizing again: a new seller, a new current version.
 */
export function seedShop<Seeded extends { readonly versionId: string }>(
  hosts: { readonly tiktok: SellerHost; readonly secretsManager: SeedableSecrets<Seeded> },
  name: string,
  options: SeedOptions & { readonly tagKey?: string },
): SellerToken & Seeded & { readonly name: string } {
  const token = sellerToken(hosts.tiktok, options);
  const secret = hosts.secretsManager.seed(name, token.raw, {
    [options.tagKey ?? DEFAULT_TOKEN_SECRET_TAG_KEY]: name,
  });
  return { ...token, ...secret, name };
}
