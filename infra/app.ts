// The repository's CDK app (`cdk synth|deploy`): the product stack from context, cdk-nag checked.
import { Annotations, App, Duration, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { TokenStoreKind } from './refresher-props.js';
import {
  appsFromContext,
  STACK_NAME,
  shopsFromContext,
  TikTokShopTokenRefresherStack,
} from './stack.js';

/**
 * Shop used when no `shops` context is given, so that a bare `cdk synth` or `cdk deploy` works.
 * Its secret stays empty, and the alarms say so, until a real shop's token is put in.
 */
const PLACEHOLDER_SHOP = 'example-shop';

const app = new App();
const context = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  return value === undefined || value === '' ? undefined : String(value);
};

/** `-c shops=acme-uk,acme-us@us`: a shop of another app than `default` is `<shop>@<app>`. */
const shopsContext = context('shops');
const shops = shopsContext === undefined ? undefined : shopsFromContext(shopsContext);
/** `-c apps=us:us`: the apps besides `default`, each `<app>[:<consent region row|us>]`. */
const appsContext = context('apps');
/** A yes/no context (`-c name=true|false`); undefined when not given, so the stack's default holds. */
const flag = (key: string): boolean | undefined => {
  const value = context(key);
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') {
    throw new Error(`context "${key}" must be true or false (got "${value}")`);
  }
  return value === 'true';
};

/** `-c store=dynamodb`: every shop's token in one DynamoDB table instead of a secret each. */
const store = context('store');
if (store !== undefined && !Object.values<string>(TokenStoreKind).includes(store)) {
  throw new Error(
    `context "store" must be ${Object.values(TokenStoreKind).join(' or ')} (got "${store}")`,
  );
}

/** A whole-number context (`-c name=8`); undefined when not given. */
const whole = (key: string): number | undefined => {
  const value = context(key);
  if (value === undefined) return undefined;
  if (!/^[0-9]+$/.test(value)) {
    throw new Error(`context "${key}" must be a whole number (got "${value}")`);
  }
  return Number(value);
};
const timeoutMinutes = whole('timeoutMinutes');
const invocationsPerRun = whole('invocationsPerRun');

const vpcId = context('vpcId');
const stack = new TikTokShopTokenRefresherStack(app, STACK_NAME, {
  // Finding the VPC needs the account and region; the CLI sets these from the credentials.
  ...(vpcId !== undefined && {
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  }),
  shops: shops ?? [PLACEHOLDER_SHOP],
  apps: appsContext === undefined ? undefined : appsFromContext(appsContext),
  discoverByTag: flag('discoverByTag'),
  alarmEmail: context('alarmEmail'),
  exampleReader: flag('exampleReader'),
  consentCallback: flag('consentCallback'),
  vpcId,
  dashboard: flag('dashboard'),
  webhooks: flag('webhooks'),
  ...(store === undefined ? {} : { tokenStore: store as TokenStoreKind }),
  ...(timeoutMinutes === undefined ? {} : { timeout: Duration.minutes(timeoutMinutes) }),
  ...(invocationsPerRun === undefined ? {} : { invocationsPerRun }),
});
if (shops === undefined) {
  // A deploy without the context would drop the shops of the previous deploy from the function.
  Annotations.of(stack).addWarningV2(
    'tiktok-shop:placeholderShop',
    `No "shops" context: deploying the placeholder shop "${PLACEHOLDER_SHOP}". Pass -c shops=shop-a,shop-b or set "shops" under "context" in cdk.json.`,
  );
}

// cdk-nag 3 runs as a policy-validation plugin: unacknowledged findings fail the synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
