import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { afterAll, describe, expect, it } from 'vitest';
import { TikTokShopConsentCallback } from '../../infra/consent-callback.js';
import { TikTokShopExampleReader } from '../../infra/example-reader.js';
import { SHOP_TOKEN_SECRET_ID } from '../../lambda/reader/example-handler.js';
import {
  API_READER_ENV,
  CALLBACK_ENV,
  DEFAULT_CALLBACK_STATE_SECRET_ID,
  DEFAULT_SECRET_NAME_PREFIX,
  DEFAULT_TIKTOK_API_BASE_URL,
  DEFAULT_TOKEN_SECRET_TAG_KEY,
  DEFAULTS,
  DETAIL_TYPE,
  ENV,
  EVENT_SOURCE,
  METRIC,
  METRICS_NAMESPACE,
  SELLER_TAG_KEY,
} from '../../lambda/shared/contract.js';
import {
  bundledHandlerOf,
  environmentOf,
  expectExactStatements,
  logicalIdIn,
  properties,
  pseudoArn,
  statementsOf,
} from './template.js';
import { synthesizeProduct, synthesizeVariant } from './variants.js';

// Synthesized and bundled once for the file, with both optional parts on; every test only reads.
const outdir = mkdtempSync(join(tmpdir(), 'tiktok-stack-test-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));
const { stack, template } = synthesizeProduct(
  { shops: ['shop-a', 'shop-b'], consentCallback: true },
  outdir,
);
const { refresher } = stack;
const reader = stack.exampleReader as TikTokShopExampleReader;
const callback = stack.consentCallback as TikTokShopConsentCallback;

function logicalId(construct: IConstruct, inStack: Stack = stack): string {
  return logicalIdIn(inStack, construct);
}

const child = (scope: IConstruct, id: string) => scope.node.findChild(id);
const tokenSecretsArn = pseudoArn('secretsmanager', 'secret:tiktok-shop/tokens/*');

/** Runs a bundled handler in its own Node process, as Lambda would load it, and returns its answer. */
function invokeBundle(functionId: string, event: unknown): unknown {
  const script = `
    const m = await import(process.argv[1]);
    const context = { getRemainingTimeInMillis: () => 30000, awsRequestId: 'probe' };
    const result = await m.handler(JSON.parse(process.argv[2]), context);
    console.log('RESULT=' + JSON.stringify(result));`;
  const output = execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      script,
      bundledHandlerOf(outdir, stack, template, functionId),
      JSON.stringify(event),
    ],
    {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'us-east-1',
        ...environmentOf(template, functionId),
      },
    },
  );
  const line = output.split('\n').find((text) => text.startsWith('RESULT='));
  return JSON.parse(line?.slice('RESULT='.length) ?? 'null');
}

