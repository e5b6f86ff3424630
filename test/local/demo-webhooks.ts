/**
 * The demo's webhook chapter: a seller revokes the app and TikTok tells the receiver (its bundle,
 * served at a local function URL, each delivery in a fresh process); the next run leaves the shop
 * alone with the alarm on; the seller authorizes again and `npm run authorize` reconnects it.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  DescribeSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { LambdaFunctionURLResult } from 'aws-lambda';
import { functionAssetDir } from '../../infra/function-assets.js';
import { DETAIL_TYPE, ENV } from '../../lambda/shared/contract.js';
import { shopIdTagKey } from '../../lambda/shared/shop-state.js';
import { renderTable, type Style } from '../bench/format.js';
import { synthesizeProduct } from '../infra/variants.js';
import { serveFunctionUrl } from '../support/function-url-server.js';
import type { LocalDeployment } from '../support/local-deployment.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '../../lambda/commands/cli.ts');
/** The shop's id at TikTok, as Get Authorized Shops lists it and onboarding tags it. */
const TIKTOK_SHOP_ID = '7494049642642441621';
const NOTIFICATION_ID = 'demo-deauthorization-1';

export interface WebhookChapter {
  readonly deployment: LocalDeployment;
  readonly style: Style;
  /** The token secret of the shop whose seller revokes the app. */
  readonly shopSecret: string;
  /** The alarms of the template that would fire on what the receiver printed. */
  readonly alarmsFiring: (logs: readonly string[]) => string[];
  /** Runs the refresher with `event` and describes it, as the demo's other runs. */
  readonly runAndDescribe: (title: string, event: unknown) => Promise<string[]>;
  /** The event the schedule sends. */
  readonly scheduledEvent: unknown;
  readonly print: (lines: readonly string[]) => void;
  readonly progress: (step: string) => void;
}

