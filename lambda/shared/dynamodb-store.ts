/**
 * Shop tokens in one DynamoDB table, an item per shop, behind the same TokenStore seam and with
 * the same promises as Secrets Manager: for fleets where $0.40 a secret a month is too much.
 */
import {
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { type AwsCallOptions, AwsCalls, awsNameOf } from './aws-call.js';
import {
  type Item,
  namesFor,
  READ_PROJECTION,
  type Slot,
  shopKey,
  tokenOf,
  versionAttribute,
  versionIn,
} from './dynamodb-item.js';
import { SecretStoreError } from './errors.js';
import {
  type StoredToken,
  type TokenStore,
  versionIdFor,
  type WriteOutcome,
} from './secrets-store.js';

const CONDITION_FAILED = 'ConditionalCheckFailedException';

export interface DynamoDbTokenStoreOptions extends AwsCallOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
}

/**
 * Every change is one conditional UpdateItem on the shop's item. `replace` stores and promotes in
 * the same write, on the condition that the current version is still the one it was based on:
 * there is no moment at which a new token is stored but not current, so no pending version is
 * left behind by a refresh, and a write whose answer was lost is recognised by its version id
 * (derived from shop and value, as in Secrets Manager) when the retry finds it current.
 */
export class DynamoDbTokenStore implements TokenStore {
  readonly #client: DynamoDBClient;
  readonly #table: string;
  readonly #calls: AwsCalls;

  constructor(options: DynamoDbTokenStoreOptions) {
    this.#client = options.client;
    this.#table = options.tableName;
    this.#calls = new AwsCalls('DynamoDB', options);
  }

  /** Current, pending and kept in one strongly consistent GetItem. */
  async read(shopId: string): Promise<StoredToken> {
    const item = await this.#get(shopId);
    const token = item === undefined ? undefined : tokenOf(item);
    if (token === undefined) throw notFound(shopId);
    return token;
  }

