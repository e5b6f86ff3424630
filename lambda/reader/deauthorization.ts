// Whether TikTok said a shop's seller revoked the app (the webhook receiver's tag on its token
// secret): looked at as often as the token is read, before any call to TikTok.
import type { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ShopDeauthorizedError, secretReadError } from '../shared/errors.js';
import { type DeauthorizedMark, deauthorizationInEffect, marksOf } from '../shared/shop-state.js';
import { expiresAt } from '../shared/token.js';
import {
  clientOf,
  type DescribeOptions,
  type SecretTags,
  tagsOfTokenSecret,
} from './secrets-client.js';

/** Bound on each Secrets Manager call of the check, retries included. */
const CHECK_TIMEOUT_MS = 10_000;

export interface DeauthorizationCheckOptions {
  readonly provider?: SecretsProvider;
  /** How long an answer is kept, ms. */
  readonly maxAgeMs: number;
  /** Look now, whatever is kept. */
  readonly forceFetch: boolean;
  /** Epoch ms. */
  readonly now: () => number;
}

/**
 * Throws ShopDeauthorizedError when the token secret carries the receiver's deauthorized mark
 * and its current token was stored before TikTok's notification: only the seller authorizing
 * again helps, and TikTok would refuse the token anyway. A token stored after it (a reconnect)
 * makes the mark moot. One DescribeSecret per `maxAgeMs` per execution environment (shared with
 * the app lookup), and, only for a marked secret, one GetSecretValue for when its current token
 * was stored. A role not allowed DescribeSecret skips the check.
 */
export async function checkNotDeauthorized(
  tokenSecretId: string,
  options: DeauthorizationCheckOptions,
): Promise<void> {
  const client = clientOf(options);
  const mark = await markInEffect(client, tokenSecretId, {
    maxAgeMs: options.forceFetch ? 0 : options.maxAgeMs,
    now: options.now(),
    timeoutMs: CHECK_TIMEOUT_MS,
  });
  if (mark === undefined) return;
  const at = expiresAt(mark.at);
  throw new ShopDeauthorizedError(
    `the seller revoked the app for the shop of secret ${tokenSecretId} (TikTok notified at ${at}): its token no longer works and TikTok was not called; the seller must authorize the app again (the consent link or npm run authorize)`,
    tokenSecretId,
    at,
  );
}

async function markInEffect(
  client: SecretsManagerClient,
  tokenSecretId: string,
  options: DescribeOptions,
): Promise<DeauthorizedMark | undefined> {
  let tags: SecretTags;
  try {
    tags = await tagsOfTokenSecret(client, tokenSecretId, options);
  } catch (error) {
    // A role granted GetSecretValue alone (not through the construct's grants) reads as before:
    // without the mark, TikTok's own refusal says the same, later.
    if (error instanceof Error && error.name === 'AccessDeniedException') return undefined;
    throw secretReadError(tokenSecretId, error);
  }
  try {
    const mark = marksOf(tags).deauthorized;
    if (mark === undefined) return undefined;
    const current = await client.send(
      new GetSecretValueCommand({ SecretId: tokenSecretId, VersionStage: 'AWSCURRENT' }),
      { abortSignal: AbortSignal.timeout(options.timeoutMs) },
    );
    return deauthorizationInEffect(mark, current.CreatedDate?.getTime()) ? mark : undefined;
  } catch (error) {
    throw secretReadError(tokenSecretId, error);
  }
}
