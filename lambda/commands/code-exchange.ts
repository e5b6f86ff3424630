// `npm run authorize -- --shop <name> …`: exchanges the seller's authorization code and stores
// the shop's token in its secret or a local file, by the same rules as the consent callback.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { connectShop } from '../onboarding/connect.js';
import { DynamoDbDestination } from '../onboarding/dynamodb-destination.js';
import { ShopConnectionRefusedError } from '../onboarding/errors.js';
import { shopConnectedEvent, shopConnectionRefusedEvent } from '../onboarding/events.js';
import { TokenSecretDestination } from '../onboarding/token-secret.js';
import { DEFAULTS, tokenSecretsPrefix } from '../shared/contract.js';
import type { RefresherEvent } from '../shared/event-publisher.js';
import { SecretsManagerTokenStore } from '../shared/secrets-store.js';
import { TikTokAuthClient } from '../shared/tiktok-auth-client.js';
import type { AppCredentials } from '../shared/token.js';
import type { AuthorizeCommand } from './authorize-args.js';
import { describeConnected, describeNotConnected } from './authorize-output.js';
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
  const file = command.toFile ? new TokenFileDestination(command.destination) : undefined;
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
      },
    );
    console.log(describeConnected(connected, command.toFile, table !== undefined));
    for (const warning of connected.warnings) console.error(`warning: ${warning}`);
    if (!command.toFile) await publish(shopConnectedEvent(connected, 'authorize-command'));
    return 0;
  } catch (error) {
    console.error(describeNotConnected(shop, error));
    if (error instanceof ShopConnectionRefusedError && !command.toFile) {
      await publish(shopConnectionRefusedEvent(destination.name, error, 'authorize-command'));
    }
    return 1;
  } finally {
    await file?.release();
  }
}
