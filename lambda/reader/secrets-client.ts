// The reader's own Secrets Manager calls beside Powertools' reads: the token secret's tags
// (DescribeSecret), shared by the app lookup and the deauthorization check.
import type { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export type SecretTags = readonly { readonly Key?: string; readonly Value?: string }[];

let defaultClient: SecretsManagerClient | undefined;

/** The client of `provider`, or one of the function's region shared by every reader call. */
export function clientOf(options: { readonly provider?: SecretsProvider }): SecretsManagerClient {
  if (options.provider !== undefined) return options.provider.client;
  defaultClient ??= new SecretsManagerClient({});
  return defaultClient;
}

interface Described {
  /** Epoch ms of the call. */
  readonly at: number;
  readonly tags: Promise<SecretTags>;
}

/** The latest DescribeSecret per client and secret; a failed one is forgotten. */
const described = new WeakMap<SecretsManagerClient, Map<string, Described>>();

export interface DescribeOptions {
  /** A description younger than this (ms) is used again, also one still in flight. */
  readonly maxAgeMs: number;
  /** Epoch ms. */
  readonly now: number;
  /** Bound on the call, retries included. */
  readonly timeoutMs: number;
}

/**
 * The token secret's tags: the latest DescribeSecret when it is young enough (concurrent callers
 * share one call), else a new one. Rejects with the SDK's own error; callers say what they
 * needed the tags for.
 */
export function tagsOfTokenSecret(
  client: SecretsManagerClient,
  tokenSecretId: string,
  options: DescribeOptions,
): Promise<SecretTags> {
  let bySecret = described.get(client);
  if (bySecret === undefined) {
    bySecret = new Map();
    described.set(client, bySecret);
  }
  const latest = bySecret.get(tokenSecretId);
  if (latest !== undefined && options.now - latest.at < options.maxAgeMs) return latest.tags;
  const entry: Described = {
    at: options.now,
    tags: client
      .send(new DescribeSecretCommand({ SecretId: tokenSecretId }), {
        abortSignal: AbortSignal.timeout(options.timeoutMs),
      })
      .then((answer) => answer.Tags ?? []),
  };
  const cache = bySecret;
  entry.tags.catch(() => {
    if (cache.get(tokenSecretId) === entry) cache.delete(tokenSecretId);
  });
  bySecret.set(tokenSecretId, entry);
  return entry.tags;
}

/** Forgets the latest description, e.g. after the shop authorized again. */
export function forgetTagsOfTokenSecret(client: SecretsManagerClient, tokenSecretId: string): void {
  described.get(client)?.delete(tokenSecretId);
}
