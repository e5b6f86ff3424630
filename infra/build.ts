// `npm run build`: bundles the functions into assets/ and builds the library into dist/.
import { buildLibrary, bundleFunctions } from './bundle.js';

/**
 * npm run build (and prepare, so a git dependency builds too): the functions' bundles under
 * assets/, which the constructs deploy, and the library under dist/. With `--functions`, only
 * the bundles: all that `cdk synth` of this repository's app, the demo and the bench need.
 */
const functionsOnly = process.argv.includes('--functions');
await Promise.all([bundleFunctions(), ...(functionsOnly ? [] : [buildLibrary()])]);
