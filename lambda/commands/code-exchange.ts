// `npm run authorize -- --shop <name> …`: exchanges the seller's authorization code and stores
// the shop's token in its secret or a local file, by the same rules as the consent callback.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConnectedElsewhereError, connectShop } from '../onboarding/connect.js';
import { DynamoDbDestination } from '../onboarding/dynamodb-destination.js';
import { ShopConnectionRefusedError } from '../onboarding/errors.js';
import {
  answerKeptEvent,
  shopConnectedEvent,
  shopConnectionRefusedEvent,
} from '../onboarding/events.js';
import { TokenSecretDestination } from '../onboarding/token-secret.js';
import { authorizedShopIds } from '../shared/authorized-shops.js';
import { DEFAULTS, tokenSecretsPrefix } from '../shared/contract.js';
import { TokenNotCurrentError } from '../shared/errors.js';
import type { RefresherEvent } from '../shared/event-publisher.js';
import { SecretsManagerTokenStore } from '../shared/secrets-store.js';
import { SecretsManagerShopTags } from '../shared/shop-tags.js';
import { TikTokAuthClient } from '../shared/tiktok-auth-client.js';
import type { AppCredentials } from '../shared/token.js';
import type { AuthorizeCommand } from './authorize-args.js';
import { describeConnected, describeNotConnected } from './authorize-output.js';
import { missesRegion, withAwsHint } from './aws-setup.js';
import { printable } from './terminal-text.js';
import { TokenFileDestination } from './token-file.js';

/** Prints the outcome; answers the exit code: 0 connected, 1 not. */
export async function exchangeCode(
  command: AuthorizeCommand,
  authCode: string,
  secretsManager: () => SecretsManagerClient,
  publish: (event: RefresherEvent) => Promise<void>,
  dynamodb?: () => DynamoDBClient,
): Promise<number> {
  const { shop, tableName } = command;
  const file = command.toFile ? new TokenFileDestination(command.destination, shop) : undefined;
  const table =
    tableName === undefined || dynamodb === undefined
      ? undefined
      : new DynamoDbDestination({ client: dynamodb(), tableName, shop });
  const destination =
    file ??
    table ??
    new TokenSecretDestination({
      client: secretsManager(),
      shop,
      secretName: command.destination,
      tokenSecretsPrefix: tokenSecretsPrefix(command.secretPrefix),
      tagKey: command.tokenSecretTagKey,
      ...(command.kmsKeyId === undefined ? {} : { kmsKeyId: command.kmsKeyId }),
    });
  try {
    // A code works once: a file that cannot be written is found out before it is exchanged.
    await file?.prepareWrite();
    const connected = await connectShop(
      {
        shop,
        authCode,
        purpose: 'any',
        replaceSeller: command.replaceSeller,
        app: command.app.name,
      },
      {
        appCredentials: async (): Promise<AppCredentials> =>
          command.appCredentials ??
          new SecretsManagerTokenStore({
            client: secretsManager(),
            writesPerSecond: DEFAULTS.secretWritesPerSecond,
          }).readAppCredentials(command.app.credentialsSecretId),
        tiktok: new TikTokAuthClient({
          baseUrl: command.tiktokAuthBaseUrl,
          timeoutMs: DEFAULTS.tiktokTimeoutMs,
        }),
        destination,
        now: Date.now,
        // A secret's shop state, as the consent callback keeps it; a file or the table has none.
        ...(file === undefined && table === undefined
          ? {
              shopState: {
                tags: new SecretsManagerShopTags({ client: secretsManager() }),
                shopIds: (credentials: AppCredentials, accessToken: string) =>
                  authorizedShopIds({
                    baseUrl: command.tiktokApiBaseUrl,
                    credentials,
                    accessToken,
                    timeoutMs: DEFAULTS.tiktokTimeoutMs,
                    now: Date.now(),
                  }),
              },
            }
          : {}),
      },
    );
    console.log(describeConnected(connected, command.toFile, table !== undefined));
    for (const warning of connected.warnings) console.error(`warning: ${printable(warning, 500)}`);
    if (!command.toFile) await publish(shopConnectedEvent(connected, 'authorize-command'));
    return 0;
  } catch (error) {
    // The seller's token went to the seller's own shop: that shop is connected again.
    if (error instanceof ConnectedElsewhereError) {
      console.log(describeConnected(error.connected, command.toFile, table !== undefined));
      await publish(shopConnectedEvent(error.connected, 'authorize-command'));
    }
    const said = describeNotConnected(shop, error);
    console.error(withAwsHint(said));
    // No region is a missing setting, as a missing option is: the usage exit code.
    const failed = missesRegion(said) ? 2 : 1;
    if (command.toFile) return failed;
    if (error instanceof ShopConnectionRefusedError) {
      await publish(shopConnectionRefusedEvent(destination.name, error, 'authorize-command'));
    } else if (error instanceof TokenNotCurrentError) {
      await publish(
        answerKeptEvent(destination.name, shop, command.app.name, error, 'authorize-command'),
      );
    }
    return failed;
  } finally {
    await file?.release();
  }
}