export async function webhookChapter(chapter: WebhookChapter): Promise<void> {
  const { deployment, style, shopSecret, print } = chapter;
  const openId = storedOpenId(deployment, shopSecret);
  const client = new SecretsManagerClient({
    endpoint: deployment.secretsManager.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const logs: string[] = [];
  const deployed = receiverAsDeployed();
  const receiver = await serveFunctionUrl(async (event) => {
    const outcome = await deployment.invoke(event, {
      bundle: {
        handlerPath: join(functionAssetDir('webhooks'), 'index.mjs'),
        handlerExport: 'handler',
      },
      timeoutMs: deployed.timeoutMs,
      environment: deployed.environment,
    });
    logs.push(...outcome.logs);
    if (outcome.error !== undefined) return { statusCode: 502, body: outcome.error.errorType };
    return outcome.result as unknown as LambdaFunctionURLResult;
  });
  try {
    // Onboarding tags each token secret with the TikTok shop ids its token covers.
    await client.send(
      new TagResourceCommand({
        SecretId: shopSecret,
        Tags: [{ Key: shopIdTagKey(TIKTOK_SHOP_ID), Value: '1' }],
      }),
    );
    deployment.tiktok.revoke(openId);
    chapter.progress('a seller revokes the app: TikTok notifies the webhook receiver…');
    const eventsFrom = deployment.eventBridge.events.length;
    // A second ahead: the shop's token was stored moments ago (run 2), and a notification older
    // than the token is about an authorization the shop has replaced since.
    const timestamp = Math.floor(Date.now() / 1000) + 1;
    const notification = {
      type: 6,
      shopId: TIKTOK_SHOP_ID,
      notificationId: NOTIFICATION_ID,
      timestamp,
    };
    const delivered = await deployment.tiktok.notify(receiver.url, notification);
    const replayed = await deployment.tiktok.notify(receiver.url, notification);
    const forged = await deployment.tiktok.notify(
      receiver.url,
      { ...notification, notificationId: 'demo-forged' },
      { signWith: { appKey: deployment.tiktok.appKey, appSecret: 'not-the-app-secret' } },
    );
    const firing = chapter.alarmsFiring(logs);
    print([
      '',
      style.bold('Webhook — the seller of the shop revokes the app; TikTok tells the receiver'),
      `  ${shopSecret} covers TikTok shop ${TIKTOK_SHOP_ID} (tag ${shopIdTagKey(TIKTOK_SHOP_ID)}, put there by onboarding)`,
      `  type 6 (SELLER_DEAUTHORIZATION), signed with the app's secret: ${delivered.status} ${delivered.body}`,
      `  the same notification again (a replay or TikTok's retry): ${replayed.status} ${replayed.body}`,
      `  a notification signed with another secret: ${forged.status} ${forged.body}`,
      '',
      style.bold('  Events published to EventBridge'),
      ...renderTable(
        [{ header: 'detail-type' }, { header: 'shop' }, { header: 'detail' }],
        deployment.eventBridge.events.slice(eventsFrom).map((event) => {
          const detail = event.Detail as Record<string, unknown>;
          return [
            event.DetailType,
            String(detail.shop),
            `TikTok shop ${String(detail.tiktokShopId)}, deauthorized at ${String(detail.deauthorizedAt)}`,
          ];
        }),
      ).map((line) => `  ${line}`),
      '',
      style.bold('  The mark on the token secret'),
      ...(await stateTags(client, shopSecret)),
      '',
      style.bold(
        '  Alarms that would fire (from the receiver’s metrics and the template’s alarms)',
      ),
      ...firing.map((line) => `  ${line}`),
    ]);
    // TikTok treats anything but a 200 as not delivered: the demo must not carry on as if it were.
    const wrong = [
      delivered.status === 200 ? [] : [`the notification was answered ${delivered.status}`],
      replayed.status === 200 ? [] : [`its replay was answered ${replayed.status}`],
      forged.status === 401 ? [] : [`the forged notification was answered ${forged.status}`],
    ].flat();
    if (wrong.length > 0) throw new Error(`webhook receiver: ${wrong.join('; ')}`);

    chapter.progress('running the function as the schedule does, after the deauthorization…');
    const callsFrom = deployment.tiktok.calls.length;
    print(
      await chapter.runAndDescribe(
        `Run 3 — as the schedule runs it, after ${DETAIL_TYPE.shopDeauthorized}`,
        chapter.scheduledEvent,
      ),
    );
    const calls = deployment.tiktok.calls.slice(callsFrom).filter((call) => call.openId === openId);
    print([`  TikTok calls for ${shopSecret} in this run: ${calls.length}`]);

    chapter.progress('the seller authorizes the app again: npm run authorize stores the code…');
    const authCode = `AUTHCODE_demo_${Date.now()}`;
    deployment.tiktok.addSeller({ authCode, openId });
    const reconnected = await authorize(deployment, shopSecret, authCode);
    print([
      '',
      style.bold(
        'Reconnect — the seller authorizes the app again; npm run authorize stores the code',
      ),
      `  TIKTOK_AUTH_CODE=… npm run authorize -- --shop ${shopName(shopSecret)}: ${reconnected}`,
      ...(await stateTags(client, shopSecret)),
    ]);
    print(
      await chapter.runAndDescribe('Run 4 — refresh the reconnected shop now', {
        force: true,
        shops: [shopSecret],
      }),
    );
  } finally {
    client.destroy();
    await receiver.close();
  }
}

/** The receiver's timeout and environment as the product stack deploys them with webhooks on. */
function receiverAsDeployed(): { timeoutMs: number; environment: Record<string, string> } {
  const { stack, template } = synthesizeProduct({ shops: ['shop-a'], webhooks: true });
  const fn = stack.refresher.webhookReceiver?.function;
  if (fn === undefined) throw new Error('the stack deployed no webhook receiver');
  const id = stack.getLogicalId(fn.node.defaultChild as CfnFunction);
  const { Timeout, Environment } = template.toJSON().Resources[id].Properties as {
    Timeout: number;
    Environment: { Variables: Record<string, string> };
  };
  return { timeoutMs: Timeout * 1000, environment: Environment.Variables };
}

function storedOpenId(deployment: LocalDeployment, secret: string): string {
  const stored = JSON.parse(deployment.secretsManager.current(secret) ?? '{}') as {
    data?: { open_id?: string };
  };
  if (stored.data?.open_id === undefined) throw new Error(`${secret} holds no seller's token`);
  return stored.data.open_id;
}

function shopName(secret: string): string {
  return secret.slice(secret.lastIndexOf('/') + 1);
}

/** The webhook state tags of the token secret, as an operator sees them with DescribeSecret. */
async function stateTags(client: SecretsManagerClient, secret: string): Promise<string[]> {
  const { Tags = [] } = await client.send(new DescribeSecretCommand({ SecretId: secret }));
  const tags = Tags.filter(
    (tag) =>
      tag.Key?.startsWith('tiktok-shop-deauthorized') ||
      tag.Key?.startsWith('tiktok-shop-authorization'),
  );
  if (tags.length === 0) return ['  tags: no deauthorization mark'];
  return tags.map((tag) => `  tag ${tag.Key} = ${tag.Value}`);
}

/** `npm run authorize` in its own process, against the local endpoints; what it printed. */
async function authorize(
  deployment: LocalDeployment,
  secret: string,
  authCode: string,
): Promise<string> {
  const { functionEnvironment: fn } = deployment;
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx', CLI, 'authorize', '--shop', shopName(secret)],
      {
        env: {
          PATH: process.env.PATH,
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'local',
          AWS_SECRET_ACCESS_KEY: 'local',
          AWS_ENDPOINT_URL_SECRETS_MANAGER: deployment.secretsManager.url,
          AWS_ENDPOINT_URL_EVENTBRIDGE: deployment.eventBridge.url,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          [ENV.appCredentialsSecretId]: fn[ENV.appCredentialsSecretId] ?? '',
          [ENV.tiktokAuthBaseUrl]: deployment.tiktok.url,
          TIKTOK_AUTH_CODE: authCode,
        },
      },
    );
    return `exit 0\n${indented(stdout || stderr)}`;
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return `exit ${failed.code}\n${indented(`${failed.stdout ?? ''}${failed.stderr ?? ''}`)}`;
  }
}

function indented(text: string): string {
  return text
    .trim()
    .split('\n')
    .map((line) => `    ${line.trim()}`)
    .join('\n');
}
