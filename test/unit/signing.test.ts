import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isMultipart, signRequest } from '../../lambda/shared/signing.js';

/**
 * Expected signatures come from implementations this project did not write:
 *
 * - TikTok's own example, from Partner Center's "Sign your API request" page (as quoted in
 *   shared/reference/tiktok-shop-open-api.md).
 * - EcomPHP/tiktokshop-php: the vector its own test asserts (tests/ClientTest.php,
 *   testPrepareSignature), and signatures computed on this project's inputs by running its
 *   unmodified signer, `Client::prepareSignature` in src/Client.php at commit
 *   dbbec213d9d118c443576d613571993090a843a5, under PHP 8.2 with a stub PSR-7 request.
 */

const SECRET = 'tts_s3cr3t_9d1f';
const APP_KEY = 'app_7f3k';

describe('Function: signRequest', () => {
  it("matches TikTok's published example for GET /authorization/202309/shops", () => {
    // Act
    const sign = signRequest({
      appSecret: 'e59af819cc',
      path: '/authorization/202309/shops',
      query: { app_key: '29a39d', timestamp: '1623812664' },
    });

    // Assess
    expect(sign).toBe('b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8');
  });

  it("signs exactly the string TikTok's example spells out", () => {
    const wrapped =
      'e59af819cc/authorization/202309/shopsapp_key29a39dtimestamp1623812664e59af819cc';

    const sign = signRequest({
      appSecret: 'e59af819cc',
      path: '/authorization/202309/shops',
      query: { timestamp: '1623812664', app_key: '29a39d' },
    });

    expect(sign).toBe(createHmac('sha256', 'e59af819cc').update(wrapped).digest('hex'));
  });

  it("matches the vector EcomPHP/tiktokshop-php's own test asserts", () => {
    const sign = signRequest({ appSecret: 'app_secret', path: '/test-api', query: { foo: 'bar' } });

    expect(sign).toBe('d3cb7fe11ecae942802ceeca67e7cf10120cc12f1517d45fbc1c8cfe5413c80f');
  });

  it("matches EcomPHP's signer on a POST with a JSON body, leaving sign and access_token out", () => {
    const sign = signRequest({
      appSecret: SECRET,
      path: '/order/202309/orders/search',
      query: {
        app_key: APP_KEY,
        timestamp: '1750000000',
        shop_cipher: 'ROW_dGVzdA',
        page_size: '50',
        sort_order: 'DESC',
        sign: 'stale',
        access_token: 'TTS_AT_ignored',
      },
      body: '{"order_status":"AWAITING_SHIPMENT","create_time_ge":1749000000}',
      contentType: 'application/json',
    });

    expect(sign).toBe('f73eb7b419c71fadfc592de293e45b06a1f7ee4dc4cc94b51781d4e908f060d1');
  });

  it("matches EcomPHP's signer on a body of non-ASCII text, signed as the UTF-8 bytes sent", () => {
    const body = '{"title":"Café ☕ — größe","description":"<p>ü & \\"quoted\\"</p>"}';
    const input = {
      appSecret: SECRET,
      path: '/product/202309/products/1729592969712207008',
      query: { timestamp: '1750000123', app_key: APP_KEY, shop_cipher: 'GCP_XyZ-09' },
      contentType: 'application/json',
    };
    const expected = 'c32a0398124124aaaba34c2de7c03a92d003741f0bd180cb24b5850752cf6a57';

    expect(signRequest({ ...input, body })).toBe(expected);
    expect(signRequest({ ...input, body: new TextEncoder().encode(body) })).toBe(expected);
  });

  it("matches EcomPHP's signer on a multipart upload, whose body is not signed", () => {
    const input = {
      appSecret: SECRET,
      path: '/product/202309/images/upload',
      query: { app_key: APP_KEY, timestamp: '1750000200' },
      contentType: 'multipart/form-data; boundary=----local',
    };

    const withBody = signRequest({ ...input, body: '------local\r\n…PNG…\r\n------local--\r\n' });
    const withoutBody = signRequest(input);

    expect(withBody).toBe('00cc93cd3b2e2e190503633e2693d3b3f26c5fb1efff721bc5b286a685546fdf');
    expect(withoutBody).toBe(withBody);
  });

  it("matches EcomPHP's signer on a GET with a comma-joined list and a value that URL-encodes", () => {
    const sign = signRequest({
      appSecret: SECRET,
      path: '/order/202309/orders',
      query: {
        ids: '576461413038785752,576461413038785753',
        app_key: APP_KEY,
        timestamp: '1750000300',
        shop_cipher: 'ROW_dGVzdA',
        page_token: 'b2Zmc2V0PTEw/+==',
      },
    });

    expect(sign).toBe('c6e79a516dbdf9aae5514b246154c4d8219fa588b94329018780f33b10ecd160');
  });

  it('changes with every signed part: path, a value, the body and the secret', () => {
    const base = {
      appSecret: SECRET,
      path: '/order/202309/orders/search',
      query: { app_key: APP_KEY, timestamp: '1750000000' },
      body: '{"a":1}',
      contentType: 'application/json',
    };
    const variants = [
      { ...base, path: '/order/202309/orders' },
      { ...base, query: { ...base.query, timestamp: '1750000001' } },
      { ...base, body: '{"a": 1}' },
      { ...base, appSecret: `${SECRET}x` },
    ];

    const signs = new Set([base, ...variants].map(signRequest));

    expect(signs.size).toBe(variants.length + 1);
  });

  it('sorts keys by bytes, not by locale: upper case before lower case', () => {
    const sign = signRequest({ appSecret: 's', path: '/p', query: { b: '2', B: '1', a: '3' } });

    expect(sign).toBe(createHmac('sha256', 's').update('s/pB1a3b2s').digest('hex'));
  });
});

describe('Function: isMultipart', () => {
  it('compares the media type only, in any case', () => {
    expect(isMultipart('multipart/form-data; boundary=x')).toBe(true);
    expect(isMultipart(' Multipart/Form-Data ')).toBe(true);
    expect(isMultipart('application/json')).toBe(false);
    expect(isMultipart('multipart/form-data-like')).toBe(false);
    expect(isMultipart(undefined)).toBe(false);
  });
});
