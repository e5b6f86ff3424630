import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LocalHttpServer } from './http.js';

/**
 * A local TikTok Shop auth host (`auth.tiktok-shops.com`): the two GET token endpoints with
 * TikTok's wire format (HTTP 200 and `code != 0` for application errors, absolute expiry
 * timestamps), sellers whose refresh tokens rotate, and the failures seen in the wild.
 */

export const REFRESH_PATH = '/api/v2/token/refresh';
export const GET_TOKEN_PATH = '/api/v2/token/get';

/**
 * Codes this host answers. 36004001, 36004004 and 36004005 are TikTok's own; TikTok's codes for
 * bad app credentials and missing parameters are unknown, so 36004002 and 36004003 stand in.
 */
export const TIKTOK_CODE = {
  success: 0,
  refreshTokenExpired: 36004001,
  invalidAppCredentials: 36004002,
  invalidParameters: 36004003,
  invalidAuthCode: 36004004,
  noAuthRecord: 36004005,
} as const;

const DEFAULT_SCOPES = ['seller.authorization.info', 'seller.order.info', 'seller.product.basic'];
const SEVEN_DAYS_SECONDS = 7 * 24 * 3600;
const HUNDRED_YEARS_SECONDS = 100 * 365 * 24 * 3600;

export interface LocalTikTokOptions {
  appKey: string;
  appSecret: string;
  /** Default 0: a free port. */
  port?: number;
  /** Access token lifetime. Default 7 days. */
  accessTokenTtlSeconds?: number;
  /** Default expiry of a seller's refresh token, epoch seconds. Default 100 years ahead. */
  refreshTokenExpiresAt?: number;
  /** Clock in epoch ms. Default Date.now. */
  now?: () => number;
  /**
   * Default true: a refresh token stops working once used and only the returned one works.
   * When false, a refresh returns the same refresh token, which keeps working.
   */
  rotateRefreshTokens?: boolean;
  /** Fixed delay added to every request. Default 0. */
  latencyMs?: number;
}

/**
 * A forced failure, for the next requests (`failNext`) or every request (`failAlways`).
 * `delayMs` answers late and has no effect if the client gave up meanwhile; `loseAnswer`
 * handles the request (a refresh token rotates) and then drops the connection, the worst case
 * of a timeout. `redirect` serves nothing and answers the status with a Location at `to` that
 * repeats the request's path and query, app secret and token included, as a hostile or
 * misconfigured host may.
 */
export type TikTokFault =
  | { httpStatus: 429 | 500 | 502 | 503; retryAfterSeconds?: number }
  | { code: number; message?: string }
  | { delayMs: number }
  | { body: string }
  | { json: unknown }
  | { dropConnection: true }
  | { loseAnswer: true }
  | { redirect: 301 | 302 | 307 | 308; to: string }
  | AnswerFault;

/**
 * A request that is served (a refresh token rotates, a code is used up) whose answer then goes
 * wrong: the worst cases, since only the answer holds the token that works from then on.
 * - `rewrite`: TikTok's successful answer, changed (`drift` has the usual changes).
 * - `padToBytes`: the answer with a `padding` field in `data` that makes it this long.
 * - `streamBytes`: the answer with a `padding` field this long, streamed in 64 KB chunks; stops
 *   when the client goes away.
 */
export type AnswerFault =
  | { rewrite: (answer: TikTokAnswer) => unknown }
  | { padToBytes: number }
  | { streamBytes: number };

/** A successful answer as the host sends it. */
export interface TikTokAnswer {
  code: number;
  message: string;
  data: TikTokTokenData;
  request_id: string;
}