  async replace(shopId: string, raw: string, basedOnVersionId: string): Promise<WriteOutcome> {
    const versionId = versionIdFor(shopId, raw);
    const written = await this.#update(shopId, {
      UpdateExpression: 'SET #previous = #current, #current = :version REMOVE #pending',
      ConditionExpression: '#current.#version = :basedOn',
      ExpressionAttributeValues: {
        ':version': versionAttribute(versionId, raw, this.#calls.clock.now()),
        ':basedOn': { S: basedOnVersionId },
      },
    });
    return written ? { stored: true, versionId } : this.#outcomeAfterRefusal(shopId, versionId);
  }

  /**
   * Makes the pending or kept version `versionId` current, if the current version is still
   * `basedOnVersionId`. Which slot holds it is read first: promoting is rare (an interrupted
   * write), so the extra read costs nothing that matters.
   */
  async promote(
    shopId: string,
    versionId: string,
    basedOnVersionId: string,
  ): Promise<WriteOutcome> {
    const item = await this.#get(shopId);
    if (item === undefined || versionIn(item, 'current') === undefined) throw notFound(shopId);
    const slot = (['pending', 'kept'] as const).find(
      (candidate) => versionIn(item, candidate)?.versionId === versionId,
    );
    if (slot === undefined) {
      if (versionIn(item, 'current')?.versionId === basedOnVersionId) {
        throw new SecretStoreError(
          `DynamoDB: version ${versionId} of shop ${shopId} is neither pending nor kept`,
          { awsName: 'ResourceNotFoundException' },
        );
      }
      return outcomeOf(item, versionId, shopId);
    }
    const written = await this.#update(shopId, {
      UpdateExpression: `SET #previous = #current, #current = ${slotName(slot)} REMOVE ${slotName(slot)}`,
      ConditionExpression: `#current.#version = :basedOn AND ${slotName(slot)}.#version = :version`,
      ExpressionAttributeValues: {
        ':basedOn': { S: basedOnVersionId },
        ':version': { S: versionId },
      },
    });
    return written ? { stored: true, versionId } : this.#outcomeAfterRefusal(shopId, versionId);
  }

  /** Stores `raw` beside the current version, never current; replaces an earlier kept answer. */
  async keep(shopId: string, raw: string): Promise<string> {
    return this.#putBeside(shopId, raw, 'kept');
  }

  /**
   * Stores `raw` as the pending version without making it current (proposed for TokenStore:
   * the switch between stores copies a pending version with it). `promote` makes it current.
   */
  async stage(shopId: string, raw: string): Promise<string> {
    return this.#putBeside(shopId, raw, 'pending');
  }

  /**
   * Makes `raw` current whatever is current now, as a consent does (onboarding, `npm run
   * authorize`): creates the shop's item, or keeps the token it replaces as the previous one.
   * A pending version of the old authorization is dropped; `app` binds the shop to its app.
   */
  async putCurrent(shopId: string, raw: string, options: { app?: string } = {}): Promise<string> {
    const versionId = versionIdFor(shopId, raw);
    const values: Item = {
      ':version': versionAttribute(versionId, raw, this.#calls.clock.now()),
      ...(options.app === undefined ? {} : { ':app': { S: options.app } }),
    };
    const setApp = options.app === undefined ? '' : ', #app = :app';
    // Two shapes of write (SET #previous = #current fails on an item without one), each
    // conditional on the shape it expects; a concurrent first write sends us round once more.
    for (let attempt = 0; attempt < 3; attempt++) {
      const replaced = await this.#update(shopId, {
        UpdateExpression: `SET #previous = #current, #current = :version${setApp} REMOVE #pending`,
        ConditionExpression: 'attribute_exists(#current)',
        ExpressionAttributeValues: values,
      });
      if (replaced) return versionId;
      const created = await this.#update(shopId, {
        UpdateExpression: `SET #current = :version${setApp}`,
        ConditionExpression: 'attribute_not_exists(#current)',
        ExpressionAttributeValues: values,
      });
      if (created) return versionId;
    }
    throw new SecretStoreError(
      `DynamoDB: shop ${shopId} kept changing while its token was written`,
    );
  }

  async #putBeside(shopId: string, raw: string, slot: 'pending' | 'kept'): Promise<string> {
    const versionId = versionIdFor(shopId, raw);
    const written = await this.#update(shopId, {
      UpdateExpression: `SET ${slotName(slot)} = :version`,
      ConditionExpression: 'attribute_exists(#current)',
      ExpressionAttributeValues: {
        ':version': versionAttribute(versionId, raw, this.#calls.clock.now()),
      },
    });
    if (!written) throw notFound(shopId);
    return versionId;
  }

  /**
   * Refused: either another writer moved the current version on (lost the race), or an earlier
   * attempt whose answer was lost already made ours current. Only the item as it is now can tell.
   */
  async #outcomeAfterRefusal(shopId: string, versionId: string): Promise<WriteOutcome> {
    const item = await this.#get(shopId);
    if (item === undefined) throw notFound(shopId);
    return outcomeOf(item, versionId, shopId);
  }

  async #get(shopId: string): Promise<Item | undefined> {
    const answer = await this.#calls.run('GetItem', (send) =>
      this.#client.send(
        new GetItemCommand({
          TableName: this.#table,
          Key: shopKey(shopId),
          ConsistentRead: true,
          ProjectionExpression: READ_PROJECTION,
          ExpressionAttributeNames: namesFor(READ_PROJECTION),
        }),
        send,
      ),
    );
    return answer.Item;
  }

  /** A conditional UpdateItem: true when written, false when its condition failed. */
  async #update(
    shopId: string,
    input: Required<
      Pick<
        UpdateItemCommandInput,
        'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeValues'
      >
    >,
  ): Promise<boolean> {
    try {
      await this.#calls.run('UpdateItem', (send) =>
        this.#client.send(
          new UpdateItemCommand({
            TableName: this.#table,
            Key: shopKey(shopId),
            ...input,
            ExpressionAttributeNames: namesFor(input.UpdateExpression, input.ConditionExpression),
          }),
          send,
        ),
      );
      return true;
    } catch (error) {
      if (awsNameOf(error) === CONDITION_FAILED) return false;
      throw error;
    }
  }
}

function slotName(slot: Slot): string {
  return `#${slot}`;
}

function outcomeOf(item: Item, versionId: string, shopId: string): WriteOutcome {
  const currentVersionId = versionIn(item, 'current')?.versionId;
  if (currentVersionId === undefined) throw notFound(shopId);
  if (currentVersionId === versionId) return { stored: true, versionId };
  return { stored: false, currentVersionId };
}

function notFound(shopId: string): SecretStoreError {
  return new SecretStoreError(
    `shop ${shopId} has no token in the DynamoDB table yet (store the seller's first token: npm run authorize)`,
    { awsName: 'ResourceNotFoundException' },
  );
}
