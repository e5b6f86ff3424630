// `npm run build`: bundles the functions into assets/, builds the library into dist/ and the
// jsii assembly with its API reference (.jsii, API.md).
import { buildJsiiAssembly } from './build-jsii.js';
import { buildLibrary, bundleFunctions } from './bundle.js';
import { bundleCommands } from './bundle-commands.js';

/**
 * npm run build (and prepare, so a git dependency builds too): the functions' bundles under
 * assets/, which the constructs deploy, the library and the commands' binary under dist/, the
 * jsii assembly and API.md that the package ships for Construct Hub and other languages. With `--functions`, only
 * the bundles: all that `cdk synth` of this repository's app, the demo and the bench need.
 */
const functionsOnly = process.argv.includes('--functions');
await Promise.all([
  bundleFunctions(),
  // The library build empties dist/ first, so the binary follows it.
  ...(functionsOnly ? [] : [buildLibrary().then(bundleCommands), buildJsiiAssembly()]),
]);
