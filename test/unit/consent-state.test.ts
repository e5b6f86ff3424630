import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CONSENT_STATE_TTL_SECONDS,
  consentLink,
  readSigningKey,
  signConsentState,
  verifyConsentState,
} from '../../lambda/onboarding/consent-state.js';
import { MalformedSecretError, SecretStoreError, UsageError } from '../../lambda/shared/errors.js';

const KEY = 'STATEKEY_consent_0123456789abcdef01234567';
const OTHER_KEY = 'OTHERKEY_consent_76543210fedcba9876543210';
const NOW = 1_750_000_000_000;
const LINK = { shop: 'acme-uk', purpose: 'connect' } as const;

/** The state with one part replaced (0 shop, 1 purpose, 2 nonce, 3 expiry), the signature kept. */
function withPart(state: string, index: number, value: string): string {
  const parts = state.split('.');
  parts[index] = value;
  return parts.join('.');
}

function withShop(state: string, shop: string): string {
  return withPart(state, 0, Buffer.from(shop).toString('base64url'));
}

describe('Module: consent-state', () => {
  describe('Function: verifyConsentState', () => {
    it('accepts a state it signed and answers its shop and expiry', () => {
      // Prepare
      const state = signConsentState(LINK, KEY, { now: NOW });

      // Act
      const check = verifyConsentState(state, KEY, { now: NOW + 60_000 });

      // Assess
      expect(check).toEqual({
        valid: true,
        shop: 'acme-uk',
        purpose: 'connect',
        app: 'default',
        nonce: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
        expiresAt: new Date(NOW + CONSENT_STATE_TTL_SECONDS * 1000),
      });
    });

    it('gives every link its own nonce, so that each link is single-use', () => {
      const nonces = new Set(
        Array.from({ length: 20 }, () => {
          const check = verifyConsentState(signConsentState(LINK, KEY, { now: NOW }), KEY, {
            now: NOW,
          });
          return check.valid ? check.nonce : '';
        }),
      );

      expect(nonces.size).toBe(20);
      expect(nonces.has('')).toBe(false);
    });

    it('carries a reconnect link’s purpose', () => {
      const state = signConsentState({ shop: 'acme-uk', purpose: 'reconnect' }, KEY, { now: NOW });

      expect(verifyConsentState(state, KEY, { now: NOW })).toMatchObject({
        valid: true,
        purpose: 'reconnect',
      });
    });

    it.each([
      ['its purpose turned from reconnect into connect', 1, 'c'],
      ['its nonce replaced by another link’s', 2, 'AAAAAAAAAAAAAAAAAAAAAA'],
    ])('refuses a state with %s', (_, index, value) => {
      const state = signConsentState({ shop: 'acme-uk', purpose: 'reconnect' }, KEY, { now: NOW });

      expect(verifyConsentState(withPart(state, index, value), KEY, { now: NOW })).toEqual({
        valid: false,
        reason: 'bad-signature',
      });
    });

    it('keeps the state URL-safe and free of the key', () => {
      const state = signConsentState(LINK, KEY, { now: NOW });

      expect(state).toMatch(/^[A-Za-z0-9_-]+\.[cr]\.[A-Za-z0-9_-]{22}\.\d+\.[A-Za-z0-9_-]+$/);
      expect(encodeURIComponent(state)).toBe(state);
      expect(state).not.toContain(KEY);
    });

    it('refuses a state whose shop was changed (another shop’s name, same signature)', () => {
      const state = signConsentState(LINK, KEY, { now: NOW });

      const check = verifyConsentState(withShop(state, 'rival-shop'), KEY, { now: NOW });

      expect(check).toEqual({ valid: false, reason: 'bad-signature' });
    });

    it('refuses a state whose expiry was pushed back', () => {
      const state = signConsentState(LINK, KEY, { now: NOW });
      const expiry = Number(state.split('.')[3]);

      const check = verifyConsentState(withPart(state, 3, String(expiry + 86_400)), KEY, {
        now: NOW,
      });

      expect(check).toEqual({ valid: false, reason: 'bad-signature' });
    });

    it('refuses a state signed with another key', () => {
      const state = signConsentState(LINK, OTHER_KEY, { now: NOW });

      expect(verifyConsentState(state, KEY, { now: NOW })).toEqual({
        valid: false,
        reason: 'bad-signature',
      });
    });

    it('refuses a signature of the wrong length without comparing it', () => {
      const state = signConsentState(LINK, KEY, { now: NOW });

      expect(verifyConsentState(`${state}AAAA`, KEY, { now: NOW })).toEqual({
        valid: false,
        reason: 'bad-signature',
      });
    });

    it('refuses a state once its hour has passed, and accepts it one second before', () => {
      const state = signConsentState(LINK, KEY, { now: NOW });
      const end = NOW + CONSENT_STATE_TTL_SECONDS * 1000;

      expect(verifyConsentState(state, KEY, { now: end - 1000 }).valid).toBe(true);
      expect(verifyConsentState(state, KEY, { now: end })).toEqual({
        valid: false,
        reason: 'expired',
      });
    });

    it('honours a shorter lifetime', () => {
      const state = signConsentState(LINK, KEY, { now: NOW, ttlSeconds: 60 });

      expect(verifyConsentState(state, KEY, { now: NOW + 61_000 })).toEqual({
        valid: false,
        reason: 'expired',
      });
    });

    it.each([
      ['empty', ''],
      ['no separators', 'abcdef'],
      ['the three parts of a state from before nonces', 'YWNtZQ.1750000000.c2ln'],
      ['an unknown purpose', 'YWNtZQ.x.AAAAAAAAAAAAAAAAAAAAAA.1750000000.c2ln'],
      ['a short nonce', 'YWNtZQ.c.AAAA.1750000000.c2ln'],
      ['a non-numeric expiry', 'YWNtZQ.c.AAAAAAAAAAAAAAAAAAAAAA.soon.c2ln'],
      ['characters outside base64url', 'ac+me.c.AAAAAAAAAAAAAAAAAAAAAA.1750000000.c2ln'],
      ['an oversized state', `${'a'.repeat(600)}.c.AAAAAAAAAAAAAAAAAAAAAA.1.b`],
    ])('refuses %s as malformed', (_, state) => {
      expect(verifyConsentState(state, KEY, { now: NOW })).toEqual({
        valid: false,
        reason: 'malformed',
      });
    });
  });

  describe('a state for another app than the default one', () => {
    const US_LINK = { shop: 'acme-us', purpose: 'connect', app: 'us' } as const;

    it('carries the app, signed with the rest', () => {
      // Act
      const state = signConsentState(US_LINK, KEY, { now: NOW });

      // Assess
      expect(state.split('.')).toHaveLength(6);
      expect(state.split('.')[4]).toBe('us');
      expect(encodeURIComponent(state)).toBe(state);
      expect(verifyConsentState(state, KEY, { now: NOW })).toMatchObject({
        valid: true,
        shop: 'acme-us',
        purpose: 'connect',
        app: 'us',
      });
    });

    it('signs a default-app link exactly as before there were several apps', () => {
      // Prepare: the state format and MAC of links issued before apps existed
      const nonce = 'AAAAAAAAAAAAAAAAAAAAAA';
      const expiry = NOW / 1000 + CONSENT_STATE_TTL_SECONDS;
      const mac = createHmac('sha256', KEY)
        .update(`tiktok-shop-consent-state:v2\nacme-uk\nconnect\n${nonce}\n${expiry}`)
        .digest('base64url');
      const before = `${Buffer.from('acme-uk').toString('base64url')}.c.${nonce}.${expiry}.${mac}`;

      // Act
      const implicit = signConsentState(LINK, KEY, { now: NOW, nonce });
      const explicit = signConsentState({ ...LINK, app: 'default' }, KEY, { now: NOW, nonce });

      // Assess
      expect([implicit, explicit]).toEqual([before, before]);
      expect(verifyConsentState(before, KEY, { now: NOW })).toMatchObject({
        valid: true,
        app: 'default',
      });
    });

    it.each([
      ['its app replaced by another', (parts: string[]) => parts.toSpliced(4, 1, 'eu')],
      ['its app removed, as if for the default app', (parts: string[]) => parts.toSpliced(4, 1)],
    ])('refuses a US state with %s', (_, change) => {
      const parts = signConsentState(US_LINK, KEY, { now: NOW }).split('.');

      expect(verifyConsentState(change(parts).join('.'), KEY, { now: NOW })).toEqual({
        valid: false,
        reason: 'bad-signature',
      });
    });

    it('refuses a default-app state given an app', () => {
      const parts = signConsentState(LINK, KEY, { now: NOW }).split('.');

      const check = verifyConsentState(parts.toSpliced(4, 0, 'us').join('.'), KEY, { now: NOW });

      expect(check).toEqual({ valid: false, reason: 'bad-signature' });
    });

    it.each([
      ['the default app spelled out', 'default'],
      ['an app that is no app name', 'US'],
    ])('refuses a state naming %s as malformed', (_, app) => {
      const parts = signConsentState(US_LINK, KEY, { now: NOW }).split('.');

      expect(verifyConsentState(parts.toSpliced(4, 1, app).join('.'), KEY, { now: NOW })).toEqual({
        valid: false,
        reason: 'malformed',
      });
    });

    it('signs no state for an app that is no app name', () => {
      expect(() => signConsentState({ ...US_LINK, app: 'U.S' }, KEY, { now: NOW })).toThrow(
        UsageError,
      );
    });
  });

  describe('Function: consentLink', () => {
    it('points rest-of-world sellers at services.tiktokshop.com with service_id and state', () => {
      const link = consentLink({ region: 'row', serviceId: '7012345678', state: 'abc.1.def' });

      expect(link).toBe(
        'https://services.tiktokshop.com/open/authorize?service_id=7012345678&state=abc.1.def',
      );
    });

    it('points US sellers at services.us.tiktokshop.com', () => {
      const link = new URL(consentLink({ region: 'us', serviceId: '70 12', state: 's' }));

      expect(link.origin).toBe('https://services.us.tiktokshop.com');
      expect(link.pathname).toBe('/open/authorize');
      expect(link.searchParams.get('service_id')).toBe('70 12');
    });
  });

  describe('Function: readSigningKey', () => {
    it('answers the secret’s string value', async () => {
      const key = await readSigningKey('tiktok-shop/callback-state-key', async () => KEY);

      expect(key).toBe(KEY);
    });

    it.each([
      ['a short key', 'too-short'],
      ['binary data', new Uint8Array([1, 2, 3])],
      ['no value', undefined],
    ])('refuses %s, naming the secret but not the value', async (_, value) => {
      const read = readSigningKey('tiktok-shop/callback-state-key', async () => value);

      await expect(read).rejects.toThrow(MalformedSecretError);
      await expect(read).rejects.toThrow(
        'secret tiktok-shop/callback-state-key must hold a signing key of at least 32 characters',
      );
      await expect(read).rejects.not.toThrow('too-short');
    });

    it('names the secret and the AWS error when it cannot be read', async () => {
      const denied = Object.assign(new Error('not authorized to perform GetSecretValue'), {
        name: 'AccessDeniedException',
      });
      const wrapped = new Error('wrapped by Powertools', { cause: denied });

      const read = readSigningKey('tiktok-shop/callback-state-key', async () => {
        throw wrapped;
      });

      await expect(read).rejects.toThrow(SecretStoreError);
      await expect(read).rejects.toThrow(
        'could not read secret tiktok-shop/callback-state-key: AccessDeniedException: not authorized',
      );
    });
  });
});
