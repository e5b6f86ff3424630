import { describe, expect, it } from 'vitest';
import { SHOP_STATE_TAG } from '../../../lambda/shared/contract.js';
import {
  deauthorizationInEffect,
  marksOf,
  parseDeauthorizedMark,
  shopIdTagKey,
} from '../../../lambda/shared/shop-state.js';

describe('Function: marksOf', () => {
  it('reads the deauthorized mark and every TikTok shop id from the tags', () => {
    // Act
    const marks = marksOf([
      { Key: 'tiktok-shop-token', Value: 'acme' },
      { Key: SHOP_STATE_TAG.deauthorized, Value: '1767225600:n-6' },
      { Key: shopIdTagKey('7494049642642441621'), Value: '1' },
      { Key: shopIdTagKey('7494049642642441622'), Value: '1' },
    ]);

    // Assess
    expect(marks).toEqual({
      deauthorized: { at: 1767225600, notificationId: 'n-6' },
      tiktokShopIds: ['7494049642642441621', '7494049642642441622'],
    });
  });

  it('reads no mark from an unreadable value and no shop id without tags', () => {
    expect(marksOf([{ Key: SHOP_STATE_TAG.deauthorized, Value: 'yes' }])).toEqual({});
    expect(marksOf(undefined)).toEqual({});
  });
});

describe('Function: deauthorizationInEffect', () => {
  const mark = parseDeauthorizedMark('1767225600:n-6');

  it('holds while the current token was stored at or before the notification', () => {
    expect(deauthorizationInEffect(mark, 1767225600_000)).toBe(true);
    expect(deauthorizationInEffect(mark, 1767225000_000)).toBe(true);
    expect(deauthorizationInEffect(mark, undefined)).toBe(true);
  });

  it('is moot once a token was stored after the notification, and absent without a mark', () => {
    expect(deauthorizationInEffect(mark, 1767225600_001)).toBe(false);
    expect(deauthorizationInEffect(undefined, undefined)).toBe(false);
  });
});