describe('Stack: TikTokShopTokenRefresherStack', () => {
  it.each([
    ['example reader', () => reader.function],
    ['consent callback', () => callback.function],
  ])('builds the %s with the refresher’s recipe', (_name, fn) => {
    // Prepare
    const recipe = (id: string) => {
      const { Runtime, Architectures, Handler, LoggingConfig } = properties(template, id) as {
        LoggingConfig: { LogFormat: string };
      } & Record<string, unknown>;
      const { NODE_OPTIONS } = environmentOf(template, id);
      return { Runtime, Architectures, Handler, LogFormat: LoggingConfig.LogFormat, NODE_OPTIONS };
    };

    // Act
    const id = logicalId(fn());
    const bundlePath = bundledHandlerOf(outdir, stack, template, id);
    const bundle = readFileSync(bundlePath, 'utf8');

    // Assess (booleans for the bundle: a failed match would print all of it)
    expect(recipe(id)).toEqual(recipe(logicalId(refresher.function)));
    expect(recipe(id)).toEqual({
      Runtime: lambda.Runtime.NODEJS_24_X.name,
      Architectures: ['arm64'],
      Handler: 'index.handler',
      LogFormat: 'JSON',
      // The map ships, unloaded: loading it costs every cold start (npm run bench).
      NODE_OPTIONS: undefined,
    });
    expect(bundle.startsWith('import { createRequire as __createRequire }')).toBe(true);
    expect(/(from\s*|import\()["']@aws-sdk\//.test(bundle)).toBe(false);
    expect(existsSync(`${bundlePath}.map`)).toBe(true);
  });

  it('turns the example reader off on request, and leaves it out without a shop', () => {
    // Act
    const off = synthesizeProduct({ shops: ['shop-a'], exampleReader: false });
    const noShop = synthesizeProduct({ shops: [], discoverByTag: true });

    // Assess
    for (const variant of [off, noShop]) {
      expect(variant.stack.exampleReader).toBeUndefined();
      variant.template.resourceCountIs('AWS::Lambda::Function', 1);
      variant.template.resourceCountIs('AWS::Events::Rule', 0);
      expect(Object.keys(variant.template.findOutputs('ExampleReaderFunctionName'))).toEqual([]);
    }
  });

  it('leaves the consent callback out by default', () => {
    // Act
    const { stack: product, template: t } = synthesizeProduct({ shops: ['shop-a'] });

    // Assess
    expect(product.consentCallback).toBeUndefined();
    t.resourceCountIs('AWS::Lambda::Url', 0);
    expect(environmentOf(t, logicalId(product.refresher.function, product))).not.toHaveProperty(
      ENV.tokenSecretTagKey,
    );
  });

  it('turns tag discovery on with the consent callback, which creates secrets at run time', () => {
    // Assess
    expect(refresher.discoversTokenSecretsByTag).toBe(true);
    expect(environmentOf(template, logicalId(refresher.function))).toMatchObject({
      [ENV.tokenSecretTagKey]: DEFAULT_TOKEN_SECRET_TAG_KEY,
    });
    expect(statementsOf(template, logicalId(child(refresher, 'Role')))).toContainEqual({
      Effect: 'Allow',
      Action: ['secretsmanager:BatchGetSecretValue', 'secretsmanager:ListSecrets'],
      Resource: '*',
    });
  });

  it('refuses the consent callback with discovery turned off', () => {
    // Act & Assess
    expect(() =>
      synthesizeProduct({ shops: ['shop-a'], consentCallback: true, discoverByTag: false }),
    ).toThrow(/consentCallback needs discoverByTag/);
  });

  it('outputs the example reader’s name, the callback URL to register and the state key name', () => {
    // Assess
    template.hasOutput('ExampleReaderFunctionName', {
      Value: { Ref: logicalId(reader.function) },
    });
    template.hasOutput('ConsentCallbackUrl', {
      Description: Match.stringLikeRegexp('redirect URL to register in TikTok Partner Center'),
      Value: { 'Fn::GetAtt': [logicalId(callback.functionUrl), 'FunctionUrl'] },
    });
    template.hasOutput('CallbackStateSecretName', { Value: DEFAULT_CALLBACK_STATE_SECRET_ID });
  });
});

describe('Construct: TikTokShopExampleReader', () => {
  const fnId = logicalId(reader.function);
  const logGroupId = logicalId(child(reader, 'LogGroup'));

  it('calls the API for the first shop, its token secret named as the refresher’s events name it', () => {
    // Assess
    expect(reader.tokenSecretName).toBe('tiktok-shop/tokens/shop-a');
    expect(environmentOf(template, fnId)).toEqual({
      [SHOP_TOKEN_SECRET_ID]: 'tiktok-shop/tokens/shop-a',
      [API_READER_ENV.appCredentialsSecretId]: refresher.appCredentialsSecretId,
      [API_READER_ENV.tiktokApiBaseUrl]: DEFAULT_TIKTOK_API_BASE_URL,
      POWERTOOLS_SERVICE_NAME: expect.stringMatching(/ExampleReader/),
    });
    expect(DEFAULT_TIKTOK_API_BASE_URL).toBe('https://open-api.tiktokglobalshop.com');
    expect(properties(template, fnId)).toMatchObject({
      LoggingConfig: { LogGroup: { Ref: logGroupId } },
      MemorySize: 256,
      Timeout: 30,
    });
    expect(properties(template, logGroupId)).toEqual({ RetentionInDays: 30 });
  });

  it('may write its own log and read that one token secret and the app credentials, nothing else', () => {
    // Assess
    expectExactStatements(statementsOf(template, logicalId(child(reader, 'Role'))), [
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] },
      },
      {
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: { Ref: logicalId(child(refresher, 'TokenSecret-shop-a')) },
      },
      {
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: { Ref: logicalId(child(refresher, 'AppCredentialsSecret')) },
      },
    ]);
  });

  it('is invoked by the refresher’s Token Refreshed event for its shop only', () => {
    // Prepare
    const ruleId = logicalId(reader.tokenRefreshedRule);

    // Assess
    expect(properties(template, ruleId)).toEqual({
      Description: expect.any(String),
      EventBusName: DEFAULTS.eventBusName,
      EventPattern: {
        source: [EVENT_SOURCE],
        'detail-type': [DETAIL_TYPE.tokenRefreshed],
        detail: { shop: ['tiktok-shop/tokens/shop-a'] },
      },
      State: 'ENABLED',
      Targets: [{ Arn: { 'Fn::GetAtt': [fnId, 'Arn'] }, Id: 'Target0' }],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] },
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
    });
  });

  it('loads as bundled and ignores the refresh of another shop without a call to AWS', () => {
    // Act
    const answer = invokeBundle(fnId, {
      source: EVENT_SOURCE,
      'detail-type': DETAIL_TYPE.tokenRefreshed,
      detail: { shop: 'tiktok-shop/tokens/shop-b' },
    });

    // Assess
    expect(answer).toEqual({ shop: 'tiktok-shop/tokens/shop-a', cacheRefreshed: false });
  });
});

