import { bundleFunctions } from '../../infra/bundle.js';

/** Every test run deploys freshly built bundles: the same build `npm run build` makes. */
export default async function setup(): Promise<void> {
  await bundleFunctions();
}
