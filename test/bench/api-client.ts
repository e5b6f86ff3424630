import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { tiktokShopApi } from '../../lambda/reader/index.js';
import { signRequest } from '../../lambda/shared/signing.js';
import { startLocalOpenApi } from '../local/endpoints/open-api.js';
import { startLocalSecretsManager } from '../local/endpoints/secrets-manager.js';
import { type Figure, figure } from './figures.js';
import { median } from './format.js';

/** A cached call: the API call itself, nothing before it. */
const TARGET_ROUND_TRIPS = 1;
/** Signing is one HMAC over a few hundred bytes: far below a millisecond. */
const TARGET_SIGNING_US = 50;
const CALLS = 20;
const SIGNINGS = 5_000;
const LATENCY_MS = 50;
const APP = { app_key: 'bench-app-key', app_secret: 'BENCH_APP_SECRET_5a1f' };
const TOKEN_SECRET = 'tiktok-shop/tokens/bench-api';
const CREDENTIALS_SECRET = 'tiktok-shop/app-credentials';

export interface ApiClientCost {
  readonly calls: number;
  readonly latencyMs: number;
  /** Open API requests and Secrets Manager calls per cached call, as the local hosts saw them. */
  readonly apiCallsPerCall: number;
  readonly secretsManagerCallsPerCall: number;
  /** Median time of a cached call with no latency: the client's own work plus a local round trip. */
  readonly baselineMs: number;
  /** Median time with `latencyMs` added to every Open API and Secrets Manager call. */
  readonly delayedMs: number;
  /** (delayed − baseline) / latency: the round trips a call waited for. */
  readonly timedRoundTrips: number;
  /** Median time to sign an order search with a 200-byte body, in microseconds. */
  readonly signingUs: number;
  readonly figures: readonly Figure[];
}

/**
 * `api.post('/order/202309/orders/search', …)` in-process, with the token, the app credentials
 * and the shop cipher cached after a first call, against local Secrets Manager and Open API
 * hosts: what each further call costs, counted and timed.
 */
