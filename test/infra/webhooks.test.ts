import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { functionAssetDir } from '../../infra/function-assets.js';
import { TikTokShopConsentRegion } from '../../infra/refresher-props.js';
import { STACK_NAME } from '../../infra/stack.js';
import { TikTokShopWebhookReceiver, WEBHOOK_TAG_KEYS } from '../../infra/webhook-receiver.js';
import {
  APPS_ENV,
  CALLBACK_ENV,
  DEFAULT_TOKEN_SECRET_TAG_KEY,
  DEFAULTS,
  ENV,
  METRIC,
  METRICS_NAMESPACE,
  SHOP_STATE_TAG,
  WEBHOOK_METRIC,
} from '../../lambda/shared/contract.js';
import { functionUrlEvent } from '../support/function-url-server.js';
import {
  environmentOf,
  expectExactStatements,
  logicalIdIn,
  properties,
  pseudoArn,
  statementsOf,
} from './template.js';
import { synthesizeProduct, synthesizeVariant } from './variants.js';

const run = promisify(execFile);

// Synthesized once for the file; every test only reads.
const product = synthesizeProduct({ shops: ['shop-a', 'shop-b'], webhooks: true });
const { refresher } = product.stack;
const receiver = refresher.webhookReceiver as TikTokShopWebhookReceiver;
const id = (construct: IConstruct) => logicalIdIn(product.stack, construct);
const fnId = id(receiver.function);
const child = (scope: IConstruct, name: string) => scope.node.findChild(name);

/** Two apps, tag discovery and a customer-managed key: the receiver built beside the refresher. */
const everything = synthesizeVariant(
  (scope) => ({
    apps: { us: { consentRegion: TikTokShopConsentRegion.US } },
    shops: ['acme-uk', { name: 'acme-us', app: 'us' }],
    discoverTokenSecretsByTag: true,
    encryptionKey: new kms.Key(scope, 'Key', { enableKeyRotation: true }),
  }),
  (scope, refresher) => {
    new TikTokShopWebhookReceiver(scope, 'Webhooks', { refresher });
  },
);
const standalone = everything.stack.node.findChild('Webhooks') as TikTokShopWebhookReceiver;

/** Runs the receiver's bundle in its own Node process, as Lambda would load it; its answer. */
function invokeReceiverBundle(
  environment: Record<string, string>,
  event: unknown,
): { statusCode: number } {
  const script = `
    const m = await import(process.argv[1]);
    const context = { getRemainingTimeInMillis: () => 3000, awsRequestId: 'probe' };
    const result = await m.handler(JSON.parse(process.argv[2]), context);
    console.log('RESULT=' + JSON.stringify(result));`;
  const output = execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      script,
      join(functionAssetDir('webhooks'), 'index.mjs'),
      JSON.stringify(event),
    ],
    { encoding: 'utf8', env: { PATH: process.env.PATH, AWS_REGION: 'us-east-1', ...environment } },
  );
  const line = output.split('\n').find((text) => text.startsWith('RESULT='));
  return JSON.parse(line?.slice('RESULT='.length) ?? 'null');
}

