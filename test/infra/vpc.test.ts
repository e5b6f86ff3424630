import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { TikTokShopConsentCallback } from '../../infra/consent-callback.js';
import { TikTokShopExampleReader } from '../../infra/example-reader.js';
import { STACK_NAME, TikTokShopTokenRefresherStack } from '../../infra/stack.js';
import type { TikTokShopTokenRefresherProps } from '../../infra/token-refresher-props.js';
import { logicalIdIn, onlyResourceOfType, properties, statementsOf } from './template.js';
import { synthesizeVariant, type Variant } from './variants.js';

const NETWORK_INTERFACE_STATEMENT = {
  Effect: 'Allow',
  Action: [
    'ec2:CreateNetworkInterface',
    'ec2:DescribeNetworkInterfaces',
    'ec2:DescribeSubnets',
    'ec2:DeleteNetworkInterface',
    'ec2:AssignPrivateIpAddresses',
    'ec2:UnassignPrivateIpAddresses',
  ],
  Resource: '*',
};

/** A VPC with a NAT gateway (and its Elastic IP) in front of two private subnets. */
function natVpc(stack: Stack): ec2.Vpc {
  return new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
}

/** The refresher with the consent callback and the example reader built on it. */
function withAllFunctions(
  props: (stack: Stack) => Omit<TikTokShopTokenRefresherProps, 'shops'>,
): Variant & { functions: IConstruct[] } {
  const functions: IConstruct[] = [];
  const variant = synthesizeVariant(
    (stack) => ({ shops: ['shop-a'], discoverTokenSecretsByTag: true, ...props(stack) }),
    (stack, refresher) => {
      const reader = new TikTokShopExampleReader(stack, 'ExampleReader', {
        refresher,
        shop: 'shop-a',
      });
      const callback = new TikTokShopConsentCallback(stack, 'ConsentCallback', { refresher });
      functions.push(refresher.function, reader.function, callback.function);
    },
  );
  return { ...variant, functions };
}

function roleOf(variant: Variant, fn: IConstruct): string {
  return (
    properties(variant.template, logicalIdIn(variant.stack, fn)).Role as { 'Fn::GetAtt': string[] }
  )['Fn::GetAtt'][0] as string;
}

describe('Construct: TikTokShopTokenRefresher (VPC placement)', () => {
  it('places no function in a VPC by default, and grants no network-interface access', () => {
    // Act
    const variant = withAllFunctions(() => ({}));

    // Assess
    expect(variant.refresher.vpcPlacement).toBeUndefined();
    for (const fn of variant.functions) {
      expect(
        properties(variant.template, logicalIdIn(variant.stack, fn)).VpcConfig,
      ).toBeUndefined();
      expect(JSON.stringify(statementsOf(variant.template, roleOf(variant, fn)))).not.toContain(
        'ec2:',
      );
    }
    variant.template.resourceCountIs('AWS::EC2::SecurityGroup', 0);
  });

  it("runs the refresher, the callback and the example reader in the VPC's private subnets with egress", () => {
    // Prepare
    let vpc: ec2.Vpc | undefined;

    // Act
    const variant = withAllFunctions((stack) => {
      vpc = natVpc(stack);
      return { vpc };
    });

    // Assess: one security group, shared by the three functions
    const groupId = onlyResourceOfType(variant.template, 'AWS::EC2::SecurityGroup');
    const privateSubnets = (vpc?.privateSubnets ?? []).map((subnet) => ({
      Ref: logicalIdIn(variant.stack, subnet),
    }));
    expect(privateSubnets).toHaveLength(2);
    for (const fn of variant.functions) {
      expect(properties(variant.template, logicalIdIn(variant.stack, fn)).VpcConfig).toEqual({
        SubnetIds: privateSubnets,
        SecurityGroupIds: [{ 'Fn::GetAtt': [groupId, 'GroupId'] }],
      });
    }
  });

  it('lets the functions out on HTTPS only, and nothing in', () => {
    // Act
    const variant = withAllFunctions((stack) => ({ vpc: natVpc(stack) }));

    // Assess
    const group = properties(
      variant.template,
      onlyResourceOfType(variant.template, 'AWS::EC2::SecurityGroup'),
    );
    expect(group.SecurityGroupEgress).toEqual([
      {
        CidrIp: '0.0.0.0/0',
        Description: 'HTTPS to TikTok and AWS APIs',
        FromPort: 443,
        IpProtocol: 'tcp',
        ToPort: 443,
      },
    ]);
    expect(group.SecurityGroupIngress).toBeUndefined();
  });

  it('lets each role manage its network interfaces with an inline statement, not the managed policy', () => {
    // Act
    const variant = withAllFunctions((stack) => ({ vpc: natVpc(stack) }));

    // Assess
    for (const fn of variant.functions) {
      const role = roleOf(variant, fn);
      expect(statementsOf(variant.template, role)).toContainEqual(NETWORK_INTERFACE_STATEMENT);
      expect(properties(variant.template, role).ManagedPolicyArns).toBeUndefined();
    }
  });

  it("creates the functions only once the private subnets' routes to the NAT gateway exist", () => {
    // Prepare
    let vpc: ec2.Vpc | undefined;

    // Act
    const variant = withAllFunctions((stack) => {
      vpc = natVpc(stack);
      return { vpc };
    });

    // Assess
    const routes = (vpc?.privateSubnets ?? []).map((subnet) =>
      logicalIdIn(variant.stack, subnet.node.findChild('DefaultRoute')),
    );
    for (const fn of variant.functions) {
      const resource = variant.template.toJSON().Resources[logicalIdIn(variant.stack, fn)];
      expect(resource.DependsOn).toEqual(expect.arrayContaining(routes));
    }
  });

  it('uses the subnets and security groups it is given, and creates no security group', () => {
    // Prepare
    let subnet: ec2.ISubnet | undefined;
    let group: ec2.SecurityGroup | undefined;

    // Act
    const variant = withAllFunctions((stack) => {
      const vpc = natVpc(stack);
      subnet = vpc.privateSubnets[1];
      group = new ec2.SecurityGroup(stack, 'Group', { vpc });
      return { vpc, vpcSubnets: { subnets: subnet ? [subnet] : [] }, securityGroups: [group] };
    });

    // Assess
    const groups = Object.keys(variant.template.findResources('AWS::EC2::SecurityGroup'));
    expect(groups).toEqual([logicalIdIn(variant.stack, group as IConstruct)]);
    for (const fn of variant.functions) {
      expect(properties(variant.template, logicalIdIn(variant.stack, fn)).VpcConfig).toEqual({
        SubnetIds: [{ Ref: logicalIdIn(variant.stack, subnet as IConstruct) }],
        SecurityGroupIds: [{ 'Fn::GetAtt': [groups[0], 'GroupId'] }],
      });
    }
  });

  it('refuses subnets or security groups without a VPC, naming both', () => {
    // Act
    const synth = () =>
      synthesizeVariant((stack) => {
        const vpc = natVpc(stack);
        return {
          shops: ['shop-a'],
          vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
          securityGroups: [new ec2.SecurityGroup(stack, 'Group', { vpc })],
        };
      });

    // Assess
    expect(synth).toThrow(
      'Variant/Refresher: invalid props: vpcSubnets needs vpc; securityGroups needs vpc',
    );
  });

  it('refuses a VPC without private subnets that route to the internet', () => {
    // Act
    const synth = () =>
      synthesizeVariant((stack) => ({
        shops: ['shop-a'],
        vpc: new ec2.Vpc(stack, 'Vpc', {
          natGateways: 0,
          subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
        }),
      }));

    // Assess
    expect(synth).toThrow(/no 'Private' subnet groups in this VPC/);
  });

  it('refuses public subnets, where a function has no way out', () => {
    // Act
    const synth = () =>
      synthesizeVariant((stack) => ({
        shops: ['shop-a'],
        vpc: natVpc(stack),
        vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      }));

    // Assess
    expect(synth).toThrow(/public subnet can NOT access the internet/);
  });
});

