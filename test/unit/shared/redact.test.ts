import { describe, expect, it } from 'vitest';
import { redact } from '../../../lambda/shared/redact.js';
import { echoedParts, echoForms } from '../../support/echo-forms.js';

describe('Function: redact', () => {
  const SECRET = 'S3cr+t/x=y&z "q" é€😀';

  it('removes the secret as it is', () => {
    expect(redact(`a ${SECRET} b`, [SECRET])).toBe('a [redacted] b');
  });

  it.each([
    ['URL-encoded', encodeURIComponent(SECRET)],
    [
      'URL-encoded in lower case',
      encodeURIComponent(SECRET).replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()),
    ],
    ['URL-encoded twice', encodeURIComponent(encodeURIComponent(SECRET))],
    ['form-encoded', new URLSearchParams({ s: SECRET }).toString().slice(2)],
    ['JSON-escaped', JSON.stringify(SECRET).slice(1, -1)],
    [
      'JSON-escaped to ASCII',
      JSON.stringify(SECRET)
        .slice(1, -1)
        .replace(/[^ -~]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
    ],
    ['JSON-escaped with an escaped slash', JSON.stringify(SECRET).slice(1, -1).replace('/', '\\/')],
    ['as HTML entities', SECRET.replace(/&/g, '&amp;').replace(/"/g, '&quot;')],
    ['base64', Buffer.from(SECRET).toString('base64')],
    ['base64url', Buffer.from(SECRET).toString('base64url')],
    ['hex', Buffer.from(SECRET).toString('hex')],
  ])('removes the secret %s', (_, form) => {
    expect(redact(`a ${form} b`, [SECRET])).toBe('a [redacted] b');
  });

  it.each([0, 1, 2])(
    'removes the secret base64-encoded inside a longer text (%i bytes before it)',
    (before) => {
      // Prepare: e.g. an echoed Basic authorization header, "<app key>:<app secret>"
      const encoded = Buffer.from(`${'k'.repeat(before)}${SECRET}!tail`).toString('base64');

      // Act
      const clean = redact(`auth ${encoded}`, [SECRET]);

      // Assess: what is left of the encoding no longer decodes to the secret
      expect(clean).toContain('[redacted]');
      const left = clean.replace('auth ', '').split('[redacted]').join('');
      expect(Buffer.from(left, 'base64').toString('utf8')).not.toContain(SECRET.slice(0, 6));
    },
  );

  describe('partial and reshaped echoes', () => {
    const TOKEN = 'TTS_RT_0f3c9a61b2d84e7f95c0a1d2e3f40516';
    const APP_SECRET = '9f8e7d6c5b4a39281706f5e4d3c2b1a0e9d8c7b6';

    it.each(echoForms(TOKEN))('leaves no 8 characters of a token quoted %s', (_, echo) => {
      const clean = redact(`refresh failed for ${echo}, try again`, [APP_SECRET, TOKEN]);

      expect(echoedParts(clean, echo)).toEqual([]);
      expect(clean).toMatch(/^refresh failed for .*\[redacted\].*, try again$/);
    });

    it.each(echoForms(APP_SECRET))(
      'leaves no 8 characters of the app secret quoted %s',
      (_, echo) => {
        const clean = redact(`app_secret ${echo} is invalid`, [TOKEN, APP_SECRET]);

        expect(echoedParts(clean, echo)).toEqual([]);
      },
    );

    it('masks a run of 8 characters written in a mix of per-character escapes', () => {
      const mixed = `%54&#84;\\u0053_RT_0%66&#x33;c9a`;

      expect(redact(`token ${mixed} refused`, [TOKEN])).toBe('token [redacted] refused');
    });

    it('keeps pieces of a secret shorter than 8 characters, and the words around them', () => {
      expect(redact('code TTS_RT_ is not 0f3c9a6', [TOKEN])).toBe('code TTS_RT_ is not 0f3c9a6');
    });
  });

  it('removes every secret given and keeps the words around them', () => {
    expect(
      redact('token abc_123_refresh and key XYZ_SECRET_9 end', ['abc_123_refresh', 'XYZ_SECRET_9']),
    ).toBe('token [redacted] and key [redacted] end');
  });

  it('keeps text that holds no secret', () => {
    expect(redact('grant_type must be refresh_token', [SECRET, 'TTS_RT_0123456789'])).toBe(
      'grant_type must be refresh_token',
    );
  });

  it('shortens a long text after removing the secrets', () => {
    const clean = redact(`${'x'.repeat(298)}${SECRET}${'y'.repeat(500)}`, [SECRET]);

    expect(clean).toBe(`${'x'.repeat(298)}[r…`);
    expect(clean).not.toContain(SECRET.slice(0, 4));
  });
});
