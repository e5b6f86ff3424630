/**
 * The whole fleet from Secrets Manager in few calls: label maps from ListSecrets (100 a call, no
 * value read), then current values from BatchGetSecretValue (20 a call).
 */
import {
  BatchGetSecretValueCommand,
  type Filter,
  ListSecretsCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { type AwsCallOptions, AwsCalls } from './aws-call.js';
import { KEPT_LABEL, type StoredVersion, type TaggedSecret } from './secrets-store.js';
import { shopFromId } from './shop.js';
import type { SurveyedShop, SurveySource } from './survey-source.js';

/** ListSecrets answers at most 100 secrets a call. */
const LIST_PAGE_SIZE = 100;
/** A ListSecrets filter takes at most 10 values (AWS API reference, Filter). */
const NAMES_PER_FILTER = 10;
/** BatchGetSecretValue takes at most 20 secret ids a call. */
export const BATCH_GET_MAX_SECRETS = 20;

/** A token secret as ListSecrets shows it: its labels, never its value. */
export interface SecretSurvey extends TaggedSecret, SurveyedShop {
  readonly arn: string;
}

export interface SecretsManagerSurveyOptions extends AwsCallOptions {
  readonly client: SecretsManagerClient;
  /** The tag key that marks a token secret (TOKEN_SECRET_TAG_KEY); without it `pages` finds none. */
  readonly tagKey?: string;
}

export class SecretsManagerShopSurvey implements SurveySource {
  readonly #client: SecretsManagerClient;
  readonly #calls: AwsCalls;
  readonly #tagKey: string | undefined;

  constructor(options: SecretsManagerSurveyOptions) {
    this.#client = options.client;
    this.#calls = new AwsCalls('Secrets Manager', options);
    this.#tagKey = options.tagKey;
  }

  /**
   * Every secret carrying `tagKey`, a page of up to 100 at a time. ListSecrets is eventually
   * consistent (AWS: changes of the last few minutes may be missing), so a label map is a hint
   * for skipping, never a basis for writing: writes stay compare-and-swap on a fresh read.
   */
  async *pages(tagKey = this.#tagKey): AsyncGenerator<SecretSurvey[]> {
    if (tagKey === undefined) return;
    yield* this.#list([{ Key: 'tag-key', Values: [tagKey] }]);
  }

  /**
   * The secrets `ids` names (names or ARNs), ten names to a ListSecrets: one call per ten
   * configured shops, plus a page for every hundred other secrets whose names begin with one of
   * theirs (the name filter matches prefixes). A secret that does not exist is left out.
   */
  async *named(ids: readonly string[]): AsyncGenerator<SecretSurvey[]> {
    const names = [...new Set(ids.map((id) => shopFromId(id).name))];
    for (let start = 0; start < names.length; start += NAMES_PER_FILTER) {
      const wanted = new Set(names.slice(start, start + NAMES_PER_FILTER));
      for await (const page of this.#list([{ Key: 'name', Values: [...wanted] }])) {
        yield page.filter((secret) => wanted.has(secret.name));
      }
    }
  }

  /**
   * The AWSCURRENT values of `secretIds` (names or ARNs) by secret name, 20 to a
   * BatchGetSecretValue. A secret it could not read (no value, binary, access denied, no key)
   * is left out: the full read names the problem.
   */
  async readCurrent(secretIds: readonly string[]): Promise<Map<string, StoredVersion>> {
    const unique = [...new Set(secretIds)];
    const values = new Map<string, StoredVersion>();
    for (let start = 0; start < unique.length; start += BATCH_GET_MAX_SECRETS) {
      const ids = unique.slice(start, start + BATCH_GET_MAX_SECRETS);
      const answer = await this.#calls.run('BatchGetSecretValue', (send) =>
        this.#client.send(new BatchGetSecretValueCommand({ SecretIdList: ids }), send),
      );
      for (const entry of answer.SecretValues ?? []) {
        const { Name: name, VersionId: versionId, SecretString: raw } = entry;
        if (name === undefined || versionId === undefined || raw === undefined) continue;
        const createdAt = entry.CreatedDate?.getTime();
        values.set(
          name,
          createdAt === undefined ? { versionId, raw } : { versionId, raw, createdAt },
        );
      }
    }
    return values;
  }

  async *#list(filters: Filter[]): AsyncGenerator<SecretSurvey[]> {
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const page = await this.#calls.run('ListSecrets', (send) =>
        this.#client.send(
          new ListSecretsCommand({
            Filters: filters,
            MaxResults: LIST_PAGE_SIZE,
            IncludePlannedDeletion: false,
            ...(token === undefined ? {} : { NextToken: token }),
          }),
          send,
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
