import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { TikTokShopConsentCallback } from '../../infra/consent-callback.js';
import { TikTokShopExampleReader } from '../../infra/example-reader.js';
import type { TikTokShopTokenRefresherProps } from '../../infra/token-refresher-props.js';
import { synthesizeVariant } from './variants.js';

/** The refresher with the consent callback and an example reader: the three functions. */
function synthesizeAll(props: Partial<TikTokShopTokenRefresherProps> = {}) {
  return synthesizeVariant(
    { shops: ['shop-a'], discoverTokenSecretsByTag: true, ...props },
    (scope, refresher) => {
      new TikTokShopExampleReader(scope, 'ExampleReader', { refresher, shop: 'shop-a' });
      new TikTokShopConsentCallback(scope, 'ConsentCallback', { refresher });
    },
  );
}

function runtimes(variant: ReturnType<typeof synthesizeAll>): string[] {
  return Object.values(variant.template.findResources('AWS::Lambda::Function')).map(
    (fn) => fn.Properties.Runtime as string,
  );
}

/** The AwsSolutions findings on the functions that no acknowledgment covers. */
function runtimeFindings(variant: ReturnType<typeof synthesizeAll>): string[] {
  return new AwsSolutionsChecks()
    .validateScope(variant.stack)
    .violations.filter((violation) => violation.ruleName === 'AwsSolutions-L1')
    .flatMap((violation) => violation.violatingResources.map((r) => r.constructPath ?? ''));
}

describe('Construct: the functions’ runtime', () => {
  it('runs every function on Node.js 24 by default, the runtime the bundles are tested on', () => {
    // Act
    const variant = synthesizeAll();

    // Assess
    expect(runtimes(variant)).toEqual(['nodejs24.x', 'nodejs24.x', 'nodejs24.x']);
    expect(variant.refresher.runtime).toBe(lambda.Runtime.NODEJS_24_X);
  });

  it.each([
    ['an older Node.js', lambda.Runtime.NODEJS_22_X, 'nodejs22.x'],
    ['another language', lambda.Runtime.PYTHON_3_13, 'python3.13'],
  ])('refuses %s, naming the oldest it takes', (_case, runtime, name) => {
    // Act & Assess
    expect(() => synthesizeAll({ runtime })).toThrow(
      `runtime must be Node.js 24 or newer, the release the functions' bundles are built for (got ${name})`,
    );
  });

  describe('with an aws-cdk-lib that knows a newer Node.js (as 2.278 knows Node.js 26)', () => {
    // What a newer aws-cdk-lib adds: a runtime in Runtime.ALL, where cdk-nag looks for the newest.
    const newer = new lambda.Runtime('nodejs26.x', lambda.RuntimeFamily.NODEJS);

    it('keeps the default, and leaves AwsSolutions-L1 to no user: it is acknowledged, saying why', () => {
      // Act
      const variant = synthesizeAll();

      // Assess
      expect(runtimes(variant)).toEqual(['nodejs24.x', 'nodejs24.x', 'nodejs24.x']);
      expect(runtimeFindings(variant)).toEqual([]);
    });

    it('runs every function on the runtime given, which needs no acknowledgment', () => {
      // Act
      const variant = synthesizeAll({ runtime: newer });

      // Assess
      expect(runtimes(variant)).toEqual(['nodejs26.x', 'nodejs26.x', 'nodejs26.x']);
      expect(runtimeFindings(variant)).toEqual([]);
      const acknowledged = variant.stack.node
        .findAll()
        .flatMap((construct) => construct.node.metadata)
        .filter((entry) => JSON.stringify(entry.data ?? '').includes('AwsSolutions-L1'));
      expect(acknowledged).toEqual([]);
    });
  });
});
