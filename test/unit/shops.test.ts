import { describe, expect, it } from 'vitest';
import {
  configuredShops,
  type Shop,
  selectShops,
  withListing,
} from '../../lambda/refresher/shops.js';
import { InvalidEventError } from '../../lambda/shared/errors.js';
import { shopFromId } from '../../lambda/shared/shop.js';

const ARN_A =
  'arn:aws:secretsmanager:eu-west-1:123456789012:secret:tiktok-shop/tokens/shop-a-AbC123';
const ARN_B =
  'arn:aws:secretsmanager:eu-west-1:123456789012:secret:tiktok-shop/tokens/shop-b-XyZ789';

function invalidEvent(run: () => unknown): InvalidEventError {
  try {
    run();
  } catch (error) {
    if (error instanceof InvalidEventError) return error;
    throw error;
  }
  throw new Error('no InvalidEventError was thrown');
}

describe('Function: shopFromId', () => {
  it('uses a secret name as both id and name', () => {
    expect(shopFromId('tiktok-shop/tokens/shop-a')).toEqual({
      id: 'tiktok-shop/tokens/shop-a',
      name: 'tiktok-shop/tokens/shop-a',
    });
  });

  it('takes the name from a full secret ARN, without the random suffix', () => {
    expect(shopFromId(ARN_A)).toEqual({
      id: ARN_A,
      name: 'tiktok-shop/tokens/shop-a',
      arn: ARN_A,
    });
  });

  it.each([
    ['arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:shop-x-abcdef', 'shop-x'],
    ['arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:shop-y-ABCDEF', 'shop-y'],
  ])('recognises an ARN of another partition: %s', (arn, name) => {
    expect(shopFromId(arn)).toEqual({ id: arn, name, arn });
  });

  it('treats an ARN-like string without the six-character suffix as a name', () => {
    const id = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop';

    expect(shopFromId(id)).toEqual({ id, name: id });
  });

  it('treats an ARN of another service as a name', () => {
    const id = 'arn:aws:ssm:eu-west-1:123456789012:parameter:shop-a-AbC123';

    expect(shopFromId(id)).toEqual({ id, name: id });
  });
});

describe('Function: configuredShops', () => {
  it('lists the named secrets, then those found by tag', () => {
    // Act
    const shops = configuredShops(['shop-a'], [{ name: 'shop-c', arn: 'arn-of-c' }]);

    // Assess
    expect(shops).toEqual([
      { id: 'shop-a', name: 'shop-a' },
      { id: 'arn-of-c', name: 'shop-c', arn: 'arn-of-c' },
    ]);
  });

  it('keeps the configured shop when discovery finds the same secret', () => {
    const shops = configuredShops(
      ['tiktok-shop/tokens/shop-a', ARN_B],
      [
        { name: 'tiktok-shop/tokens/shop-a', arn: ARN_A },
        { name: 'tiktok-shop/tokens/shop-b', arn: ARN_B },
      ],
    );

    expect(shops).toEqual([
      { id: 'tiktok-shop/tokens/shop-a', name: 'tiktok-shop/tokens/shop-a' },
      { id: ARN_B, name: 'tiktok-shop/tokens/shop-b', arn: ARN_B },
    ]);
  });

  it('lists a secret named both by name and by ARN once', () => {
    const shops = configuredShops(['tiktok-shop/tokens/shop-a', ARN_A], []);

    expect(shops).toHaveLength(1);
    expect(shops[0]?.name).toBe('tiktok-shop/tokens/shop-a');
  });

  it('answers no shops when nothing is configured or found', () => {
    expect(configuredShops([], [])).toEqual([]);
  });

  it("carries what a found secret's tags say: a deauthorization and the TikTok shop ids", () => {
    // Act
    const [shop] = configuredShops(
      ['tiktok-shop/tokens/shop-a'],
      [
        {
          name: 'tiktok-shop/tokens/shop-a',
          arn: ARN_A,
          tags: [
            { Key: 'tiktok-shop-deauthorized', Value: '1767225600:n-6' },
            { Key: 'tiktok-shop-id:7494049642642441621', Value: '1' },
          ],
        },
      ],
    );

    // Assess
    expect(shop).toMatchObject({
      id: 'tiktok-shop/tokens/shop-a',
      name: 'tiktok-shop/tokens/shop-a',
      deauthorized: { at: 1767225600, notificationId: 'n-6' },
      tiktokShopIds: ['7494049642642441621'],
    });
  });
});