describe('Construct: TikTokShopWebhookReceiver', () => {
  it('serves a public function URL: TikTok cannot sign AWS requests, the HMAC authenticates', () => {
    // Prepare
    const urlId = id(receiver.functionUrl);

    // Assess
    expect(properties(product.template, urlId)).toEqual({
      AuthType: 'NONE',
      TargetFunctionArn: { 'Fn::GetAtt': [fnId, 'Arn'] },
    });
    expect(product.stack.resolve(receiver.url)).toEqual({ 'Fn::GetAtt': [urlId, 'FunctionUrl'] });
  });

  it('answers within TikTok’s 3 s, sized for a burst, with its own log', () => {
    // Assess
    expect(properties(product.template, fnId)).toMatchObject({
      Timeout: 3,
      MemorySize: 512,
      ReservedConcurrentExecutions: 10,
      LoggingConfig: { LogGroup: { Ref: id(child(receiver, 'LogGroup')) } },
    });
    expect(properties(product.template, fnId)).not.toHaveProperty('VpcConfig');
  });

  it('reads the apps’ credentials and the bus the refresher has, and counts under its service', () => {
    // Assess
    expect(environmentOf(product.template, fnId)).toEqual({
      [ENV.appCredentialsSecretId]: refresher.appCredentialsSecretId,
      [ENV.eventBusName]: DEFAULTS.eventBusName,
      [CALLBACK_ENV.tokenSecretPrefix]: 'tiktok-shop/',
      POWERTOOLS_SERVICE_NAME: refresher.serviceName,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    });
    expect(
      environmentOf(everything.template, logicalIdIn(everything.stack, standalone.function)),
    ).toMatchObject({
      [APPS_ENV.appCredentialsSecretIds]: JSON.stringify({
        us: 'tiktok-shop/apps/us/credentials',
      }),
    });
  });

  it('names the refresher’s token secrets: its name prefix, and the adopted ones wherever they are', () => {
    // Prepare
    const adopted = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:legacy/shop-x-AbCdEf';

    // Act
    const variant = synthesizeVariant(
      (scope) => ({
        secretNamePrefix: 'acme/',
        shops: ['acme-uk'],
        existingTokenSecrets: [
          secretsmanager.Secret.fromSecretCompleteArn(scope, 'Legacy', adopted),
          secretsmanager.Secret.fromSecretNameV2(scope, 'Named', 'legacy/shop-y'),
        ],
      }),
      (scope, refresher) => {
        new TikTokShopWebhookReceiver(scope, 'Webhooks', { refresher });
      },
    );

    // Assess: the created secret (acme/tokens/acme-uk) is under the prefix, not listed
    const webhooks = variant.stack.node.findChild('Webhooks') as TikTokShopWebhookReceiver;
    expect(
      environmentOf(variant.template, logicalIdIn(variant.stack, webhooks.function)),
    ).toMatchObject({
      [CALLBACK_ENV.tokenSecretPrefix]: 'acme/',
      [ENV.tokenSecretIds]: `${adopted},legacy/shop-y`,
    });
  });

  it('loads as bundled with the template’s environment, and answers a path of no app 404 before reading a secret', () => {
    // Prepare: the two-app variant's environment, which the handler reads on its first delivery
    const environment = environmentOf(
      everything.template,
      logicalIdIn(everything.stack, standalone.function),
    );

    // Act
    const answers = ['/eu', '/us/extra'].map((path) =>
      invokeReceiverBundle(environment, functionUrlEvent('POST', path, {}, Buffer.from('{}'))),
    );

    // Assess: a configuration the handler refused would answer 500
    expect(answers.map((answer) => answer.statusCode)).toEqual([404, 404]);
  });

  it('may list secrets, read the credentials, tag token secrets with its own tags only, and publish', () => {
    // Prepare
    const [shopA, shopB] = refresher.tokenSecrets.map((secret) => ({ Ref: id(secret) }));

    // Assess
    expectExactStatements(statementsOf(product.template, id(child(receiver, 'Role'))), [
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [id(child(receiver, 'LogGroup')), 'Arn'] },
      },
      {
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: { Ref: id(refresher.appCredentialsSecret) },
      },
      { Effect: 'Allow', Action: 'secretsmanager:ListSecrets', Resource: '*' },
      {
        Effect: 'Allow',
        Action: 'secretsmanager:ListSecretVersionIds',
        Resource: [shopA, shopB],
      },
      {
        Effect: 'Allow',
        Action: 'secretsmanager:TagResource',
        Resource: [shopA, shopB],
        Condition: {
          'ForAllValues:StringEquals': {
            'aws:TagKeys': [
              SHOP_STATE_TAG.deauthorized,
              SHOP_STATE_TAG.authorizationExpires,
              SHOP_STATE_TAG.authorizationExpiresNotification,
            ],
          },
        },
      },
      {
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: pseudoArn('events', 'event-bus/default'),
      },
    ]);
  });

  it('tags discovered token secrets only when they carry the discovery tag, and decrypts through Secrets Manager', () => {
    // Prepare
    const { stack, template, refresher: built } = everything;
    const tokenSecretsArn = pseudoArn('secretsmanager', 'secret:tiktok-shop/tokens/*');
    const keyArn = { 'Fn::GetAtt': [logicalIdIn(stack, child(stack, 'Key')), 'Arn'] };
    const tagged = { Null: { [`aws:ResourceTag/${DEFAULT_TOKEN_SECRET_TAG_KEY}`]: 'false' } };
    const statements = statementsOf(template, logicalIdIn(stack, child(standalone, 'Role')));

    const [uk, us] = built.tokenSecrets.map((secret) => ({ Ref: logicalIdIn(stack, secret) }));
    const onlyWebhookTags = {
      'ForAllValues:StringEquals': { 'aws:TagKeys': [...WEBHOOK_TAG_KEYS] },
    };

    // Assess
    expectExactStatements(statements, [
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [logicalIdIn(stack, child(standalone, 'LogGroup')), 'Arn'] },
      },
      {
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: Object.values(built.appCredentialsSecrets).map((secret) => ({
          Ref: logicalIdIn(stack, secret),
        })),
      },
      { Effect: 'Allow', Action: 'secretsmanager:ListSecrets', Resource: '*' },
      { Effect: 'Allow', Action: 'secretsmanager:ListSecretVersionIds', Resource: [uk, us] },
      {
        Effect: 'Allow',
        Action: 'secretsmanager:TagResource',
        Resource: [uk, us],
        Condition: onlyWebhookTags,
      },
      {
        Effect: 'Allow',
        Action: 'secretsmanager:ListSecretVersionIds',
        Resource: tokenSecretsArn,
        Condition: tagged,
      },
      {
        Effect: 'Allow',
        Action: 'secretsmanager:TagResource',
        Resource: tokenSecretsArn,
        Condition: { ...tagged, ...onlyWebhookTags },
      },
      {
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: pseudoArn('events', 'event-bus/default'),
      },
      {
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: keyArn,
        Condition: {
          StringEquals: {
            'kms:ViaService': {
              'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']],
            },
          },
        },
      },
    ]);
  });

  it('alarms on one refused signature, one failed notification or one deauthorized shop in an hour', () => {
    // Prepare
    const alarm = (name: keyof TikTokShopWebhookReceiver['alarms']) =>
      properties(product.template, id(receiver.alarms[name]));
    const counted = (metricName: string) => ({
      Namespace: METRICS_NAMESPACE,
      MetricName: metricName,
      Dimensions: [{ Name: 'service', Value: refresher.serviceName }],
      Statistic: 'Sum',
      Period: 3600,
    });
    const topic = [{ Ref: id(refresher.alarmTopic) }];
    const atLeastOne = {
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: topic,
    };

    // Assess
    expect(alarm('signaturesRefused')).toMatchObject({
      ...atLeastOne,
      ...counted(WEBHOOK_METRIC.badSignature),
    });
    expect(alarm('shopsDeauthorized')).toMatchObject({
      ...atLeastOne,
      ...counted(METRIC.shopsDeauthorized),
    });
    const failed = alarm('notificationsFailed') as {
      Metrics: {
        Id: string;
        Expression?: string;
        MetricStat?: { Metric: { MetricName: string } };
      }[];
    };
    expect(failed).toMatchObject(atLeastOne);
    expect(failed.Metrics.find((m) => m.Expression !== undefined)?.Expression).toBe(
      'failed + errors',
    );
    expect(failed.Metrics.flatMap((m) => m.MetricStat?.Metric.MetricName ?? []).sort()).toEqual([
      'Errors',
      WEBHOOK_METRIC.failed,
    ]);
  });

  it('counts expiring authorizations where the refresher’s Authorization Expiring alarm reads them', () => {
    // Act
    const fromReceiver = receiver.metricAuthorizationExpiring();
    const fromRefresher = refresher.metricAuthorizationExpiring();

    // Assess
    expect(fromReceiver.metricName).toBe(METRIC.authorizationExpiring);
    expect(fromReceiver.dimensions).toEqual(fromRefresher.dimensions);
    expect(fromReceiver.namespace).toBe(fromRefresher.namespace);
  });

  it('adds its alarms, notifications and answer time to the refresher’s dashboard', () => {
    // Prepare
    const dashboard = properties(product.template, id(refresher.dashboard as IConstruct));
    const body = JSON.stringify(product.stack.resolve(dashboard.DashboardBody));

    // Assess
    for (const text of [
      'Webhook alarms',
      'Webhook notifications answered 200',
      'Webhook notifications refused or failed',
      'Shops deauthorized',
      WEBHOOK_METRIC.badSignature,
      METRIC.shopsDeauthorized,
      WEBHOOK_METRIC.accepted,
    ]) {
      expect(body).toContain(text);
    }
  });

  it('names each app’s URL: the bare URL for default, the app as the path for another', () => {
    // Act
    const urls = Object.fromEntries(
      ['default', 'us'].map((app) => [app, everything.stack.resolve(standalone.urlOf(app))]),
    );

    // Assess
    const url = {
      'Fn::GetAtt': [logicalIdIn(everything.stack, standalone.functionUrl), 'FunctionUrl'],
    };
    expect(urls.default).toEqual(url);
    expect(urls.us).toEqual({ 'Fn::Join': ['', [url, 'us']] });
    expect(() => standalone.urlOf('eu')).toThrow(/"eu" is not an app of the refresher/);
  });
});