export async function measureApiClient(): Promise<ApiClientCost> {
  const secretsManager = await startLocalSecretsManager();
  let accessToken = '';
  const openApi = await startLocalOpenApi({
    appKey: APP.app_key,
    appSecret: APP.app_secret,
    accessTokens: (token) => (token === accessToken ? 'valid' : 'unknown'),
  });
  try {
    accessToken = `TTS_AT_bench_${Date.now()}`;
    const now = Math.floor(Date.now() / 1000);
    secretsManager.seed(CREDENTIALS_SECRET, JSON.stringify(APP));
    secretsManager.seed(
      TOKEN_SECRET,
      JSON.stringify({
        code: 0,
        data: {
          access_token: accessToken,
          access_token_expire_in: now + 86_400,
          refresh_token: 'TTS_RT_bench',
          refresh_token_expire_in: now + 86_400 * 365,
        },
      }),
    );
    openApi.addShop({ name: 'Bench Shop', region: 'GB' });
    const api = tiktokShopApi({
      tokenSecretId: TOKEN_SECRET,
      appCredentialsSecretId: CREDENTIALS_SECRET,
      baseUrl: openApi.url,
      // Longer than the whole measurement: every call after the first is served from the cache.
      maxAge: 600,
      provider: new SecretsProvider({
        awsSdkV3Client: new SecretsManagerClient({
          endpoint: secretsManager.url,
          region: 'us-east-1',
          credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
        }),
      }),
    });
    const search = () =>
      api.post('/order/202309/orders/search', {
        query: { page_size: 2 },
        body: { order_status: 'AWAITING_SHIPMENT' },
      });
    await search();

    const timeCalls = async (latencyMs: number): Promise<number[]> => {
      openApi.latencyMs = latencyMs;
      secretsManager.latencyMs = latencyMs;
      const times: number[] = [];
      for (let call = 0; call < CALLS; call++) {
        const started = performance.now();
        await search();
        times.push(performance.now() - started);
      }
      return times;
    };
    const secretCallsBefore = secretsManager.calls.length;
    const apiCallsBefore = openApi.calls.length;
    const baseline = median(await timeCalls(0));
    const delayed = median(await timeCalls(LATENCY_MS));
    const apiCallsPerCall = (openApi.calls.length - apiCallsBefore) / (2 * CALLS);
    const secretsManagerCallsPerCall =
      (secretsManager.calls.length - secretCallsBefore) / (2 * CALLS);
    const roundTrips = apiCallsPerCall + secretsManagerCallsPerCall;
    const signingUs = measureSigning();
    return {
      calls: 2 * CALLS,
      latencyMs: LATENCY_MS,
      apiCallsPerCall,
      secretsManagerCallsPerCall,
      baselineMs: baseline,
      delayedMs: delayed,
      timedRoundTrips: (delayed - baseline) / LATENCY_MS,
      signingUs,
      figures: [
        figure({
          name: 'API client: round trips per cached call',
          value: roundTrips,
          measured: `${roundTrips} (${apiCallsPerCall} Open API + ${secretsManagerCallsPerCall} Secrets Manager; timed: ${((delayed - baseline) / LATENCY_MS).toFixed(1)})`,
          limit: TARGET_ROUND_TRIPS,
          target: `≤ ${TARGET_ROUND_TRIPS} (the call itself)`,
          why: () =>
            `each cached call made ${apiCallsPerCall} Open API and ${secretsManagerCallsPerCall} Secrets Manager calls`,
        }),
        figure({
          name: 'API client: signing time',
          value: signingUs,
          measured: `${signingUs.toFixed(1)} µs`,
          limit: TARGET_SIGNING_US,
          target: `≤ ${TARGET_SIGNING_US} µs`,
          why: () => `one signature took ${signingUs.toFixed(1)} µs (median of ${SIGNINGS})`,
        }),
      ],
    };
  } finally {
    await Promise.all([secretsManager.close(), openApi.close()]);
  }
}

/** Median µs of one signature over a typical order search, in batches to rise above the timer's grain. */
function measureSigning(): number {
  const input = {
    appSecret: APP.app_secret,
    path: '/order/202309/orders/search',
    query: {
      app_key: APP.app_key,
      timestamp: '1750000000',
      shop_cipher: 'ROW_c2hvcF9jaXBoZXJfYmVuY2hfMDE',
      page_size: '50',
      sort_field: 'create_time',
      sort_order: 'DESC',
    },
    body: JSON.stringify({
      order_status: 'AWAITING_SHIPMENT',
      create_time_ge: 1_749_000_000,
      create_time_lt: 1_750_000_000,
      shipping_type: 'TIKTOK',
      buyer_user_id: '7494000000000000000',
      is_buyer_request_cancel: false,
      warehouse_ids: ['7000000000000000001', '7000000000000000002'],
    }),
    contentType: 'application/json',
  };
  const batch = 100;
  const perSignature: number[] = [];
  for (let run = 0; run < SIGNINGS / batch; run++) {
    const started = performance.now();
    for (let i = 0; i < batch; i++) signRequest(input);
    perSignature.push(((performance.now() - started) * 1000) / batch);
  }
  return median(perSignature);
}

export function renderApiClient(cost: ApiClientCost): string[] {
  return [
    `  ${cost.calls} calls of api.post('/order/202309/orders/search') after a first one filled the caches`,
    `  per call: ${cost.apiCallsPerCall} Open API request, ${cost.secretsManagerCallsPerCall} Secrets Manager calls`,
    `  median call: ${cost.baselineMs.toFixed(1)} ms locally, ${cost.delayedMs.toFixed(1)} ms with ${cost.latencyMs} ms on every call (${cost.timedRoundTrips.toFixed(1)} round trips)`,
    `  signing: ${cost.signingUs.toFixed(1)} µs per request (median)`,
  ];
}