describe('Function: selectShops', () => {
  const configured: Shop[] = [
    { id: 'tiktok-shop/tokens/shop-a', name: 'tiktok-shop/tokens/shop-a' },
    { id: ARN_B, name: 'tiktok-shop/tokens/shop-b', arn: ARN_B },
    { id: 'shop-c', name: 'shop-c' },
  ];

  it('selects every configured shop when none is requested', () => {
    const selected = selectShops(configured);

    expect(selected).toEqual(configured);
    expect(selected).not.toBe(configured);
  });

  it('finds shops by name, by ARN and by configured id', () => {
    const selected = selectShops(configured, [ARN_B, 'shop-c', 'tiktok-shop/tokens/shop-a']);

    expect(selected.map((shop) => shop.name)).toEqual([
      'tiktok-shop/tokens/shop-b',
      'shop-c',
      'tiktok-shop/tokens/shop-a',
    ]);
  });

  it('finds a shop configured by ARN when asked by name', () => {
    const selected = selectShops(configured, ['tiktok-shop/tokens/shop-b']);

    expect(selected).toEqual([{ id: ARN_B, name: 'tiktok-shop/tokens/shop-b', arn: ARN_B }]);
  });

  it('finds a shop configured by name when asked by ARN', () => {
    const selected = selectShops(configured, [ARN_A]);

    expect(selected).toEqual([
      { id: 'tiktok-shop/tokens/shop-a', name: 'tiktok-shop/tokens/shop-a' },
    ]);
  });

  it('selects a shop asked for twice once', () => {
    const selected = selectShops(configured, [
      'shop-c',
      'shop-c',
      ARN_B,
      'tiktok-shop/tokens/shop-b',
    ]);

    expect(selected.map((shop) => shop.name)).toEqual(['shop-c', 'tiktok-shop/tokens/shop-b']);
  });

  it('refuses a shop that is not configured and names the configured ones', () => {
    const error = invalidEvent(() => selectShops(configured, ['shop-c', 'shop-x', 'shop-y']));

    expect(error.message).toBe(
      'invalid event: shops: not configured: shop-x, shop-y; configured shops: tiktok-shop/tokens/shop-a, tiktok-shop/tokens/shop-b, shop-c',
    );
  });

  it('says so when no shop is configured at all', () => {
    const error = invalidEvent(() => selectShops([], ['shop-a']));

    expect(error.message).toBe(
      'invalid event: shops: not configured: shop-a; configured shops: (none)',
    );
  });

  it('shows at most 20 configured shops and counts the others', () => {
    // Prepare
    const many = Array.from({ length: 25 }, (_, i) => shopFromId(`shop-${i + 1}`));

    // Act
    const error = invalidEvent(() => selectShops(many, ['shop-99']));

    // Assess
    expect(error.message).toContain('shop-19, shop-20 and 5 more');
    expect(error.message).not.toContain('shop-21');
  });

  it('names the first five of many unknown shops and counts the rest, in a short message', () => {
    // Prepare: 100,000 names a person pasted, each 30 characters, none configured
    const requested = Array.from({ length: 100_000 }, (_, i) => `tiktok-shop/tokens/x-${i}`);

    // Act
    const error = invalidEvent(() => selectShops(configured, requested));

    // Assess
    expect(error.message).toBe(
      'invalid event: shops: not configured: tiktok-shop/tokens/x-0, tiktok-shop/tokens/x-1, tiktok-shop/tokens/x-2, tiktok-shop/tokens/x-3, tiktok-shop/tokens/x-4 and 99,995 more; configured shops: tiktok-shop/tokens/shop-a, tiktok-shop/tokens/shop-b, shop-c',
    );
  });

  it('cuts a very long unknown name short', () => {
    const error = invalidEvent(() => selectShops(configured, ['x'.repeat(100_000)]));

    expect(error.message.length).toBeLessThan(300);
    expect(error.message).toContain(`${'x'.repeat(80)}…`);
  });
});

describe('Function: withListing', () => {
  it('gives configured shops the tags and versions the store listed, and leaves their app alone', () => {
    // Prepare
    const tags = [{ Key: 'tiktok-shop-app', Value: 'us' }];
    const versions = { currentVersionId: 'v2', hasPending: true, hasKept: false };

    // Act
    const shops = withListing(
      [
        { id: 'tokens/a', name: 'tokens/a' },
        { id: 'tokens/b', name: 'tokens/b' },
      ],
      [{ name: 'tokens/a', arn: 'arn-a', tags, ...versions }],
    );

    // Assess
    expect(shops).toEqual([
      { id: 'tokens/a', name: 'tokens/a', tags, listed: versions },
      { id: 'tokens/b', name: 'tokens/b' },
    ]);
  });
});
