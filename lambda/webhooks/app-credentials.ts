/**
 * The receiver's app credentials: each app's read once and kept for warm invocations, read again
 * when a signature fails on credentials read a while ago (the app secret may have been rotated).
 */
import type { AppCredentials } from '../shared/credentials.js';
import type { Clock } from '../shared/timing.js';
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
