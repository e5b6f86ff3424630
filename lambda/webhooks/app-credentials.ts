/**
 * The receiver's app credentials: each app's read once and kept for warm invocations, read again
 * when a signature fails on credentials read a while ago (the app secret may have been rotated).
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { appCredentialsIn } from '../shared/app-credentials.js';
import type { AwsCalls } from '../shared/aws-call.js';
import { SecretStoreError } from '../shared/errors.js';
import type { Clock } from '../shared/timing.js';
import type { AppCredentials } from '../shared/token.js';
import type { AppCredentialsPort } from './receive.js';
import type { SignatureCheck } from './signature.js';

/** Kept this long: a rotated secret is picked up within it without any refusal. */
export const CREDENTIALS_TTL_MS = 5 * 60_000;
/**
 * A refused signature reads the credentials again only if they are older than this: forged
 * notifications then cost at most one read per app a minute, not one each.
 */
export const REREAD_AFTER_MS = 60_000;

interface Entry {
  readonly at: number;
  readonly credentials: Promise<AppCredentials>;
}

export class CachedAppCredentials implements AppCredentialsPort {
  readonly apps: ReadonlySet<string>;
  readonly #secretIds: ReadonlyMap<string, string>;
  readonly #read: (secretId: string) => Promise<AppCredentials>;
  readonly #clock: Clock;
  readonly #entries = new Map<string, Entry>();

  /** `secretIds`: app → its credentials secret (lambda/shared/apps.ts readAppsEnv). */
  constructor(
    secretIds: ReadonlyMap<string, string>,
    read: (secretId: string) => Promise<AppCredentials>,
    clock: Clock,
  ) {
    this.apps = new Set(secretIds.keys());
    this.#secretIds = secretIds;
    this.#read = read;
    this.#clock = clock;
  }

  async verify(
    app: string,
    check: (credentials: AppCredentials) => SignatureCheck,
  ): Promise<SignatureCheck> {
    const entry = this.#entry(app, CREDENTIALS_TTL_MS);
    const result = check(await entry.credentials);
    if (result.ok || result.reason !== 'mismatch') return result;
    const fresh = this.#entry(app, REREAD_AFTER_MS);
    return fresh === entry ? result : check(await fresh.credentials);
  }

  /** The app's entry if younger than `maxAgeMs`, else a new read (concurrent callers share it). */
  #entry(app: string, maxAgeMs: number): Entry {
    const now = this.#clock.now();
    const cached = this.#entries.get(app);
    if (cached !== undefined && now - cached.at < maxAgeMs) return cached;
    const secretId = this.#secretIds.get(app);
    if (secretId === undefined) throw new Error(`app "${app}" is not one of this deployment's`);
    const entry: Entry = { at: now, credentials: this.#read(secretId) };
    // A failed read is not kept: the next delivery (TikTok retries a 500) reads again.
    entry.credentials.catch(() => {
      if (this.#entries.get(app) === entry) this.#entries.delete(app);
    });
    this.#entries.set(app, entry);
    return entry;
  }
}

/**
 * An app's `{"app_key","app_secret"}` (AWSCURRENT), read through the receiver's `calls`: their
 * attempts fit TikTok's wait, where the token store's are sized for the refresher's runs.
 */
export async function readAppCredentials(
  client: SecretsManagerClient,
  calls: AwsCalls,
  secretId: string,
): Promise<AppCredentials> {
  const answer = await calls.run(
    'GetSecretValue',
    (send) => client.send(new GetSecretValueCommand({ SecretId: secretId }), send),
    `secret ${secretId}`,
  );
  if (answer.SecretString === undefined) {
    throw new SecretStoreError(
      `app credentials: secret ${secretId} holds no value yet; put the app's {"app_key","app_secret"} in it`,
    );
  }
  return appCredentialsIn(secretId, answer.SecretString);
}
