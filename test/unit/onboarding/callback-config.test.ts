import { describe, expect, it } from 'vitest';
import { loadCallbackConfig } from '../../../lambda/onboarding/callback-config.js';
import {
  APPS_ENV,
  CALLBACK_ENV,
  DEFAULT_APP,
  DEFAULT_SECRET_NAME_PREFIX,
  DEFAULT_TIKTOK_API_BASE_URL,
  DEFAULT_TOKEN_SECRET_TAG_KEY,
  DEFAULTS,
} from '../../../lambda/shared/contract.js';
import { ConfigurationError } from '../../../lambda/shared/errors.js';

describe('Function: loadCallbackConfig', () => {
  it('fills in the defaults around the two settings it needs', () => {
    // Act
    const config = loadCallbackConfig({
      [CALLBACK_ENV.appCredentialsSecretId]: 'tiktok-shop/app-credentials',
      [CALLBACK_ENV.stateSecretId]: ' tiktok-shop/callback-state-key ',
    });

    // Assess
    expect(config).toEqual({
      appCredentialsSecretIds: new Map([[DEFAULT_APP, 'tiktok-shop/app-credentials']]),
      stateSecretId: 'tiktok-shop/callback-state-key',
      tokenStore: { kind: 'secrets-manager' },
      tokenSecretPrefix: DEFAULT_SECRET_NAME_PREFIX,
      tokenSecretTagKey: DEFAULT_TOKEN_SECRET_TAG_KEY,
      tiktokAuthBaseUrl: DEFAULTS.tiktokAuthBaseUrl,
      tiktokApiBaseUrl: DEFAULT_TIKTOK_API_BASE_URL,
      eventBusName: DEFAULTS.eventBusName,
    });
  });

  it('reads the KMS key of the secrets it creates when one is set', () => {
    // Act
    const config = loadCallbackConfig({
      [CALLBACK_ENV.appCredentialsSecretId]: 'creds',
      [CALLBACK_ENV.stateSecretId]: 'state',
      [CALLBACK_ENV.tokenSecretKmsKeyId]: 'alias/tokens',
    });

    // Assess
    expect(config.tokenSecretKmsKeyId).toBe('alias/tokens');
  });

  it('names every problem in one error', () => {
    // Act
    const load = () =>
      loadCallbackConfig({
        [CALLBACK_ENV.appCredentialsSecretId]: 'creds',
        [APPS_ENV.appCredentialsSecretIds]: '{not json',
        [CALLBACK_ENV.tiktokAuthBaseUrl]: 'http://auth.example.com',
      });

    // Assess
    expect(load).toThrow(
      new ConfigurationError(
        `invalid configuration: ${APPS_ENV.appCredentialsSecretIds} is not valid JSON; ${CALLBACK_ENV.stateSecretId} is required; ${CALLBACK_ENV.tiktokAuthBaseUrl} must use https (http is accepted only for a loopback host)`,
      ),
    );
  });

  it('reads the token table when the callback stores tokens there', () => {
    const config = loadCallbackConfig({
      [CALLBACK_ENV.appCredentialsSecretId]: 'creds',
      [CALLBACK_ENV.stateSecretId]: 'state',
      [CALLBACK_ENV.tokenStore]: 'dynamodb',
      [CALLBACK_ENV.tokenTableName]: 'shop-tokens',
    });

    expect(config.tokenStore).toEqual({ kind: 'dynamodb', tableName: 'shop-tokens' });
  });

  it('refuses the table store without a table name', () => {
    expect(() =>
      loadCallbackConfig({
        [CALLBACK_ENV.appCredentialsSecretId]: 'creds',
        [CALLBACK_ENV.stateSecretId]: 'state',
        [CALLBACK_ENV.tokenStore]: 'dynamodb',
      }),
    ).toThrow('TOKEN_TABLE_NAME is required when TOKEN_STORE is dynamodb');
  });
});
