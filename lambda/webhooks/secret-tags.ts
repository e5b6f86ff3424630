/**
 * The shops' authorization state in Secrets Manager: tags on each shop's token secret, found by
 * the TikTok shop id tags onboarding puts there (lambda/shared/shop-state.ts names them).
 */
import {
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  type SecretsManagerClient,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { appTagOf } from '../shared/apps.js';
import { DEFAULT_APP, SHOP_STATE_TAG } from '../shared/contract.js';
import type { Shop } from '../shared/shop.js';
import {
  type DeauthorizedMark,
  formatDeauthorizedMark,
  parseDeauthorizedMark,
  shopIdTagKey,
} from '../shared/shop-state.js';
import type { AuthorizationExpiry, ShopState, ShopStatePort } from './receive.js';

type Tags = readonly { readonly Key?: string; readonly Value?: string }[] | undefined;

export class SecretTagsShopState implements ShopStatePort {
  readonly #client: SecretsManagerClient;

  constructor(options: { client: SecretsManagerClient }) {
    this.#client = options.client;
  }

  async findShops(app: string, tiktokShopId: string): Promise<readonly ShopState[]> {
    const key = shopIdTagKey(tiktokShopId);
    const found: ShopState[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.#client.send(
        new ListSecretsCommand({
          Filters: [{ Key: 'tag-key', Values: [key] }],
          MaxResults: 100,
          NextToken: nextToken,
        }),
      );
      for (const secret of page.SecretList ?? []) {
        // ListSecrets matches tag keys by prefix (`…:12` finds `…:123`): the key must be exact.
        if (!secret.Tags?.some((tag) => tag.Key === key)) continue;
        if ((appTagOf(secret.Tags) ?? DEFAULT_APP) !== app) continue;
        if (secret.Name === undefined || secret.ARN === undefined) continue;
        found.push(stateOf({ id: secret.ARN, name: secret.Name, arn: secret.ARN }, secret.Tags));
      }
      nextToken = page.NextToken;
    } while (nextToken !== undefined);
    return found;
  }

  async connectedAt(shop: Shop): Promise<number | undefined> {
    let nextToken: string | undefined;
    do {
      const page = await this.#client.send(
        new ListSecretVersionIdsCommand({
          SecretId: shop.id,
          MaxResults: 100,
          NextToken: nextToken,
        }),
      );
      const current = page.Versions?.find((version) =>
        version.VersionStages?.includes('AWSCURRENT'),
      );
      if (current !== undefined) return current.CreatedDate?.getTime();
      nextToken = page.NextToken;
    } while (nextToken !== undefined);
    return undefined;
  }

  async markDeauthorized(shop: Shop, mark: DeauthorizedMark): Promise<void> {
    await this.#tag(shop, [
      { Key: SHOP_STATE_TAG.deauthorized, Value: formatDeauthorizedMark(mark) },
    ]);
  }

  async recordAuthorizationExpiry(shop: Shop, expiry: AuthorizationExpiry): Promise<void> {
    // One call: both tags or neither.
    await this.#tag(shop, [
      { Key: SHOP_STATE_TAG.authorizationExpires, Value: String(expiry.expiresAt) },
      { Key: SHOP_STATE_TAG.authorizationExpiresNotification, Value: expiry.notificationId },
    ]);
  }

  async #tag(shop: Shop, tags: { Key: string; Value: string }[]): Promise<void> {
    await this.#client.send(new TagResourceCommand({ SecretId: shop.id, Tags: tags }));
  }
}

/** What a token secret's tags say of its shop's authorization. */
export function stateOf(shop: Shop, tags: Tags): ShopState {
  const value = (key: string) => tags?.find((tag) => tag.Key === key)?.Value;
  const deauthorized = parseDeauthorizedMark(value(SHOP_STATE_TAG.deauthorized));
  const expiresAt = Number(value(SHOP_STATE_TAG.authorizationExpires));
  const notificationId = value(SHOP_STATE_TAG.authorizationExpiresNotification);
  return {
    shop,
    ...(deauthorized === undefined ? {} : { deauthorized }),
    ...(Number.isSafeInteger(expiresAt) && expiresAt > 0 && notificationId !== undefined
      ? { authorizationExpiry: { expiresAt, notificationId } }
      : {}),
  };
}
