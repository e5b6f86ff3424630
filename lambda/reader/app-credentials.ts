import type { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  APP_NAME_RULE,
  appCredentialsSecretIdBeside,
  appTagOf,
  isAppName,
} from '../shared/apps.js';
import { DEFAULT_APP, DEFAULT_APP_TAG_KEY } from '../shared/contract.js';
import type { AppCredentials } from '../shared/credentials.js';
import { ConfigurationError, SecretStoreError } from '../shared/errors.js';
import { type ReadOptions, readAppCredentials } from './secrets.js';
import {
  clientOf,
  forgetTagsOfTokenSecret,
  type SecretTags,
  tagsOfTokenSecret,
} from './secrets-client.js';

/**
 * The app credentials that sign a shop's requests, found from its token secret alone: the
 * secret's `tiktok-shop-app` tag names the app (no tag: the default app), whose credentials are
 * `<prefix>apps/<app>/credentials` (`<prefix>app-credentials` for the default app) beside
 * `<prefix>tokens/<shop>`. The tag is read with DescribeSecret once per execution environment;
 * the credentials go through Powertools' cache like every other read.
 */

export interface AppLookupOptions {
  /** Its client makes the DescribeSecret call. @default a client of the function's region */
  readonly provider?: SecretsProvider;
  /** Timeout of the DescribeSecret call, retries included. */
  readonly timeoutMs: number;
  /** Epoch ms. @default Date.now */
  readonly now?: () => number;
}

/** Where a token secret's app credentials are. */
export interface AppOfToken {
  readonly app: string;
  readonly credentialsSecretId: string;
  /** Whether the token secret carries the app tag (else the app is the default one). */
  readonly tagged: boolean;
}

/** How old a description of the token secret the app lookup takes from the deauthorization check. */
const SHARED_DESCRIPTION_MS = 5_000;

/** Found apps, per Secrets Manager client and token secret; a failed lookup is forgotten. */
const lookups = new WeakMap<SecretsManagerClient, Map<string, Promise<AppOfToken>>>();

/** Whether the app credentials of a token secret can be found beside it (by its name). */
export function canFindAppCredentials(tokenSecretId: string): boolean {
  return appCredentialsSecretIdBeside(tokenSecretId, DEFAULT_APP) !== undefined;
}

/** The app of a token secret and where its credentials are; looked up once per execution environment. */
export function appOfToken(tokenSecretId: string, options: AppLookupOptions): Promise<AppOfToken> {
  const client = clientOf(options);
  let byToken = lookups.get(client);
  if (byToken === undefined) {
    byToken = new Map();
    lookups.set(client, byToken);
  }
  const cached = byToken.get(tokenSecretId);
  if (cached !== undefined) return cached;
  const lookup = lookUp(client, tokenSecretId, options);
  byToken.set(tokenSecretId, lookup);
  const cache = byToken;
  lookup.catch(() => {
    if (cache.get(tokenSecretId) === lookup) cache.delete(tokenSecretId);
  });
  return lookup;
}

/** Forgets the app found for a token secret, e.g. after the shop authorized again. */
export function forgetAppOfToken(tokenSecretId: string, options: AppLookupOptions): void {
  const client = clientOf(options);
  lookups.get(client)?.delete(tokenSecretId);
  forgetTagsOfTokenSecret(client, tokenSecretId);
}

/**
 * The app credentials of a token secret's app. A failed read says which app, how it was found
 * and which secret was read, so a missing or empty credentials secret is plain to see.
 */
export async function readAppCredentialsOf(
  tokenSecretId: string,
  options: AppLookupOptions & ReadOptions,
): Promise<{ readonly credentials: AppCredentials; readonly secretId: string }> {
  const found = await appOfToken(tokenSecretId, options);
  const secretId = found.credentialsSecretId;
  try {
    return { credentials: await readAppCredentials(secretId, options), secretId };
  } catch (error) {
    if (!(error instanceof SecretStoreError)) throw error;
    const how = found.tagged
      ? `named by its ${DEFAULT_APP_TAG_KEY} tag`
      : `the default app: it carries no ${DEFAULT_APP_TAG_KEY} tag`;
    throw new SecretStoreError(
      `no credentials of app "${found.app}" for secret ${tokenSecretId} (${how}): ${error.message}`,
      { cause: error, ...(error.awsName === undefined ? {} : { awsName: error.awsName }) },
    );
  }
}

async function lookUp(
  client: SecretsManagerClient,
  tokenSecretId: string,
  { timeoutMs, now = Date.now }: AppLookupOptions,
): Promise<AppOfToken> {
  let tags: SecretTags;
  try {
    // The deauthorization check's description of a moment ago (or in flight) serves: one call.
    tags = await tagsOfTokenSecret(client, tokenSecretId, {
      maxAgeMs: SHARED_DESCRIPTION_MS,
      now: now(),
      timeoutMs,
    });
  } catch (error) {
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    throw new SecretStoreError(
      `could not describe secret ${tokenSecretId} to find its app by its ${DEFAULT_APP_TAG_KEY} tag: ${name}: ${message.slice(0, 200)}`,
      { cause: error, awsName: name },
    );
  }
  const tag = appTagOf(tags);
  if (tag !== undefined && !isAppName(tag)) {
    throw new ConfigurationError(
      `secret ${tokenSecretId} carries the tag ${DEFAULT_APP_TAG_KEY}=${JSON.stringify(tag.slice(0, 40))}, which is not an app name (${APP_NAME_RULE})`,
    );
  }
  const app = tag ?? DEFAULT_APP;
  const credentialsSecretId = appCredentialsSecretIdBeside(tokenSecretId, app);
  if (credentialsSecretId === undefined) {
    // The client refuses such a name without an explicit credentials id before any call.
    throw new ConfigurationError(
      `secret ${tokenSecretId} is not named <prefix>tokens/<shop>: its app's credentials cannot be found beside it; give appCredentialsSecretId`,
    );
  }
  return { app, credentialsSecretId, tagged: tag !== undefined };
}
