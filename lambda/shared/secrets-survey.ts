/**
 * The whole fleet from Secrets Manager in few calls: label maps from ListSecrets (100 a call, no
 * value read), then current values from BatchGetSecretValue (20 a call).
 */
import {
  BatchGetSecretValueCommand,
  ListSecretsCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { type AwsCallOptions, AwsCalls } from './aws-call.js';
import { KEPT_LABEL, type StoredVersion, type TaggedSecret } from './secrets-store.js';

/** ListSecrets answers at most 100 secrets a call. */
const LIST_PAGE_SIZE = 100;
/** BatchGetSecretValue takes at most 20 secret ids a call. */
export const BATCH_GET_MAX_SECRETS = 20;

/** A token secret as ListSecrets shows it: its labels, never its value. */
export interface SecretSurvey extends TaggedSecret {
  /** The version labelled AWSCURRENT; undefined for a secret created without a value. */
  readonly currentVersionId: string | undefined;
  /** A version other than the current one carries AWSPENDING: read the shop before skipping it. */
  readonly hasPending: boolean;
  /** A version other than the current one carries KEPT_LABEL. */
  readonly hasKept: boolean;
}

export interface CurrentValues {
  /** By secret name: the AWSCURRENT version, as `TokenStore.read` answers `current`. */
  readonly values: Map<string, StoredVersion>;
  /**
   * By the id asked for: why a secret could not be read (ResourceNotFoundException for a secret
   * without a value, AccessDeniedException, DecryptionFailure); the AWS message is left out.
   */
  readonly errors: Map<string, string>;
}

export interface SecretsManagerSurveyOptions extends AwsCallOptions {
  readonly client: SecretsManagerClient;
}

export class SecretsManagerShopSurvey {
  readonly #client: SecretsManagerClient;
  readonly #calls: AwsCalls;

  constructor(options: SecretsManagerSurveyOptions) {
    this.#client = options.client;
    this.#calls = new AwsCalls('Secrets Manager', options);
  }

  /**
   * Every secret carrying `tagKey`, a page of up to 100 at a time. ListSecrets is eventually
   * consistent (AWS: changes of the last few minutes may be missing), so a label map is a hint
   * for skipping, never a basis for writing: writes stay compare-and-swap on a fresh read.
   */
  async *pages(tagKey: string): AsyncGenerator<SecretSurvey[]> {
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const page = await this.#calls.run('ListSecrets', () =>
        this.#client.send(
          new ListSecretsCommand({
            Filters: [{ Key: 'tag-key', Values: [tagKey] }],
            MaxResults: LIST_PAGE_SIZE,
            IncludePlannedDeletion: false,
            ...(token === undefined ? {} : { NextToken: token }),
          }),
          this.#calls.sendOptions,
        ),
      );
      const found: SecretSurvey[] = [];
      for (const secret of page.SecretList ?? []) {
        const { Name: name, ARN: arn, Tags: tags } = secret;
        if (name === undefined || arn === undefined) continue;
        found.push({
          name,
          arn,
          ...(tags === undefined ? {} : { tags }),
          ...labelsOf(secret.SecretVersionsToStages ?? {}),
        });
      }
      yield found;
      nextToken = page.NextToken;
    } while (nextToken !== undefined);
  }

  /** The AWSCURRENT values of `secretIds` (names or ARNs), 20 to a BatchGetSecretValue. */
  async readCurrent(secretIds: readonly string[]): Promise<CurrentValues> {
    const unique = [...new Set(secretIds)];
    const result: CurrentValues = { values: new Map(), errors: new Map() };
    for (let start = 0; start < unique.length; start += BATCH_GET_MAX_SECRETS) {
      const ids = unique.slice(start, start + BATCH_GET_MAX_SECRETS);
      const answer = await this.#calls.run('BatchGetSecretValue', () =>
        this.#client.send(
          new BatchGetSecretValueCommand({ SecretIdList: ids }),
          this.#calls.sendOptions,
        ),
      );
      for (const entry of answer.SecretValues ?? []) {
        const { Name: name, VersionId: versionId, SecretString: raw } = entry;
        if (name === undefined || versionId === undefined) continue;
        // A binary secret is no token document: the full read reports it as malformed.
        if (raw === undefined) {
          result.errors.set(name, 'BinarySecret');
          continue;
        }
        const createdAt = entry.CreatedDate?.getTime();
        result.values.set(
          name,
          createdAt === undefined ? { versionId, raw } : { versionId, raw, createdAt },
        );
      }
      for (const error of answer.Errors ?? []) {
        if (error.SecretId !== undefined) {
          result.errors.set(error.SecretId, error.ErrorCode ?? 'UnknownError');
        }
      }
    }
    return result;
  }
}

/** What a version-to-labels map says, pending and kept only when not on the current version. */
export function labelsOf(
  versionsToStages: Record<string, readonly string[]>,
): Pick<SecretSurvey, 'currentVersionId' | 'hasPending' | 'hasKept'> {
  const holder = (label: string) =>
    Object.entries(versionsToStages).find(([, labels]) => labels.includes(label))?.[0];
  const currentVersionId = holder('AWSCURRENT');
  const other = (label: string) => {
    const versionId = holder(label);
    return versionId !== undefined && versionId !== currentVersionId;
  };
  return { currentVersionId, hasPending: other('AWSPENDING'), hasKept: other(KEPT_LABEL) };
}
