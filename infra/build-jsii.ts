// The construct for every CDK language: jsii compiles its public API (infra/index.ts) into the
// `.jsii` assembly the package ships, jsii-docgen writes API.md, jsii-pacmak makes the Python code.
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/**
 * Where jsii compiles: a package of its own, so that jsii sees only the construct and its peers.
 * jsii refuses a package whose dependencies are not jsii modules unless they are bundled, and
 * this package's dependencies (the SDK, Powertools, zod) serve the reader library and the
 * functions, not the construct. Its `dist/` holds the generated language packages.
 */
const JSII_DIR = join(ROOT, 'build', 'jsii');
const JSII_ASSEMBLY = join(ROOT, '.jsii');
const API_REFERENCE = join(ROOT, 'API.md');
/** Where jsii-pacmak puts the Python package's source in the staged package. */
export const PYTHON_OUTDIR = join('dist', 'python');

/** The modules jsii compiles: what infra/index.ts imports, near and far. */
function publicApiModules(entry = 'infra/index.ts'): string[] {
  const found = new Set<string>();
  const visit = (file: string): void => {
    if (found.has(file)) return;
    found.add(file);
    const source = readFileSync(join(ROOT, file), 'utf8');
    for (const [, specifier] of source.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)) {
      visit(relative(ROOT, resolve(ROOT, dirname(file), `${specifier}.ts`)));
    }
  };
  visit(entry);
  return [...found].sort();
}

/**
 * The one module that differs: CommonJS has no import.meta, so `assets/` is found from the
 * file's own path, as the CommonJS bundle does (infra/bundle.ts).
 */
function forCommonJs(source: string): string {
  return source.replaceAll('import.meta.url', "require('node:url').pathToFileURL(__filename).href");
}

/** The package jsii compiles: this one's name, version and jsii settings, the peers only. */
function jsiiPackageJson(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const peers: Record<string, string> = pkg.peerDependencies;
  return `${JSON.stringify(
    {
      name: pkg.name,
      version: pkg.version,
      description: pkg.description,
      license: pkg.license,
      keywords: pkg.keywords,
      author: pkg.author,
      // jsii requires one; the package names none yet (set `repository` in package.json).
      repository: pkg.repository ?? { type: 'git', url: 'https://localhost/unpublished.git' },
      main: 'infra/index.js',
      types: 'infra/index.d.ts',
      peerDependencies: peers,
      // jsii wants a development dependency on each peer's lowest version (it reads the
      // assemblies from node_modules, which hold the versions this repository pins).
      devDependencies: Object.fromEntries(
        Object.entries(peers).map(([name, range]) => [name, range.replace(/^[\^~]/, '')]),
      ),
      stability: 'experimental',
      jsii: pkg.jsii,
    },
    null,
    2,
  )}\n`;
}

const exec = promisify(execFile);
const require = createRequire(import.meta.url);

async function runTool(bin: string, args: readonly string[], cwd: string): Promise<void> {
  const [pkg, path] = bin.split(':') as [string, string];
  const script = join(dirname(require.resolve(`${pkg}/package.json`)), path);
  try {
    await exec(process.execPath, [script, ...args], { cwd, maxBuffer: 32 * 1024 * 1024 });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`${pkg} ${args.join(' ')} failed:\n${`${stdout}\n${stderr}`.slice(-6000)}`);
  }
}

/**
 * Compiles the public API's modules with jsii in `dir` (emptied first), a package of their
 * own: `<dir>/.jsii` is the assembly.
 */
export async function compileJsii(dir: string): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const file of publicApiModules()) {
    const source = readFileSync(join(ROOT, file), 'utf8');
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), forCommonJs(source));
  }
  writeFileSync(join(dir, 'package.json'), jsiiPackageJson());
  for (const file of ['README.md', 'LICENSE']) cpSync(join(ROOT, file), join(dir, file));
  cpSync(join(ROOT, 'tsconfig.jsii.json'), join(dir, 'tsconfig.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  await runTool('jsii:bin/jsii', ['--silence-warnings=reserved-word'], dir);
}

/**
 * The assembly and the API reference, both copied to the package root (they ship in the
 * package): part of `npm run build`.
 */
export async function buildJsiiAssembly(): Promise<void> {
  await compileJsii(JSII_DIR);
  cpSync(join(JSII_DIR, '.jsii'), JSII_ASSEMBLY);
  await runTool('jsii-docgen:bin/jsii-docgen', ['--output', 'API.md'], JSII_DIR);
  cpSync(join(JSII_DIR, 'API.md'), API_REFERENCE);
}

/**
 * The Python package's source in `<dir>/dist/python`, from the assembly `compileJsii` made in
 * `dir`. It embeds that package with the functions' bundles, so that it deploys what npm users
 * deploy; no Python registry is needed to make it (nor reachable here to try it).
 */
export async function generatePythonPackage(dir = JSII_DIR): Promise<void> {
  if (!existsSync(join(ROOT, 'assets'))) {
    throw new Error('the functions are not bundled: run "npm run build:functions" first');
  }
  cpSync(join(ROOT, 'assets'), join(dir, 'assets'), { recursive: true });
  await runTool('jsii-pacmak:bin/jsii-pacmak', ['--targets', 'python', '--code-only'], dir);
}

// `npm run build:jsii`: the assembly, API.md and the Python package.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildJsiiAssembly();
  await generatePythonPackage();
}
