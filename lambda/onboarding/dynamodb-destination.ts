// Onboarding's ShopTokenDestination on a shop's item in the DynamoDB token table: the same rules
// as a token secret (a link writes once, the seller is checked, compare-and-swap on the version).
import {
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { type AwsCallOptions, AwsCalls, awsNameOf } from '../shared/aws-call.js';
import { DEFAULT_APP, SELLER_ATTRIBUTE, SELLER_INDEX_NAME } from '../shared/contract.js';
import { type Item, NAMES, SHOP_KEY, shopKey, versionAttribute } from '../shared/dynamodb-item.js';
import { versionIdFor } from '../shared/secrets-store.js';
import {
  type DestinationState,
  type DestinationWrite,
  linkVersionId,
  type ShopTokenDestination,
  sellerTagValue,
  storedSeller,
} from './destination.js';

/** Index pages read when looking for a seller's other shops (a seller has one or two). */
const MAX_QUERY_PAGES = 10;

/** The item's attributes onboarding adds: the seller (indexed) and the links used on it. */
const ONBOARDING_NAMES = { '#seller': SELLER_ATTRIBUTE, '#links': 'links' } as const;

export interface DynamoDbDestinationOptions extends AwsCallOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly shop: string;
}

/**
 * A shop's item as onboarding sees it. DynamoDB's conditional writes make the rules hold:
 *
 * - a consent link's version id goes into the item's `links` set in the same write that makes the
 *   token current, on the condition that it is not there yet: a link works once, even when used
 *   twice at once;
 * - the write is conditional on the current version being the one whose seller was checked (or
 *   on there being none), so a token the refresher stored meanwhile is never replaced blindly.
 *
 * The item records the seller (`seller`, as its tag value on a secret) so that a seller connected
 * under one shop name is found, through the table's `seller` index, before it is connected under
 * another; and the app, which is how the refresher and readers know whose credentials it needs.
 */
export class DynamoDbDestination implements ShopTokenDestination {
  readonly name: string;
  readonly #options: DynamoDbDestinationOptions;
  readonly #calls: AwsCalls;

  constructor(options: DynamoDbDestinationOptions) {
    // Events and pages name a table's shop as the refresher does: by its item's key.
    this.name = options.shop;
    this.#options = options;
    this.#calls = new AwsCalls('DynamoDB', options);
  }

  async inspect(linkNonce: string | undefined): Promise<DestinationState> {
    const item = await this.#get();
    if (item === undefined) return { linkUsed: false };
    const linkUsed =
      linkNonce !== undefined &&
      (item.links?.SS ?? []).includes(linkVersionId(this.name, linkNonce));
    const app = item.app?.S ?? DEFAULT_APP;
    const versionId = item.current?.M?.version?.S;
    const raw = item.current?.M?.token?.S;
    if (versionId === undefined || raw === undefined) return { linkUsed, app };
    return { linkUsed, app, current: storedSeller(versionId, raw) };
  }

