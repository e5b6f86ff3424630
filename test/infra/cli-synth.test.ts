import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, parse } from 'node:path';
import { promisify } from 'node:util';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STACK_NAME } from '../../infra/stack.js';
import { synthesizeRefresher } from '../support/synth.js';

const run = promisify(execFile);
const SHOPS = ['shop-a', 'shop-b'];

interface CliSynth {
  readonly stderr: string;
  readonly outdir: string;
  readonly template: { Resources: Record<string, { Type: string; Properties?: unknown }> };
  readonly validationReport: { pluginReports: { violations?: unknown[] }[] };
}

let workDir: string;
let synth: CliSynth;

beforeAll(async () => {
  // Prepare: no AWS variables and an empty home, so no profile, credentials or ~/.cdk.json exist.
  workDir = await mkdtemp(join(tmpdir(), 'cdk-cli-synth-'));
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(AWS|CDK)_/.test(name)),
  );
  const outdir = join(workDir, 'cdk.out');

  // Act: `--no` keeps npx from installing anything; the CLI is the project's own.
  const { stderr } = await run(
    'npx',
    ['--no', 'cdk', 'synth', '--quiet', '-o', outdir, '-c', `shops=${SHOPS.join(',')}`],
    { cwd: process.cwd(), env: { ...env, HOME: workDir }, maxBuffer: 16 * 1024 * 1024 },
  );
  synth = {
    stderr,
    outdir,
    template: JSON.parse(await readFile(join(outdir, `${STACK_NAME}.template.json`), 'utf8')),
    validationReport: JSON.parse(await readFile(join(outdir, 'validation-report.json'), 'utf8')),
  };
}, 180_000);

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/**
 * The template without what only the CLI adds (path metadata, version reporting) and without
 * the asset hash: the source map holds source paths relative to the output directory, so the
 * hash depends on where the assembly is written. The bundled code itself is compared apart.
 */
function comparable(template: CliSynth['template']): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(template.Resources)
      .filter(([, resource]) => resource.Type !== 'AWS::CDK::Metadata')
      .map(([id, resource]) => [
        id,
        {
          Type: resource.Type,
          Properties: JSON.parse(
            JSON.stringify(resource.Properties ?? {}).replace(/[0-9a-f]{64}/g, '<asset-hash>'),
          ),
        },
      ]),
  );
}

/** The bundled handler of one function as the CLI staged it, found through the asset manifest. */
async function cliBundle(
  outdir: string,
  template: CliSynth['template'],
  functionId: string,
  handlerFile: string,
): Promise<string> {
  const code = (template.Resources[functionId]?.Properties as { Code?: { S3Key?: string } })?.Code;
  const manifest = JSON.parse(
    await readFile(join(outdir, `${STACK_NAME}.assets.json`), 'utf8'),
  ) as { files: Record<string, { source: { path: string } }> };
  const asset = manifest.files[parse(code?.S3Key ?? '').name];
  expect(asset).toBeDefined();
  return readFile(join(outdir, asset?.source.path ?? '', handlerFile), 'utf8');
}

describe('cdk synth (the real CLI, offline, without credentials)', () => {
  it('synthesizes the stack template', () => {
    // Assess
    const types = Object.values(synth.template.Resources).map((resource) => resource.Type);
    expect(types).toContain('AWS::Scheduler::Schedule');
    // The refresher and, on by default, the example reader; the consent callback is off.
    expect(types.filter((type) => type === 'AWS::Lambda::Function')).toHaveLength(2);
    expect(types).not.toContain('AWS::Lambda::Url');
  });

  it('passes cdk-nag and CloudFormation validation without a finding', () => {
    // Assess
    const violations = synth.validationReport.pluginReports.flatMap(
      (report) => report.violations ?? [],
    );
    expect(violations).toEqual([]);
    expect(synth.stderr).not.toMatch(/AwsSolutions-/);
  });

  it('builds the same template and bundle as the in-process synthesis the tests run', async () => {
    // Act
    const inProcess = synthesizeRefresher({ shops: SHOPS });
    const { stack } = inProcess;
    const functionId = stack.getLogicalId(
      stack.refresher.function.node.defaultChild as CfnFunction,
    );
    const bundle = await cliBundle(
      synth.outdir,
      synth.template,
      functionId,
      basename(inProcess.handlerPath),
    );

    // Assess (a boolean for the bundle: a failed match would print all of it)
    expect(comparable(synth.template)).toEqual(
      comparable(inProcess.template.toJSON() as CliSynth['template']),
    );
    expect(bundle === (await readFile(inProcess.handlerPath, 'utf8'))).toBe(true);
  });
});
