// The refresher's TokenStore on Secrets Manager: labels as versions' states, compare-and-swap
// on AWSCURRENT, paced writes.
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { appCredentialsIn } from './app-credentials.js';
import { AwsCalls, type SendOptions, uuidFromSha256 } from './aws-call.js';
import { MalformedSecretError, SecretStoreError, TransientError } from './errors.js';
import { type Clock, RateLimiter } from './timing.js';
import type { AppCredentials } from './token.js';

const CURRENT = 'AWSCURRENT';
const PENDING = 'AWSPENDING';
/**
 * The label of a TikTok answer that was kept but not made current (see TokenNotCurrentError):
 * its own label, so that neither readers (AWSCURRENT) nor the recovery of interrupted writes
 * (AWSPENDING) ever take it for a usable token. It sits on the latest such answer only.
 */
export const KEPT_LABEL = 'TIKTOK_ANSWER_KEPT';

export interface StoredVersion {
  readonly versionId: string;
  readonly raw: string;
  /** When the version was written, epoch ms, where the store knows it. */
  readonly createdAt?: number;
}

export interface StoredToken {
  readonly current: StoredVersion;
  /** A version labelled AWSPENDING other than the current one: a write that was not promoted. */
  readonly pending?: StoredVersion;
  /** A version labelled KEPT_LABEL other than the current one: an answer kept, not made current. */
  readonly kept?: StoredVersion;
}

/** A secret's tags, as ListSecrets and DescribeSecret answer them. */
export type SecretTags = readonly { readonly Key?: string; readonly Value?: string }[];

/** A secret found by tag, with its tags as Secrets Manager lists them. */
export interface TaggedSecret {
  readonly name: string;
  readonly arn: string;
  readonly tags?: SecretTags;
}

export type WriteOutcome =
  | { readonly stored: true; readonly versionId: string }
  | { readonly stored: false; readonly currentVersionId: string | undefined };

/** Where shop tokens live. The core sees only this; Secrets Manager and a local file implement it. */
export interface TokenStore {
  /** The current token, with the pending and kept versions beside it, in one round trip. */
  read(shopId: string): Promise<StoredToken>;
  /**
   * Stores `raw` as the successor of `basedOnVersionId`. Never replaces a version other than
   * that one: if another writer got there first, answers `stored: false` and keeps theirs.
   */
  replace(shopId: string, raw: string, basedOnVersionId: string): Promise<WriteOutcome>;
  /** Makes an already stored version current, on the same condition as `replace`. */
  promote(shopId: string, versionId: string, basedOnVersionId: string): Promise<WriteOutcome>;
  /** Stores `raw` as a version that is not current, labelled KEPT_LABEL; answers its version id. */
  keep(shopId: string, raw: string): Promise<string>;
}

export interface SecretsManagerTokenStoreOptions {
  readonly client: SecretsManagerClient;
  /** Pace of PutSecretValue + UpdateSecretVersionStage calls, below the regional quota. */
  readonly writesPerSecond: number;
  readonly clock?: Clock;
  /**
   * Epoch ms by which every call is over: no attempt starts that could not end by then. The
   * handler passes the end of the run's work.
   */
  readonly deadline?: () => number;
  /** Aborts every call in flight; the handler aborts it at the deadline. */
  readonly signal?: AbortSignal;
}

/**
 * Shop tokens in Secrets Manager. A new token is written as a new version labelled AWSPENDING,
 * then AWSCURRENT is moved onto it with UpdateSecretVersionStage naming the version it was
 * based on: Secrets Manager refuses the move if AWSCURRENT went elsewhere meanwhile, so an
 * older refresh can never replace a newer token (compare-and-swap). The version id is derived
 * from the secret and the value, so a retried put is a no-op instead of a second version.
 */
export class SecretsManagerTokenStore implements TokenStore {
  readonly #client: SecretsManagerClient;
  readonly #writes: RateLimiter;
  readonly #calls: AwsCalls;

  constructor(options: SecretsManagerTokenStoreOptions) {
    this.#client = options.client;
    this.#calls = new AwsCalls('Secrets Manager', options);
    this.#writes = new RateLimiter(options.writesPerSecond, this.#calls.clock);
  }

  /**
   * Every label in one round trip: the pending one decides whether a refresh is needed at all,
   * the kept one whether TikTok may be called. Reading the kept label of every shop, due or not,
   * costs one GetSecretValue per shop and run ($0.05 per 10,000: under 1 % of what the secret
   * itself costs at hourly runs) and saves a due shop a round trip before TikTok is called.
   */
  async read(shopId: string): Promise<StoredToken> {
    const [current, pending, kept] = await Promise.all([
      this.#getValue(shopId, CURRENT),
      this.#getValue(shopId, PENDING),
      this.#getValue(shopId, KEPT_LABEL),
    ]);
    if (current === undefined) {
      throw new SecretStoreError(
        `secret ${shopId} does not exist or holds no token yet (store the seller's first token: npm run authorize)`,
        { awsName: 'ResourceNotFoundException' },
      );
    }
    return storedToken(current, pending, kept);
  }

  async replace(shopId: string, raw: string, basedOnVersionId: string): Promise<WriteOutcome> {
    const versionId = await this.#put(shopId, raw, PENDING);
    return this.promote(shopId, versionId, basedOnVersionId);
  }

  async keep(shopId: string, raw: string): Promise<string> {
    return this.#put(shopId, raw, KEPT_LABEL);
  }

