// TikTokShopTokenRefresherStack: the deployable product stack; how the CLI context maps to props.
import { CfnOutput, type Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
import { APP_NAME_RULE, isAppName } from '../lambda/shared/apps.js';
import { DEFAULT_APP } from '../lambda/shared/contract.js';
import { TikTokShopConsentCallback } from './consent-callback.js';
import { TikTokShopExampleReader } from './example-reader.js';
import {
  isConsentRegion,
  shopEntries,
  type TikTokShopBinding,
  type TikTokShopConsentRegion,
  TokenStoreKind,
} from './refresher-props.js';
import { TikTokShopTokenRefresher } from './token-refresher.js';

export const STACK_NAME = 'TikTokShopTokenRefresher';

/** An app of the product stack: its credentials secret is created empty, to fill after deploy. */
export interface TikTokShopStackAppProps {
  /**
   * Which Partner Center the app comes from, and so where its consent links send sellers.
   * @default TikTokShopConsentRegion.ROW
   */
  readonly consentRegion?: TikTokShopConsentRegion;
}

export interface TikTokShopTokenRefresherStackProps extends StackProps {
  /**
   * Shops to create token secrets for: a name alone is a shop of the app `default`,
   * `{ name, app }` a shop of another of `apps`.
   */
  readonly shops: (string | TikTokShopBinding)[];
  /**
   * The TikTok apps besides `default` (an entry for `default` only sets its consent region),
   * each with a credentials secret `tiktok-shop/apps/<app>/credentials` to fill after deploy.
   * @default - the app `default` only
   */
  readonly apps?: Record<string, TikTokShopStackAppProps>;
  /**
   * Also refresh secrets found by tag under the token name prefix. The consent callback needs
   * it (it creates new shops' secrets at run time): it cannot be turned off with the callback on.
   * @default - on when `consentCallback` is, else off
   */
  readonly discoverByTag?: boolean;
  /**
   * E-mail address that receives the alarms.
   * @default - no subscription
   */
  readonly alarmEmail?: string;
  /**
   * Deploy the example reader of the first shop's token, the pattern for other teams' functions.
   * There is none without a shop.
   * @default true
   */
  readonly exampleReader?: boolean;
  /**
   * Deploy the consent callback, whose URL is registered in TikTok Partner Center as the
   * app's redirect URL. Turns tag discovery on.
   * @default false
   */
  readonly consentCallback?: boolean;
  /**
   * An existing VPC to run the functions in, found by `cdk synth` (the stack then needs an
   * account and region): their calls leave through its NAT gateway, from its Elastic IP, the
   * address for the app's IP allow list. It needs private subnets with a route to a NAT gateway.
   * @default - no VPC
   */
  readonly vpcId?: string;
  /**
   * Create the refresher's CloudWatch dashboard.
   * @default true
   */
  readonly dashboard?: boolean;
  /**
   * Deploy the webhook receiver, whose URLs (one per app) are registered in TikTok Partner
   * Center for the authorization notifications.
   * @default false
   */
  readonly webhooks?: boolean;

  /**
   * Where the tokens are kept: `DYNAMODB` puts them in one table (`-c store=dynamodb`);
   * `discoverByTag` then does not apply.
   * @default TokenStoreKind.SECRETS_MANAGER
   */
  readonly tokenStore?: TokenStoreKind;

  /**
   * The refresher function's timeout (`-c timeoutMinutes=15`).
   * @default Duration.minutes(5)
   */
  readonly timeout?: Duration;

  /**
   * Invocations one scheduled run may take (`-c invocationsPerRun=8`): above 1, a Step
   * Functions state machine goes on while due shops are left for lack of time.
   * @default 1
   */
  readonly invocationsPerRun?: number;
}

/** The deployable product: the refresher with its defaults, and the outputs an operator needs. */
export class TikTokShopTokenRefresherStack extends Stack {
  public readonly refresher: TikTokShopTokenRefresher;
  /** The example reader, unless turned off or there is no shop. */
  public readonly exampleReader: TikTokShopExampleReader | undefined;
  /** The consent callback, when turned on. */
  public readonly consentCallback: TikTokShopConsentCallback | undefined;

  constructor(scope: Construct, id: string, props: TikTokShopTokenRefresherStackProps) {
    const {
      shops,
      apps,
      discoverByTag,
      alarmEmail,
      exampleReader,
      consentCallback,
      vpcId,
      dashboard,
      webhooks,
      tokenStore,
      timeout,
      invocationsPerRun,
      ...stackProps
    } = props;
    const onTable = tokenStore === TokenStoreKind.DYNAMODB;
    super(scope, id, {
      description: 'Keeps TikTok Shop OAuth tokens fresh in AWS Secrets Manager',
      ...stackProps,
    });
    if (consentCallback === true && discoverByTag === false && !onTable) {
      throw new Error(
        `${id}: consentCallback needs discoverByTag: the callback creates the token secrets of new shops at run time, and the refresher finds them only by tag`,
      );
    }
    this.refresher = new TikTokShopTokenRefresher(this, 'Refresher', {
      shops,
      apps,
      discoverTokenSecretsByTag: onTable ? undefined : (discoverByTag ?? consentCallback),
      ...(tokenStore === undefined ? {} : { tokenStore }),
      alarmEmail,
      vpc: vpcId === undefined ? undefined : ec2.Vpc.fromLookup(this, 'Vpc', { vpcId }),
      createDashboard: dashboard,
      webhooks,
      ...(timeout === undefined ? {} : { timeout }),
      ...(invocationsPerRun === undefined ? {} : { invocationsPerRun }),
    });

    const { appCredentialsSecret, tokenSecrets, alarmTopic } = this.refresher;
    new CfnOutput(this, 'AppCredentialsSecretName', {
      description: 'Put {"app_key","app_secret"} here',
      value: this.refresher.appCredentialsSecretId,
    });
    new CfnOutput(this, 'AppCredentialsSecretArn', { value: appCredentialsSecret.secretArn });
    const otherApps = Object.entries(this.refresher.appCredentialsSecretIds).filter(
      ([app]) => app !== DEFAULT_APP,
    );
    if (otherApps.length > 0) {
      new CfnOutput(this, 'OtherAppsCredentialsSecretNames', {
        description:
          'The other apps\' credentials secrets, as app=secret name, comma-separated: put each app\'s {"app_key","app_secret"} here',
        value: otherApps.map(([app, id]) => `${app}=${id}`).join(','),
      });
    }
    if (tokenSecrets.length > 0) {
      new CfnOutput(this, 'TokenSecretNames', {
        description: "Shop token secrets, comma-separated: put each shop's first token here",
        value: this.refresher.tokenSecretIds.join(','),
      });
      new CfnOutput(this, 'TokenSecretArns', {
        value: tokenSecrets.map((secret) => secret.secretArn).join(','),
      });
    }
    if (this.refresher.tokenTable !== undefined) {
      new CfnOutput(this, 'TokenTableName', {
        description: 'The table of every shop token: TOKEN_TABLE_NAME for npm run authorize',
        value: this.refresher.tokenTable.tableName,
      });
    }
    new CfnOutput(this, 'FunctionName', {
      description:
        "Invoke by hand: aws lambda invoke --function-name <this> --payload '{}' out.json",
      value: this.refresher.function.functionName,
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: alarmTopic.topicArn });
    if (this.refresher.dashboard !== undefined) {
      new CfnOutput(this, 'DashboardName', {
        description: 'The CloudWatch dashboard of the runs (CloudWatch console, Dashboards)',
        value: this.refresher.dashboard.dashboardName,
      });
    }

    const receiver = this.refresher.webhookReceiver;
    if (receiver !== undefined) {
      new CfnOutput(this, 'WebhookUrls', {
        description:
          "Each app's webhook URL, as app=URL, comma-separated: register it in that app's Partner Center (docs/webhooks.md)",
        value: Object.keys(this.refresher.appCredentialsSecretIds)
          .map((app) => `${app}=${receiver.urlOf(app)}`)
          .join(','),
      });
    }

    const [firstShop] = shopEntries(shops);
    this.exampleReader =
      exampleReader !== false && firstShop !== undefined
        ? new TikTokShopExampleReader(this, 'ExampleReader', {
            refresher: this.refresher,
            shop: firstShop.name,
          })
        : undefined;
    if (this.exampleReader !== undefined) {
      new CfnOutput(this, 'ExampleReaderFunctionName', {
        description: `Example reader of ${this.exampleReader.tokenSecretName}: aws lambda invoke --function-name <this> --payload '{}' out.json`,
        value: this.exampleReader.function.functionName,
      });
    }

    this.consentCallback =
      consentCallback === true
        ? new TikTokShopConsentCallback(this, 'ConsentCallback', { refresher: this.refresher })
        : undefined;
    if (this.consentCallback !== undefined) {
      new CfnOutput(this, 'ConsentCallbackUrl', {
        description:
          "The redirect URL to register in TikTok Partner Center (the app's callback URL): sellers land here after approving the app",
        value: this.consentCallback.functionUrl.url,
      });
      new CfnOutput(this, 'CallbackStateSecretName', {
        description:
          'Signing key of consent links: CALLBACK_STATE_SECRET_ID for npm run authorize -- --consent-link',
        value: this.consentCallback.stateKeySecretName,
      });
    }
  }
}

/**
 * The `apps` context: `-c apps=us:us,eu`, each `<app>[:<consent region>]`, the region `row`
 * (the global Partner Center) unless given as `us`.
 */
export function appsFromContext(text: string): Record<string, TikTokShopStackAppProps> {
  const apps: Record<string, TikTokShopStackAppProps> = {};
  for (const entry of listFromContext(text)) {
    const [app = '', region, ...rest] = entry.split(':');
    if (!isAppName(app) || rest.length > 0) {
      throw new Error(
        `context "apps": invalid entry "${entry}": give <app> or <app>:<row|us>, the app ${APP_NAME_RULE}`,
      );
    }
    if (region !== undefined && !isConsentRegion(region)) {
      throw new Error(
        `context "apps": app "${app}": the consent region is row or us, not "${region}"`,
      );
    }
    if (Object.hasOwn(apps, app)) throw new Error(`context "apps": app "${app}" is listed twice`);
    apps[app] = region === undefined ? {} : { consentRegion: region };
  }
  return apps;
}

/** The `shops` context: `-c shops=acme-uk,acme-us@us`, each `<shop>[@<app>]`. */
export function shopsFromContext(text: string): (string | TikTokShopBinding)[] {
  return listFromContext(text).map((entry) => {
    const [name = '', app, ...rest] = entry.split('@');
    if (rest.length > 0 || app === '') {
      throw new Error(`context "shops": invalid entry "${entry}": give <shop> or <shop>@<app>`);
    }
    return app === undefined ? name : { name, app };
  });
}

function listFromContext(text: string): string[] {
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}
