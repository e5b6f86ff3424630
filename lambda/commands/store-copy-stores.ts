// Each token store as the switch command copies from and to it: token secrets under a name
// prefix, or the items of the DynamoDB token table.
import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { sellerTagValue, storedSeller } from '../onboarding/destination.js';
import { TokenSecretDestination } from '../onboarding/token-secret.js';
import { appTagOf } from '../shared/apps.js';
import { AwsCalls, awsNameOf } from '../shared/aws-call.js';
import {
  DEFAULT_APP,
  DEFAULTS,
  SELLER_ATTRIBUTE,
  tokenSecretName,
  tokenSecretsPrefix,
} from '../shared/contract.js';
import { NAMES, shopKey, versionAttribute } from '../shared/dynamodb-item.js';
import { DynamoDbTokenStore } from '../shared/dynamodb-store.js';
import { DynamoDbShopSurvey } from '../shared/dynamodb-survey.js';
import { SecretStoreError } from '../shared/errors.js';
import { SecretsManagerTokenStore, type TokenStore } from '../shared/secrets-store.js';
import { SecretsManagerShopSurvey } from '../shared/secrets-survey.js';
import type { CopiedVersion, CopyDestination, CopySource, SourceShop } from './store-copy.js';

export interface SecretsSide {
  readonly client: SecretsManagerClient;
  /** `<prefix>` of `<prefix>tokens/<shop>`. */
  readonly secretNamePrefix: string;
  /** The discovery tag key token secrets carry (and a created one gets). */
  readonly tagKey: string;
  /** Customer-managed key for a secret created here. */
  readonly kmsKeyId?: string;
}

/** Token secrets: listed by their tag under the prefix, written as onboarding writes them. */
export class SecretsSideStore implements CopySource, CopyDestination {
  readonly #side: SecretsSide;
  readonly #store: SecretsManagerTokenStore;

  constructor(side: SecretsSide) {
    this.#side = side;
    this.#store = new SecretsManagerTokenStore({
      client: side.client,
      writesPerSecond: DEFAULTS.secretWritesPerSecond,
    });
  }

  async list(): Promise<SourceShop[]> {
    const prefix = tokenSecretsPrefix(this.#side.secretNamePrefix);
    const survey = new SecretsManagerShopSurvey({
      client: this.#side.client,
      tagKey: this.#side.tagKey,
    });
    const shops: SourceShop[] = [];
    for await (const page of survey.pages()) {
      for (const { name, tags } of page) {
        // Only `<prefix>tokens/<shop>`: another deployment's secrets or deeper names are not ours.
        if (!name.startsWith(prefix) || name.slice(prefix.length).includes('/')) continue;
        const app = appTagOf(tags);
        shops.push({ shop: name.slice(prefix.length), ...(app === undefined ? {} : { app }) });
      }
    }
    return shops;
  }

  async read(shop: string): Promise<CopiedVersion> {
    return (await this.#store.read(this.#name(shop))).current;
  }

  look(shop: string): Promise<CopiedVersion | undefined> {
    return lookIn(this.#store, this.#name(shop));
  }

  async put(
    shop: SourceShop,
    version: CopiedVersion,
    basedOnVersionId: string | undefined,
  ): Promise<string | undefined> {
    const { client, secretNamePrefix, tagKey, kmsKeyId } = this.#side;
    const destination = new TokenSecretDestination({
      client,
      shop: shop.shop,
      secretName: this.#name(shop.shop),
      tokenSecretsPrefix: tokenSecretsPrefix(secretNamePrefix),
      tagKey,
      ...(kmsKeyId === undefined ? {} : { kmsKeyId }),
    });
    const written = await destination.write(version.raw, {
      basedOnVersionId,
      openId: storedSeller(version.versionId, version.raw).openId ?? '',
      app: shop.app ?? DEFAULT_APP,
    });
    return written.stored ? written.versionId : undefined;
  }

  #name(shop: string): string {
    return tokenSecretName(this.#side.secretNamePrefix, shop);
  }
}

/**
 * The token table's items. A copy keeps the source's version id and the time it was written, so
 * that the refresher schedules it as it would have on the source, and records the seller (for
 * onboarding's seller index) and the app.
 */
export class TableSideStore implements CopySource, CopyDestination {
  readonly #client: DynamoDBClient;
  readonly #table: string;
  readonly #store: DynamoDbTokenStore;
  readonly #calls = new AwsCalls('DynamoDB', {});

  constructor(client: DynamoDBClient, tableName: string) {
    this.#client = client;
    this.#table = tableName;
    this.#store = new DynamoDbTokenStore({ client, tableName });
  }

  async list(): Promise<SourceShop[]> {
    const shops: SourceShop[] = [];
    const survey = new DynamoDbShopSurvey({ client: this.#client, tableName: this.#table });
    for await (const page of survey.pages()) {
      for (const { shop, app } of page) shops.push({ shop, ...(app === undefined ? {} : { app }) });
    }
    return shops;
  }

  async read(shop: string): Promise<CopiedVersion> {
    return (await this.#store.read(shop)).current;
  }

  look(shop: string): Promise<CopiedVersion | undefined> {
    return lookIn(this.#store, shop);
  }

  async put(
    shop: SourceShop,
    version: CopiedVersion,
    basedOnVersionId: string | undefined,
  ): Promise<string | undefined> {
    const openId = storedSeller(version.versionId, version.raw).openId;
    const update = [
      basedOnVersionId === undefined ? 'SET ' : 'SET #previous = #current, ',
      '#current = :version',
      openId === undefined ? '' : ', #seller = :seller',
      shop.app === undefined ? '' : ', #app = :app',
    ].join('');
    const condition =
      basedOnVersionId === undefined
        ? 'attribute_not_exists(#current)'
        : '#current.#version = :basedOn';
    try {
      await this.#calls.run('UpdateItem', () =>
        this.#client.send(
          new UpdateItemCommand({
            TableName: this.#table,
            Key: shopKey(shop.shop),
            UpdateExpression: update,
            ConditionExpression: condition,
            ExpressionAttributeNames: namesIn(update, condition),
            ExpressionAttributeValues: {
              ':version': versionAttribute(
                version.versionId,
                version.raw,
                version.createdAt ?? Date.now(),
              ),
              ...(openId === undefined ? {} : { ':seller': { S: sellerTagValue(openId) } }),
              ...(shop.app === undefined ? {} : { ':app': { S: shop.app } }),
              ...(basedOnVersionId === undefined ? {} : { ':basedOn': { S: basedOnVersionId } }),
            },
          }),
        ),
      );
      return version.versionId;
    } catch (error) {
      if (awsNameOf(error) === 'ConditionalCheckFailedException') return undefined;
      throw error;
    }
  }
}

/** The current token, or undefined where the store has none for the shop yet. */
async function lookIn(store: TokenStore, id: string): Promise<CopiedVersion | undefined> {
  try {
    return (await store.read(id)).current;
  } catch (error) {
    if (error instanceof SecretStoreError && error.awsName === 'ResourceNotFoundException') {
      return undefined;
    }
    throw error;
  }
}

function namesIn(...expressions: readonly string[]): Record<string, string> {
  const used = new Set(expressions.join(' ').match(/#\w+/g));
  const all: Record<string, string> = { ...NAMES, '#seller': SELLER_ATTRIBUTE };
  return Object.fromEntries(Object.entries(all).filter(([name]) => used.has(name)));
}
