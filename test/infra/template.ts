import { readFileSync } from 'node:fs';
import { join, parse } from 'node:path';
import type { Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { expect } from 'vitest';

/** Reading a synthesized template: logical ids, resources, policy statements, bundles. */

export function logicalIdIn(stack: Stack, construct: IConstruct): string {
  const element = construct.node.defaultChild ?? construct;
  return stack.getLogicalId(element as Parameters<Stack['getLogicalId']>[0]);
}

export function onlyResourceOfType(template: Template, type: string): string {
  const ids = Object.keys(template.findResources(type));
  expect(ids).toHaveLength(1);
  return ids[0] as string;
}

/** The statements of the policies attached to a role, in any order. */
export function statementsOf(template: Template, roleId: string): unknown[] {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: roleId }] },
  });
  return Object.values(policies).flatMap(
    (policy) => (policy.Properties.PolicyDocument.Statement as unknown[]) ?? [],
  );
}

export function expectExactStatements(actual: unknown[], expected: unknown[]): void {
  expect(actual).toHaveLength(expected.length);
  expect(actual).toEqual(expect.arrayContaining(expected));
}

export function properties(template: Template, id: string): Record<string, unknown> {
  const resource = template.toJSON().Resources?.[id];
  expect(resource).toBeDefined();
  return resource.Properties;
}

/** `arn:<partition>:<service>:<region>:<account>:<resource>` as CDK renders it. */
export const pseudoArn = (service: string, resource: string) => ({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      `:${service}:`,
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      `:${resource}`,
    ],
  ],
});

/** The function's environment, every value a literal string. */
export function environmentOf(template: Template, functionId: string): Record<string, string> {
  const fn = properties(template, functionId) as {
    Environment: { Variables: Record<string, string> };
  };
  return fn.Environment.Variables;
}

/** The bundled module (index.mjs) of a function, found through the assembly's asset manifest. */
export function bundledHandlerOf(
  outdir: string,
  stack: Stack,
  template: Template,
  functionId: string,
): string {
  const code = properties(template, functionId).Code as { S3Key: string };
  const manifest = JSON.parse(
    readFileSync(join(outdir, `${stack.artifactId}.assets.json`), 'utf8'),
  ) as { files: Record<string, { source: { path: string } }> };
  const asset = manifest.files[parse(code.S3Key).name];
  expect(asset).toBeDefined();
  return join(outdir, asset?.source.path ?? '', 'index.mjs');
}