describe('Refresher and stack: webhooks on request', () => {
  it('creates no receiver by default', () => {
    // Act
    const { refresher: plain, template } = synthesizeVariant({ shops: ['shop-a'] });

    // Assess
    expect(plain.webhookReceiver).toBeUndefined();
    template.resourceCountIs('AWS::Lambda::Url', 0);
  });

  it('keeps the receiver outside the refresher’s VPC (it calls AWS only) and builds without a dashboard', () => {
    // Act
    const {
      stack,
      template,
      refresher: placed,
    } = synthesizeVariant((scope) => ({
      shops: ['shop-a'],
      createDashboard: false,
      webhooks: true,
      vpc: ec2.Vpc.fromVpcAttributes(scope, 'Vpc', {
        vpcId: 'vpc-0a1b2c3d4e5f60718',
        availabilityZones: ['eu-west-1a', 'eu-west-1b'],
        privateSubnetIds: ['subnet-0a1b2c3d4e5f60718', 'subnet-1a1b2c3d4e5f60718'],
      }),
    }));
    const fnOf = (fn: IConstruct) => properties(template, logicalIdIn(stack, fn));

    // Assess
    expect(fnOf(placed.function)).toHaveProperty('VpcConfig');
    expect(fnOf(placed.webhookReceiver?.function as IConstruct)).not.toHaveProperty('VpcConfig');
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
  });

  it('outputs every app’s URL to register in Partner Center', () => {
    // Act
    const twoApps = synthesizeProduct({
      shops: ['shop-a'],
      apps: { us: { consentRegion: TikTokShopConsentRegion.US } },
      webhooks: true,
    });
    const url = twoApps.stack.refresher.webhookReceiver?.functionUrl as IConstruct;
    const urlRef = { 'Fn::GetAtt': [logicalIdIn(twoApps.stack, url), 'FunctionUrl'] };

    // Assess
    expect(twoApps.template.toJSON().Outputs.WebhookUrls.Value).toEqual({
      'Fn::Join': ['', ['default=', urlRef, ',us=', urlRef, 'us']],
    });
  });
});

