// Onboarding's ShopTokenDestination on a shop's token secret in Secrets Manager: a consent link's
// write happens once, and the token is made current only over the version whose seller was checked.
import { randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  type CreateSecretCommandOutput,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  type PutSecretValueCommandOutput,
  type SecretsManagerClient,
  type Tag,
  TagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { appTagOf } from '../shared/apps.js';
import { AwsCalls, type SendOptions } from '../shared/aws-call.js';
import { DEFAULT_APP, DEFAULT_APP_TAG_KEY, SELLER_TAG_KEY } from '../shared/contract.js';
import { SecretStoreError, TransientError } from '../shared/errors.js';
import { KEPT_LABEL, versionIdFor } from '../shared/secrets-store.js';
import type { Clock } from '../shared/timing.js';
import {
  type DestinationState,
  type DestinationWrite,
  isPlaceholder,
  type KeptAnswer,
  type LinkClaim,
  linkUse,
  linkVersionId,
  placeholderValue,
  type ShopTokenDestination,
  sellerTagValue,
  storedSeller,
  type WriteOptions,
} from './destination.js';

const CURRENT = 'AWSCURRENT';
const PENDING = 'AWSPENDING';
/** The label of the latest consent link's claim (a version needs one label to be put). */
const LINK_LABEL = 'TIKTOK_CONSENT_LINK';
/** ListSecrets pages read when looking for a seller's other shops (100 secrets a page). */
const MAX_LIST_PAGES = 10;

export interface TokenSecretDestinationOptions {
  readonly client: SecretsManagerClient;
  readonly shop: string;
  /** `<prefix>tokens/<shop>`. */
  readonly secretName: string;
  /** `<prefix>tokens/`: where other shops' token secrets are looked for. */
  readonly tokenSecretsPrefix: string;
  /** The refresher's discovery tag key; its value is the shop name. */
  readonly tagKey: string;
  /** Customer-managed KMS key for a secret created here; absent: aws/secretsmanager. */
  readonly kmsKeyId?: string;
  readonly clock?: Clock;
  /** Epoch ms after which no retry starts. */
  readonly deadline?: () => number;
}

/**
 * A shop's token secret as onboarding sees it. Secrets Manager makes the rules hold:
 *
 * - a version id is accepted once per secret (the same `ClientRequestToken` with another value
 *   is ResourceExistsException), and versions younger than 24 hours are never removed: a consent
 *   link is claimed, before its code is exchanged, by writing the version its nonce names, with
 *   a value unique to the use, so it works once, even when used twice at once;
 * - `UpdateSecretVersionStage` moves AWSCURRENT only from the version named in
 *   `RemoveFromVersionId` (or, without it, only when no version is current): the token is made
 *   current only if the one whose seller was checked is still current.
 *
 * The secret is tagged with the shop (for the refresher's discovery), the seller's open_id
 * (so that a seller connected under one shop name is found before it is connected under another)
 * and, for a shop of another app than DEFAULT_APP, the app (`tiktok-shop-app`), which is how the
 * refresher and readers know whose credentials the shop's token needs. A secret created by a
 * claim is tagged when its token is written: until then the refresher does not find it.
 */
export class TokenSecretDestination implements ShopTokenDestination {
  readonly shop: string;
  readonly name: string;
  readonly #options: TokenSecretDestinationOptions;
  /** Makes this use's claim of a link a value no other use writes. */
  readonly #claim = randomUUID();
  #exists = false; // `inspect` found the secret: a placeholder need not try to create it.
  readonly #calls: AwsCalls;

  constructor(options: TokenSecretDestinationOptions) {
    this.shop = options.shop;
    this.name = options.secretName;
    this.#options = options;
    // The deadline already keeps a margin for the answer: the last retry may start right up to it.
    this.#calls = new AwsCalls('Secrets Manager', {
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.deadline === undefined ? {} : { deadline: options.deadline }),
      retry: { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 2_000 },
      lastStartMarginMs: 0,
    });
  }

  async inspect(linkNonce: string | undefined): Promise<DestinationState> {
    let described: { stages: [string, string[]][]; app: string };
    try {
      described = await this.#describe();
    } catch (error) {
      if (isAws(error, 'ResourceNotFoundException')) return { linkUsed: false };
      throw error;
    }
    this.#exists = true;
    const { stages, app } = described;
    // By id: a claim's version drops out of DescribeSecret once a newer claim takes its label.
    const claim = linkNonce && (await this.#version(linkVersionId(this.name, linkNonce)));
    const claimedAt = claim ? (claim.CreatedDate?.getTime() ?? 0) : undefined;
    const currentId = stages.find(([, labels]) => labels.includes(CURRENT))?.[0];
    if (currentId === undefined) return { ...linkUse(claimedAt, undefined), app };
    const answer = await this.#version(currentId, true);
    const raw = answer?.SecretString ?? '';
    if (isPlaceholder(raw)) {
      return { ...linkUse(claimedAt, undefined), app, placeholderVersionId: currentId };
    }
    const storedAt = answer?.CreatedDate?.getTime() ?? Number.POSITIVE_INFINITY;
    return { ...linkUse(claimedAt, storedAt), app, current: storedSeller(currentId, raw) };
  }

  /** A version's value and creation time; undefined when there is none, unless `required`. */
  async #version(versionId: string, required = false) {
    try {
      return await this.#call('GetSecretValue', (send) =>
        this.#options.client.send(
          new GetSecretValueCommand({ SecretId: this.name, VersionId: versionId }),
          send,
        ),
      );
    } catch (error) {
      if (!required && isAws(error, 'ResourceNotFoundException')) return undefined;
      throw error;
    }
  }

  async claimLink(linkNonce: string): Promise<LinkClaim> {
    const versionId = linkVersionId(this.name, linkNonce);
    try {
      const { created, stages } = await this.#putPlaceholder(
        placeholderValue('consent link claimed', this.#claim),
        versionId,
        LINK_LABEL,
      );
      return {
        claimed: true,
        created,
        ...(stages.includes(CURRENT) ? { currentVersionId: versionId } : {}),
      };
    } catch (error) {
      if (isAws(error, 'ResourceExistsException')) return { claimed: false };
      throw error;
    }
  }

  async shopsOfSeller(openId: string): Promise<ShopTokenDestination[]> {
    const { tokenSecretsPrefix } = this.#options;
    const value = sellerTagValue(openId);
    const found: ShopTokenDestination[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const answer = await this.#call('ListSecrets', (send) =>
        this.#options.client.send(
          new ListSecretsCommand({
            // Each filter is a prefix match and a tag-value filter looks at every tag: the exact
            // seller tag is checked below.
            Filters: [
              { Key: 'name', Values: [tokenSecretsPrefix] },
              { Key: 'tag-key', Values: [SELLER_TAG_KEY] },
              { Key: 'tag-value', Values: [value] },
            ],
            MaxResults: 100,
            NextToken: nextToken,
          }),
          send,
        ),
      );
      for (const secret of answer.SecretList ?? []) {
        const seller = secret.Tags?.find((tag) => tag.Key === SELLER_TAG_KEY)?.Value;
        const name = secret.Name;
        if (name?.startsWith(tokenSecretsPrefix) && name !== this.name && seller === value) {
          const shop = name.slice(tokenSecretsPrefix.length);
          found.push(new TokenSecretDestination({ ...this.#options, shop, secretName: name }));
        }
      }
      nextToken = answer.NextToken;
      if (nextToken === undefined) break;
    }
    return found;
  }

  async write(raw: string, options: WriteOptions): Promise<DestinationWrite> {
    const { client, shop, tagKey } = this.#options;
    const versionId = versionIdFor(this.name, raw);
    const tags = [
      { Key: tagKey, Value: shop },
      { Key: SELLER_TAG_KEY, Value: sellerTagValue(options.openId) },
      // No tag means the default app: a one-app deployment's secrets stay as they were.
      ...(options.app === DEFAULT_APP ? [] : [{ Key: DEFAULT_APP_TAG_KEY, Value: options.app }]),
    ];

    if (options.basedOnVersionId === undefined) {
      // Undefined when the secret exists (made by the stack, or by a retry of this very call):
      // then a version is added.
      const created = await this.#create(raw, versionId, tags);
      if (created !== undefined) {
        return {
          stored: true,
          versionId,
          created: true,
          ...(created.ARN === undefined ? {} : { arn: created.ARN }),
          warnings: [],
        };
      }
    }

    // Idempotent for the same value: a retried put adds nothing. The first version of an empty
    // secret becomes AWSCURRENT at once; the compare-and-swap below then finds it there.
    const arn = (await this.#putVersion(raw, versionId, PENDING)).ARN;

    try {
      await this.#call('UpdateSecretVersionStage', (send) =>
        client.send(
          new UpdateSecretVersionStageCommand({
            SecretId: this.name,
            VersionStage: CURRENT,
            MoveToVersionId: versionId,
            ...(options.basedOnVersionId === undefined
              ? {}
              : { RemoveFromVersionId: options.basedOnVersionId }),
          }),
          send,
        ),
      );
    } catch (error) {
      if (error instanceof TransientError) throw error;
      // Refused: AWSCURRENT moved since the look, or an earlier attempt whose answer was lost
      // (or the refresher, recovering a pending write) already moved it here.
      const stages = await this.#stages();
      if (stages.some(([id, labels]) => id === versionId && labels.includes(CURRENT))) {
        return { stored: true, versionId, created: false, ...(arn ? { arn } : {}), warnings: [] };
      }
      // Not left as AWSPENDING: the refresher would take it for an interrupted write of its own.
      if (stages.some(([id, labels]) => id === versionId && labels.includes(PENDING))) {
        await this.#call('UpdateSecretVersionStage', (send) =>
          client.send(
            new UpdateSecretVersionStageCommand({
              SecretId: this.name,
              VersionStage: PENDING,
              RemoveFromVersionId: versionId,
            }),
            send,
          ),
        );
      }
      return { stored: false, reason: 'moved' };
    }

    const warnings: string[] = [];
    try {
      await this.#call('TagResource', (send) =>
        client.send(new TagResourceCommand({ SecretId: this.name, Tags: tags }), send),
      );
    } catch (error) {
      warnings.push(
        `the token is stored but the secret's tags were not updated, so the refresher may not find it (tag it ${tagKey}=${shop} by hand): ${(error as Error).message}`,
      );
    }
    return { stored: true, versionId, created: false, ...(arn ? { arn } : {}), warnings };
  }

  async keep(raw: string): Promise<KeptAnswer> {
    // Secrets Manager makes a secret's first version current: a placeholder goes first.
    let hasVersions = false;
    try {
      hasVersions = (await this.#stages()).length > 0;
    } catch (error) {
      if (!isAws(error, 'ResourceNotFoundException')) throw error;
    }
    if (!hasVersions) {
      await this.#putPlaceholder(
        placeholderValue("TikTok's answer kept, not current"),
        versionIdFor(this.name, 'placeholder'),
        KEPT_LABEL,
      );
    }
    const versionId = versionIdFor(this.name, raw);
    await this.#putVersion(raw, versionId, KEPT_LABEL);
    return {
      versionId,
      label: KEPT_LABEL,
      where: `version ${versionId} (label ${KEPT_LABEL}) of secret ${this.name}`,
    };
  }

  /**
   * Puts `value` as version `versionId` labelled `label`, creating the secret (untagged: the
   * refresher does not look for it yet) when there is none; answers its labels. In a
   * secret without versions it becomes the current one, as AWS makes any first version.
   */
  async #putPlaceholder(
    value: string,
    versionId: string,
    label: string,
  ): Promise<{ created: boolean; stages: readonly string[] }> {
    if (!this.#exists && (await this.#create(value, versionId)) !== undefined) {
      return { created: true, stages: [CURRENT] };
    }
    const put = await this.#putVersion(value, versionId, label);
    return { created: false, stages: put.VersionStages ?? [] };
  }

  /** Creates the secret with `value` as its first version; undefined when it exists already. */
  async #create(
    value: string,
    versionId: string,
    tags?: Tag[],
  ): Promise<CreateSecretCommandOutput | undefined> {
    const { client, kmsKeyId } = this.#options;
    try {
      return await this.#call('CreateSecret', (send) =>
        client.send(
          new CreateSecretCommand({
            Name: this.name,
            SecretString: value,
            ClientRequestToken: versionId,
            ...(tags === undefined ? {} : { Tags: tags }),
            ...(kmsKeyId === undefined ? {} : { KmsKeyId: kmsKeyId }),
          }),
          send,
        ),
      );
    } catch (error) {
      if (!isAws(error, 'ResourceExistsException')) throw error;
      return undefined;
    }
  }

  /** Adds `value` as version `versionId` labelled `label` (idempotent for the same value). */
  #putVersion(
    value: string,
    versionId: string,
    label: string,
  ): Promise<PutSecretValueCommandOutput> {
    return this.#call('PutSecretValue', (send) =>
      this.#options.client.send(
        new PutSecretValueCommand({
          SecretId: this.name,
          SecretString: value,
          ClientRequestToken: versionId,
          VersionStages: [label],
        }),
        send,
      ),
    );
  }

  async #stages(): Promise<[string, string[]][]> {
    return (await this.#describe()).stages;
  }

  /** The secret's versions with their stages, and the app its tag binds it to. */
  async #describe(): Promise<{ stages: [string, string[]][]; app: string }> {
    const answer = await this.#call('DescribeSecret', (send) =>
      this.#options.client.send(new DescribeSecretCommand({ SecretId: this.name }), send),
    );
    return {
      stages: Object.entries(answer.VersionIdsToStages ?? {}),
      app: appTagOf(answer.Tags) ?? DEFAULT_APP,
    };
  }

  /** Retries throttling, 5xx and network errors; see AwsCalls. */
  #call<T>(operation: string, call: (send: SendOptions) => Promise<T>): Promise<T> {
    return this.#calls.run(operation, call, `secret ${this.name}`);
  }
}

function isAws(error: unknown, name: string): boolean {
  return error instanceof SecretStoreError && error.awsName === name;
}
