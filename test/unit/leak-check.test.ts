import { describe, expect, it } from 'vitest';
import { REFRESH_PATH } from '../local/endpoints/tiktok.js';
import { assertNoLeaks, leaksIn, SecretLeakedError } from '../support/leak-check.js';

const SECRET = 'TTS_RT_0123456789abcdef+/=&"';

describe('Function: leaksIn (the tests’ leak check)', () => {
  it.each([
    ['plain', SECRET],
    ['URL-encoded', encodeURIComponent(SECRET)],
    ['JSON-escaped', JSON.stringify(SECRET).slice(1, -1)],
    ['base64', Buffer.from(SECRET).toString('base64').replace(/=+$/, '')],
    ['base64url', Buffer.from(SECRET).toString('base64url')],
    ['hex', Buffer.from(SECRET).toString('hex')],
  ])('finds a secret written %s inside other output', (encoding, form) => {
    // Act
    const leaks = leaksIn(`{"level":"INFO","message":"refreshed","detail":"x${form}y"}`, [SECRET]);

    // Assess
    expect(leaks).toContain(`TTS_RT_012… (${encoding})`);
  });

  it.each([
    'GET /?app_key=k&app_secret=s',
    '?grant_type=refresh_token&refresh_token=r',
    `https://auth.tiktok-shops.com${REFRESH_PATH}`,
  ])('finds what gives a secret away whatever its value, in %s', (output) => {
    expect(leaksIn(output, [])).toHaveLength(1);
  });

  it('finds nothing in output without the secrets, and ignores an empty one', () => {
    const output = '{"shop":"tiktok-shop/tokens/shop-a","outcome":"refreshed"}';

    expect(leaksIn(output, [SECRET, ''])).toEqual([]);
  });

  it('throws SecretLeakedError naming the find, not the whole secret', () => {
    // Act
    let thrown: unknown;
    try {
      assertNoLeaks('the invocation', `token ${SECRET}`, [SECRET]);
    } catch (error) {
      thrown = error;
    }

    // Assess
    expect(thrown).toBeInstanceOf(SecretLeakedError);
    expect((thrown as Error).message).toBe(
      'the invocation gave a secret away: TTS_RT_012… (plain)',
    );
    expect(() => assertNoLeaks('the invocation', 'clean', [SECRET])).not.toThrow();
  });
});