describe('Construct: TikTokShopConsentCallback', () => {
  const fnId = logicalId(callback.function);
  const logGroupId = logicalId(child(callback, 'LogGroup'));
  const stateKeyId = logicalId(callback.stateKeySecret);

  it('runs with a small reserved concurrency, a timeout beyond the code exchange and its own log', () => {
    // Assess
    expect(properties(template, fnId)).toMatchObject({
      ReservedConcurrentExecutions: 2,
      Timeout: 60,
      MemorySize: 256,
      LoggingConfig: { LogGroup: { Ref: logGroupId } },
    });
    expect(properties(template, logGroupId)).toEqual({ RetentionInDays: 90 });
  });

  it('hands the handler the names it reads, matching the refresher and the authorize CLI', () => {
    // Assess
    expect(environmentOf(template, fnId)).toEqual({
      [CALLBACK_ENV.appCredentialsSecretId]: refresher.appCredentialsSecretId,
      [CALLBACK_ENV.stateSecretId]: DEFAULT_CALLBACK_STATE_SECRET_ID,
      [CALLBACK_ENV.tokenSecretPrefix]: DEFAULT_SECRET_NAME_PREFIX,
      [CALLBACK_ENV.tokenSecretTagKey]: DEFAULT_TOKEN_SECRET_TAG_KEY,
      [CALLBACK_ENV.tiktokAuthBaseUrl]: DEFAULTS.tiktokAuthBaseUrl,
      [CALLBACK_ENV.eventBusName]: DEFAULTS.eventBusName,
      POWERTOOLS_SERVICE_NAME: callback.serviceName,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    });
    expect(callback.serviceName).toMatch(/ConsentCallback/);
    expect(environmentOf(template, fnId)).not.toHaveProperty(CALLBACK_ENV.tokenSecretKmsKeyId);
    expect(refresher.appCredentialsSecretId).toBe('tiktok-shop/app-credentials');
  });

  it('serves a public function URL: TikTok redirects a browser, the signed state authenticates', () => {
    // Prepare
    const urlId = logicalId(callback.functionUrl);

    // Assess
    expect(properties(template, urlId)).toEqual({
      AuthType: 'NONE',
      TargetFunctionArn: { 'Fn::GetAtt': [fnId, 'Arn'] },
    });
    const permissions = Object.values(
      template.findResources('AWS::Lambda::Permission', {
        Properties: { FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] } },
      }),
    ).map((resource) => resource.Properties);
    expect(permissions).toEqual(
      expect.arrayContaining([
        {
          Action: 'lambda:InvokeFunctionUrl',
          FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] },
          FunctionUrlAuthType: 'NONE',
          Principal: '*',
        },
        {
          Action: 'lambda:InvokeFunction',
          FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] },
          InvokedViaFunctionUrl: true,
          Principal: '*',
        },
      ]),
    );
    expect(permissions).toHaveLength(2);
  });

  it('creates a 64-character state-signing key under the name the authorize CLI reads', () => {
    // Assess
    expect(properties(template, stateKeyId)).toEqual({
      Name: DEFAULT_CALLBACK_STATE_SECRET_ID,
      Description: expect.any(String),
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
    });
  });

  it('reads the credentials and the state key, looks at token secrets, writes only tagged ones, and publishes to the bus', () => {
    // Assess
    expectExactStatements(statementsOf(template, logicalId(child(callback, 'Role'))), [
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] },
      },
      {
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: [{ Ref: logicalId(refresher.appCredentialsSecret) }, { Ref: stateKeyId }],
      },
      {
        Effect: 'Allow',
        Action: 'secretsmanager:DescribeSecret',
        Resource: tokenSecretsArn,
      },
      {
        Effect: 'Allow',
        Action: [
          'secretsmanager:GetSecretValue',
          'secretsmanager:PutSecretValue',
          'secretsmanager:UpdateSecretVersionStage',
        ],
        Resource: tokenSecretsArn,
        Condition: { Null: { [`aws:ResourceTag/${DEFAULT_TOKEN_SECRET_TAG_KEY}`]: 'false' } },
      },
      {
        Effect: 'Allow',
        Action: ['secretsmanager:CreateSecret', 'secretsmanager:TagResource'],
        Resource: tokenSecretsArn,
        Condition: {
          Null: { [`aws:RequestTag/${DEFAULT_TOKEN_SECRET_TAG_KEY}`]: 'false' },
          'ForAllValues:StringEquals': {
            'aws:TagKeys': [DEFAULT_TOKEN_SECRET_TAG_KEY, SELLER_TAG_KEY],
          },
        },
      },
      {
        Effect: 'Allow',
        Action: 'secretsmanager:TagResource',
        Resource: tokenSecretsArn,
        Condition: {
          Null: { [`aws:ResourceTag/${DEFAULT_TOKEN_SECRET_TAG_KEY}`]: 'false' },
          'ForAllValues:StringLike': { 'aws:TagKeys': ['tiktok-shop-id:*'] },
        },
      },
      {
        Effect: 'Allow',
        Action: 'secretsmanager:UntagResource',
        Resource: tokenSecretsArn,
        Condition: {
          Null: { [`aws:ResourceTag/${DEFAULT_TOKEN_SECRET_TAG_KEY}`]: 'false' },
          'ForAllValues:StringEquals': { 'aws:TagKeys': ['tiktok-shop-deauthorized'] },
        },
      },
      { Effect: 'Allow', Action: 'secretsmanager:ListSecrets', Resource: '*' },
      {
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: pseudoArn('events', 'event-bus/default'),
      },
    ]);
  });

  it('offers its connection metrics under its own service dimension', () => {
    // Act
    const refused = callback.metricShopConnectionsRefused();
    const connected = callback.metricShopsConnected();

    // Assess
    expect([refused.metricName, connected.metricName]).toEqual([
      METRIC.shopConnectionsRefused,
      METRIC.shopsConnected,
    ]);
    expect(refused.namespace).toBe(METRICS_NAMESPACE);
    expect(refused.dimensions).toEqual({ service: callback.serviceName });
    expect(refused.statistic).toBe('Sum');
  });

  it('loads as bundled and refuses anything but GET before reading a secret', () => {
    // Act
    const answer = invokeBundle(fnId, {
      requestContext: { http: { method: 'POST' } },
      queryStringParameters: { code: 'c', state: 's' },
    }) as { statusCode: number; headers: Record<string, string> };

    // Assess
    expect(answer.statusCode).toBe(405);
    expect(answer.headers.allow).toBe('GET');
  });

  it('uses a customer-managed key for its key, its log and the token secrets it creates', () => {
    // Act
    const variant = synthesizeVariant(
      (scope) => ({
        shops: ['shop-a'],
        discoverTokenSecretsByTag: true,
        encryptionKey: new kms.Key(scope, 'Key', { enableKeyRotation: true }),
      }),
      (scope, construct) => {
        new TikTokShopConsentCallback(scope, 'ConsentCallback', { refresher: construct });
      },
    );

    // Assess
    const t = variant.template;
    const inVariant = (construct: IConstruct) => logicalId(construct, variant.stack);
    const keyArn = { 'Fn::GetAtt': [inVariant(child(variant.stack, 'Key')), 'Arn'] };
    const construct = child(variant.stack, 'ConsentCallback');
    expect(properties(t, inVariant(child(construct, 'StateKeySecret')))).toMatchObject({
      KmsKeyId: keyArn,
    });
    expect(properties(t, inVariant(child(construct, 'LogGroup')))).toMatchObject({
      KmsKeyId: keyArn,
    });
    const fnProps = properties(t, inVariant(child(construct, 'Function'))) as {
      Environment: { Variables: Record<string, unknown> };
    };
    expect(fnProps.Environment.Variables[CALLBACK_ENV.tokenSecretKmsKeyId]).toEqual(keyArn);
    const statements = statementsOf(t, inVariant(child(construct, 'Role')));
    expect(statements).toHaveLength(10);
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: keyArn,
      Condition: {
        StringEquals: {
          'kms:ViaService': {
            'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']],
          },
        },
      },
    });
  });

  it('refuses a refresher that does not discover token secrets by tag', () => {
    // Act & Assess
    expect(() =>
      synthesizeVariant({ shops: ['shop-a'] }, (scope, construct) => {
        new TikTokShopConsentCallback(scope, 'ConsentCallback', { refresher: construct });
      }),
    ).toThrow(/must discover token secrets by tag/);
  });
});

describe('Construct: TikTokShopExampleReader (options)', () => {
  it('reads a shop onboarded at run time when the refresher discovers by tag', () => {
    // Act
    const variant = synthesizeVariant(
      { shops: ['shop-a'], discoverTokenSecretsByTag: true },
      (scope, construct) => {
        new TikTokShopExampleReader(scope, 'ExampleReader', { refresher: construct, shop: 'late' });
      },
    );

    // Assess
    const construct = child(variant.stack, 'ExampleReader');
    expect(
      statementsOf(variant.template, logicalId(child(construct, 'Role'), variant.stack)),
    ).toContainEqual({
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      Resource: pseudoArn('secretsmanager', 'secret:tiktok-shop/tokens/late-??????'),
      Condition: { Null: { [`aws:ResourceTag/${DEFAULT_TOKEN_SECRET_TAG_KEY}`]: 'false' } },
    });
  });
});
