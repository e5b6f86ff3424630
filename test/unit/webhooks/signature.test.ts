import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { signNotification, verifySignature } from '../../../lambda/webhooks/signature.js';

const APP = { app_key: '6abc1defg2hij', app_secret: 'e59af819cc0a4b7e9d3f2c1b0a998877' };
const OTHER_APP = { app_key: '6abc1defg2hij', app_secret: 'another-apps-secret-3f2c1b0a9988' };
const BODY = Buffer.from(
  '{"type":6,"tts_notification_id":"7327111111111111111","shop_id":"7494049642642441621","timestamp":1733500000,"data":{"message":"Shop_id 7494049642642441621 is deauthorized from your APP by merchant."}}',
);

/** The vector computed outside Node's crypto: OpenSSL's HMAC over app key + body. */
function opensslSignature(key: string, message: Buffer): string {
  const out = execFileSync('openssl', ['dgst', '-sha256', '-hmac', key, '-hex'], {
    input: message,
  }).toString();
  const hex = /([0-9a-f]{64})\s*$/.exec(out)?.[1];
  if (hex === undefined) throw new Error(`unexpected openssl output: ${out}`);
  return hex;
}

describe('Function: verifySignature', () => {
  it('accepts the signature OpenSSL computes over the app key followed by the raw body', () => {
    // Prepare
    const signature = opensslSignature(
      APP.app_secret,
      Buffer.concat([Buffer.from(APP.app_key), BODY]),
    );

    // Act
    const check = verifySignature(APP, BODY, signature);

    // Assess
    expect(check).toEqual({ ok: true });
    expect(signNotification(APP, BODY)).toBe(signature);
  });

  it('accepts the same signature in upper case and with surrounding spaces', () => {
    // Prepare
    const signature = opensslSignature(
      APP.app_secret,
      Buffer.concat([Buffer.from(APP.app_key), BODY]),
    );

    // Act
    const check = verifySignature(APP, BODY, ` ${signature.toUpperCase()} `);

    // Assess
    expect(check).toEqual({ ok: true });
  });

  it('refuses a signature over the body alone, without the app key', () => {
    // Prepare
    const signature = opensslSignature(APP.app_secret, BODY);

    // Act
    const check = verifySignature(APP, BODY, signature);

    // Assess
    expect(check).toEqual({ ok: false, reason: 'mismatch' });
  });

  it("refuses another app's signature of the same body", () => {
    // Prepare
    const signature = opensslSignature(
      OTHER_APP.app_secret,
      Buffer.concat([Buffer.from(OTHER_APP.app_key), BODY]),
    );

    // Act
    const check = verifySignature(APP, BODY, signature);

    // Assess
    expect(check).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('refuses a valid signature once one byte of the body has changed', () => {
    // Prepare
    const signature = signNotification(APP, BODY);
    const changed = Buffer.from(BODY);
    changed[changed.indexOf('6')] = '7'.charCodeAt(0);

    // Act
    const check = verifySignature(APP, changed, signature);

    // Assess
    expect(check).toEqual({ ok: false, reason: 'mismatch' });
  });

  it.each([
    ['missing', undefined, 'missing'],
    ['empty', '  ', 'missing'],
    ['base64 instead of hex', Buffer.from('x'.repeat(32)).toString('base64'), 'not hex SHA-256'],
    ['one hex digit short', 'a'.repeat(63), 'not hex SHA-256'],
    ['one hex digit too many', 'a'.repeat(65), 'not hex SHA-256'],
    ['a Bearer prefix', `Bearer ${'a'.repeat(64)}`, 'not hex SHA-256'],
  ])('refuses a header that is %s', (_, header, reason) => {
    // Act
    const check = verifySignature(APP, BODY, header);

    // Assess
    expect(check).toEqual({ ok: false, reason });
  });
});
