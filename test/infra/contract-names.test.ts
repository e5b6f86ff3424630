import { describe, expect, it } from 'vitest';
import {
  TikTokShopDefaults,
  TikTokShopEventNames,
  TikTokShopMetricNames,
} from '../../infra/contract-names.js';
import { MINIMUM_REFRESHER_TIMEOUT } from '../../infra/refresher-props.js';
import { TikTokShopTokenRefresher } from '../../infra/token-refresher.js';
import {
  DEFAULT_APP,
  DEFAULT_APP_TAG_KEY,
  DEFAULT_SECRET_NAME_PREFIX,
  DEFAULT_TOKEN_SECRET_TAG_KEY,
  DETAIL_TYPE,
  EVENT_SOURCE,
  METRIC,
  METRICS_NAMESPACE,
} from '../../lambda/shared/contract.js';

/** The static string constants of a class, as other languages see them through jsii. */
function constants(type: object): string[] {
  return Object.values(type).filter((value): value is string => typeof value === 'string');
}

describe('the names for other languages', () => {
  it('give every metric the functions emit, in their namespace', () => {
    // Assess
    expect(TikTokShopMetricNames.NAMESPACE).toBe(METRICS_NAMESPACE);
    expect(constants(TikTokShopMetricNames).sort()).toEqual(
      [METRICS_NAMESPACE, ...Object.values(METRIC)].sort(),
    );
  });

  it('give the source and every detail type of the events', () => {
    // Assess
    expect(TikTokShopEventNames.SOURCE).toBe(EVENT_SOURCE);
    expect(constants(TikTokShopEventNames).sort()).toEqual(
      [EVENT_SOURCE, ...Object.values(DETAIL_TYPE)].sort(),
    );
  });

  it('give the default app, tag keys and secret name prefix, and the minimum timeout', () => {
    // Assess
    expect(constants(TikTokShopDefaults).sort()).toEqual(
      [
        DEFAULT_APP,
        DEFAULT_APP_TAG_KEY,
        DEFAULT_TOKEN_SECRET_TAG_KEY,
        DEFAULT_SECRET_NAME_PREFIX,
      ].sort(),
    );
    expect(TikTokShopTokenRefresher.MINIMUM_TIMEOUT.toSeconds()).toBe(
      MINIMUM_REFRESHER_TIMEOUT.toSeconds(),
    );
  });
});
