// Onboarding's ShopTokenDestination on a shop's item in the DynamoDB token table: the same rules
// as a token secret (a link is claimed once, the seller is checked, compare-and-swap on the version).
import {
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
  type UpdateItemCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { type AwsCallOptions, AwsCalls, awsNameOf } from '../shared/aws-call.js';
import { DEFAULT_APP, SELLER_ATTRIBUTE, SELLER_INDEX_NAME } from '../shared/contract.js';
import { type Item, NAMES, SHOP_KEY, shopKey, versionAttribute } from '../shared/dynamodb-item.js';
import { KEPT_LABEL, versionIdFor } from '../shared/secrets-store.js';
import {
  type DestinationState,
  type DestinationWrite,
  type KeptAnswer,
  type LinkClaim,
  linkUse,
  linkVersionId,
  type ShopTokenDestination,
  sellerTagValue,
  storedSeller,
  type WriteOptions,
} from './destination.js';

/** Index pages read when looking for a seller's other shops (a seller has one or two). */
const MAX_QUERY_PAGES = 10;

/**
 * The item's attributes onboarding adds: the seller (indexed), the links used on it, and when
 * each was claimed (`<link>@<epoch ms>`, a set as `links` is, so that one update adds both).
 */
const ONBOARDING_NAMES = {
  '#seller': SELLER_ATTRIBUTE,
  '#links': 'links',
  '#claimed': 'linksClaimedAt',
} as const;

export interface DynamoDbDestinationOptions extends AwsCallOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly shop: string;
}

/**
 * A shop's item as onboarding sees it. DynamoDB's conditional writes make the rules hold:
 *
 * - a consent link is claimed, before its code is exchanged, by adding its version id to the
 *   item's `links` set on the condition that it is not there yet: a link works once, even when
 *   used twice at once;
 * - the write is conditional on the current version being the one whose seller was checked (or
 *   on there being none), so a token the refresher stored meanwhile is never replaced blindly.
 *
 * The item records the seller (`seller`, as its tag value on a secret) so that a seller connected
 * under one shop name is found, through the table's `seller` index, before it is connected under
 * another; and the app, which is how the refresher and readers know whose credentials it needs.
 */
export class DynamoDbDestination implements ShopTokenDestination {
  readonly shop: string;
  readonly name: string;
  readonly #options: DynamoDbDestinationOptions;
  readonly #calls: AwsCalls;

  constructor(options: DynamoDbDestinationOptions) {
    // Events and pages name a table's shop as the refresher does: by its item's key.
    this.shop = options.shop;
    this.name = options.shop;
    this.#options = options;
    this.#calls = new AwsCalls('DynamoDB', options);
  }

  async inspect(linkNonce: string | undefined): Promise<DestinationState> {
    const item = await this.#get();
    if (item === undefined) return { linkUsed: false };
    const app = item.app?.S ?? DEFAULT_APP;
    const versionId = item.current?.M?.version?.S;
    const raw = item.current?.M?.token?.S;
    const claimedAt =
      linkNonce === undefined ? undefined : claimTime(item, linkVersionId(this.name, linkNonce));
    if (versionId === undefined || raw === undefined) {
      return { ...linkUse(claimedAt, undefined), app };
    }
    const storedAt = Number(item.current?.M?.createdAt?.N ?? Number.POSITIVE_INFINITY);
    return { ...linkUse(claimedAt, storedAt), app, current: storedSeller(versionId, raw) };
  }

