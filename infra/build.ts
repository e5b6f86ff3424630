import { bundleFunctions } from './bundle.js';

/** npm run build: the functions' bundles under assets/, which the constructs deploy. */
await bundleFunctions();
