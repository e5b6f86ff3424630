/**
 * npm run refresh -- --token-file <path> [--force] [--dry-run]
 *
 * Runs the same core as the Lambda function against a token kept in a local JSON file (TikTok's
 * answer, as the secret holds it). App key and secret come from TIKTOK_APP_KEY/TIKTOK_APP_SECRET,
 * both required, even when the token is not due or in a dry run: a missing one is reported at
 * start, not days later when the token falls due. Before TikTok is called, the file is checked
 * to be writable and a recovery file is reserved beside it: a token TikTok issued is never lost
 * to a failed write. A symbolic link is followed; its target is replaced. TIKTOK_AUTH_BASE_URL and
 * REFUSAL_RECHECK_MS are read as the function reads them.
 */
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { MAX_REFUSAL_RECHECK_MS, movedOnChecks } from '../refresher/config.js';
import { type RunSummary, refreshShops } from '../refresher/refresh.js';
import { checkBaseUrl } from '../shared/base-url.js';
import { runBudget } from '../shared/budget.js';
import { DEFAULTS, ENV } from '../shared/contract.js';
import { wholeNumberProblem } from '../shared/env.js';
import type { Logger } from '../shared/observability.js';
import { TikTokAuthClient } from '../shared/tiktok-auth-client.js';
import { systemClock } from '../shared/timing.js';
import { invocation } from './cli-help.js';
import { FileTokenStore } from './file-store.js';
import { printable } from './terminal-text.js';

/**
 * Warnings and errors to stderr, one printable line each (TikTok's message is in `extra`); the
 * summary goes to stdout.
 */
const stderrLogger: Logger = {
  info: () => {},
  warn: (message, extra) =>
    console.error(`warning: ${printable(`${message} ${JSON.stringify(extra)}`, 2_000)}`),
  error: (message, extra) =>
    console.error(`error: ${printable(`${message} ${JSON.stringify(extra)}`, 2_000)}`),
};

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const usage = `usage: ${invocation('refresh', env)} --token-file <path> [--force] [--dry-run]`;
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (error) {
    console.error(`${printable((error as Error).message, 500)}\n${usage}`);
    return 2;
  }
  const path = args.values['token-file'];
  if (path === undefined) {
    console.error(`--token-file is required\n${usage}`);
    return 2;
  }
  const appKey = env.TIKTOK_APP_KEY?.trim() ?? '';
  const appSecret = env.TIKTOK_APP_SECRET?.trim() ?? '';
  const missing = [
    ...(appKey === '' ? ['TIKTOK_APP_KEY'] : []),
    ...(appSecret === '' ? ['TIKTOK_APP_SECRET'] : []),
  ];
  if (missing.length > 0) {
    console.error(
      `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} missing or empty: set both to the app's key and secret from TikTok Partner Center\n${usage}`,
    );
    return 2;
  }
  const baseUrl = env[ENV.tiktokAuthBaseUrl] || DEFAULTS.tiktokAuthBaseUrl;
  const urlProblem = checkBaseUrl(baseUrl);
  if (urlProblem !== undefined) {
    console.error(`${ENV.tiktokAuthBaseUrl} ${printable(urlProblem, 500)}\n${usage}`);
    return 2;
  }
  const recheckMs = env[ENV.refusalRecheckMs]?.trim() || String(DEFAULTS.refusalRecheckMs);
  const recheckProblem = wholeNumberProblem(
    ENV.refusalRecheckMs,
    recheckMs,
    0,
    MAX_REFUSAL_RECHECK_MS,
  );
  if (recheckProblem !== undefined) {
    console.error(`${printable(recheckProblem, 500)}\n${usage}`);
    return 2;
  }

  const store = new FileTokenStore();
  const tiktok = new TikTokAuthClient({ baseUrl, timeoutMs: DEFAULTS.tiktokTimeoutMs });
  const summary = await refreshShops(
    [{ id: path, name: basename(path) }],
    {
      trigger: 'manual',
      force: args.values.force ?? false,
      dryRun: args.values['dry-run'] ?? false,
    },
    {
      refreshBeforeExpirySeconds: DEFAULTS.refreshBeforeExpirySeconds,
      maxConcurrency: 1,
      budget: runBudget({ ...DEFAULTS, maxConcurrency: 1 }),
      movedOnChecksMs: movedOnChecks(Number(recheckMs)),
    },
    {
      store,
      tiktok: {
        // Only a writable file, with a recovery file reserved, gets a new token from TikTok.
        refreshToken: async (credentials, refreshToken, deadline) => {
          await store.prepareWrite(path);
          return tiktok.refreshToken(credentials, refreshToken, deadline);
        },
      },
      appCredentials: async () => ({ app_key: appKey, app_secret: appSecret }),
      events: { publish: async () => ({ failed: 0, reasons: [] }) },
      logger: stderrLogger,
      metrics: { addMetric: () => {} },
      clock: systemClock,
      remainingMs: () => Number.POSITIVE_INFINITY,
    },
  );
  await store.release();
  console.log(describeRun(summary));
  return summary.counts.failed > 0 ? 1 : 0;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: {
      'token-file': { type: 'string' },
      force: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  });
}

function describeRun(summary: RunSummary): string {
  return summary.shops
    .map((shop) => {
      const expiry = shop.accessTokenExpiresAt
        ? `; access token expires ${shop.accessTokenExpiresAt}`
        : '';
      const why = shop.reason ? ` (${shop.reason})` : '';
      // A message may quote TikTok: printed as one line of text.
      const failure = shop.errorType
        ? `: ${shop.errorType}: ${printable(shop.message ?? '', 2_000)}`
        : '';
      return `${shop.shop}: ${shop.outcome}${why}${failure}${expiry}`;
    })
    .join('\n');
}