describe('Stack: TikTokShopTokenRefresherStack (vpcId)', () => {
  const env = { account: '123456789012', region: 'eu-west-1' };
  const vpcId = 'vpc-0a1b2c3d4e5f60718';
  const lookedUp = {
    vpcId,
    vpcCidrBlock: '10.0.0.0/16',
    availabilityZones: [],
    subnetGroups: [
      {
        name: 'Public',
        type: 'Public',
        subnets: [
          {
            subnetId: 'subnet-public-a',
            cidr: '10.0.0.0/24',
            availabilityZone: 'eu-west-1a',
            routeTableId: 'rtb-public',
          },
        ],
      },
      {
        name: 'Private',
        type: 'Private',
        subnets: [
          {
            subnetId: 'subnet-private-a',
            cidr: '10.0.1.0/24',
            availabilityZone: 'eu-west-1a',
            routeTableId: 'rtb-private-a',
          },
          {
            subnetId: 'subnet-private-b',
            cidr: '10.0.2.0/24',
            availabilityZone: 'eu-west-1b',
            routeTableId: 'rtb-private-b',
          },
        ],
      },
    ],
  };

  function synthesize(context: Record<string, unknown>) {
    const app = new App({
      context: { 'aws:cdk:bundling-stacks': [], ...context },
      builtinCloudFormationValidation: false,
    });
    const stack = new TikTokShopTokenRefresherStack(app, STACK_NAME, {
      env,
      shops: ['shop-a'],
      vpcId,
    });
    return { app, stack, template: Template.fromStack(stack) };
  }

  it('asks the CLI to look the VPC up by id in the stack’s account and region', () => {
    // Act
    const { app } = synthesize({});

    // Assess
    const missing = app.synth().manifest.missing ?? [];
    expect(missing).toHaveLength(1);
    expect(missing[0]?.provider).toBe('vpc-provider');
    expect(missing[0]?.props).toMatchObject({
      account: env.account,
      region: env.region,
      filter: { 'vpc-id': vpcId },
    });
  });

  it("runs the refresher and the example reader in the looked-up VPC's private subnets", () => {
    // Prepare: the lookup's answer, as the CLI caches it in cdk.context.json
    const key = synthesize({}).app.synth().manifest.missing?.[0]?.key ?? '';

    // Act
    const { stack, template } = synthesize({ [key]: lookedUp });

    // Assess
    const groupId = onlyResourceOfType(template, 'AWS::EC2::SecurityGroup');
    expect(properties(template, groupId).VpcId).toBe(vpcId);
    for (const fn of [stack.refresher.function, stack.exampleReader?.function]) {
      expect(properties(template, logicalIdIn(stack, fn as IConstruct)).VpcConfig).toEqual({
        SubnetIds: ['subnet-private-a', 'subnet-private-b'],
        SecurityGroupIds: [{ 'Fn::GetAtt': [groupId, 'GroupId'] }],
      });
    }
  });
});
