import { Duration, type PolicyValidationPluginReport, type Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { TikTokShopConsentCallback } from '../../infra/consent-callback.js';
import { TikTokShopExampleReader } from '../../infra/example-reader.js';
import { TikTokShopConsentRegion } from '../../infra/refresher-props.js';
import { synthesizeProduct, synthesizeVariant } from './variants.js';

/**
 * The product stack with everything the app can turn on, the constructs with every optional
 * feature on (a customer-managed key, discovery, a reader's grant, the example reader and the
 * consent callback), the three functions placed in a VPC, and two apps side by side.
 */
function stacks(): Record<string, Stack> {
  const product = synthesizeProduct({
    shops: ['shop-a', 'shop-b'],
    alarmEmail: 'ops@example.com',
    exampleReader: true,
    consentCallback: true,
  });
  const everything = synthesizeVariant(
    (scope) => ({
      shops: ['shop-a'],
      discoverTokenSecretsByTag: true,
      encryptionKey: new kms.Key(scope, 'Key', { enableKeyRotation: true }),
      // Runs spread over several invocations: the run state machine and its role.
      invocationsPerRun: 8,
      timeout: Duration.minutes(15),
    }),
    (scope, refresher) => {
      // A reader role without managed policies, so that only the grant itself is under review.
      const reader = new iam.Role(scope, 'ReaderRole', {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      });
      refresher.grantReadTokens(reader);
      new TikTokShopExampleReader(scope, 'ExampleReader', { refresher, shop: 'shop-a' });
      new TikTokShopConsentCallback(scope, 'ConsentCallback', { refresher });
    },
  );
  const inVpc = synthesizeVariant(
    (scope) => ({
      shops: ['shop-a'],
      discoverTokenSecretsByTag: true,
      // The user's VPC, imported: its own resources are the user's to review.
      vpc: ec2.Vpc.fromVpcAttributes(scope, 'Vpc', {
        vpcId: 'vpc-0a1b2c3d4e5f60718',
        availabilityZones: ['eu-west-1a', 'eu-west-1b'],
        privateSubnetIds: ['subnet-0a1b2c3d4e5f60718', 'subnet-1a1b2c3d4e5f60718'],
        privateSubnetRouteTableIds: ['rtb-0a1b2c3d4e5f60718', 'rtb-1a1b2c3d4e5f60718'],
      }),
    }),
    (scope, refresher) => {
      new TikTokShopExampleReader(scope, 'ExampleReader', { refresher, shop: 'shop-a' });
      new TikTokShopConsentCallback(scope, 'ConsentCallback', { refresher });
    },
  );
  // A US app beside the default (global) one: a credentials secret each, a reader of a US shop
  // and one of a shop onboarded at run time, whose app only its tag tells.
  const twoApps = synthesizeVariant(
    (scope) => ({
      apps: { us: { consentRegion: TikTokShopConsentRegion.US } },
      shops: ['acme-uk', { name: 'acme-us', app: 'us' }],
      discoverTokenSecretsByTag: true,
      encryptionKey: new kms.Key(scope, 'Key', { enableKeyRotation: true }),
    }),
    (scope, refresher) => {
      new TikTokShopExampleReader(scope, 'UsReader', { refresher, shop: 'acme-us' });
      new TikTokShopExampleReader(scope, 'FoundReader', { refresher, shop: 'found-shop' });
      new TikTokShopConsentCallback(scope, 'ConsentCallback', { refresher });
    },
  );
  return {
    product: product.stack,
    everything: everything.stack,
    'VPC-placed': inVpc.stack,
    'two-app': twoApps.stack,
  };
}

const cases = Object.entries(stacks());

/** Findings as cdk-nag reports them, optionally with every acknowledgment ignored. */
function findings(scope: IConstruct, ignoreAcknowledgments = false): PolicyValidationPluginReport {
  const pack = new AwsSolutionsChecks();
  if (ignoreAcknowledgments) Reflect.set(pack, 'isAcknowledged', () => false);
  return pack.validateScope(scope);
}

/** Every `Validations.acknowledge` entry below a scope: [construct path, rule id, reason]. */
function acknowledgments(scope: IConstruct): [string, string, string][] {
  return scope.node
    .findAll()
    .flatMap((construct) =>
      construct.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) =>
          Object.entries(entry.data as Record<string, string>).map(
            ([id, reason]): [string, string, string] => [
              construct.node.path,
              id.replace(/^annotation::/i, ''),
              reason,
            ],
          ),
        ),
    );
}

describe('cdk-nag AwsSolutions pack', () => {
  it.each(cases)('finds nothing unacknowledged in the %s stack', (_name, stack) => {
    // Act
    const report = findings(stack);

    // Assess: errors and warnings alike
    expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it.each(cases)('leaves no warning or error annotation on the %s stack', (_name, stack) => {
    // Act
    const annotations = Annotations.fromStack(stack);

    // Assess
    expect(annotations.findWarning('*', Match.anyValue())).toEqual([]);
    expect(annotations.findError('*', Match.anyValue())).toEqual([]);
  });

  it.each(cases)(
    'acknowledges one finding at a time, with its reason, in the %s stack',
    (_name, stack) => {
      // Act
      const entries = acknowledgments(stack);

      // Assess
      expect(entries.length).toBeGreaterThan(0);
      for (const [path, id, reason] of entries) {
        expect(id, path).toMatch(/^AwsSolutions-[A-Z]+[0-9]+(\[[^\]]+\])?$/);
        // IAM findings are acknowledged per action or resource, never for the whole rule.
        if (/^AwsSolutions-IAM[45]/.test(id))
          expect(id, path).toMatch(/\[(Action|Resource|Policy)::.+\]$/);
        expect(reason.length, `${path} ${id}`).toBeGreaterThan(60);
      }
    },
  );

  it.each(cases)('acknowledges only findings that exist in the %s stack', (_name, stack) => {
    // Prepare
    const raw = findings(stack, true).violations.flatMap((violation) =>
      violation.violatingResources.map((resource) => ({
        rule: violation.ruleName,
        path: resource.constructPath ?? '',
      })),
    );

    // Act
    const stale = acknowledgments(stack).filter(
      ([path, id]) =>
        !raw.some((finding) => finding.rule === id && finding.path.startsWith(`${path}/`)),
    );

    // Assess
    expect(stale).toEqual([]);
  });
});