/** Changes TikTok might make one day to a successful answer, for `{ rewrite }`. */
export const drift = {
  /** The expiries as strings of digits. */
  expiriesAsStrings: (answer: TikTokAnswer): unknown => ({
    ...answer,
    data: {
      ...answer.data,
      access_token_expire_in: String(answer.data.access_token_expire_in),
      refresh_token_expire_in: String(answer.data.refresh_token_expire_in),
    },
  }),
  /** Only the two tokens and their expiries, plus fields nobody knows yet. */
  optionalFieldsMissingAndExtraFields: (answer: TikTokAnswer): unknown => ({
    code: answer.code,
    data: {
      access_token: answer.data.access_token,
      access_token_expire_in: answer.data.access_token_expire_in,
      refresh_token: answer.data.refresh_token,
      refresh_token_expire_in: answer.data.refresh_token_expire_in,
      open_id: 42,
      shop_cipher: 'GCP_XXXX',
      token_type: { kind: 'bearer' },
    },
    trace: ['a', 'b'],
  }),
  /** The access token's expiry as an ISO date: a changed type where it matters. */
  accessTokenExpiryAsDate: (answer: TikTokAnswer): unknown => ({
    ...answer,
    data: {
      ...answer.data,
      access_token_expire_in: new Date(answer.data.access_token_expire_in * 1000).toISOString(),
    },
  }),
  /** The tokens moved into an object of their own, in camelCase. */
  tokensNested: (answer: TikTokAnswer): unknown => ({
    code: 0,
    message: 'success',
    data: {
      token: {
        accessToken: answer.data.access_token,
        refreshToken: answer.data.refresh_token,
        expiresAt: answer.data.access_token_expire_in,
      },
    },
    request_id: answer.request_id,
  }),
  /** The refresh token's expiry in the past: the seller's authorization has ended. */
  refreshTokenExpired:
    (expiredAt: number) =>
    (answer: TikTokAnswer): unknown => ({
      ...answer,
      data: { ...answer.data, refresh_token_expire_in: expiredAt },
    }),
  /** Another seller's answer. */
  openId:
    (openId: string) =>
    (answer: TikTokAnswer): unknown => ({ ...answer, data: { ...answer.data, open_id: openId } }),
} as const;

export interface TikTokCall {
  method: string;
  /** Without the query string, which holds app_secret and tokens. */
  path: string;
  /** Arrival time from the injected clock, epoch ms. */
  at: number;
  /** HTTP status answered; 0 while in flight or when the connection was dropped. */
  status: number;
  /** TikTok `code` answered in a JSON body. */
  code?: number;
  /** Bytes of padding a `streamBytes` answer wrote before it ended or the client went away. */
  streamed?: number;
  /** The seller whose refresh token a refresh presented (one that works or a replaced one). */
  openId?: string;
  /** The forced failure (`failNext`, `failAlways`) this request got. */
  fault?: TikTokFault;
}

/**
 * The `data` object of a successful token answer. The token secret holds the whole answer
 * (`{ code: 0, message: 'success', data, request_id }`, see lambda/token.ts) around it.
 */
export interface TikTokTokenData {
  access_token: string;
  /** Absolute, epoch seconds. */
  access_token_expire_in: number;
  refresh_token: string;
  /** Absolute, epoch seconds. */
  refresh_token_expire_in: number;
  open_id: string;
  seller_name: string;
  seller_base_region: string;
  user_type: number;
  granted_scopes: string[];
}

export interface AddSellerOptions {
  /** A refresh token that works from now on. Generated when neither this nor authCode is given. */
  refreshToken?: string;
  /** A one-time code for /token/get. */
  authCode?: string;
  openId?: string;
  sellerName?: string;
  sellerBaseRegion?: string;
  grantedScopes?: string[];
  /** Epoch seconds; after it the seller's refresh tokens answer 36004001. */
  refreshTokenExpiresAt?: number;
  /** The TikTok shop ids the authorization covers. Default: one, fixed by the open_id. */
  shopIds?: string[];
}

export interface LocalSeller {
  openId: string;
  sellerName: string;
  /** What notifications name and the local Open API's authorized-shops list answers. */
  shopIds: string[];
  refreshToken?: string;
  authCode?: string;
}

interface Seller {
  openId: string;
  sellerName: string;
  sellerBaseRegion: string;
  grantedScopes: string[];
  refreshTokenExpiresAt: number;
  shopIds: string[];
  /** Access tokens issued and not revoked, with their expiry in epoch seconds. */
  accessTokens: Map<string, number>;
  /** Refresh tokens that work now, oldest first. */
  validRefreshTokens: Set<string>;
  /** Every refresh token the seller ever had, so that revoke() also finds it by a used one. */
  knownRefreshTokens: Set<string>;
  unusedAuthCodes: Set<string>;
}

interface TikTokResult {
  code: number;
  message: string;
  data?: TikTokTokenData;
}

type Grant = 'refresh' | 'authorize';
const GRANTS = new Map<string, Grant>([
  [REFRESH_PATH, 'refresh'],
  [GET_TOKEN_PATH, 'authorize'],
]);