  /**
   * Adds the link's version id to the item's `links` set on the condition that it is not there
   * yet, creating the item when there is none: of two uses at once, one write is refused. An item
   * created so holds no current token, which the refresher's survey and readers pass over.
   */
  async claimLink(linkNonce: string): Promise<LinkClaim> {
    const link = linkVersionId(this.name, linkNonce);
    const update = 'ADD #links :links, #claimed :claimed';
    const condition = 'attribute_not_exists(#links) OR NOT contains(#links, :link)';
    try {
      const answer = await this.#update({
        UpdateExpression: update,
        ConditionExpression: condition,
        ExpressionAttributeNames: namesIn(update, condition),
        ExpressionAttributeValues: {
          ':links': { SS: [link] },
          ':link': { S: link },
          ':claimed': { SS: [`${link}@${this.#calls.clock.now()}`] },
        },
        // Only whether an item was there is looked at: none means the claim created it.
        ReturnValues: 'ALL_OLD',
      });
      return { claimed: true, created: answer.Attributes === undefined };
    } catch (error) {
      if (awsNameOf(error) === 'ConditionalCheckFailedException') return { claimed: false };
      throw error;
    }
  }

  /**
   * Other shops whose item names this seller, from the `seller` index. The index is eventually
   * consistent, as ListSecrets is for secrets: two consents of one seller within a second or so
   * of each other may both pass this check.
   */
  async shopsOfSeller(openId: string): Promise<ShopTokenDestination[]> {
    const found: ShopTokenDestination[] = [];
    let startKey: Item | undefined;
    for (let page = 0; page < MAX_QUERY_PAGES; page++) {
      const exclusiveStartKey = startKey;
      const answer = await this.#calls.run('Query', (send) =>
        this.#options.client.send(
          new QueryCommand({
            TableName: this.#options.tableName,
            IndexName: SELLER_INDEX_NAME,
            KeyConditionExpression: '#seller = :seller',
            ExpressionAttributeNames: { '#seller': SELLER_ATTRIBUTE },
            ExpressionAttributeValues: { ':seller': { S: sellerTagValue(openId) } },
            ...(exclusiveStartKey === undefined ? {} : { ExclusiveStartKey: exclusiveStartKey }),
          }),
          send,
        ),
      );
      for (const item of answer.Items ?? []) {
        const shop = item[SHOP_KEY]?.S;
        if (shop !== undefined && shop !== this.#options.shop) {
          found.push(new DynamoDbDestination({ ...this.#options, shop }));
        }
      }
      startKey = answer.LastEvaluatedKey;
      if (startKey === undefined) break;
    }
    return found;
  }

  async write(raw: string, options: WriteOptions): Promise<DestinationWrite> {
    const versionId = versionIdFor(this.name, raw);
    const update =
      options.basedOnVersionId === undefined
        ? 'SET #current = :version, #app = :app, #seller = :seller'
        : 'SET #previous = #current, #current = :version, #app = :app, #seller = :seller REMOVE #pending';
    const condition =
      options.basedOnVersionId === undefined
        ? 'attribute_not_exists(#current)'
        : '#current.#version = :basedOn';
    const values: Item = {
      ':version': versionAttribute(versionId, raw, this.#calls.clock.now()),
      ':app': { S: options.app },
      ':seller': { S: sellerTagValue(options.openId) },
      ...(options.basedOnVersionId === undefined
        ? {}
        : { ':basedOn': { S: options.basedOnVersionId } }),
    };
    try {
      await this.#update({
        UpdateExpression: update,
        ConditionExpression: condition,
        ExpressionAttributeNames: namesIn(update, condition),
        ExpressionAttributeValues: values,
      });
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
    // the same value), or another token became current since the look.
    const current = (await this.#get())?.current?.M;
    if (current?.version?.S === versionId && current.token?.S === raw) {
      return { stored: true, versionId, created: false, warnings: [] };
    }
    return { stored: false, reason: 'moved' };
  }

  /** Stores `raw` as the item's `kept` version (replacing an earlier one), never current. */
  async keep(raw: string): Promise<KeptAnswer> {
    const versionId = versionIdFor(this.name, raw);
    const update = 'SET #kept = :version';
    await this.#update({
      UpdateExpression: update,
      ExpressionAttributeNames: namesIn(update),
      ExpressionAttributeValues: {
        ':version': versionAttribute(versionId, raw, this.#calls.clock.now()),
      },
    });
    return {
      versionId,
      label: KEPT_LABEL,
      where: `version ${versionId} (attribute ${NAMES['#kept']}) of item ${this.shop} in table ${this.#options.tableName}`,
    };
  }

  /** The table and key of this shop's item, for a command on it. */
  #item(): { TableName: string; Key: Item } {
    return { TableName: this.#options.tableName, Key: shopKey(this.#options.shop) };
  }

  /** UpdateItem on this shop's item. */
  #update(
    input: Omit<UpdateItemCommandInput, 'TableName' | 'Key'>,
  ): Promise<UpdateItemCommandOutput> {
    return this.#calls.run('UpdateItem', (send) =>
      this.#options.client.send(new UpdateItemCommand({ ...this.#item(), ...input }), send),
    );
  }

  async #get(): Promise<Item | undefined> {
    const projection = '#current, #app, #links, #claimed';
    const answer = await this.#calls.run('GetItem', (send) =>
      this.#options.client.send(
        new GetItemCommand({
          ...this.#item(),
          ConsistentRead: true,
          ProjectionExpression: projection,
          ExpressionAttributeNames: namesIn(projection),
        }),
        send,
      ),
    );
    return answer.Item;
  }
}

/** When the link was claimed on the item (0 when not recorded); undefined when it was not. */
function claimTime(item: Item, link: string): number | undefined {
  if (!(item.links?.SS ?? []).includes(link)) return undefined;
  const at = item.linksClaimedAt?.SS?.find((entry) => entry.startsWith(`${link}@`));
  return at === undefined ? 0 : Number(at.slice(link.length + 1));
}

/** The attribute names the expressions use: DynamoDB refuses one defined but unused. */
function namesIn(...expressions: readonly string[]): Record<string, string> {
  const used = new Set(expressions.join(' ').match(/#\w+/g));
  const all: Record<string, string> = { ...NAMES, ...ONBOARDING_NAMES };
  return Object.fromEntries(Object.entries(all).filter(([name]) => used.has(name)));
}
