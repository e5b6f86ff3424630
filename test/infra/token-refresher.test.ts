import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Duration, type Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { MINIMUM_REFRESHER_TIMEOUT } from '../../infra/refresher-props.js';
import { SCHEDULED_EVENT, TikTokShopTokenRefresher } from '../../infra/token-refresher.js';
import type { TikTokShopTokenRefresherProps } from '../../infra/token-refresher-props.js';
import { runBudget } from '../../lambda/shared/budget.js';
import {
  DEFAULT_TOKEN_SECRET_TAG_KEY,
  DEFAULTS,
  ENV,
  METRIC,
  METRICS_NAMESPACE,
} from '../../lambda/shared/contract.js';
import { synthesizeRefresher } from '../support/synth.js';
import {
  expectExactStatements,
  logicalIdIn,
  onlyResourceOfType,
  properties,
  pseudoArn,
  statementsOf,
} from './template.js';
import { synthesizeVariant } from './variants.js';

// Synthesized once for the file: bundling takes seconds, every test below only reads.
const product = synthesizeRefresher({ shops: ['shop-a', 'shop-b'] });
const { stack, template } = product;
const { refresher } = stack;

const TOKEN_ACTIONS = [
  'secretsmanager:GetSecretValue',
  'secretsmanager:DescribeSecret',
  'secretsmanager:PutSecretValue',
  'secretsmanager:UpdateSecretVersionStage',
];
/** Listing token secrets with their labels and reading 20 current values a call: resource "*". */
/** Tagging a token secret with the TikTok shop ids its token covers, and no other tag key. */
function shopIdTagging(resource: unknown, condition: Record<string, unknown> = {}) {
  return {
    Effect: 'Allow',
    Action: 'secretsmanager:TagResource',
    Resource: resource,
    Condition: { ...condition, 'ForAllValues:StringLike': { 'aws:TagKeys': ['tiktok-shop-id:*'] } },
  };
}
const LIST_AND_BATCH_READ = {
  Effect: 'Allow',
  Action: ['secretsmanager:BatchGetSecretValue', 'secretsmanager:ListSecrets'],
  Resource: '*',
};

function logicalId(construct: IConstruct, inStack: Stack = stack): string {
  return logicalIdIn(inStack, construct);
}

/** The refresher's own log group: the product stack has the example reader's too. */
const logGroupId = logicalId(refresher.node.findChild('LogGroup'));