export async function startLocalTikTok(options: LocalTikTokOptions): Promise<LocalTikTok> {
  const endpoint = new LocalTikTok(options);
  await endpoint.listen(options.port);
  return endpoint;
}

/**
 * One auth host for several apps, as TikTok's is: each request is served by the app's own local
 * host (its sellers, codes, faults and recorded calls), found by the request's `app_key`; a key
 * of none of them is refused as invalid credentials (by the first app's host). Start each app's
 * host with `startLocalTikTok`; close them after this one.
 */
export async function startLocalTikTokApps(
  apps: readonly LocalTikTok[],
): Promise<{ url: string; close(): Promise<void> }> {
  const [first] = apps;
  if (first === undefined) throw new Error('a local TikTok host serves at least one app');
  const http = new LocalHttpServer((req, res) => {
    const appKey = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams.get('app_key');
    return (apps.find((app) => app.appKey === appKey) ?? first).handle(req, res);
  });
  await http.listen();
  return { url: http.url, close: () => http.close() };
}

export class LocalTikTok {
  /** Fixed delay added to every request, in ms. */
  latencyMs: number;
  rotateRefreshTokens: boolean;

  readonly #appKey: string;
  readonly #appSecret: string;
  readonly #accessTokenTtlSeconds: number;
  readonly #refreshTokenExpiresAt: number | undefined;
  readonly #now: () => number;
  readonly #http = new LocalHttpServer((req, res) => this.#handle(req, res));
  readonly #sellers: Seller[] = [];
  /** Every token and auth code that ever existed here: what must never show up in a log. */
  readonly #issued = new Set<string>();
  #faults: TikTokFault[] = [];
  #permanentFault: TikTokFault | undefined;
  #calls: TikTokCall[] = [];
  #lastRefreshToken: string | undefined;

  constructor(options: LocalTikTokOptions) {
    this.#appKey = options.appKey;
    this.#appSecret = options.appSecret;
    this.#accessTokenTtlSeconds = options.accessTokenTtlSeconds ?? SEVEN_DAYS_SECONDS;
    this.#refreshTokenExpiresAt = options.refreshTokenExpiresAt;
    this.#now = options.now ?? Date.now;
    this.rotateRefreshTokens = options.rotateRefreshTokens ?? true;
    this.latencyMs = options.latencyMs ?? 0;
  }

  get url(): string {
    return this.#http.url;
  }

  /** The app this host serves (not a secret: TikTok's app keys travel in the clear). */
  get appKey(): string {
    return this.#appKey;
  }

