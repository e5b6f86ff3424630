/**
 * The authorize command: connects a shop from a seller's authorization code, or prints a
 * consent link for the seller to open.
 *
 * npm run authorize -- --shop <name> --auth-code-stdin [--token-file <path> | --secret-prefix tiktok-shop/ | --store dynamodb --table <name>] [--replace-seller] [--kms-key-id <key>] [--app <app>]
 * TIKTOK_AUTH_CODE=<code> npm run authorize -- --shop <name> …
 * npm run authorize -- --shop <name> --auth-code <code> …   (shows in npm's banner and shell history)
 * npm run authorize -- --consent-link --shop <name> [--app <app>] [--region row|us] [--service-id <id>]
 *
 * Connects a shop: exchanges the authorization code TikTok gave the seller for the shop's token
 * and stores TikTok's answer, unchanged, as the secret `<prefix>tokens/<shop>` (created, tagged
 * for the refresher's discovery and with the seller's open_id, when missing), or in a local
 * file, or as the shop's item of the DynamoDB token table (`--store dynamodb --table <name>`, or
 * TOKEN_STORE=dynamodb and TOKEN_TABLE_NAME). A shop that holds a token is reconnected only by the same seller; `--replace-seller`
 * hands it to another seller on purpose. A seller connected under another shop name is refused.
 * `--consent-link` prints the link a seller opens to authorize the app, with a signed `state`
 * that the consent callback accepts once, within an hour.
 *
 * Several TikTok apps: `--app <app>` (default `default`) names the app the seller approves, whose
 * credentials exchange the code and to which the shop is bound (its secret's `tiktok-shop-app`
 * tag); a shop bound to another app is refused. The command knows the deployment's apps from
 * `--apps` or TIKTOK_APPS, written as the stack's `-c apps=` (`us:us`: the app `us`, whose consent
 * page is the US one), and from APP_CREDENTIALS_SECRET_IDS as the functions get it. A link goes
 * to the app's consent page (`--region` only where the app's region is not declared), with the
 * service id of `--service-id`, else TIKTOK_SERVICE_ID (default app) or TIKTOK_SERVICE_ID_<APP>
 * (`us` → TIKTOK_SERVICE_ID_US).
 *
 * App key and secret: TIKTOK_APP_KEY and TIKTOK_APP_SECRET (the named app's), or else the app's
 * secret: APP_CREDENTIALS_SECRET_ID for the default app, the app's entry of
 * APP_CREDENTIALS_SECRET_IDS or `<prefix>apps/<app>/credentials` for another; a --token-file run
 * reads that secret only when AWS_REGION, AWS_DEFAULT_REGION, AWS_PROFILE or one of those
 * variables is set, and otherwise names the variables to set (aws-setup.ts). Writes to Secrets
 * Manager publish `Shop Connected` or `Shop Connection Refused` to EVENT_BUS_NAME (default
 * `default`). Exit codes: 0 done, 1 failed (nothing stored), 2 usage (a wrong option or a missing
 * setting, an AWS region included). Usage lines name the command as it was started (cli-help.ts).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AWS_REQUEST_HANDLER } from '../shared/budget.js';
import type { Env } from '../shared/env.js';
import { describeError } from '../shared/errors.js';
import { EventBridgePublisher, type RefresherEvent } from '../shared/event-publisher.js';
import { type CodeInput, readAuthCode } from './auth-code.js';
import { type Command, parseCommand, usage } from './authorize-args.js';
import { missesRegion, withAwsHint } from './aws-setup.js';
import { exchangeCode } from './code-exchange.js';
import { printableConsentLink } from './consent-link.js';
import { printable } from './terminal-text.js';

export async function main(
  argv: readonly string[],
  env: Env,
  /** Read only with --auth-code-stdin. */
  stdin?: CodeInput,
): Promise<number> {
  let command: Command;
  let authCode = '';
  try {
    command = parseCommand(argv, env);
    if (command.kind === 'authorize') {
      authCode =
        command.authCode === 'stdin'
          ? await readAuthCode(stdin ?? process.stdin, (text) => process.stderr.write(text))
          : command.authCode;
    }
  } catch (error) {
    console.error(`${printable(describeError(error).message, 2_000)}\n${usage(env)}`);
    return 2;
  }
  // Built only when used: a file-only run with app credentials in the environment needs no AWS.
  let client: SecretsManagerClient | undefined;
  let eventBridge: EventBridgeClient | undefined;
  let dynamodb: DynamoDBClient | undefined;
  const secretsManager = () => {
    // The stores retry with their own policy, so the SDK makes single attempts.
    client ??= new SecretsManagerClient({ maxAttempts: 1, requestHandler: AWS_REQUEST_HANDLER });
    return client;
  };
  try {
    if (command.kind === 'consent-link') {
      console.log(await printableConsentLink(command, secretsManager));
      return 0;
    }
    const busName = command.eventBusName;
    const publish = async (event: RefresherEvent) => {
      eventBridge ??= new EventBridgeClient({
        maxAttempts: 2,
        requestHandler: AWS_REQUEST_HANDLER,
      });
      const published = await new EventBridgePublisher({ client: eventBridge, busName }).publish([
        event,
      ]);
      if (published.failed > 0) {
        console.error(
          `warning: the ${event.detailType} event was not published to bus ${busName}: ${printable(published.reasons.join('; '), 300)}`,
        );
      }
    };
    return await exchangeCode(command, authCode, secretsManager, publish, () => {
      dynamodb ??= new DynamoDBClient({ maxAttempts: 1, requestHandler: AWS_REQUEST_HANDLER });
      return dynamodb;
    });
  } catch (error) {
    const message = describeError(error).message;
    console.error(`error: ${printable(withAwsHint(message), 2_000)}`);
    return missesRegion(message) ? 2 : 1;
  } finally {
    client?.destroy();
    eventBridge?.destroy();
    dynamodb?.destroy();
  }
}
