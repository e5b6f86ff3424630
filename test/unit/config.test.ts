import { describe, expect, it, vi } from 'vitest';
import { loadConfig, movedOnChecks } from '../../lambda/refresher/config.js';
import { MOVED_ON_CHECKS_MS } from '../../lambda/refresher/refresh.js';
import { DEFAULT_TIKTOK_API_BASE_URL, DEFAULTS, ENV } from '../../lambda/shared/contract.js';
import { ConfigurationError } from '../../lambda/shared/errors.js';

/** The smallest environment that is valid: everything else has a default. */
const MINIMAL = {
  [ENV.appCredentialsSecretId]: 'tiktok-shop/app-credentials',
  [ENV.tokenSecretIds]: 'tiktok-shop/tokens/shop-a',
};

function configError(env: Record<string, string | undefined>): ConfigurationError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error('loadConfig accepted the environment');
}

describe('Function: loadConfig', () => {
  it('reads the token table and needs no token secret with TOKEN_STORE=dynamodb', () => {
    const config = loadConfig({
      [ENV.appCredentialsSecretId]: 'creds',
      [ENV.tokenStore]: 'dynamodb',
      [ENV.tokenTableName]: 'shop-tokens',
    });

    expect(config.tokenStore).toEqual({ kind: 'dynamodb', tableName: 'shop-tokens' });
    expect(config.tokenSecretIds).toEqual([]);
  });

  it('names a missing table and an unknown store with every other problem', () => {
    expect(configError({ ...MINIMAL, [ENV.tokenStore]: 'dynamodb' }).message).toContain(
      'TOKEN_TABLE_NAME is required when TOKEN_STORE is dynamodb',
    );
    expect(configError({ ...MINIMAL, [ENV.tokenStore]: 'postgres' }).message).toContain(
      'TOKEN_STORE must be secrets-manager or dynamodb',
    );
  });

  it('reads every variable when all are set', () => {
    // Prepare
    const env = {
      [ENV.appCredentialsSecretId]: 'app-creds',
      [ENV.tokenSecretIds]: 'shop-a,shop-b',
      [ENV.tokenSecretTagKey]: 'tiktok-shop-token',
      [ENV.tiktokAuthBaseUrl]: 'https://auth-sandbox.tiktok-shops.com',
      [ENV.tiktokApiBaseUrl]: 'https://open-api-sandbox.tiktokglobalshop.com',
      [ENV.refreshBeforeExpirySeconds]: '3600',
      [ENV.eventBusName]: 'shop-events',
      [ENV.tiktokTimeoutMs]: '2500',
      [ENV.maxConcurrency]: '4',
      [ENV.secretWritesPerSecond]: '20',
      [ENV.refusalRecheckMs]: '1500',
    };

    // Act
    const config = loadConfig(env);

    // Assess
    expect(config).toEqual({
      apps: { credentialsSecretIds: new Map([['default', 'app-creds']]), shopApps: new Map() },
      tokenStore: { kind: 'secrets-manager' },
      tokenSecretIds: ['shop-a', 'shop-b'],
      tokenSecretTagKey: 'tiktok-shop-token',
      tiktokAuthBaseUrl: 'https://auth-sandbox.tiktok-shops.com',
      tiktokApiBaseUrl: 'https://open-api-sandbox.tiktokglobalshop.com',
      refreshBeforeExpirySeconds: 3600,
      eventBusName: 'shop-events',
      tiktokTimeoutMs: 2500,
      maxConcurrency: 4,
      secretWritesPerSecond: 20,
      refusalRecheckMs: 1500,
    });
  });

  it('applies the defaults when only the required variables are set', () => {
    const config = loadConfig(MINIMAL);

    expect(config).toEqual({
      apps: {
        credentialsSecretIds: new Map([['default', 'tiktok-shop/app-credentials']]),
        shopApps: new Map(),
      },
      tokenStore: { kind: 'secrets-manager' },
      tokenSecretIds: ['tiktok-shop/tokens/shop-a'],
      tiktokAuthBaseUrl: DEFAULTS.tiktokAuthBaseUrl,
      tiktokApiBaseUrl: DEFAULT_TIKTOK_API_BASE_URL,
      refreshBeforeExpirySeconds: DEFAULTS.refreshBeforeExpirySeconds,
      eventBusName: DEFAULTS.eventBusName,
      tiktokTimeoutMs: DEFAULTS.tiktokTimeoutMs,
      maxConcurrency: DEFAULTS.maxConcurrency,
      secretWritesPerSecond: DEFAULTS.secretWritesPerSecond,
      refusalRecheckMs: DEFAULTS.refusalRecheckMs,
    });
    expect(config).not.toHaveProperty('tokenSecretTagKey');
  });

  it('reads the process environment as the handler passes it', () => {
    // Prepare
    vi.stubEnv(ENV.appCredentialsSecretId, 'from-process-env');
    vi.stubEnv(ENV.tokenSecretIds, '');
    vi.stubEnv(ENV.tokenSecretTagKey, 'shop-token');
    vi.stubEnv(ENV.maxConcurrency, '7');

    // Act
    const config = loadConfig(process.env);

    // Assess
    expect(config.apps.credentialsSecretIds.get('default')).toBe('from-process-env');
    expect(config.tokenSecretIds).toEqual([]);
    expect(config.tokenSecretTagKey).toBe('shop-token');
    expect(config.maxConcurrency).toBe(7);
  });

  it('trims, drops empty entries from and de-duplicates the token secret ids', () => {
    const config = loadConfig({
      ...MINIMAL,
      [ENV.tokenSecretIds]: ' shop-a , ,shop-b,shop-a,, ',
    });

    expect(config.tokenSecretIds).toEqual(['shop-a', 'shop-b']);
  });

  it('accepts discovery by tag without any named secret', () => {
    const config = loadConfig({
      [ENV.appCredentialsSecretId]: 'app-creds',
      [ENV.tokenSecretTagKey]: ' tiktok-shop-token ',
    });

    expect(config.tokenSecretIds).toEqual([]);
    expect(config.tokenSecretTagKey).toBe('tiktok-shop-token');
  });

  it('treats blank variables as unset and falls back to the defaults', () => {
    const config = loadConfig({
      ...MINIMAL,
      [ENV.tiktokAuthBaseUrl]: '   ',
      [ENV.eventBusName]: '',
      [ENV.maxConcurrency]: ' ',
      [ENV.tokenSecretTagKey]: '  ',
    });

    expect(config.tiktokAuthBaseUrl).toBe(DEFAULTS.tiktokAuthBaseUrl);
    expect(config.eventBusName).toBe(DEFAULTS.eventBusName);
    expect(config.maxConcurrency).toBe(DEFAULTS.maxConcurrency);
    expect(config).not.toHaveProperty('tokenSecretTagKey');
  });

  it('names every missing or invalid variable in one error', () => {
    // Act
    const error = configError({
      [ENV.tokenSecretIds]: ' , ',
      [ENV.tiktokAuthBaseUrl]: 'http://auth.tiktok-shops.com',
      [ENV.refreshBeforeExpirySeconds]: 'two days',
      [ENV.tiktokTimeoutMs]: '50',
      [ENV.maxConcurrency]: '0',
      [ENV.secretWritesPerSecond]: '1001',
      [ENV.refusalRecheckMs]: '7.5 s',
    });

    // Assess
    expect(error.message).toMatch(/^invalid configuration: /);
    expect(error.message).toContain(`${ENV.appCredentialsSecretId} is required`);
    expect(error.message).toContain(`set ${ENV.tokenSecretIds} or ${ENV.tokenSecretTagKey}`);
    expect(error.message).toContain(`${ENV.tiktokAuthBaseUrl} must use https`);
    expect(error.message).toContain(
      `${ENV.refreshBeforeExpirySeconds} must be a whole number from 0 to 604800`,
    );
    expect(error.message).toContain(
      `${ENV.tiktokTimeoutMs} must be a whole number from 100 to 60000`,
    );
    expect(error.message).toContain(`${ENV.maxConcurrency} must be a whole number from 1 to 100`);
    expect(error.message).toContain(
      `${ENV.secretWritesPerSecond} must be a whole number from 1 to 1000`,
    );
    expect(error.message).toContain(
      `${ENV.refusalRecheckMs} must be a whole number from 0 to 60000`,
    );
    expect(error.message.split('; ')).toHaveLength(8);
  });

  it('reports a configuration error as not retryable', () => {
    const error = configError({});

    expect(error.errorType).toBe('ConfigurationError');
    expect(error.retryable).toBe(false);
    expect(error.name).toBe('ConfigurationError');
  });

  it('requires the app credentials secret', () => {
    const error = configError({ [ENV.tokenSecretIds]: 'shop-a' });

    expect(error.message).toBe(
      `invalid configuration: ${ENV.appCredentialsSecretId} is required (or APP_CREDENTIALS_SECRET_IDS)`,
    );
  });

  it('requires named token secrets or a tag key', () => {
    const error = configError({ [ENV.appCredentialsSecretId]: 'app-creds' });

    expect(error.message).toBe(
      `invalid configuration: set ${ENV.tokenSecretIds} or ${ENV.tokenSecretTagKey} (or both)`,
    );
  });

  describe('whole-number settings', () => {
    it.each([
      ['refreshBeforeExpirySeconds', '0', 0],
      ['refreshBeforeExpirySeconds', '604800', 604_800],
      ['tiktokTimeoutMs', '100', 100],
      ['tiktokTimeoutMs', '60000', 60_000],
      ['maxConcurrency', '1', 1],
      ['maxConcurrency', ' 100 ', 100],
      ['maxConcurrency', '007', 7],
      ['secretWritesPerSecond', '1', 1],
      ['secretWritesPerSecond', '1000', 1000],
      ['refusalRecheckMs', '0', 0],
      ['refusalRecheckMs', '60000', 60_000],
    ] as const)('accepts %s=%j at the edge of its range', (key, value, expected) => {
      const config = loadConfig({ ...MINIMAL, [ENV[key]]: value });

      expect(config[key]).toBe(expected);
    });

    it.each([
      [ENV.refreshBeforeExpirySeconds, '604801'],
      [ENV.refreshBeforeExpirySeconds, '-1'],
      [ENV.tiktokTimeoutMs, '99'],
      [ENV.tiktokTimeoutMs, '60001'],
      [ENV.maxConcurrency, '101'],
      [ENV.maxConcurrency, '2.5'],
      [ENV.secretWritesPerSecond, '0'],
      [ENV.secretWritesPerSecond, '1e3'],
      [ENV.secretWritesPerSecond, '0x10'],
      [ENV.secretWritesPerSecond, 'fast'],
      [ENV.refusalRecheckMs, '60001'],
      [ENV.refusalRecheckMs, '-500'],
    ])('rejects %s=%j', (name, value) => {
      const error = configError({ ...MINIMAL, [name]: value });

      expect(error.message).toMatch(
        new RegExp(`^invalid configuration: ${name} must be a whole number from \\d+ to \\d+$`),
      );
    });
  });

  describe('the look for another writer after a refusal (REFUSAL_RECHECK_MS)', () => {
    it('looks at once, then after pauses that double, 7.5 s in all by default', () => {
      const pauses = movedOnChecks(DEFAULTS.refusalRecheckMs);

      expect(pauses).toEqual(MOVED_ON_CHECKS_MS);
      expect(pauses).toEqual([0, 500, 1_000, 2_000, 4_000]);
    });

    it.each([
      [15, [0, 1, 2, 4, 8]],
      [750, [0, 50, 100, 200, 400]],
      [60_000, [0, 4_000, 8_000, 16_000, 32_000]],
    ])('spreads %i ms over looks of the same shape', (totalMs, expected) => {
      expect(movedOnChecks(totalMs)).toEqual(expected);
    });

    it.each([
      [0, [0]],
      [4, [0, 1, 1, 2]],
    ])('drops pauses that round to nothing: %i ms looks %j', (totalMs, expected) => {
      expect(movedOnChecks(totalMs)).toEqual(expected);
    });
  });

  describe('TikTok auth URL', () => {
    it('removes trailing slashes', () => {
      const config = loadConfig({
        ...MINIMAL,
        [ENV.tiktokAuthBaseUrl]: 'https://auth-sandbox.tiktok-shops.com///',
      });

      expect(config.tiktokAuthBaseUrl).toBe('https://auth-sandbox.tiktok-shops.com');
    });

    it.each([
      'http://localhost:8080',
      'http://127.0.0.1:4010',
      'http://127.10.20.30',
      'http://[::1]:4010',
    ])('accepts http only for a loopback TikTok host: %s', (url) => {
      const config = loadConfig({ ...MINIMAL, [ENV.tiktokAuthBaseUrl]: url });

      expect(config.tiktokAuthBaseUrl).toBe(url);
    });

    it.each([
      'http://auth.tiktok-shops.com',
      'http://10.0.0.5:8080',
      'http://127.0.0.1.example.com',
      'http://localhost.example.com',
      'ftp://auth.tiktok-shops.com',
    ])('rejects %s because it is neither https nor loopback', (url) => {
      const error = configError({ ...MINIMAL, [ENV.tiktokAuthBaseUrl]: url });

      expect(error.message).toBe(
        `invalid configuration: ${ENV.tiktokAuthBaseUrl} must use https (http is accepted only for a loopback host)`,
      );
    });

    it.each(['auth.tiktok-shops.com', '/api/v2', 'https://'])(
      'rejects %j because it is not an absolute URL',
      (url) => {
        const error = configError({ ...MINIMAL, [ENV.tiktokAuthBaseUrl]: url });

        expect(error.message).toBe(
          `invalid configuration: ${ENV.tiktokAuthBaseUrl} must be an absolute URL such as https://auth.tiktok-shops.com`,
        );
      },
    );

    it.each([
      'https://user:pass@auth.tiktok-shops.com',
      'https://user@auth.tiktok-shops.com',
      'https://auth.tiktok-shops.com/?app_secret=s3cr3t',
      'https://auth.tiktok-shops.com/?',
      'https://auth.tiktok-shops.com/#s3cr3t',
    ])('rejects credentials, a query string or a fragment in %s without repeating them', (url) => {
      const error = configError({ ...MINIMAL, [ENV.tiktokAuthBaseUrl]: url });

      expect(error.message).toBe(
        `invalid configuration: ${ENV.tiktokAuthBaseUrl} must not contain credentials, a query string or a fragment`,
      );
      expect(error.message).not.toContain('pass');
      expect(error.message).not.toContain('s3cr3t');
    });
  });
});
