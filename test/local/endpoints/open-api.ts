import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LocalHttpServer } from './http.js';

/**
 * A local TikTok Shop Open API host (`open-api.tiktokglobalshop.com`, version 202309). It checks
 * every request as TikTok does: app_key, a timestamp within 5 minutes before and 30 seconds
 * after its clock, the signature (its own implementation of TikTok's published algorithm, so a
 * client's signer is checked by a second one), the access token in `x-tts-access-token`, and
 * the shop_cipher rules (required on shop-scoped APIs, refused on /authorization, /seller and
 * uploads, matched against the token's shops). It answers the authorized-shops list, an order
 * search and order details, an image upload, and each error code a caller must handle. Stricter
 * than TikTok in one way: an access token or app secret in the query string is refused.
 */

export const OPEN_API_CODE = {
  success: 0,
  deauthorized: 105001,
  accessTokenExpired: 105002,
  scopeNotGranted: 105005,
  cipherMismatch: 101000,
  signatureInvalid: 106001,
  cipherMissing: 106013,
  invalidRequest: 36009004,
  rateLimited: 36009002,
  internalError: 36009003,
  timeout: 36009007,
  ipNotAllowed: 36009033,
  developmentShopQuota: 36009037,
} as const;

/** What TikTok says with each code (wording from its error pages and SDK issues). */
const MESSAGES: Readonly<Record<number, string>> = {
  105001: 'The access token has been revoked, the seller needs to authorize again',
  105002: 'Access token is expired, please refresh it',
  105005: 'Access denied. The app has not been granted the required scope',
  101000: 'The shop_cipher does not match the access token',
  106001: 'Invalid signature',
  106013: 'shop_cipher is required',
  36009002: 'Too many requests, please try again later',
  36009003: 'Internal error, please try again later',
  36009007: 'Request timeout, please try again later',
  36009033: 'The IP address is not in the allow list of the app',
  36009037: 'The development shop has exceeded its hourly request quota',
};

/** How TikTok's clock judges a request's timestamp: 5 minutes late at most, 30 s early. */
const TIMESTAMP_WINDOW = { pastSeconds: 300, futureSeconds: 30 } as const;
const MAX_REQUEST_BYTES = 1024 * 1024;

export interface LocalShop {
  id: string;
  name: string;
  region: string;
  sellerType: 'LOCAL' | 'CROSS_BORDER';
  cipher: string;
  code: string;
}

/** What the host makes of an access token: 'unknown' answers 36009004, 'expired' 105002. */
export type AccessTokenStatus = 'valid' | 'expired' | 'unknown';

export interface LocalOpenApiOptions {
  appKey: string;
  appSecret: string;
  /** Which access tokens work, e.g. the one a token secret holds now. */
  accessTokens: (accessToken: string) => AccessTokenStatus;
  /** TikTok's clock, epoch ms. Default Date.now. */
  now?: () => number;
  /** Default 0: a free port. */
  port?: number;
  /** Fixed delay added to every request. Default 0. */
  latencyMs?: number;
  /**
   * The TikTok shop ids an access token covers (the local TikTok's `shopIdsOfAccessToken`):
   * its authorized-shops list is those shops, each added on first sight. Default: every shop added.
   */
  shopIdsOf?: (accessToken: string) => readonly string[];
}

/**
 * A forced answer for the next requests (`failNext`) or all of them (`failAlways`), given
 * before any check. `code` answers TikTok's JSON envelope (HTTP 200 unless `httpStatus`);
 * `httpStatus` alone answers an HTML page; `redirectTo` a 302; `bodyBytes` a valid envelope
 * padded to that size; `delayMs` answers normally, late.
 */
export type OpenApiFault =
  | { code: number; message?: string; httpStatus?: number; retryAfterSeconds?: number }
  | { httpStatus: 429 | 500 | 502 | 503; retryAfterSeconds?: number }
  | { redirectTo: string }
  | { bodyBytes: number }
  | { delayMs: number }
  | { dropConnection: true };

