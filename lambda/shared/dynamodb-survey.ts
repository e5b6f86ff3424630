/**
 * Reading the whole fleet from the DynamoDB token table: every shop's survey fields in Scan pages
 * (no token read), and the tokens of the shops that need one, 100 to a BatchGetItem.
 */
import {
  BatchGetItemCommand,
  type DynamoDBClient,
  type KeysAndAttributes,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { type AwsCallOptions, AwsCalls } from './aws-call.js';
import { STORE_RETRY } from './budget.js';
import {
  type Item,
  namesFor,
  READ_PROJECTION,
  SHOP_KEY,
  type ShopSurvey,
  SURVEY_PROJECTION,
  shopKey,
  surveyOf,
  tokenOf,
} from './dynamodb-item.js';
import { TransientError } from './errors.js';
import type { StoredToken } from './secrets-store.js';

/** BatchGetItem takes at most 100 keys per call. */
export const BATCH_GET_MAX_KEYS = 100;

export interface DynamoDbSurveyOptions extends AwsCallOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
}

export interface ScanOptions {
  /** Items per Scan call (Limit); DynamoDB also ends a page at 1 MB read. Default: up to 1 MB. */
  readonly pageSize?: number;
  /** A parallel scan's part: this worker's segment of `totalSegments`. */
  readonly segment?: number;
  readonly totalSegments?: number;
}

export class DynamoDbShopSurvey {
  readonly #client: DynamoDBClient;
  readonly #table: string;
  readonly #calls: AwsCalls;

  constructor(options: DynamoDbSurveyOptions) {
    this.#client = options.client;
    this.#table = options.tableName;
    this.#calls = new AwsCalls('DynamoDB', options);
  }

  /**
   * Every shop with a current token, a Scan page at a time. Eventually consistent (half the read
   * cost): a write of the last second may be missed, which the next run sees; every decision to
   * write is taken on a strongly consistent read and a conditional write, never on this page.
   */
  async *pages(options: ScanOptions = {}): AsyncGenerator<ShopSurvey[]> {
    let startKey: Item | undefined;
    do {
      const exclusiveStartKey = startKey;
      const answer = await this.#calls.run('Scan', (send) =>
        this.#client.send(
          new ScanCommand({
            TableName: this.#table,
            ProjectionExpression: SURVEY_PROJECTION,
            ExpressionAttributeNames: namesFor(SURVEY_PROJECTION),
            ...(options.pageSize === undefined ? {} : { Limit: options.pageSize }),
            ...(options.totalSegments === undefined
              ? {}
              : { Segment: options.segment ?? 0, TotalSegments: options.totalSegments }),
            ...(exclusiveStartKey === undefined ? {} : { ExclusiveStartKey: exclusiveStartKey }),
          }),
          send,
        ),
      );
      const page: ShopSurvey[] = [];
      for (const item of answer.Items ?? []) {
        const survey = surveyOf(item);
        if (survey !== undefined) page.push(survey);
      }
      yield page;
      startKey = answer.LastEvaluatedKey;
    } while (startKey !== undefined);
  }

  /**
   * The tokens of `shopIds` (current, pending, kept, as `TokenStore.read` answers them), strongly
   * consistent, 100 keys to a BatchGetItem. Keys DynamoDB leaves unprocessed (throttling, the
   * 16 MB answer limit) are asked again after a backoff; a shop without a token is left out.
   */
  async readMany(shopIds: readonly string[]): Promise<Map<string, StoredToken>> {
    const unique = [...new Set(shopIds)];
    const found = new Map<string, StoredToken>();
    for (let start = 0; start < unique.length; start += BATCH_GET_MAX_KEYS) {
      await this.#readBatch(unique.slice(start, start + BATCH_GET_MAX_KEYS), found);
    }
    return found;
  }

  async #readBatch(shopIds: readonly string[], found: Map<string, StoredToken>): Promise<void> {
    let keys: KeysAndAttributes | undefined = {
      Keys: shopIds.map(shopKey),
      ConsistentRead: true,
      ProjectionExpression: READ_PROJECTION,
      ExpressionAttributeNames: namesFor(READ_PROJECTION),
    };
    for (let attempt = 1; keys !== undefined; attempt++) {
      const request: KeysAndAttributes = keys;
      const answer = await this.#calls.run('BatchGetItem', (send) =>
        this.#client.send(
          new BatchGetItemCommand({ RequestItems: { [this.#table]: request } }),
          send,
        ),
      );
      for (const item of answer.Responses?.[this.#table] ?? []) {
        const shop = item[SHOP_KEY]?.S;
        const token = tokenOf(item);
        if (shop !== undefined && token !== undefined) found.set(shop, token);
      }
      keys = answer.UnprocessedKeys?.[this.#table];
      if (keys?.Keys === undefined || keys.Keys.length === 0) return;
      if (attempt >= STORE_RETRY.maxAttempts || !this.#calls.timeLeft()) {
        throw new TransientError(
          `DynamoDB BatchGetItem left ${keys.Keys.length} of ${shopIds.length} shops unread after ${attempt} attempts`,
        );
      }
      const capMs = Math.min(STORE_RETRY.maxDelayMs, STORE_RETRY.baseDelayMs * 2 ** attempt);
      await this.#calls.clock.sleep(Math.random() * capMs);
    }
  }
}
