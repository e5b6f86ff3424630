// The TikTokShopExampleReader construct: a Lambda that calls the TikTok Shop API for one shop.
import { Duration, Names } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  API_READER_ENV,
  DEFAULT_APP,
  DEFAULT_TIKTOK_API_BASE_URL,
  DETAIL_TYPE,
  EVENT_SOURCE,
} from '../lambda/shared/contract.js';
import { createAppFunction } from './lambda-function.js';
import type { TikTokShopTokenRefresher } from './token-refresher.js';

export interface TikTokShopExampleReaderProps {
  /** The refresher that keeps the shop's token fresh and announces each new one on its bus. */
  readonly refresher: TikTokShopTokenRefresher;

  /**
   * Shop whose token the example reads: one of the refresher's `shops`, or, when the refresher
   * discovers secrets by tag, a shop onboarded at run time.
   */
  readonly shop: string;

  /**
   * The app of a shop onboarded at run time, when the refresher has several apps (a shop of
   * `shops` is bound already): the function may then read that app's credentials only.
   * @default - the refresher's only app; with several, every app's credentials may be read and
   * the token secret's `tiktok-shop-app` tag decides at run time
   */
  readonly app?: string;

  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The pattern for a Lambda function of another team that calls the TikTok Shop API for a shop
 * (lambda/reader/example-handler.ts): read access to that one token secret and to the app
 * credentials that sign each request, granted by the refresher's `grantApiAccess`, and a rule
 * that invokes it on the refresher's `Token Refreshed` event for that shop, so that it drops its
 * cached token at once instead of when the cache ages out.
 */
export class TikTokShopExampleReader extends Construct {
  /**
   * The example function. Invoke it by hand with `{}`: it calls GET /authorization/202309/shops
   * and answers the shops the token may act for and the token's expiry, never a token or cipher.
   */
  public readonly function: lambda.IFunction;
  /** Name of the token secret the function reads, as the refresher's events name the shop. */
  public readonly tokenSecretName: string;
  /** The rule that invokes the function when the shop's token was refreshed. */
  public readonly tokenRefreshedRule: events.Rule;

  constructor(scope: Construct, id: string, props: TikTokShopExampleReaderProps) {
    super(scope, id);
    const { refresher, shop } = props;
    this.tokenSecretName = refresher.tokenSecretName(shop);
    const appOptions = props.app === undefined ? {} : { app: props.app };
    // The default app's secret is named as it always was. Any other app the reader's client
    // finds from the token secret's app tag, as other teams' functions do: given only the shop.
    const namesDefaultApp = refresher.appOf(shop, appOptions) === DEFAULT_APP;
    const table = refresher.tokenTable;
    // A reader of the table names its app's credentials: an item has no tag to find them by.
    const credentialsId = table
      ? refresher.appCredentialsSecretIdFor(shop, appOptions)
      : namesDefaultApp
        ? refresher.appCredentialsSecretId
        : undefined;

    const { fn } = createAppFunction(this, {
      bundle: 'example-reader',
      runtime: refresher.runtime,
      roleDescription: `TikTok Shop example reader: calls the TikTok Shop API for shop ${shop}`,
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      logEncryptionKey: refresher.encryptionKey,
      // In the refresher's VPC, if it has one: the calls to TikTok leave from its Elastic IP.
      placement: refresher.vpcPlacement,
      description: `Example: calls the TikTok Shop API for shop ${shop}, as other teams' functions do`,
      // As for the refresher: init (SDK client, TLS) is CPU-bound, and CPU grows with memory.
      memorySize: 256,
      // Three attempts of at most 10 s each, with backoff; the client starts none past the end.
      timeout: Duration.seconds(30),
      environment: {
        ...(table === undefined
          ? { [API_READER_ENV.shopTokenSecretId]: this.tokenSecretName }
          : { [API_READER_ENV.tokenTableName]: table.tableName, [API_READER_ENV.shopName]: shop }),
        ...(credentialsId !== undefined && {
          [API_READER_ENV.appCredentialsSecretId]: credentialsId,
        }),
        [API_READER_ENV.tiktokApiBaseUrl]: DEFAULT_TIKTOK_API_BASE_URL,
        POWERTOOLS_SERVICE_NAME: Names.uniqueResourceName(this, { maxLength: 64, separator: '-' }),
      },
    });
    this.function = fn;
    refresher.grantApiAccess(fn, shop, appOptions);

    // No dead-letter queue: a lost event costs at most one cache age (60 s) of the previous
    // token, which stays valid for days after a refresh.
    this.tokenRefreshedRule = new events.Rule(this, 'TokenRefreshedRule', {
      eventBus: refresher.eventBus,
      description: `Tells the example reader that the token of shop ${shop} was refreshed`,
      eventPattern: {
        source: [EVENT_SOURCE],
        detailType: [DETAIL_TYPE.tokenRefreshed],
        // Events name a table's shop by its item's key.
        detail: { shop: [table === undefined ? this.tokenSecretName : shop] },
      },
      targets: [new targets.LambdaFunction(fn)],
    });
  }
}