  /** Serves one request, as this host's own server does (for `startLocalTikTokApps`). */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    return this.#handle(req, res);
  }

  listen(port?: number): Promise<void> {
    return this.#http.listen(port);
  }

  close(): Promise<void> {
    return this.#http.close();
  }

  /** Registers an authorization: its refresh token (or auth code) works from now on. */
  addSeller(options: AddSellerOptions = {}): LocalSeller {
    const id = randomBytes(6).toString('hex');
    const openId = options.openId ?? `open_${id}`;
    const seller: Seller = {
      openId,
      sellerName: options.sellerName ?? `Local Shop ${id}`,
      sellerBaseRegion: options.sellerBaseRegion ?? 'GB',
      grantedScopes: options.grantedScopes ?? DEFAULT_SCOPES,
      refreshTokenExpiresAt:
        options.refreshTokenExpiresAt ??
        this.#refreshTokenExpiresAt ??
        this.#nowSeconds() + HUNDRED_YEARS_SECONDS,
      shopIds: options.shopIds ?? [shopIdOf(openId)],
      accessTokens: new Map(),
      validRefreshTokens: new Set(),
      knownRefreshTokens: new Set(),
      unusedAuthCodes: new Set(),
    };
    // Given tokens and codes are remembered first, so that a duplicate registers nothing.
    if (options.refreshToken !== undefined) this.#remember(options.refreshToken);
    if (options.authCode !== undefined) this.#remember(options.authCode);
    const refreshToken =
      options.refreshToken ??
      (options.authCode === undefined ? this.#newToken('TTS_RT_') : undefined);
    if (refreshToken !== undefined) this.#addRefreshToken(seller, refreshToken);
    if (options.authCode !== undefined) seller.unusedAuthCodes.add(options.authCode);
    this.#sellers.push(seller);
    return {
      openId: seller.openId,
      sellerName: seller.sellerName,
      shopIds: [...seller.shopIds],
      refreshToken,
      authCode: options.authCode,
    };
  }

  /**
   * The seller approves the app again (a double click, a second link): a new one-time code for
   * the same seller, whose exchange revokes the refresh tokens the seller held before.
   */
  addAuthCode(refreshTokenOrOpenId: string, authCode: string): void {
    const seller = this.#seller(refreshTokenOrOpenId);
    this.#remember(authCode);
    seller.unusedAuthCodes.add(authCode);
  }

  /**
   * What the Open API makes of an access token this host issued: valid until its expiry unless
   * the seller revoked the app since; 'unknown' for any other (for LocalOpenApi's accessTokens).
   */
  accessTokenStatus(accessToken: string): 'valid' | 'expired' | 'unknown' {
    for (const seller of this.#sellers) {
      const expiresAt = seller.accessTokens.get(accessToken);
      if (expiresAt !== undefined) return this.#nowSeconds() < expiresAt ? 'valid' : 'expired';
    }
    return 'unknown';
  }

  /** The shop ids a valid access token covers, none for any other (for LocalOpenApi's shopIdsOf). */
  shopIdsOfAccessToken(accessToken: string): string[] {
    if (this.accessTokenStatus(accessToken) !== 'valid') return [];
    const seller = this.#sellers.find((candidate) => candidate.accessTokens.has(accessToken));
    return [...(seller?.shopIds ?? [])];
  }

  /** Ends a seller's authorization (by open_id or any refresh token it had): refreshes answer 36004005. */
  revoke(refreshTokenOrOpenId: string): void {
    const seller = this.#seller(refreshTokenOrOpenId);
    seller.validRefreshTokens.clear();
    seller.unusedAuthCodes.clear();
    seller.accessTokens.clear();
  }

  isRefreshTokenValid(refreshToken: string): boolean {
    const seller = this.#sellers.find((candidate) =>
      candidate.validRefreshTokens.has(refreshToken),
    );
    return seller !== undefined && this.#nowSeconds() < seller.refreshTokenExpiresAt;
  }

  /** The newest refresh token that works for the seller, if any. */
  refreshTokenOf(openId: string): string | undefined {
    return [...this.#seller(openId).validRefreshTokens].at(-1);
  }

  /**
   * The token data for a seller (by open_id or a working refresh token) with a newly issued
   * access token, as a refresh would answer it; wrap it in the envelope to seed a token secret.
   */
  tokenDocument(
    refreshTokenOrOpenId: string,
    options: { accessTokenExpiresAt?: number } = {},
  ): TikTokTokenData {
    const seller = this.#seller(refreshTokenOrOpenId);
    const refreshToken = seller.validRefreshTokens.has(refreshTokenOrOpenId)
      ? refreshTokenOrOpenId
      : [...seller.validRefreshTokens].at(-1);
    if (refreshToken === undefined)
      throw new Error(`seller ${seller.openId} has no working refresh token`);
    return this.#grant(seller, refreshToken, options.accessTokenExpiresAt);
  }

  /** The app secret and every access token, refresh token and auth code ever issued or registered. */
  issuedSecrets(): string[] {
    return [this.#appSecret, ...this.#issued];
  }

  /** The next `count` token requests fail with `fault` (after any already queued). */
  failNext(count: number, fault: TikTokFault): void {
    for (let i = 0; i < count; i++) this.#faults.push(fault);
  }

  /** Every token request fails with `fault` until clearFaults(); queued faults still come first. */
  failAlways(fault: TikTokFault): void {
    this.#permanentFault = fault;
  }

  clearFaults(): void {
    this.#faults = [];
    this.#permanentFault = undefined;
  }

  /** Every request received, oldest first, 404s included. */
  get calls(): readonly TikTokCall[] {
    return this.#calls;
  }

  /** The refresh token of the latest /token/refresh request, valid or not. */
  get lastRefreshToken(): string | undefined {
    return this.#lastRefreshToken;
  }

  /**
   * Sends a webhook notification about a seller's authorization to `url`, signed as TikTok Shop
   * signs them with this host's app (or `signWith`, to play another app or a forger).
   */
  notify(
    url: string,
    notification: LocalNotification,
    options: { signWith?: { appKey: string; appSecret: string } } = {},
  ): Promise<NotificationDelivery> {
    const app = options.signWith ?? { appKey: this.#appKey, appSecret: this.#appSecret };
    return sendNotification(url, notificationBody(notification, this.#nowSeconds()), app);
  }

  /** Forgets faults and recorded calls; sellers and tokens stay. */
  reset(): void {
    this.clearFaults();
    this.#calls = [];
    this.#lastRefreshToken = undefined;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const call: TikTokCall = {
      method: req.method ?? '',
      path: url.pathname,
      at: this.#now(),
      status: 0,
    };
    this.#calls.push(call);
    const grant = req.method === 'GET' ? GRANTS.get(url.pathname) : undefined;
    // Anything but the two GETs gets a bare 404, a POST with a form or JSON body included.
    if (!grant) {
      this.#answer(res, call, 404, 'text/plain', '404 page not found');
      return;
    }
    const params = url.searchParams;
    if (grant === 'refresh') {
      const presented = params.get('refresh_token') ?? '';
      this.#lastRefreshToken = presented;
      const seller = this.#sellers.find((known) => known.knownRefreshTokens.has(presented));
      if (seller !== undefined) call.openId = seller.openId;
    }
    await this.#http.wait(this.latencyMs);

    const fault = this.#faults.shift() ?? this.#permanentFault;
    if (fault !== undefined) call.fault = fault;
    if (fault && 'redirect' in fault) {
      const location = `${fault.to.replace(/\/+$/, '')}${url.pathname}${url.search}`;
      this.#answer(res, call, fault.redirect, 'text/html', '<html>Moved</html>', {
        Location: location,
      });
      return;
    }
    if (fault && 'delayMs' in fault) {
      await this.#http.wait(fault.delayMs);
      // A client that timed out meanwhile never reached the backend: nothing happens.
      if (req.socket.destroyed) return;
    } else if (fault && !('loseAnswer' in fault) && !isAnswerFault(fault)) {
      this.#answerFault(res, call, fault);
      return;
    }
    const result = grant === 'refresh' ? this.#refresh(params) : this.#authorize(params);
    if (fault && 'loseAnswer' in fault) {
      res.destroy();
      return;
    }
    if (fault && isAnswerFault(fault) && result.data !== undefined) {
      await this.#answerChanged(res, call, { ...result, data: result.data }, fault);
      return;
    }
    this.#answerJson(res, call, result);
  }

  async #answerChanged(
    res: ServerResponse,
    call: TikTokCall,
    result: TikTokResult & { data: TikTokTokenData },
    fault: AnswerFault,
  ): Promise<void> {
    call.code = result.code;
    const answer: TikTokAnswer = { ...result, request_id: requestId(this.#now()) };
    if ('rewrite' in fault) {
      this.#answer(res, call, 200, 'application/json', JSON.stringify(fault.rewrite(answer)));
    } else if ('padToBytes' in fault) {
      const bare = JSON.stringify({ ...answer, data: { ...answer.data, padding: '' } });
      const padding = 'x'.repeat(Math.max(0, fault.padToBytes - Buffer.byteLength(bare)));
      const body = JSON.stringify({ ...answer, data: { ...answer.data, padding } });
      this.#answer(res, call, 200, 'application/json', body);
    } else if ('streamBytes' in fault) {
      await this.#stream(res, call, answer, fault.streamBytes);
    }
  }

  /** `{…answer, "data":{…, "padding":"xxxx…"}}` with `bytes` of padding, written as the client reads. */
  async #stream(
    res: ServerResponse,
    call: TikTokCall,
    answer: TikTokAnswer,
    bytes: number,
  ): Promise<void> {
    const whole = JSON.stringify({ ...answer, data: { ...answer.data, padding: '' } });
    const split = whole.lastIndexOf('""') + 1;
    call.status = 200;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write(whole.slice(0, split));
    const chunk = 'x'.repeat(64 * 1024);
    let sent = 0;
    while (sent < bytes && !res.destroyed) {
      const part = chunk.slice(0, bytes - sent);
      sent += part.length;
      if (!res.write(part)) {
        await new Promise<void>((resolve) => {
          res.once('drain', resolve);
          res.once('close', resolve);
        });
      }
    }
    call.streamed = sent;
    if (!res.destroyed) res.end(whole.slice(split));
  }

  #answerFault(res: ServerResponse, call: TikTokCall, fault: TikTokFault): void {
    if ('httpStatus' in fault) {
      const retryAfter: Record<string, string> =
        fault.httpStatus === 429 ? { 'Retry-After': String(fault.retryAfterSeconds ?? 1) } : {};
      const page = `<html><body><h1>${fault.httpStatus}</h1></body></html>`;
      this.#answer(res, call, fault.httpStatus, 'text/html', page, retryAfter);
    } else if ('code' in fault) {
      this.#answerJson(res, call, {
        code: fault.code,
        message: fault.message ?? `error ${fault.code}`,
      });
    } else if ('body' in fault) {
      this.#answer(res, call, 200, 'text/html', fault.body);
    } else if ('json' in fault) {
      this.#answer(res, call, 200, 'application/json', JSON.stringify(fault.json));
    } else {
      res.destroy();
    }
  }

  #refresh(params: URLSearchParams): TikTokResult {
    const refused = this.#refuseRequest(params, 'refresh_token', 'refresh_token');
    if (refused) return refused;
    const presented = params.get('refresh_token') ?? '';
    const seller = this.#sellers.find((candidate) => candidate.validRefreshTokens.has(presented));
    if (!seller)
      return { code: TIKTOK_CODE.noAuthRecord, message: 'can not find related auth record' };
    if (this.#nowSeconds() >= seller.refreshTokenExpiresAt) {
      return { code: TIKTOK_CODE.refreshTokenExpired, message: 'rt has expired' };
    }
    let refreshToken = presented;
    if (this.rotateRefreshTokens) {
      seller.validRefreshTokens.clear();
      refreshToken = this.#addRefreshToken(seller, this.#newToken('TTS_RT_'));
    }
    return {
      code: TIKTOK_CODE.success,
      message: 'success',
      data: this.#grant(seller, refreshToken),
    };
  }

  #authorize(params: URLSearchParams): TikTokResult {
    const refused = this.#refuseRequest(params, 'authorized_code', 'auth_code');
    if (refused) return refused;
    const code = params.get('auth_code') ?? '';
    // Set.delete answers whether the code was there: each code works once.
    const seller = this.#sellers.find((candidate) => candidate.unusedAuthCodes.delete(code));
    if (!seller) return { code: TIKTOK_CODE.invalidAuthCode, message: 'invalid auth code' };
    // A new authorization: with rotation, the refresh tokens handed out before stop working.
    if (this.rotateRefreshTokens) seller.validRefreshTokens.clear();
    const refreshToken = this.#addRefreshToken(seller, this.#newToken('TTS_RT_'));
    return {
      code: TIKTOK_CODE.success,
      message: 'success',
      data: this.#grant(seller, refreshToken),
    };
  }

  #refuseRequest(
    params: URLSearchParams,
    grantType: string,
    credential: string,
  ): TikTokResult | undefined {
    for (const name of ['app_key', 'app_secret', 'grant_type', credential]) {
      if (!params.get(name))
        return { code: TIKTOK_CODE.invalidParameters, message: `${name} is required` };
    }
    if (params.get('grant_type') !== grantType) {
      return { code: TIKTOK_CODE.invalidParameters, message: `grant_type must be ${grantType}` };
    }
    if (params.get('app_key') !== this.#appKey || params.get('app_secret') !== this.#appSecret) {
      return { code: TIKTOK_CODE.invalidAppCredentials, message: 'invalid app_key or app_secret' };
    }
    return undefined;
  }

  #grant(seller: Seller, refreshToken: string, accessTokenExpiresAt?: number): TikTokTokenData {
    const accessToken = this.#newToken('TTS_AT_');
    const expiresAt = accessTokenExpiresAt ?? this.#nowSeconds() + this.#accessTokenTtlSeconds;
    seller.accessTokens.set(accessToken, expiresAt);
    return {
      access_token: accessToken,
      access_token_expire_in: expiresAt,
      refresh_token: refreshToken,
      refresh_token_expire_in: seller.refreshTokenExpiresAt,
      open_id: seller.openId,
      seller_name: seller.sellerName,
      seller_base_region: seller.sellerBaseRegion,
      user_type: 0,
      granted_scopes: [...seller.grantedScopes],
    };
  }

  #seller(refreshTokenOrOpenId: string): Seller {
    const seller = this.#sellers.find(
      (candidate) =>
        candidate.openId === refreshTokenOrOpenId ||
        candidate.knownRefreshTokens.has(refreshTokenOrOpenId),
    );
    if (!seller) throw new Error('no local TikTok seller has that open_id or refresh token');
    return seller;
  }

  #addRefreshToken(seller: Seller, refreshToken: string): string {
    seller.validRefreshTokens.add(refreshToken);
    seller.knownRefreshTokens.add(refreshToken);
    return refreshToken;
  }

  /** Recognisable in a log search, unique, and long enough to look real. */
  #newToken(prefix: string): string {
    const token = `${prefix}${randomBytes(16).toString('hex')}`;
    this.#remember(token);
    return token;
  }

  #remember(secret: string): void {
    if (this.#issued.has(secret))
      throw new Error('a local TikTok token or auth code must be unique');
    this.#issued.add(secret);
  }

  #nowSeconds(): number {
    return Math.floor(this.#now() / 1000);
  }

  #answerJson(res: ServerResponse, call: TikTokCall, result: TikTokResult): void {
    call.code = result.code;
    const body = JSON.stringify({ ...result, request_id: requestId(this.#now()) });
    this.#answer(res, call, 200, 'application/json', body);
  }

  #answer(
    res: ServerResponse,
    call: TikTokCall,
    status: number,
    contentType: string,
    body: string,
    headers: Record<string, string> = {},
  ): void {
    call.status = status;
    res.writeHead(status, { 'Content-Type': contentType, ...headers }).end(body);
  }
}

