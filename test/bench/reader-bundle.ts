import { bundleFunction } from '../../infra/bundle.js';
import { functionAssetDir } from '../../infra/function-assets.js';
import { type BundleSizes, measureBundles } from './bundle-size.js';
import { type Figure, figure } from './figures.js';
import { kilobytes, printedRatio, ratio } from './format.js';

/**
 * The example reader carries the API client, Powertools Logger and Parameters and zod beside the
 * Secrets Manager client: about a fifth more than the floor, and no more than a quarter.
 */
const TARGET_RATIO = 1.25;

export interface ReaderBundle {
  readonly sizes: BundleSizes;
  readonly figure: Figure;
}

/**
 * The example reader's deployed bundle (assets/example-reader, built by the package's one
 * recipe) against a floor built by the same recipe that only builds a Secrets Manager client.
 */
export async function measureReaderBundle(floorDir: string): Promise<ReaderBundle> {
  await bundleFunction('test/bench/reader-floor-handler.ts', floorDir);
  const sizes = await measureBundles(functionAssetDir('example-reader'), floorDir);
  const value = printedRatio(sizes.ratio);
  return {
    sizes,
    figure: figure({
      name: 'example reader bundle vs floor',
      value,
      measured: `${ratio(sizes.ratio)} (${kilobytes(sizes.bytes)} / ${kilobytes(sizes.floorBytes)})`,
      limit: TARGET_RATIO,
      target: `≤ ${ratio(TARGET_RATIO)}`,
      why: () =>
        `the reader adds ${kilobytes(sizes.bytes - sizes.floorBytes)}: ${describeGrowth(sizes)}`,
    }),
  };
}

export function renderReaderBundle(bundle: ReaderBundle): string[] {
  const { sizes } = bundle;
  return [
    `  example reader index.mjs: ${kilobytes(sizes.bytes)}; floor (a Secrets Manager client, a no-op handler): ${kilobytes(sizes.floorBytes)}`,
    `  beyond the floor: ${describeGrowth(sizes)}`,
  ];
}

function describeGrowth(sizes: BundleSizes): string {
  return sizes.growth
    .slice(0, 6)
    .map((entry) => `${entry.source} ${kilobytes(entry.bytes)}`)
    .join(', ');
}