export interface OpenApiCall {
  method: string;
  /** Without the query string, which holds the signature. */
  path: string;
  /** Arrival time, epoch ms (the host's clock). */
  at: number;
  /** HTTP status answered; 0 while in flight or when the connection was dropped. */
  status: number;
  /** TikTok `code` answered. */
  code?: number;
  /** Names of the query parameters, never their values. */
  queryKeys: string[];
  /** Whether `x-tts-access-token` was sent. */
  tokenHeader: boolean;
  contentType?: string;
}

interface Order {
  id: string;
  status: string;
  create_time: number;
  payment: { currency: string; total_amount: string };
}

export async function startLocalOpenApi(options: LocalOpenApiOptions): Promise<LocalOpenApi> {
  const endpoint = new LocalOpenApi(options);
  await endpoint.listen(options.port);
  return endpoint;
}

export class LocalOpenApi {
  latencyMs: number;

  readonly #appKey: string;
  readonly #appSecret: string;
  readonly #accessTokens: (accessToken: string) => AccessTokenStatus;
  readonly #shopIdsOf: ((accessToken: string) => readonly string[]) | undefined;
  readonly #now: () => number;
  readonly #http = new LocalHttpServer((req, res) => this.#handle(req, res));
  readonly #shops: LocalShop[] = [];
  readonly #orders = new Map<string, Order[]>();
  /** Every cipher and signature that ever existed here: what must never show up in a log. */
  readonly #secrets = new Set<string>();
  #faults: OpenApiFault[] = [];
  #permanentFault: OpenApiFault | undefined;
  #hooks: (() => Promise<void> | void)[] = [];
  #calls: OpenApiCall[] = [];

  constructor(options: LocalOpenApiOptions) {
    this.#appKey = options.appKey;
    this.#appSecret = options.appSecret;
    this.#accessTokens = options.accessTokens;
    this.#shopIdsOf = options.shopIdsOf;
    this.#now = options.now ?? Date.now;
    this.latencyMs = options.latencyMs ?? 0;
    this.#secrets.add(options.appSecret);
  }

  get url(): string {
    return this.#http.url;
  }

  listen(port?: number): Promise<void> {
    return this.#http.listen(port);
  }

  close(): Promise<void> {
    return this.#http.close();
  }

  /** A shop every working access token covers, with three orders awaiting shipment. */
  addShop(shop: Partial<Omit<LocalShop, 'cipher'>> = {}): LocalShop {
    const id = shop.id ?? String(7_494_000_000_000_000_000n + BigInt(randomInt(1e9)));
    const region = shop.region ?? 'GB';
    const added: LocalShop = {
      id,
      name: shop.name ?? `Local Shop ${id.slice(-4)}`,
      region,
      sellerType: shop.sellerType ?? 'LOCAL',
      cipher: this.#newCipher(),
      code: shop.code ?? `${region}LC${randomBytes(3).toString('hex').toUpperCase()}`,
    };
    this.#shops.push(added);
    this.#orders.set(
      id,
      Array.from({ length: 3 }, (_, index) => ({
        id: String(576_460_000_000_000_000n + BigInt(randomInt(1e9))),
        status: 'AWAITING_SHIPMENT',
        create_time: Math.floor(this.#now() / 1000) - 3600 * (index + 1),
        payment: { currency: region === 'US' ? 'USD' : 'GBP', total_amount: `${12 + index}.99` },
      })),
    );
    return { ...added };
  }

  /** The shop's cipher changes (a data-centre migration): the old one answers 101000. */
  changeCipher(shopId: string): string {
    const shop = this.#shops.find((candidate) => candidate.id === shopId);
    if (shop === undefined) throw new Error(`no local shop ${shopId}`);
    shop.cipher = this.#newCipher();
    return shop.cipher;
  }

  /** Runs `hook` when the next request arrives, before it is checked (e.g. a token refresh). */
  beforeNextCall(hook: () => Promise<void> | void): void {
    this.#hooks.push(hook);
  }