function isAnswerFault(fault: TikTokFault): fault is AnswerFault {
  return 'rewrite' in fault || 'padToBytes' in fault || 'streamBytes' in fault;
}

/** TikTok's request ids start with the UTC time as yyyyMMddHHmmss, then random hex. */
/** A seller's TikTok shop id, the same for the same open_id: 19 digits, as TikTok's are. */
export function shopIdOf(openId: string): string {
  const digits = BigInt(`0x${createHash('sha256').update(openId).digest('hex').slice(0, 15)}`);
  return String(7_494_000_000_000_000_000n + (digits % 1_000_000_000_000_000n));
}

function requestId(nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/\D/g, '').slice(0, 14);
  return `${stamp}${randomBytes(9).toString('hex').toUpperCase()}`;
}

/** A webhook notification TikTok Shop sends about a seller's authorization (types 6 and 7). */
export type LocalNotification = {
  /** TikTok's numeric shop id (a string). */
  shopId: string;
  /** Default: a fresh id. */
  notificationId?: string;
  /** Unix seconds. Default: now by the host's clock. */
  timestamp?: number;
} & (
  | { type: 6 }
  | { type: 7 /** When the authorization ends, Unix seconds. */; expirationTime: number }
  | { type: number; data?: Record<string, unknown> }
);

