// VPC placement of the functions: the props, their checks and defaults, and the role's ENI access.
import { Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';

/**
 * Where the functions of a refresher run when it is given a VPC: their network interfaces sit in
 * these subnets, so their calls to TikTok leave through the VPC's NAT gateway and its Elastic IP.
 */
export interface VpcPlacement {
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets: ec2.SubnetSelection;
  readonly securityGroups: ec2.ISecurityGroup[];
}

/** The three props a user places the functions with, as the refresher's props name them. */
export interface VpcPlacementProps {
  readonly vpc?: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly securityGroups?: ec2.ISecurityGroup[];
}

/** What is wrong with the placement props, for the refresher's list of problems. */
export function vpcPlacementProblems(props: VpcPlacementProps): string[] {
  if (props.vpc !== undefined) return [];
  return [
    ...(props.vpcSubnets === undefined ? [] : ['vpcSubnets needs vpc']),
    ...(props.securityGroups === undefined ? [] : ['securityGroups needs vpc']),
  ];
}

/**
 * The placement with its defaults: the private subnets with egress (the ones that route through a
 * NAT gateway) and, unless given, one security group that allows outbound HTTPS only, created in
 * `scope` and shared by every function placed with it. No VPC, no placement.
 */
export function resolveVpcPlacement(
  scope: Construct,
  props: VpcPlacementProps,
): VpcPlacement | undefined {
  const { vpc } = props;
  if (vpc === undefined) return undefined;
  return {
    vpc,
    vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    securityGroups: props.securityGroups ?? [httpsOnlySecurityGroup(scope, vpc)],
  };
}

function httpsOnlySecurityGroup(scope: Construct, vpc: ec2.IVpc): ec2.SecurityGroup {
  const group = new ec2.SecurityGroup(scope, 'SecurityGroup', {
    vpc,
    description: 'TikTok Shop token functions: outbound HTTPS to TikTok and AWS APIs, no inbound',
    allowAllOutbound: false,
  });
  // Names resolve through the VPC's own DNS server, which security groups do not filter.
  group.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to TikTok and AWS APIs');
  return group;
}

/**
 * What Lambda needs of a function's role to attach the function to its subnets: the EC2 actions of
 * the AWSLambdaVPCAccessExecutionRole managed policy, without that policy's `logs:*` on every log
 * group (the role already writes its own log group only).
 */
export function allowNetworkInterfaces(role: iam.Role): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: [
        'ec2:CreateNetworkInterface',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeSubnets',
        'ec2:DeleteNetworkInterface',
        'ec2:AssignPrivateIpAddresses',
        'ec2:UnassignPrivateIpAddresses',
      ],
      resources: ['*'],
    }),
  );
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      "The function runs in a VPC: Lambda creates, describes and deletes the function's network interfaces with this role. The Describe actions support no resource-level permission, and the interfaces exist only once Lambda has created them (Lambda's guide lists these actions on all resources).",
  });
}