  failNext(count: number, fault: OpenApiFault): void {
    for (let i = 0; i < count; i++) this.#faults.push(fault);
  }

  failAlways(fault: OpenApiFault): void {
    this.#permanentFault = fault;
  }

  clearFaults(): void {
    this.#faults = [];
    this.#permanentFault = undefined;
  }

  /** Every request received, oldest first. */
  get calls(): readonly OpenApiCall[] {
    return this.#calls;
  }

  /** The app secret, and every shop cipher and request signature this host ever saw. */
  issuedSecrets(): string[] {
    return [...this.#secrets];
  }

  /** Forgets faults, hooks and recorded calls; shops stay. */
  reset(): void {
    this.clearFaults();
    this.#hooks = [];
    this.#calls = [];
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const contentType = req.headers['content-type'];
    const call: OpenApiCall = {
      method: req.method ?? '',
      path: url.pathname,
      at: this.#now(),
      status: 0,
      queryKeys: [...url.searchParams.keys()],
      tokenHeader: req.headers['x-tts-access-token'] !== undefined,
      ...(contentType === undefined ? {} : { contentType }),
    };
    this.#calls.push(call);
    const body = await readRaw(req);
    const sign = url.searchParams.get('sign');
    if (sign) this.#secrets.add(sign);
    await this.#http.wait(this.latencyMs);
    await this.#hooks.shift()?.();

    const fault = this.#faults.shift() ?? this.#permanentFault;
    if (fault !== undefined && 'delayMs' in fault) {
      await this.#http.wait(fault.delayMs);
    } else if (fault !== undefined) {
      this.#answerFault(res, call, fault);
      return;
    }
    if (body === undefined) {
      this.#refuse(res, call, OPEN_API_CODE.invalidRequest, 'request body too large', 413);
      return;
    }
    const route = ROUTES.find(
      (candidate) => candidate.method === req.method && candidate.path === url.pathname,
    );
    if (route === undefined) {
      call.status = 404;
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found');
      return;
    }
    const refused = this.#check(req, url, body, route.scope);
    if (refused !== undefined) {
      this.#refuse(res, call, refused.code, refused.message, refused.code === 106001 ? 401 : 200);
      return;
    }
    const shop = this.#shops.find(
      (candidate) => candidate.cipher === url.searchParams.get('shop_cipher'),
    );
    const accessToken = req.headers['x-tts-access-token'];
    const answer = route.answer(this, {
      query: url.searchParams,
      body,
      shop,
      accessToken: typeof accessToken === 'string' ? accessToken : '',
    });
    if ('refuse' in answer) {
      this.#refuse(res, call, OPEN_API_CODE.invalidRequest, answer.refuse);
      return;
    }
    this.#json(res, call, 200, { code: 0, message: 'Success', data: answer.data });
  }