export interface NotificationDelivery {
  readonly status: number;
  readonly body: string;
}

/** The JSON body TikTok Shop posts for `notification`, as its docs show it. */
export function notificationBody(notification: LocalNotification, nowSeconds: number): string {
  const data =
    notification.type === 6
      ? { message: `Shop_id ${notification.shopId} is deauthorized from your APP by merchant.` }
      : 'expirationTime' in notification
        ? {
            message: 'The authorization of your app is about to expire.',
            expiration_time: String(notification.expirationTime),
          }
        : 'data' in notification
          ? (notification.data ?? {})
          : {};
  return JSON.stringify({
    type: notification.type,
    tts_notification_id: notification.notificationId ?? randomBytes(8).readBigUInt64BE().toString(),
    shop_id: notification.shopId,
    timestamp: notification.timestamp ?? nowSeconds,
    data,
  });
}

/**
 * POSTs `body` to `url` with TikTok Shop's signature: header Authorization = lowercase hex
 * HMAC-SHA256 keyed by the app secret over app key + body. Written here on its own, not taken
 * from the receiver, so that a test of one against the other can fail.
 */
export async function sendNotification(
  url: string,
  body: string,
  app: { appKey: string; appSecret: string },
): Promise<NotificationDelivery> {
  const signature = createHmac('sha256', app.appSecret)
    .update(`${app.appKey}${body}`)
    .digest('hex');
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: signature, 'content-type': 'application/json' },
    body,
  });
  return { status: response.status, body: await response.text() };
}
