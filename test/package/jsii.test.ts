import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileJsii, generatePythonPackage, PYTHON_OUTDIR } from '../../infra/build-jsii.js';
import { DETAIL_TYPE, METRIC } from '../../lambda/shared/contract.js';

/**
 * The construct as other CDK languages get it: the jsii assembly of infra/index.ts, and the
 * Python package jsii-pacmak generates from it (its source only: no Python registry is
 * reachable here, so no Python app runs it). About 15 s on an idle machine, most of it jsii's
 * compile.
 */

const PACKAGE = 'tiktok-shop-token-refresher';

interface Assembly {
  readonly name: string;
  readonly targets: Record<string, unknown>;
  readonly types: Record<
    string,
    {
      readonly kind: 'class' | 'interface' | 'enum';
      readonly datatype?: boolean;
      readonly base?: string;
      readonly interfaces?: string[];
      readonly members?: { readonly name: string }[];
      readonly properties?: { readonly name: string; readonly static?: boolean; const?: boolean }[];
    }
  >;
}

let dir: string;
let assembly: Assembly;
let python: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jsii-test-'));
  await compileJsii(dir);
  assembly = JSON.parse(await readFile(join(dir, '.jsii'), 'utf8'));
  await generatePythonPackage(dir);
  python = await readFile(
    join(dir, PYTHON_OUTDIR, 'src', 'tiktok_shop_token_refresher', '__init__.py'),
    'utf8',
  );
}, 180_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const type = (name: string) => assembly.types[`${PACKAGE}.${name}`];
const staticConstants = (name: string): string[] =>
  (type(name)?.properties ?? []).filter((p) => p.static && p.const).map((p) => p.name);

describe('the jsii assembly', () => {
  it('holds the constructs as classes extending Construct or Stack', () => {
    // Assess
    expect(assembly.name).toBe(PACKAGE);
    for (const construct of [
      'TikTokShopTokenRefresher',
      'TikTokShopConsentCallback',
      'TikTokShopExampleReader',
      'TikTokShopWebhookReceiver',
    ]) {
      expect(type(construct)).toMatchObject({ kind: 'class', base: 'constructs.Construct' });
    }
    expect(type('TikTokShopTokenRefresherStack')).toMatchObject({
      kind: 'class',
      base: 'aws-cdk-lib.Stack',
    });
  });

  it('holds every props type as a struct, the stack apps included', () => {
    // Assess
    for (const props of [
      'TikTokShopTokenRefresherProps',
      'TikTokShopAppProps',
      'TikTokShopBinding',
      'TikTokShopAppOptions',
      'TikTokShopConsentCallbackProps',
      'TikTokShopExampleReaderProps',
      'TikTokShopTokenRefresherStackProps',
      'TikTokShopStackAppProps',
      'TikTokShopTokenRefresherAlarms',
      'TikTokShopWebhookReceiverProps',
      'TikTokShopWebhookReceiverAlarms',
      'VpcPlacement',
    ]) {
      expect(type(props), props).toMatchObject({ kind: 'interface', datatype: true });
    }
  });

  it('lets the refresher create its webhook receiver or be given to one, as the interface it implements', () => {
    // Assess
    expect(type('ITikTokShopTokenRefresher')?.kind).toBe('interface');
    expect(type('ITikTokShopTokenRefresher')?.datatype).toBeUndefined();
    expect(type('TikTokShopTokenRefresher')?.interfaces).toContain(
      `${PACKAGE}.ITikTokShopTokenRefresher`,
    );
    expect(type('TikTokShopTokenRefresher')?.properties?.map((p) => p.name)).toContain(
      'webhookReceiver',
    );
  });

  it('holds the consent region as an enum of row and us', () => {
    // Assess
    expect(type('TikTokShopConsentRegion')?.kind).toBe('enum');
    expect(type('TikTokShopConsentRegion')?.members?.map((m) => m.name)).toEqual(['ROW', 'US']);
  });

  it('holds every metric and event name, and the minimum timeout, as static constants', () => {
    // Assess
    expect(staticConstants('TikTokShopMetricNames')).toHaveLength(Object.keys(METRIC).length + 1);
    expect(staticConstants('TikTokShopEventNames')).toHaveLength(
      Object.keys(DETAIL_TYPE).length + 1,
    );
    expect(staticConstants('TikTokShopDefaults')).toEqual(
      expect.arrayContaining(['APP', 'APP_TAG_KEY', 'TOKEN_SECRET_TAG_KEY', 'SECRET_NAME_PREFIX']),
    );
    expect(
      type('TikTokShopTokenRefresher')?.properties?.find((p) => p.name === 'MINIMUM_TIMEOUT'),
    ).toMatchObject({ static: true });
  });

  it('names a package for Python, Java, .NET and Go', () => {
    // Assess
    expect(Object.keys(assembly.targets).sort()).toEqual(['dotnet', 'go', 'java', 'js', 'python']);
  });
});

describe('the generated Python package', () => {
  it('defines the construct classes, the props and the constants in tiktok_shop_token_refresher', () => {
    // Assess
    for (const name of [
      'TikTokShopTokenRefresher',
      'TikTokShopConsentCallback',
      'TikTokShopExampleReader',
      'TikTokShopTokenRefresherStack',
      'TikTokShopTokenRefresherProps',
      'TikTokShopMetricNames',
      'TikTokShopEventNames',
    ]) {
      expect(python).toMatch(new RegExp(`^class ${name}\\b`, 'm'));
    }
    expect(python).toMatch(/^class TikTokShopConsentRegion\(enum\.Enum\):/m);
    // Python names the props in snake case, as every CDK library does.
    expect(python).toContain('secret_name_prefix: typing.Optional[builtins.str] = None');
  });
});
