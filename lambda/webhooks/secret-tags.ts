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
import { AwsCalls, type SendOptions } from '../shared/aws-call.js';
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

/**
 * Which secrets are the deployment's token secrets: those named under its token prefix, and
 * the adopted ones it names. Another deployment's secret in the account may carry the same
 * shop id tag; the receiver may not touch it, and must not try.
 */
export interface TokenSecretScope {
  /** `<secretNamePrefix>tokens/`. */
  readonly namePrefix: string;
  /** Adopted token secrets, by name or ARN, wherever they are named. */
  readonly ids: ReadonlySet<string>;
}

export class SecretTagsShopState implements ShopStatePort {
  readonly #client: SecretsManagerClient;
  readonly #calls: AwsCalls;
  readonly #scope: TokenSecretScope;

  /** `calls`: how each call is bounded and retried. @default AwsCalls without a deadline */
  constructor(options: {
    client: SecretsManagerClient;
    scope: TokenSecretScope;
    calls?: AwsCalls;
  }) {
    this.#client = options.client;
    this.#scope = options.scope;
    this.#calls = options.calls ?? new AwsCalls('Secrets Manager', {});
  }

  async findShops(app: string, tiktokShopId: string): Promise<readonly ShopState[]> {
    const key = shopIdTagKey(tiktokShopId);
    const found: ShopState[] = [];
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const page = await this.#send('ListSecrets', undefined, (send) =>
        this.#client.send(
          new ListSecretsCommand({
            Filters: [{ Key: 'tag-key', Values: [key] }],
            MaxResults: 100,
            NextToken: token,
          }),
          send,
        ),
      );
      for (const secret of page.SecretList ?? []) {
        // ListSecrets matches tag keys by prefix (`…:12` finds `…:123`): the key must be exact.
        if (!secret.Tags?.some((tag) => tag.Key === key)) continue;
        if ((appTagOf(secret.Tags) ?? DEFAULT_APP) !== app) continue;
        if (secret.Name === undefined || secret.ARN === undefined) continue;
        if (!this.#inScope(secret.Name, secret.ARN)) continue;
        found.push(stateOf({ id: secret.ARN, name: secret.Name, arn: secret.ARN }, secret.Tags));
      }
      nextToken = page.NextToken;
    } while (nextToken !== undefined);
    return found;
  }

  async connectedAt(shop: Shop): Promise<number | undefined> {
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const page = await this.#send('ListSecretVersionIds', shop.name, (send) =>
        this.#client.send(
          new ListSecretVersionIdsCommand({ SecretId: shop.id, MaxResults: 100, NextToken: token }),
          send,
        ),
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
    await this.#send('TagResource', shop.name, (send) =>
      this.#client.send(new TagResourceCommand({ SecretId: shop.id, Tags: tags }), send),
    );
  }

  #inScope(name: string, arn: string): boolean {
    const { namePrefix, ids } = this.#scope;
    return name.startsWith(namePrefix) || ids.has(name) || ids.has(arn);
  }

  #send<T>(
    operation: string,
    secret: string | undefined,
    call: (send: SendOptions) => Promise<T>,
  ): Promise<T> {
    return this.#calls.run(operation, call, secret === undefined ? undefined : `secret ${secret}`);
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
