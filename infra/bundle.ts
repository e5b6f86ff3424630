// How the functions and the library are bundled: one esbuild recipe for package, tests and bench.
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type BuildOptions, build } from 'esbuild';
import {
  ASSETS_DIR,
  BUNDLE_NODE_MAJOR,
  FUNCTION_ENTRIES,
  type FunctionName,
} from './function-assets.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/**
 * How every function is bundled: the one recipe, used by the package build, the tests, the demo
 * and the benchmark (whose floor is built by it too), so what they measure is what deploys.
 */
export const FUNCTION_BUNDLING: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: `node${BUNDLE_NODE_MAJOR}`,
  minify: true,
  // Lambda reports a failed invocation by its error's class name (errorType): keep it.
  keepNames: true,
  // Shipped beside the bundle, not loaded: --enable-source-maps slows every cold start.
  sourcemap: true,
  // Names and lines of the sources are enough for a stack trace; their text would triple the asset.
  sourcesContent: false,
  mainFields: ['module', 'main'],
  // Bundled CommonJS dependencies may call require() on Node built-ins, which ESM lacks.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  // The SDK ships inside the bundle: a lower cold start than loading the runtime's copy.
  external: [],
  logLevel: 'warning',
  legalComments: 'none',
};

/**
 * Bundles one handler module into `<outdir>/index.mjs` (and its source map). A file whose bytes
 * did not change is left alone and a changed one is replaced by a rename, so a process reading
 * the bundles (a test, `npm pack`) while another one rebuilds them (`cdk synth`) never sees a
 * missing or half-written file.
 */
export async function bundleFunction(entry: string, outdir: string): Promise<string> {
  const outfile = join(outdir, 'index.mjs');
  const { outputFiles } = await build({
    ...FUNCTION_BUNDLING,
    entryPoints: [join(ROOT, entry)],
    outfile,
    absWorkingDir: ROOT,
    write: false,
  });
  mkdirSync(outdir, { recursive: true });
  for (const file of outputFiles) {
    if (existsSync(file.path) && readFileSync(file.path).equals(file.contents)) continue;
    const temporary = `${file.path}.${process.pid}.tmp`;
    writeFileSync(temporary, file.contents);
    renameSync(temporary, file.path);
  }
  const outputs = new Set(outputFiles.map((file) => basename(file.path)));
  for (const name of readdirSync(outdir)) {
    if (!outputs.has(name) && !name.endsWith('.tmp')) rmSync(join(outdir, name), { force: true });
  }
  return outfile;
}

/** Bundles every function of the package into `assets/<name>/`. */
export async function bundleFunctions(): Promise<void> {
  await Promise.all(
    Object.entries(FUNCTION_ENTRIES).map(([name, entry]) =>
      bundleFunction(entry, join(ASSETS_DIR, name as FunctionName)),
    ),
  );
}

/** The package's JavaScript entry points (see `exports` in package.json): `dist/<name>.{js,cjs}`. */
export const LIBRARY_ENTRIES = {
  index: 'infra/index.ts',
  reader: 'lambda/reader/index.ts',
} as const;

export const DIST_DIR = join(ROOT, 'dist');

/**
 * How the library is compiled for the apps and functions that install the package: one readable
 * file per entry point and module format, the package's own modules inside, every dependency
 * (aws-cdk-lib, constructs, Powertools, the SDK, zod) left to the user's install.
 */
const LIBRARY_BUNDLING: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  packages: 'external',
  // Error classes report their own name (errorType): keep it through bundling.
  keepNames: true,
  logLevel: 'warning',
};

/**
 * CommonJS has no import.meta: the one use, finding `assets/` beside the module, gets the same
 * URL from the file's own path.
 */
const COMMONJS_IMPORT_META: BuildOptions = {
  define: { 'import.meta.url': '__importMetaUrl' },
  banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
};

/** Bundles each library entry into `dist/<name>.js` (ESM) and `dist/<name>.cjs` (CommonJS). */
export async function bundleLibrary(): Promise<void> {
  const builds = Object.entries(LIBRARY_ENTRIES).flatMap(([name, entry]) => {
    const common = { ...LIBRARY_BUNDLING, entryPoints: [join(ROOT, entry)], absWorkingDir: ROOT };
    return [
      build({ ...common, format: 'esm', outfile: join(DIST_DIR, `${name}.js`) }),
      build({
        ...common,
        ...COMMONJS_IMPORT_META,
        format: 'cjs',
        outfile: join(DIST_DIR, `${name}.cjs`),
      }),
    ];
  });
  await Promise.all(builds);
}

/**
 * Declarations for both module formats, by tsc (tsconfig.build.json): `dist/types/esm` lies in
 * the package's `"type": "module"` scope, `dist/types/cjs` is the same files under a
 * `"type": "commonjs"` package.json, so TypeScript types a `require` as CommonJS and an
 * `import` as ESM, each matching the file it loads.
 */
export async function emitDeclarations(): Promise<void> {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const types = join(DIST_DIR, 'types');
  rmSync(types, { recursive: true, force: true });
  await promisify(execFile)(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], {
    cwd: ROOT,
  });
  cpSync(join(types, 'esm'), join(types, 'cjs'), { recursive: true });
  writeFileSync(join(types, 'cjs', 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
}

/** The package's library: `dist/`, JavaScript and declarations. */
export async function buildLibrary(): Promise<void> {
  rmSync(DIST_DIR, { recursive: true, force: true });
  await Promise.all([bundleLibrary(), emitDeclarations()]);
}
