import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { type Figure, figure } from './figures.js';
import { kilobytes, printedRatio, ratio } from './format.js';
import { growth, packageOf, type SourceMap, sizeBySource, UNMAPPED } from './source-map.js';

const TARGET_RATIO = 1.15;
const REPOSITORY = join(import.meta.dirname, '..', '..');

export interface AssetFile {
  readonly name: string;
  readonly bytes: number;
}

export interface BundleSizes {
  /** Every file of the deployed asset. */
  readonly files: readonly AssetFile[];
  /** The asset without its source maps: what Lambda loads. */
  readonly bytes: number;
  readonly mapBytes: number;
  readonly floorBytes: number;
  readonly floorMapBytes: number;
  readonly ratio: number;
  /** Code the handler's bundle holds beyond the floor's, per package, largest first. */
  readonly growth: readonly { readonly source: string; readonly bytes: number }[];
  readonly figure: Figure;
}

export async function measureBundles(assetDir: string, floorDir: string): Promise<BundleSizes> {
  const [files, floorFiles] = await Promise.all([listFiles(assetDir), listFiles(floorDir)]);
  const [sizes, floorSizes] = await Promise.all([
    sizeByPackage(assetDir, files),
    sizeByPackage(floorDir, floorFiles),
  ]);
  const bytes = total(files, false);
  const floorBytes = total(floorFiles, false);
  const extra = growth(sizes, floorSizes).map(([source, size]) => ({ source, bytes: size }));
  return {
    files,
    bytes,
    mapBytes: total(files, true),
    floorBytes,
    floorMapBytes: total(floorFiles, true),
    ratio: bytes / floorBytes,
    growth: extra,
    figure: figure({
      name: 'bundle size vs floor',
      value: printedRatio(bytes / floorBytes),
      measured: `${ratio(bytes / floorBytes)} (${kilobytes(bytes)} / ${kilobytes(floorBytes)})`,
      limit: TARGET_RATIO,
      target: `≤ ${ratio(TARGET_RATIO)}`,
      why: () =>
        `the handler adds ${kilobytes(bytes - floorBytes)} to the SDK clients: ${extra
          .slice(0, 5)
          .map((entry) => `${entry.source} ${kilobytes(entry.bytes)}`)
          .join(', ')}`,
    }),
  };
}

async function listFiles(dir: string, prefix = ''): Promise<AssetFile[]> {
  const files: AssetFile[] = [];
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const name = join(prefix, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(dir, name)));
    else files.push({ name, bytes: (await stat(join(dir, name))).size });
  }
  return files.sort((a, b) => a.name.localeCompare(b.name));
}

function total(files: readonly AssetFile[], maps: boolean): number {
  return files
    .filter((file) => file.name.endsWith('.map') === maps)
    .reduce((sum, file) => sum + file.bytes, 0);
}

/** Sizes of every mapped module of the asset, grouped by npm package (or repository folder). */
async function sizeByPackage(
  dir: string,
  files: readonly AssetFile[],
): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  const names = new Set(files.map((file) => file.name));
  for (const file of files) {
    if (!names.has(`${file.name}.map`)) continue;
    const code = await readFile(join(dir, file.name), 'utf8');
    const map = JSON.parse(await readFile(join(dir, `${file.name}.map`), 'utf8')) as SourceMap;
    const mapDir = dirname(join(dir, file.name));
    for (const [source, size] of sizeBySource(code, map)) {
      const key =
        source === UNMAPPED ? source : packageOf(relative(REPOSITORY, resolve(mapDir, source)));
      sizes.set(key, (sizes.get(key) ?? 0) + size);
    }
  }
  return sizes;
}