  /** TikTok's checks in TikTok's order; the first refusal is answered. */
  #check(
    req: IncomingMessage,
    url: URL,
    body: Buffer,
    scope: 'seller' | 'shop',
  ): { code: number; message: string } | undefined {
    const query = url.searchParams;
    const invalid = (message: string) => ({ code: OPEN_API_CODE.invalidRequest, message });
    if (query.has('access_token') || query.has('app_secret')) {
      return invalid('access_token and app_secret must not be sent in the query string');
    }
    if (query.get('app_key') !== this.#appKey) return invalid('Invalid app_key');
    const timestamp = Number(query.get('timestamp'));
    const nowSeconds = Math.floor(this.#now() / 1000);
    if (!/^\d{10}$/.test(query.get('timestamp') ?? '')) {
      return invalid('Invalid timestamp: Unix seconds are required');
    }
    if (
      timestamp < nowSeconds - TIMESTAMP_WINDOW.pastSeconds ||
      timestamp > nowSeconds + TIMESTAMP_WINDOW.futureSeconds
    ) {
      return invalid('Invalid timestamp: outside the accepted window');
    }
    const expected = expectedSignature(
      this.#appSecret,
      url.pathname,
      query,
      body,
      req.headers['content-type'],
    );
    const given = Buffer.from(query.get('sign') ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { code: OPEN_API_CODE.signatureInvalid, message: MESSAGES[106001] ?? '' };
    }
    const accessToken = req.headers['x-tts-access-token'];
    const status = typeof accessToken === 'string' ? this.#accessTokens(accessToken) : 'unknown';
    if (status === 'unknown') return invalid('Invalid credentials: the access token is invalid');
    if (status === 'expired') {
      return { code: OPEN_API_CODE.accessTokenExpired, message: MESSAGES[105002] ?? '' };
    }
    const cipher = query.get('shop_cipher');
    if (scope === 'seller') {
      return cipher === null ? undefined : invalid('shop_cipher is not allowed for this API');
    }
    if (!cipher) return { code: OPEN_API_CODE.cipherMissing, message: MESSAGES[106013] ?? '' };
    if (!this.#shops.some((shop) => shop.cipher === cipher)) {
      return { code: OPEN_API_CODE.cipherMismatch, message: MESSAGES[101000] ?? '' };
    }
    return undefined;
  }

  #answerFault(res: ServerResponse, call: OpenApiCall, fault: OpenApiFault): void {
    if ('code' in fault) {
      const headers: Record<string, string> =
        fault.retryAfterSeconds === undefined
          ? {}
          : { 'Retry-After': String(fault.retryAfterSeconds) };
      this.#json(
        res,
        call,
        fault.httpStatus ?? 200,
        {
          code: fault.code,
          message: fault.message ?? MESSAGES[fault.code] ?? `error ${fault.code}`,
        },
        headers,
      );
    } else if ('httpStatus' in fault) {
      call.status = fault.httpStatus;
      const headers: Record<string, string> =
        fault.retryAfterSeconds === undefined
          ? {}
          : { 'Retry-After': String(fault.retryAfterSeconds) };
      res
        .writeHead(fault.httpStatus, { 'Content-Type': 'text/html', ...headers })
        .end(`<html><body><h1>${fault.httpStatus}</h1></body></html>`);
    } else if ('redirectTo' in fault) {
      call.status = 302;
      res.writeHead(302, { Location: fault.redirectTo }).end();
    } else if ('bodyBytes' in fault) {
      const envelope = JSON.stringify({ code: 0, message: 'Success', data: { padding: '' } });
      const padded = envelope.replace('"padding":""', `"padding":"${'x'.repeat(fault.bodyBytes)}"`);
      this.#answer(res, call, 200, padded, 0);
    } else {
      res.destroy();
    }
  }

  #refuse(
    res: ServerResponse,
    call: OpenApiCall,
    code: number,
    message: string,
    status = 200,
  ): void {
    this.#json(res, call, status, { code, message });
  }

  #json(
    res: ServerResponse,
    call: OpenApiCall,
    status: number,
    answer: { code: number; message: string; data?: unknown },
    headers: Record<string, string> = {},
  ): void {
    const body = JSON.stringify({ ...answer, request_id: requestId(this.#now()) });
    this.#answer(res, call, status, body, answer.code, headers);
  }

  #answer(
    res: ServerResponse,
    call: OpenApiCall,
    status: number,
    body: string,
    code: number,
    headers: Record<string, string> = {},
  ): void {
    call.status = status;
    call.code = code;
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(body);
  }

  #newCipher(): string {
    const cipher = `ROW_${randomBytes(18).toString('base64url')}`;
    this.#secrets.add(cipher);
    return cipher;
  }

  /** For the routes: the shops as TikTok lists them for an access token, and a shop's orders. */
  shopsAnswer(accessToken: string): unknown {
    const ids = this.#shopIdsOf?.(accessToken);
    for (const id of ids ?? []) {
      if (!this.#shops.some((shop) => shop.id === id)) this.addShop({ id });
    }
    const shops =
      ids === undefined ? this.#shops : this.#shops.filter((shop) => ids.includes(shop.id));
    return {
      shops: shops.map((shop) => ({
        id: shop.id,
        name: shop.name,
        region: shop.region,
        seller_type: shop.sellerType,
        cipher: shop.cipher,
        code: shop.code,
      })),
    };
  }

  ordersOf(shop: LocalShop): readonly Order[] {
    return this.#orders.get(shop.id) ?? [];
  }
}

interface RouteInput {
  readonly query: URLSearchParams;
  readonly body: Buffer;
  /** The shop the cipher names; set on shop-scoped routes. */
  readonly shop: LocalShop | undefined;
  /** The request's `x-tts-access-token`, checked already. */
  readonly accessToken: string;
}

interface Route {
  readonly method: string;
  readonly path: string;
  /** 'seller': a shop_cipher is refused; 'shop': it is required. */
  readonly scope: 'seller' | 'shop';
  readonly answer: (
    host: LocalOpenApi,
    input: RouteInput,
  ) => { data: unknown } | { refuse: string };
}

const ROUTES: readonly Route[] = [
  {
    method: 'GET',
    path: '/authorization/202309/shops',
    scope: 'seller',
    answer: (host, { accessToken }) => ({ data: host.shopsAnswer(accessToken) }),
  },
  {
    method: 'POST',
    path: '/order/202309/orders/search',
    scope: 'shop',
    answer: (host, { query, body, shop }) => {
      const pageSize = Number(query.get('page_size'));
      if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) {
        return { refuse: 'page_size must be an integer from 1 to 100' };
      }
      let filter: { order_status?: unknown };
      try {
        filter = body.length === 0 ? {} : (JSON.parse(body.toString('utf8')) as typeof filter);
      } catch {
        return { refuse: 'the body is not valid JSON' };
      }
      const orders = (shop === undefined ? [] : host.ordersOf(shop)).filter(
        (order) => filter.order_status === undefined || order.status === filter.order_status,
      );
      return {
        data: {
          orders: orders.slice(0, pageSize),
          total_count: orders.length,
          next_page_token: '',
        },
      };
    },
  },
  {
    method: 'GET',
    path: '/order/202309/orders',
    scope: 'shop',
    answer: (host, { query, shop }) => {
      const ids = (query.get('ids') ?? '').split(',').filter((id) => id !== '');
      if (ids.length === 0 || ids.length > 50) return { refuse: 'ids must name 1 to 50 orders' };
      const orders = shop === undefined ? [] : host.ordersOf(shop);
      return { data: { orders: orders.filter((order) => ids.includes(order.id)) } };
    },
  },
  {
    method: 'POST',
    path: '/product/202309/images/upload',
    scope: 'seller',
    answer: (_host, { body }) => ({
      data: { uri: `tos-local/${randomBytes(8).toString('hex')}`, size: body.length },
    }),
  },
];

/**
 * TikTok's published algorithm, written here apart from the client's signer: sorted decoded
 * query parameters but `sign` and `access_token`, the path in front, the body bytes behind unless
 * multipart, the app secret around, HMAC-SHA256 keyed with the app secret, lower-case hex.
 */
function expectedSignature(
  appSecret: string,
  path: string,
  query: URLSearchParams,
  body: Buffer,
  contentType: string | undefined,
): Buffer {
  const pairs = [...query.entries()]
    .filter(([key]) => key !== 'sign' && key !== 'access_token')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const multipart = /^\s*multipart\/form-data\s*(;|$)/i.test(contentType ?? '');
  const text = Buffer.concat([
    Buffer.from(`${appSecret}${path}${pairs.map(([key, value]) => key + value).join('')}`),
    multipart ? Buffer.alloc(0) : body,
    Buffer.from(appSecret),
  ]);
  return Buffer.from(createHmac('sha256', appSecret).update(text).digest('hex'));
}

async function readRaw(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** TikTok's request ids start with the UTC time as yyyyMMddHHmmss, then random hex. */
function requestId(nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/\D/g, '').slice(0, 14);
  return `${stamp}${randomBytes(9).toString('hex').toUpperCase()}`;
}