  /**
   * Other shops whose item names this seller, from the `seller` index. The index is eventually
   * consistent, as ListSecrets is for secrets: two consents of one seller within a second or so
   * of each other may both pass this check.
   */
  async shopsOfSeller(openId: string): Promise<string[]> {
    const found: string[] = [];
    let startKey: Item | undefined;
    for (let page = 0; page < MAX_QUERY_PAGES; page++) {
      const exclusiveStartKey = startKey;
      const answer = await this.#calls.run('Query', () =>
        this.#options.client.send(
          new QueryCommand({
            TableName: this.#options.tableName,
            IndexName: SELLER_INDEX_NAME,
            KeyConditionExpression: '#seller = :seller',
            ExpressionAttributeNames: { '#seller': SELLER_ATTRIBUTE },
            ExpressionAttributeValues: { ':seller': { S: sellerTagValue(openId) } },
            ...(exclusiveStartKey === undefined ? {} : { ExclusiveStartKey: exclusiveStartKey }),
          }),
          this.#calls.sendOptions,
        ),
      );
      for (const item of answer.Items ?? []) {
        const shop = item[SHOP_KEY]?.S;
        if (shop !== undefined && shop !== this.#options.shop) found.push(shop);
      }
      startKey = answer.LastEvaluatedKey;
      if (startKey === undefined) break;
    }
    return found;
  }

  async write(
    raw: string,
    options: {
      readonly basedOnVersionId: string | undefined;
      readonly linkNonce: string | undefined;
      readonly openId: string;
      readonly app: string;
    },
  ): Promise<DestinationWrite> {
    const link =
      options.linkNonce === undefined ? undefined : linkVersionId(this.name, options.linkNonce);
    const versionId = link ?? versionIdFor(this.name, raw);
    const set =
      options.basedOnVersionId === undefined
        ? 'SET #current = :version, #app = :app, #seller = :seller'
        : 'SET #previous = #current, #current = :version, #app = :app, #seller = :seller REMOVE #pending';
    const update = link === undefined ? set : `${set} ADD #links :links`;
    const onCurrent =
      options.basedOnVersionId === undefined
        ? 'attribute_not_exists(#current)'
        : '#current.#version = :basedOn';
    const condition =
      link === undefined ? onCurrent : `${onCurrent} AND NOT contains(#links, :link)`;
    const values: Item = {
      ':version': versionAttribute(versionId, raw, this.#calls.clock.now()),
      ':app': { S: options.app },
      ':seller': { S: sellerTagValue(options.openId) },
      ...(options.basedOnVersionId === undefined
        ? {}
        : { ':basedOn': { S: options.basedOnVersionId } }),
      ...(link === undefined ? {} : { ':links': { SS: [link] }, ':link': { S: link } }),
    };
    try {
      await this.#calls.run('UpdateItem', () =>
        this.#options.client.send(
          new UpdateItemCommand({
            TableName: this.#options.tableName,
            Key: shopKey(this.#options.shop),
            UpdateExpression: update,
            ConditionExpression: condition,
            ExpressionAttributeNames: namesIn(update, condition),
            ExpressionAttributeValues: values,
          }),
          this.#calls.sendOptions,
        ),
      );
      return {
        stored: true,
        versionId,
        created: options.basedOnVersionId === undefined,
        warnings: [],
      };
    } catch (error) {
      if (awsNameOf(error) !== 'ConditionalCheckFailedException') throw error;
    }
    // Refused: an earlier attempt whose answer was lost made ours current (the same version with
    // the same value), the link was used, or another token became current since the look.
    const item = await this.#get();
    const current = item?.current?.M;
    if (current?.version?.S === versionId && current.token?.S === raw) {
      return { stored: true, versionId, created: false, warnings: [] };
    }
    if (link !== undefined && (item?.links?.SS ?? []).includes(link)) {
      return { stored: false, reason: 'link-used' };
    }
    return { stored: false, reason: 'moved' };
  }

  async #get(): Promise<Item | undefined> {
    const projection = '#current, #app, #links';
    const answer = await this.#calls.run('GetItem', () =>
      this.#options.client.send(
        new GetItemCommand({
          TableName: this.#options.tableName,
          Key: shopKey(this.#options.shop),
          ConsistentRead: true,
          ProjectionExpression: projection,
          ExpressionAttributeNames: namesIn(projection),
        }),
        this.#calls.sendOptions,
      ),
    );
    return answer.Item;
  }
}

/** The attribute names the expressions use: DynamoDB refuses one defined but unused. */
function namesIn(...expressions: readonly string[]): Record<string, string> {
  const used = new Set(expressions.join(' ').match(/#\w+/g));
  const all: Record<string, string> = { ...NAMES, ...ONBOARDING_NAMES };
  return Object.fromEntries(Object.entries(all).filter(([name]) => used.has(name)));
}