describe('Construct: TikTokShopTokenRefresher', () => {
  describe('secrets', () => {
    it('creates the app-credentials and shop secrets empty, under predictable names', () => {
      // Act
      const secrets = template.findResources('AWS::SecretsManager::Secret');

      // Assess
      expect(
        Object.values(secrets)
          .map((secret) => secret.Properties.Name)
          .sort(),
      ).toEqual([
        'tiktok-shop/app-credentials',
        'tiktok-shop/tokens/shop-a',
        'tiktok-shop/tokens/shop-b',
      ]);
      for (const secret of Object.values(secrets)) {
        expect(secret.Properties.SecretString).toBeUndefined();
        expect(secret.Properties.GenerateSecretString).toBeUndefined();
        expect(secret.DeletionPolicy).toBe('Retain');
        expect(secret.UpdateReplacePolicy).toBe('Retain');
      }
    });

    it('tags each shop secret with the discovery tag key and the shop name', () => {
      // Assess
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        Name: 'tiktok-shop/tokens/shop-a',
        Tags: [{ Key: DEFAULT_TOKEN_SECRET_TAG_KEY, Value: 'shop-a' }],
      });
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        Name: 'tiktok-shop/app-credentials',
        Tags: Match.absent(),
      });
    });
  });

  describe('function', () => {
    it('runs on Node.js 24 on arm64 as the single writer, with a five-minute timeout', () => {
      // Act
      const fn = properties(template, logicalId(refresher.function));

      // Assess
      expect(fn).toMatchObject({
        Runtime: lambda.Runtime.NODEJS_24_X.name,
        Architectures: ['arm64'],
        ReservedConcurrentExecutions: 1,
        Timeout: 300,
        MemorySize: 256,
        Handler: 'index.handler',
        LoggingConfig: {
          LogFormat: 'JSON',
          LogGroup: { Ref: logGroupId },
        },
      });
      expect(fn.TracingConfig).toBeUndefined();
    });

    it('hands the function literal secret names and its configuration', () => {
      // Assess
      expect(product.environment).toEqual({
        [ENV.appCredentialsSecretId]: 'tiktok-shop/app-credentials',
        [ENV.tokenSecretIds]: 'tiktok-shop/tokens/shop-a,tiktok-shop/tokens/shop-b',
        [ENV.tiktokAuthBaseUrl]: DEFAULTS.tiktokAuthBaseUrl,
        [ENV.refreshBeforeExpirySeconds]: '172800',
        [ENV.eventBusName]: 'default',
        [ENV.tiktokTimeoutMs]: String(DEFAULTS.tiktokTimeoutMs),
        [ENV.maxConcurrency]: String(DEFAULTS.maxConcurrency),
        [ENV.secretWritesPerSecond]: String(DEFAULTS.secretWritesPerSecond),
        POWERTOOLS_SERVICE_NAME: refresher.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      });
      expect(product.timeoutSeconds).toBe(300);
    });

    it('bundles the AWS SDK into one ESM module with a source map', () => {
      // Act
      const bundle = readFileSync(product.handlerPath, 'utf8');
      const sourceMap = JSON.parse(readFileSync(`${product.handlerPath}.map`, 'utf8')) as {
        sources: string[];
      };

      // Assess (booleans: a failed match would print the whole bundle)
      expect(product.handlerPath.endsWith('index.mjs')).toBe(true);
      expect(bundle.startsWith('import { createRequire as __createRequire }')).toBe(true);
      expect(/(from\s*|import\()["']@aws-sdk\//.test(bundle)).toBe(false);
      const bundled = (pkg: string) => sourceMap.sources.some((source) => source.includes(pkg));
      expect(bundled('node_modules/@aws-sdk/client-secrets-manager/')).toBe(true);
      expect(bundled('node_modules/@aws-sdk/client-eventbridge/')).toBe(true);
      expect(bundled('lambda/refresher/handler.ts')).toBe(true);
    });

    it('produces a bundle that Node loads and that names a refused event by its error class', () => {
      // Prepare: a separate process, as Lambda loads it (and outside this test's module graph).
      const script = `
        const m = await import(process.argv[1]);
        const context = { getRemainingTimeInMillis: () => 60000, awsRequestId: 'probe' };
        try { await m[process.argv[2]](42, context); } catch (error) { console.log('NAME=' + error.name); }`;

      // Act
      const output = execFileSync(
        process.execPath,
        ['--input-type=module', '-e', script, product.handlerPath, product.handlerExport],
        {
          encoding: 'utf8',
          env: { PATH: process.env.PATH, AWS_REGION: 'us-east-1', ...product.environment },
        },
      );

      // Assess: minified, yet Lambda's errorType (the class name) stays readable
      expect(output).toMatch(/^NAME=[A-Z][A-Za-z]{3,}Error$/m);
    });

    it('retries a failed run twice, then records it in the failure queue', () => {
      // Assess
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: logicalId(refresher.function) },
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 3600,
        DestinationConfig: {
          OnFailure: {
            Destination: { 'Fn::GetAtt': [logicalId(refresher.failureQueue), 'Arn'] },
          },
        },
      });
    });

    it('keeps its logs three months', () => {
      // Assess
      expect(properties(template, logGroupId)).toEqual({ RetentionInDays: 90 });
    });
  });

  describe('permissions', () => {
    it('lets the function read the app credentials, read and write only its token secrets, and publish to its bus', () => {
      // Prepare
      const secretRef = (secret: IConstruct) => ({ Ref: logicalId(secret) });
      const [shopA, shopB] = refresher.tokenSecrets;

      // Act
      const roleId = logicalId(refresher.function.role as iam.Role);

      // Assess
      expectExactStatements(statementsOf(template, roleId), [
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] },
        },
        {
          Effect: 'Allow',
          Action: 'secretsmanager:GetSecretValue',
          Resource: secretRef(refresher.appCredentialsSecret),
        },
        {
          Effect: 'Allow',
          Action: TOKEN_ACTIONS,
          Resource: [secretRef(shopA as IConstruct), secretRef(shopB as IConstruct)],
        },
        shopIdTagging([secretRef(shopA as IConstruct), secretRef(shopB as IConstruct)]),
        {
          Effect: 'Allow',
          Action: 'events:PutEvents',
          Resource: pseudoArn('events', 'event-bus/default'),
        },
        LIST_AND_BATCH_READ,
        {
          Effect: 'Allow',
          Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
          Resource: { 'Fn::GetAtt': [logicalId(refresher.failureQueue), 'Arn'] },
        },
      ]);
      template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: {
          Statement: [
            {
              Action: 'sts:AssumeRole',
              Effect: 'Allow',
              Principal: { Service: 'lambda.amazonaws.com' },
            },
          ],
        },
        ManagedPolicyArns: Match.absent(),
      });
    });

    it('lets another function read the token secrets and nothing else', () => {
      // Prepare
      const {
        stack: variantStack,
        template: variantTemplate,
        refresher: variant,
      } = synthesizeVariant({ shops: ['shop-a'] }, (scope, construct) => {
        const reader = new lambda.Function(scope, 'Reader', {
          runtime: lambda.Runtime.NODEJS_24_X,
          handler: 'index.handler',
          code: lambda.Code.fromInline('export const handler = async () => {};'),
        });
        // Act
        construct.grantReadTokens(reader);
      });
      const readerRole = variantStack.node.findChild('Reader').node.findChild('ServiceRole');

      // Assess
      expectExactStatements(statementsOf(variantTemplate, logicalId(readerRole, variantStack)), [
        {
          Effect: 'Allow',
          Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
          Resource: { Ref: logicalId(variant.tokenSecrets[0] as IConstruct, variantStack) },
        },
      ]);
    });

    /** A role without managed policies, granted one shop's token by the construct. */
    function grantOneShop(
      props: TikTokShopTokenRefresherProps | ((scope: Stack) => TikTokShopTokenRefresherProps),
      shop: string,
    ): { statements: unknown[]; variantStack: Stack } {
      const variant = synthesizeVariant(props, (scope, construct) => {
        const role = new iam.Role(scope, 'ReaderRole', {
          assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        });
        construct.grantReadToken(role, shop);
      });
      const roleId = logicalId(variant.stack.node.findChild('ReaderRole'), variant.stack);
      return { statements: statementsOf(variant.template, roleId), variantStack: variant.stack };
    }

    it("lets another function read one shop's token secret and no other", () => {
      // Act
      const { statements, variantStack } = grantOneShop({ shops: ['shop-a', 'shop-b'] }, 'shop-b');

      // Assess
      const shopB = variantStack.node.findChild('Refresher').node.findChild('TokenSecret-shop-b');
      expectExactStatements(statements, [
        {
          Effect: 'Allow',
          Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
          Resource: { Ref: logicalId(shopB, variantStack) },
        },
      ]);
    });

    it('grants a shop onboarded at run time by its secret name, tag required, when discovery is on', () => {
      // Act
      const { statements } = grantOneShop(
        { shops: ['shop-a'], discoverTokenSecretsByTag: true },
        'shop-new',
      );

      // Assess: the random suffix of the name, and nothing more, is left open
      expectExactStatements(statements, [
        {
          Effect: 'Allow',
          Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
          Resource: pseudoArn('secretsmanager', 'secret:tiktok-shop/tokens/shop-new-??????'),
          Condition: { Null: { [`aws:ResourceTag/${DEFAULT_TOKEN_SECRET_TAG_KEY}`]: 'false' } },
        },
      ]);
    });

    it("lets one shop's reader decrypt through Secrets Manager under a customer-managed key", () => {
      // Act
      const { statements, variantStack } = grantOneShop(
        (scope) => ({
          shops: ['shop-a'],
          encryptionKey: new kms.Key(scope, 'Key', { enableKeyRotation: true }),
        }),
        'shop-a',
      );

      // Assess
      const keyId = logicalId(variantStack.node.findChild('Key'), variantStack);
      expect(statements).toHaveLength(2);
      expect(statements).toContainEqual({
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: { 'Fn::GetAtt': [keyId, 'Arn'] },
        Condition: {
          StringEquals: {
            'kms:ViaService': {
              'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']],
            },
          },
        },
      });
    });

    it.each<[string, TikTokShopTokenRefresherProps, string, RegExp]>([
      [
        'a shop it has no secret for',
        { shops: ['shop-a'] },
        'shop-x',
        /no token secret for shop "shop-x"/,
      ],
      [
        'a wildcard in a shop name',
        { shops: ['shop-a'], discoverTokenSecretsByTag: true },
        'shop-*',
        /invalid shop name "shop-\*"/,
      ],
    ])('refuses to grant %s', (_case, props, shop, message) => {
      // Act & Assess
      expect(() => grantOneShop(props, shop)).toThrow(message);
    });
  });

  describe('permissions: grantApiAccess', () => {
    /** A role without managed policies, granted one shop's API access by the construct. */
    function grantApiAccess(
      props: TikTokShopTokenRefresherProps | ((scope: Stack) => TikTokShopTokenRefresherProps),
      shop: string,
    ): { statements: unknown[]; variantStack: Stack } {
      const variant = synthesizeVariant(props, (scope, construct) => {
        const role = new iam.Role(scope, 'ApiRole', {
          assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        });
        // Act
        construct.grantApiAccess(role, shop);
      });
      const roleId = logicalId(variant.stack.node.findChild('ApiRole'), variant.stack);
      return { statements: statementsOf(variant.template, roleId), variantStack: variant.stack };
    }

    const refresherChild = (variantStack: Stack, id: string) =>
      logicalId(variantStack.node.findChild('Refresher').node.findChild(id), variantStack);

    it("lets another function read one shop's token and the app credentials, nothing else", () => {
      // Act
      const { statements, variantStack } = grantApiAccess(
        { shops: ['shop-a', 'shop-b'] },
        'shop-b',
      );

      // Assess
      expectExactStatements(statements, [
        {
          Effect: 'Allow',
          Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
          Resource: { Ref: refresherChild(variantStack, 'TokenSecret-shop-b') },
        },
        {
          Effect: 'Allow',
          Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
          Resource: { Ref: refresherChild(variantStack, 'AppCredentialsSecret') },
        },
      ]);
    });

    it('decrypts both secrets through Secrets Manager only, under a customer-managed key', () => {
      // Act
      const { statements, variantStack } = grantApiAccess(
        (scope) => ({
          shops: ['shop-a'],
          encryptionKey: new kms.Key(scope, 'Key', { enableKeyRotation: true }),
        }),
        'shop-a',
      );

      // Assess
      const decrypts = statements.filter(
        (statement) => (statement as { Action: unknown }).Action === 'kms:Decrypt',
      );
      expect(decrypts).toEqual([
        {
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: {
            'Fn::GetAtt': [logicalId(variantStack.node.findChild('Key'), variantStack), 'Arn'],
          },
          Condition: {
            StringEquals: {
              'kms:ViaService': {
                'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']],
              },
            },
          },
        },
      ]);
      expect(statements).toHaveLength(3);
    });

    it('grants a shop onboarded at run time by its secret name, tag required, with the credentials', () => {
      // Act
      const { statements, variantStack } = grantApiAccess(
        { shops: ['shop-a'], discoverTokenSecretsByTag: true },
        'shop-new',
      );

      // Assess
      expectExactStatements(statements, [
        {
          Effect: 'Allow',
          Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
          Resource: pseudoArn('secretsmanager', 'secret:tiktok-shop/tokens/shop-new-??????'),
          Condition: { Null: { [`aws:ResourceTag/${DEFAULT_TOKEN_SECRET_TAG_KEY}`]: 'false' } },
        },
        {
          Effect: 'Allow',
          Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
          Resource: { Ref: refresherChild(variantStack, 'AppCredentialsSecret') },
        },
      ]);
    });

    it('refuses a shop it has no secret for, as grantReadToken does', () => {
      // Act & Assess
      expect(() => grantApiAccess({ shops: ['shop-a'] }, 'shop-x')).toThrow(
        /no token secret for shop "shop-x"/,
      );
    });
  });

  describe('schedule', () => {
    it('starts a run every hour with a scheduled-event payload, retries and a dead-letter queue', () => {
      // Act
      const schedule = properties(
        template,
        onlyResourceOfType(template, 'AWS::Scheduler::Schedule'),
      );

      // Assess
      expect(schedule).toMatchObject({
        ScheduleExpression: 'rate(1 hour)',
        State: 'ENABLED',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: {
          Arn: { 'Fn::GetAtt': [logicalId(refresher.function), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: {
            Arn: { 'Fn::GetAtt': [logicalId(refresher.scheduleDeadLetterQueue), 'Arn'] },
          },
        },
      });
      const target = schedule.Target as { Input: string };
      expect(JSON.parse(target.Input)).toEqual({
        source: 'aws.scheduler',
        'detail-type': 'Scheduled Event',
        detail: {},
      });
      expect(SCHEDULED_EVENT['detail-type']).toBe('Scheduled Event');
    });

    it('lets the scheduler invoke only the function and write only its dead-letter queue', () => {
      // Prepare
      const schedule = properties(
        template,
        onlyResourceOfType(template, 'AWS::Scheduler::Schedule'),
      );
      const roleId = (schedule.Target as { RoleArn: { 'Fn::GetAtt': [string, string] } }).RoleArn[
        'Fn::GetAtt'
      ][0];
      const functionArn = { 'Fn::GetAtt': [logicalId(refresher.function), 'Arn'] };

      // Assess
      expectExactStatements(statementsOf(template, roleId), [
        {
          Effect: 'Allow',
          Action: 'lambda:InvokeFunction',
          Resource: [functionArn, { 'Fn::Join': ['', [functionArn, ':*']] }],
        },
        {
          Effect: 'Allow',
          Action: 'sqs:SendMessage',
          Resource: { 'Fn::GetAtt': [logicalId(refresher.scheduleDeadLetterQueue), 'Arn'] },
        },
      ]);
      expect(properties(template, roleId).AssumeRolePolicyDocument).toEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          },
        ],
      });
    });
  });

  describe('queues', () => {
    it.each([
      ['schedule dead-letter queue', refresher.scheduleDeadLetterQueue],
      ['failure queue', refresher.failureQueue],
    ])('encrypts the %s, keeps messages 14 days and refuses plain HTTP', (_name, queue) => {
      // Prepare
      const queueId = logicalId(queue);

      // Assess
      expect(properties(template, queueId)).toEqual({
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 1_209_600,
      });
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: queueId }],
        PolicyDocument: {
          Statement: [
            {
              Effect: 'Deny',
              Action: 'sqs:*',
              Principal: { AWS: '*' },
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
            },
          ],
        },
      });
    });
  });

  describe('alarms', () => {
    const topicRef = { Ref: logicalId(refresher.alarmTopic) };
    const service = [{ Name: 'service', Value: refresher.serviceName }];
    const alarm = (construct: IConstruct) => properties(template, logicalId(construct));
    const countAlarm = (metricName: string) => ({
      Namespace: METRICS_NAMESPACE,
      MetricName: metricName,
      Dimensions: service,
      Statistic: 'Sum',
      Period: 3600,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [topicRef],
      AlarmDescription: expect.any(String),
    });
    const queueAlarm = (queue: IConstruct) => ({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(queue), 'QueueName'] } }],
      Statistic: 'Maximum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'ignore',
      AlarmActions: [topicRef],
      AlarmDescription: expect.any(String),
    });

    it('alarms when the function ends a run with an error', () => {
      // Assess
      expect(alarm(refresher.alarms.functionErrors)).toEqual({
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(refresher.function) } }],
        Statistic: 'Sum',
        Period: 3600,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [topicRef],
        AlarmDescription: expect.any(String),
      });
    });

    it('alarms on refresh failures, reauthorization required and authorization expiring', () => {
      // Assess
      expect(alarm(refresher.alarms.refreshFailures)).toEqual(countAlarm(METRIC.refreshFailures));
      expect(alarm(refresher.alarms.reauthorizationRequired)).toEqual(
        countAlarm(METRIC.reauthorizationRequired),
      );
      expect(alarm(refresher.alarms.authorizationExpiring)).toEqual(
        countAlarm(METRIC.authorizationExpiring),
      );
    });

    it("alarms when TikTok's answer was kept as a version that is not current", () => {
      // Assess
      const metric = (name: string) => ({
        MetricStat: {
          Metric: { Namespace: METRICS_NAMESPACE, MetricName: name, Dimensions: service },
          Period: 3600,
          Stat: 'Sum',
        },
      });
      expect(alarm(refresher.alarms.answerKept)).toMatchObject({
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [topicRef],
        Metrics: expect.arrayContaining([
          expect.objectContaining({ Expression: 'notCurrent + sellerChanged' }),
          expect.objectContaining({ Id: 'notCurrent', ...metric(METRIC.tokensNotCurrent) }),
          expect.objectContaining({ Id: 'sellerChanged', ...metric(METRIC.sellersChanged) }),
        ]),
      });
    });

    it('alarms when a message waits in either dead-letter queue', () => {
      // Assess
      expect(alarm(refresher.alarms.scheduleDeadLetters)).toEqual(
        queueAlarm(refresher.scheduleDeadLetterQueue),
      );
      expect(alarm(refresher.alarms.failedInvocations)).toEqual(queueAlarm(refresher.failureQueue));
    });

    it('alarms when an access token expires within 24 hours or the function stops reporting', () => {
      // Assess
      expect(alarm(refresher.alarms.tokenExpiry)).toEqual({
        Namespace: METRICS_NAMESPACE,
        MetricName: METRIC.minAccessTokenLifetime,
        Dimensions: service,
        Statistic: 'Minimum',
        Period: 3600,
        EvaluationPeriods: 2,
        DatapointsToAlarm: 2,
        Threshold: 86_400,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
        AlarmActions: [topicRef],
        OKActions: [topicRef],
        AlarmDescription: expect.any(String),
      });
    });

    it('creates a TLS-only topic that CloudWatch alarms of this account may publish to', () => {
      // Assess
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        Topics: [topicRef],
        PolicyDocument: {
          Statement: [
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sns:Publish',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
            {
              Sid: 'AllowCloudWatchAlarms',
              Effect: 'Allow',
              Action: 'sns:Publish',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Resource: topicRef,
              Condition: {
                StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
                ArnLike: { 'aws:SourceArn': pseudoArn('cloudwatch', 'alarm:*') },
              },
            },
          ],
        },
      });
      template.resourceCountIs('AWS::SNS::Subscription', 0);
    });

    it('exposes its metrics with the namespace, service dimension, statistic and run period', () => {
      // Act
      const metrics = {
        [METRIC.refreshFailures]: refresher.metricRefreshFailures(),
        [METRIC.reauthorizationRequired]: refresher.metricReauthorizationRequired(),
        [METRIC.authorizationExpiring]: refresher.metricAuthorizationExpiring(),
        [METRIC.tokensRefreshed]: refresher.metricTokensRefreshed(),
        [METRIC.minAccessTokenLifetime]: refresher.metricMinAccessTokenLifetime(),
      };

      // Assess
      for (const [name, metric] of Object.entries(metrics)) {
        expect(metric.namespace).toBe(METRICS_NAMESPACE);
        expect(metric.metricName).toBe(name);
        expect(metric.dimensions).toEqual({ service: refresher.serviceName });
        expect(metric.period.toSeconds()).toBe(3600);
        expect(metric.statistic).toBe(name === METRIC.minAccessTokenLifetime ? 'Minimum' : 'Sum');
      }
    });
  });

  describe('outputs', () => {
    it('outputs the secret names and ARNs, the function name and the topic ARN', () => {
      // Assess
      template.hasOutput('AppCredentialsSecretName', { Value: 'tiktok-shop/app-credentials' });
      template.hasOutput('AppCredentialsSecretArn', {
        Value: { Ref: logicalId(refresher.appCredentialsSecret) },
      });
      template.hasOutput('TokenSecretNames', {
        Value: 'tiktok-shop/tokens/shop-a,tiktok-shop/tokens/shop-b',
      });
      template.hasOutput('TokenSecretArns', {
        Value: {
          'Fn::Join': [
            '',
            refresher.tokenSecrets.flatMap((secret, index) => [
              ...(index === 0 ? [] : [',']),
              { Ref: logicalId(secret) },
            ]),
          ],
        },
      });
      template.hasOutput('FunctionName', { Value: { Ref: logicalId(refresher.function) } });
      template.hasOutput('AlarmTopicArn', { Value: { Ref: logicalId(refresher.alarmTopic) } });
    });
  });

  describe('options', () => {
    it('discovers token secrets by tag with writes limited to tagged secrets under the token prefix', () => {
      // Act
      const variant = synthesizeVariant({ shops: ['shop-a'], discoverTokenSecretsByTag: true });

      // Assess
      const fn = properties(variant.template, logicalId(variant.refresher.function, variant.stack));
      expect((fn.Environment as { Variables: Record<string, string> }).Variables).toMatchObject({
        [ENV.tokenSecretIds]: 'tiktok-shop/tokens/shop-a',
        [ENV.tokenSecretTagKey]: DEFAULT_TOKEN_SECRET_TAG_KEY,
      });
      const statements = statementsOf(
        variant.template,
        logicalId(variant.refresher.function.role as iam.Role, variant.stack),
      );
      expect(statements).toHaveLength(9);
      expect(statements).toEqual(
        expect.arrayContaining([
          LIST_AND_BATCH_READ,
          {
            Effect: 'Allow',
            Action: TOKEN_ACTIONS,
            Resource: pseudoArn('secretsmanager', 'secret:tiktok-shop/tokens/*'),
            Condition: { Null: { [`aws:ResourceTag/${DEFAULT_TOKEN_SECRET_TAG_KEY}`]: 'false' } },
          },
          shopIdTagging(pseudoArn('secretsmanager', 'secret:tiktok-shop/tokens/*'), {
            Null: { [`aws:ResourceTag/${DEFAULT_TOKEN_SECRET_TAG_KEY}`]: 'false' },
          }),
        ]),
      );
    });

    it('lets readers reach discovered secrets too when discovery is on', () => {
      // Prepare
      const variant = synthesizeVariant(
        { shops: ['shop-a'], discoverTokenSecretsByTag: true },
        (scope, construct) => {
          const role = new iam.Role(scope, 'ReaderRole', {
            assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
          });
          // Act
          construct.grantReadTokens(role);
        },
      );

      // Assess
      const readerRole = variant.stack.node.findChild('ReaderRole');
      expect(statementsOf(variant.template, logicalId(readerRole, variant.stack))).toContainEqual({
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: pseudoArn('secretsmanager', 'secret:tiktok-shop/tokens/*'),
        Condition: { Null: { [`aws:ResourceTag/${DEFAULT_TOKEN_SECRET_TAG_KEY}`]: 'false' } },
      });
    });

    it('encrypts secrets, queues, log group and topic with a given key, and lets the services use it', () => {
      // Act
      const variant = synthesizeVariant((scope) => ({
        shops: ['shop-a'],
        encryptionKey: new kms.Key(scope, 'Key', { enableKeyRotation: true }),
      }));

      // Assess
      const t = variant.template;
      const keyArn = { 'Fn::GetAtt': [onlyResourceOfType(t, 'AWS::KMS::Key'), 'Arn'] };
      const viaSecretsManager = {
        StringEquals: {
          'kms:ViaService': {
            'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']],
          },
        },
      };
      t.allResourcesProperties('AWS::SecretsManager::Secret', { KmsKeyId: keyArn });
      t.allResourcesProperties('AWS::SQS::Queue', { KmsMasterKeyId: keyArn });
      t.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: keyArn });
      t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: keyArn });
      t.hasResourceProperties('AWS::KMS::Key', {
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Principal: {
                Service: {
                  'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']],
                },
              },
              Condition: {
                ArnLike: {
                  'kms:EncryptionContext:aws:logs:arn': pseudoArn('logs', 'log-group:*'),
                },
              },
            }),
            Match.objectLike({
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            }),
          ]),
        },
      });
      const roleId = logicalId(variant.refresher.function.role as iam.Role, variant.stack);
      expect(statementsOf(t, roleId)).toContainEqual({
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: keyArn,
        Condition: viaSecretsManager,
      });
      const schedule = properties(t, onlyResourceOfType(t, 'AWS::Scheduler::Schedule'));
      const scheduleRoleId = (schedule.Target as { RoleArn: { 'Fn::GetAtt': [string] } }).RoleArn[
        'Fn::GetAtt'
      ][0];
      expect(statementsOf(t, scheduleRoleId)).toContainEqual({
        Effect: 'Allow',
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: keyArn,
      });
    });

    it('adopts existing secrets by ARN and reads the app credentials only', () => {
      // Prepare
      const tokenArn = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:legacy/shop-x-AbCdEf';
      const appArn = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:legacy/app-GhIjKl';

      // Act
      const variant = synthesizeVariant((scope) => ({
        existingTokenSecrets: [
          secretsmanager.Secret.fromSecretCompleteArn(scope, 'Legacy', tokenArn),
        ],
        existingAppCredentialsSecret: secretsmanager.Secret.fromSecretCompleteArn(
          scope,
          'App',
          appArn,
        ),
      }));

      // Assess
      const t = variant.template;
      t.resourceCountIs('AWS::SecretsManager::Secret', 0);
      t.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            [ENV.appCredentialsSecretId]: appArn,
            [ENV.tokenSecretIds]: tokenArn,
          }),
        },
      });
      const statements = statementsOf(
        t,
        logicalId(variant.refresher.function.role as iam.Role, variant.stack),
      );
      expect(statements).toContainEqual({
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: appArn,
      });
      expect(statements).toContainEqual({
        Effect: 'Allow',
        Action: TOKEN_ACTIONS,
        Resource: tokenArn,
      });
    });

    it('notifies a given topic and subscribes a given e-mail address', () => {
      // Act
      const variant = synthesizeVariant((scope) => ({
        shops: ['shop-a'],
        alarmTopic: new sns.Topic(scope, 'OpsTopic'),
        alarmEmail: 'ops@example.com',
        eventBus: new events.EventBus(scope, 'Bus'),
      }));

      // Assess
      const t = variant.template;
      const topicId = logicalId(variant.stack.node.findChild('OpsTopic'), variant.stack);
      t.resourceCountIs('AWS::SNS::Topic', 1);
      t.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: 'ops@example.com',
        TopicArn: { Ref: topicId },
      });
      t.allResourcesProperties('AWS::CloudWatch::Alarm', { AlarmActions: [{ Ref: topicId }] });
      const busId = logicalId(variant.stack.node.findChild('Bus'), variant.stack);
      expect(
        statementsOf(t, logicalId(variant.refresher.function.role as iam.Role, variant.stack)),
      ).toContainEqual({
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: { 'Fn::GetAtt': [busId, 'Arn'] },
      });
    });

    it('derives the schedule, the metric period and the thresholds from the durations given', () => {
      // Act
      const variant = synthesizeVariant({
        shops: ['shop-a'],
        refreshInterval: Duration.minutes(30),
        refreshBeforeExpiry: Duration.hours(72),
        expiryAlarmThreshold: Duration.hours(12),
        timeout: Duration.minutes(10),
        logRetention: logs.RetentionDays.ONE_YEAR,
      });

      // Assess
      const t = variant.template;
      t.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: 'rate(30 minutes)',
        Target: Match.objectLike({
          RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 1800 },
        }),
      });
      t.hasResourceProperties('AWS::Lambda::Function', {
        Timeout: 600,
        Environment: {
          Variables: Match.objectLike({ [ENV.refreshBeforeExpirySeconds]: '259200' }),
        },
      });
      t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumEventAgeInSeconds: 1800 });
      t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
      t.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: METRIC.minAccessTokenLifetime,
        Period: 1800,
        Threshold: 43_200,
      });
    });

    it('gives each instance its own service name, so their metrics stay apart', () => {
      // Act
      let second: { serviceName: string } | undefined;
      const variant = synthesizeVariant({ shops: ['shop-a'] }, (scope) => {
        second = new TikTokShopTokenRefresher(scope, 'Second', {
          shops: ['shop-b'],
          secretNamePrefix: 'other/',
        });
      });

      // Assess
      expect(second?.serviceName).toBeDefined();
      expect(second?.serviceName).not.toBe(variant.refresher.serviceName);
    });

    it('accepts the shortest timeout in which the function refreshes a shop', () => {
      // Prepare: the function starts a refresh only with refreshNeedMs left, after start-up
      const budget = runBudget(DEFAULTS);

      // Act
      const variant = synthesizeVariant({ shops: ['shop-a'], timeout: MINIMUM_REFRESHER_TIMEOUT });

      // Assess
      expect(MINIMUM_REFRESHER_TIMEOUT.toSeconds()).toBe(24);
      expect(MINIMUM_REFRESHER_TIMEOUT.toMilliseconds()).toBeGreaterThan(budget.refreshNeedMs);
      variant.template.hasResourceProperties('AWS::Lambda::Function', { Timeout: 24 });
    });

    it.each<[string, TikTokShopTokenRefresherProps, RegExp]>([
      ['nothing to refresh', {}, /nothing to refresh/],
      ['a shop name with a slash', { shops: ['a/b'] }, /invalid shop name "a\/b"/],
      ['a shop name with a comma', { shops: ['a,b'] }, /invalid shop name "a,b"/],
      // The onboarding command and the callback could never connect such a shop.
      ['a shop name with a dot', { shops: ['shop.eu'] }, /invalid shop name "shop.eu"/],
      ['a shop listed twice', { shops: ['a', 'a'] }, /listed twice/],
      [
        'an interval in seconds',
        { shops: ['a'], refreshInterval: Duration.seconds(90) },
        /whole minutes/,
      ],
      [
        'a refresh window shorter than the interval',
        {
          shops: ['a'],
          refreshInterval: Duration.hours(6),
          refreshBeforeExpiry: Duration.hours(6),
        },
        /refreshBeforeExpiry must be longer/,
      ],
      [
        'a refresh window longer than an access token lives',
        { shops: ['a'], refreshBeforeExpiry: Duration.days(8) },
        /at most 7 days/,
      ],
      [
        'an expiry alarm that would fire in normal operation',
        { shops: ['a'], expiryAlarmThreshold: Duration.hours(48) },
        /expiryAlarmThreshold must be shorter/,
      ],
      [
        'a timeout too short for one refresh, naming the minimum',
        { shops: ['a'], timeout: Duration.seconds(20) },
        /timeout must be at least 24 seconds: one refresh needs one TikTok attempt, storing and reporting after the run's start-up \(got 20 seconds\)/,
      ],
    ])('refuses %s', (_case, props, message) => {
      // Act & Assess
      expect(() => synthesizeVariant(props)).toThrow(message);
    });
  });

  describe('snapshot', () => {
    it('matches the reviewed template, asset hashes aside', () => {
      // Act
      const masked = JSON.parse(
        JSON.stringify(template.toJSON()).replace(/[0-9a-f]{64}/g, '<asset-hash>'),
      );

      // Assess
      expect(masked).toMatchSnapshot();
    });
  });
});