describe('cdk-nag AwsSolutions pack, with the webhook receiver', () => {
  const cases = [
    ['product', product.stack],
    ['everything', everything.stack],
  ] as const;

  it.each(cases)('finds nothing unacknowledged in the %s stack', (_name, stack) => {
    // Act
    const report = new AwsSolutionsChecks().validateScope(stack);

    // Assess
    expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
  });

  it.each(cases)(
    'acknowledges only findings of the receiver’s role that exist, one at a time, in the %s stack',
    (_name, stack) => {
      // Prepare
      const receiverOf = stack === product.stack ? receiver : standalone;
      const role = child(receiverOf, 'Role');
      const pack = new AwsSolutionsChecks();
      Reflect.set(pack, 'isAcknowledged', () => false);
      const raw = pack
        .validateScope(stack)
        .violations.flatMap((violation) =>
          violation.violatingResources
            .filter((resource) => resource.constructPath?.startsWith(`${role.node.path}/`))
            .map(() => violation.ruleName),
        );

      // Act
      const acknowledged = role.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) => Object.entries(entry.data as Record<string, string>))
        .map(([rule, reason]) => [rule.replace(/^annotation::/i, ''), reason] as const);

      // Assess
      expect(acknowledged.length).toBeGreaterThan(0);
      for (const [rule, reason] of acknowledged) {
        expect(rule).toMatch(/^AwsSolutions-IAM5\[Resource::.+\]$/);
        expect(raw).toContain(rule);
        expect(reason.length).toBeGreaterThan(60);
      }
    },
  );
});

describe('App: -c webhooks=true', () => {
  it('deploys the receiver and outputs its URL, cdk-nag clean', async () => {
    // Prepare
    const outdir = await mkdtemp(join(tmpdir(), 'cdk-webhooks-app-'));
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !/^(AWS|CDK)_/.test(name)),
    );

    try {
      // Act: the app as the CLI runs it (cdk-nag fails the synth on any finding)
      await run('npx', ['--no', 'tsx', 'infra/app.ts'], {
        env: {
          ...env,
          CDK_OUTDIR: outdir,
          CDK_CONTEXT_JSON: JSON.stringify({ shops: 'shop-a', webhooks: 'true' }),
        },
        maxBuffer: 16 * 1024 * 1024,
      });
      const template = JSON.parse(
        await readFile(join(outdir, `${STACK_NAME}.template.json`), 'utf8'),
      ) as { Resources: Record<string, { Type: string }>; Outputs: Record<string, unknown> };

      // Assess
      const urls = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Url');
      expect(urls).toHaveLength(1);
      expect(template.Outputs).toHaveProperty('WebhookUrls');
    } finally {
      await rm(outdir, { recursive: true, force: true });
    }
  }, 120_000);
});