  async promote(
    shopId: string,
    versionId: string,
    basedOnVersionId: string,
  ): Promise<WriteOutcome> {
    try {
      await this.#write('UpdateSecretVersionStage', shopId, (send) =>
        this.#client.send(
          new UpdateSecretVersionStageCommand({
            SecretId: shopId,
            VersionStage: CURRENT,
            MoveToVersionId: versionId,
            RemoveFromVersionId: basedOnVersionId,
          }),
          send,
        ),
      );
      return { stored: true, versionId };
    } catch (error) {
      if (error instanceof TransientError) throw error;
      // Refused: either AWSCURRENT moved elsewhere (lost the race), or an earlier attempt whose
      // answer was lost already moved it here. Only the labels as they are now can tell.
      const stages = await this.#stages(shopId);
      const currentVersionId = stages.find(([, labels]) => labels.includes(CURRENT))?.[0];
      if (currentVersionId === versionId) return { stored: true, versionId };
      if (currentVersionId === basedOnVersionId) throw error;
      await this.#dropPendingLabel(shopId, versionId, stages);
      return { stored: false, currentVersionId };
    }
  }

  /** The app key and secret TikTok's auth host wants, from their own secret. */
  async readAppCredentials(secretId: string): Promise<AppCredentials> {
    const value = await this.#getValue(secretId, CURRENT);
    if (value === undefined) {
      throw new SecretStoreError(
        `app credentials: secret ${secretId} does not exist or holds no value yet; put the app's {"app_key","app_secret"} in it`,
        { awsName: 'ResourceNotFoundException' },
      );
    }
    return appCredentialsIn(secretId, value.raw);
  }

  /** A secret's tags (DescribeSecret, which reads no value); undefined when it does not exist. */
  async tagsOf(secretId: string): Promise<SecretTags | undefined> {
    try {
      const answer = await this.#call('DescribeSecret', secretId, (send) =>
        this.#client.send(new DescribeSecretCommand({ SecretId: secretId }), send),
      );
      return answer.Tags ?? [];
    } catch (error) {
      if (error instanceof SecretStoreError && error.awsName === 'ResourceNotFoundException') {
        return undefined;
      }
      throw error;
    }
  }

  /** The value under a label; undefined when no version carries it. */
  async #getValue(secretId: string, stage: string): Promise<StoredVersion | undefined> {
    try {
      const answer = await this.#call('GetSecretValue', secretId, (send) =>
        this.#client.send(
          new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }),
          send,
        ),
      );
      if (answer.VersionId === undefined || answer.SecretString === undefined) {
        throw new MalformedSecretError(
          `secret ${secretId} holds binary data, not a token document`,
        );
      }
      const createdAt = answer.CreatedDate?.getTime();
      return {
        versionId: answer.VersionId,
        raw: answer.SecretString,
        ...(createdAt === undefined ? {} : { createdAt }),
      };
    } catch (error) {
      // No such secret, or no version carries this label (a secret created empty has none).
      if (error instanceof SecretStoreError && error.awsName === 'ResourceNotFoundException') {
        return undefined;
      }
      throw error;
    }
  }

  async #stages(secretId: string): Promise<[string, string[]][]> {
    const answer = await this.#call('DescribeSecret', secretId, (send) =>
      this.#client.send(new DescribeSecretCommand({ SecretId: secretId }), send),
    );
    return Object.entries(answer.VersionIdsToStages ?? {});
  }

  /** A version that lost the race must not look like an interrupted write to the next run. */
  async #dropPendingLabel(
    secretId: string,
    versionId: string,
    stages: [string, string[]][],
  ): Promise<void> {
    const holdsPending = stages.some(
      ([id, labels]) => id === versionId && labels.includes(PENDING),
    );
    if (!holdsPending) return;
    await this.#write('UpdateSecretVersionStage', secretId, (send) =>
      this.#client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretId,
          VersionStage: PENDING,
          RemoveFromVersionId: versionId,
        }),
        send,
      ),
    );
  }

  /** `raw` as a version under `label` only; its id is fixed by the value, so a retry is a no-op. */
  async #put(shopId: string, raw: string, label: string): Promise<string> {
    const versionId = versionIdFor(shopId, raw);
    await this.#write('PutSecretValue', shopId, (send) =>
      this.#client.send(
        new PutSecretValueCommand({
          SecretId: shopId,
          SecretString: raw,
          ClientRequestToken: versionId,
          VersionStages: [label],
        }),
        send,
      ),
    );
    return versionId;
  }

  #write<T>(
    operation: string,
    secretId: string,
    call: (send: SendOptions) => Promise<T>,
  ): Promise<T> {
    return this.#call(operation, secretId, call, () => this.#writes.take());
  }

  /** Retried while another attempt can end before the deadline, each bounded in all; see AwsCalls. */
  #call<T>(
    operation: string,
    secretId: string | undefined,
    call: (send: SendOptions) => Promise<T>,
    pace?: () => Promise<void>,
  ): Promise<T> {
    return this.#calls.run(
      operation,
      call,
      secretId === undefined ? undefined : `secret ${secretId}`,
      pace,
    );
  }
}

/** The labels of a token secret as the core sees them: pending and kept only when not current. */
export function storedToken(
  current: StoredVersion,
  pending: StoredVersion | undefined,
  kept: StoredVersion | undefined,
): StoredToken {
  const other = (version: StoredVersion | undefined) =>
    version !== undefined && version.versionId !== current.versionId ? version : undefined;
  const [otherPending, otherKept] = [other(pending), other(kept)];
  return {
    current,
    ...(otherPending === undefined ? {} : { pending: otherPending }),
    ...(otherKept === undefined ? {} : { kept: otherKept }),
  };
}

/** A UUID-shaped id fixed by secret and value: the same put, retried, creates no second version. */
export function versionIdFor(secretId: string, raw: string): string {
  return uuidFromSha256(secretId, raw);
}
