// What a TikTok Shop API client's options and environment must be: every problem collected, so
// that one ConfigurationError names them all before any call.
import { checkBaseUrl } from '../shared/base-url.js';
import { API_READER_ENV } from '../shared/contract.js';
import { wholeNumberProblem } from '../shared/env.js';
import type { TikTokShopApiOptions } from './api-request.js';
import { canFindAppCredentials } from './app-credentials.js';

/** The options and environment as resolved: where the token and the app credentials are. */
export interface ResolvedSources {
  readonly tableName: string | undefined;
  readonly tokenSecretId: string | undefined;
  readonly credentialsId: string | undefined;
  readonly baseUrl: string;
}

/** Every problem of `options` and `sources`, none when the client can be made. */
export function optionProblems(
  options: TikTokShopApiOptions,
  { tableName, tokenSecretId, credentialsId, baseUrl }: ResolvedSources,
): string[] {
  const problems = tokenSecretId
    ? []
    : [
        tableName === undefined
          ? `tokenSecretId (or ${API_READER_ENV.shopTokenSecretId}) is required`
          : `shopName (or ${API_READER_ENV.shopName}) is required with the token table ${tableName.slice(0, 255)}`,
      ];
  if (tableName !== undefined && !credentialsId) {
    problems.push(
      `appCredentialsSecretId (or ${API_READER_ENV.appCredentialsSecretId}) is required with a token table`,
    );
  }
  if (
    tableName === undefined &&
    tokenSecretId &&
    !credentialsId &&
    !canFindAppCredentials(tokenSecretId)
  ) {
    problems.push(
      `appCredentialsSecretId (or ${API_READER_ENV.appCredentialsSecretId}) is required: the token secret ${tokenSecretId.slice(0, 200)} is not named <prefix>tokens/<shop>, so its app's credentials cannot be found beside it`,
    );
  }
  const urlProblem = checkBaseUrl(baseUrl) ?? originProblem(baseUrl);
  if (urlProblem !== undefined) problems.push(`the API base URL ${urlProblem}`);
  problems.push(...numberProblems(options));
  return problems;
}

/**
 * The numeric options' bounds. Outside them a client misbehaves quietly (NaN attempts retry until
 * a deadline, a NaN timeout reads as a network error, a negative size refuses every answer), so
 * each is refused when the client is made, naming the option.
 */
const NUMBER_OPTIONS = {
  timeoutMs: [1, 900_000],
  maxAttempts: [1, 20],
  maxResponseBytes: [1, 1024 * 1024 * 1024],
  maxAge: [0, 86_400],
} as const satisfies Record<string, readonly [number, number]>;

function numberProblems(options: TikTokShopApiOptions): string[] {
  const problems: string[] = [];
  for (const [name, [min, max]] of Object.entries(NUMBER_OPTIONS)) {
    const value: unknown = options[name as keyof typeof NUMBER_OPTIONS];
    if (value === undefined) continue;
    // NaN, 1.5 and -1 fail as the environment's values do: their text is no whole number.
    const text = typeof value === 'number' ? String(value) : '';
    const problem = wholeNumberProblem(name, text, min, max);
    if (problem !== undefined) problems.push(problem);
  }
  return problems;
}

function originProblem(baseUrl: string): string | undefined {
  return new URL(baseUrl).pathname === '/' ? undefined : 'must be the host only, without a path';
}
