import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import {
  AppCredentials,
  describeIssue,
  expiresAt,
  fitToStore,
  holdsRefreshToken,
  MAX_STORED_BYTES,
  parseJson,
  parseTokenDocument,
  TikTokEnvelope,
  TokenDocument,
  TRIMMED_FIELD,
} from '../../lambda/shared/token.js';

const ACCESS_TOKEN = 'TTS_AT_0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const REFRESH_TOKEN = 'TTS_RT_a1b2c3d4e5f60718293a4b5c6d7e8f90';

/** A TikTok answer as the auth host sends it (shape from public samples). */
function answer(data: Record<string, unknown> = {}, top: Record<string, unknown> = {}): string {
  return JSON.stringify({
    code: 0,
    message: 'success',
    data: {
      access_token: ACCESS_TOKEN,
      access_token_expire_in: 1_722_342_011,
      refresh_token: REFRESH_TOKEN,
      refresh_token_expire_in: 4_841_467_787,
      open_id: 'open_123',
      seller_name: 'Test Shop',
      seller_base_region: 'GB',
      user_type: 0,
      granted_scopes: ['seller.authorization.info'],
      ...data,
    },
    request_id: '20240723120011ABCDEF',
    ...top,
  });
}

function problemsOf(text: string): string[] {
  const result = parseJson(text, TokenDocument);
  if (result.ok) throw new Error('the token document was accepted');
  return result.problems;
}

describe('Function: parseJson with TokenDocument', () => {
  it('accepts a TikTok answer and keeps the fields it does not check', () => {
    // Act
    const result = parseJson(answer(), TokenDocument);

    // Assess
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.data.access_token).toBe(ACCESS_TOKEN);
    expect(result.value.data.access_token_expire_in).toBe(1_722_342_011);
    expect(result.value.data).toMatchObject({
      seller_base_region: 'GB',
      granted_scopes: ['seller.authorization.info'],
    });
    expect(result.value.request_id).toBe('20240723120011ABCDEF');
  });

  it('accepts an answer without the optional fields', () => {
    const text = JSON.stringify({
      code: 0,
      data: {
        access_token: 'a',
        access_token_expire_in: 1_722_342_011,
        refresh_token: 'r',
        refresh_token_expire_in: 4_841_467_787,
      },
    });

    expect(parseJson(text, TokenDocument).ok).toBe(true);
  });

  it('reports access_token_expire_in given as a duration', () => {
    expect(problemsOf(answer({ access_token_expire_in: 604_800 }))).toEqual([
      'data.access_token_expire_in: must be an absolute Unix timestamp in seconds, not a duration',
    ]);
  });

  it('reports refresh_token_expire_in given in milliseconds', () => {
    expect(problemsOf(answer({ refresh_token_expire_in: 4_841_467_787_000 }))).toEqual([
      'data.refresh_token_expire_in: must be in seconds, not milliseconds',
    ]);
  });

  it('reports an expiry that is not a whole number', () => {
    expect(problemsOf(answer({ access_token_expire_in: 1_722_342_011.5 }))).toEqual([
      'data.access_token_expire_in: must be an integer',
    ]);
  });

  it('names every missing field', () => {
    const text = JSON.stringify({ code: 0, data: { access_token_expire_in: 1_722_342_011 } });

    expect(problemsOf(text)).toEqual([
      'data.access_token: missing',
      'data.refresh_token: missing',
      'data.refresh_token_expire_in: missing',
    ]);
  });

  it('reports a missing data object', () => {
    expect(problemsOf(JSON.stringify({ code: 0, message: 'success' }))).toEqual(['data: missing']);
  });

  it('tells a field of the wrong type from a missing one', () => {
    expect(problemsOf(answer({}, { data: null }))).toEqual(['data: must be an object']);
    expect(problemsOf(answer({ access_token: 7, refresh_token: undefined }))).toEqual([
      'data.access_token: must be a string',
      'data.refresh_token: missing',
    ]);
  });

  it('reports an empty token', () => {
    expect(problemsOf(answer({ access_token: '', refresh_token: '' }))).toEqual([
      'data.access_token: must not be empty',
      'data.refresh_token: must not be empty',
    ]);
  });

  it('refuses a document whose code is not 0', () => {
    expect(problemsOf(answer({}, { code: 36004005 }))).toEqual(['code: must be 0']);
  });

  it('reports text that is not JSON', () => {
    expect(problemsOf('<html>502 Bad Gateway</html>')).toEqual(['not valid JSON']);
  });

  it('reports JSON that is not an object', () => {
    expect(problemsOf('[]')).toEqual(['(top level): must be an object']);
  });

  it('never puts a value from the secret into a problem description', () => {
    // Prepare: secret values where numbers or objects belong, and in text that is not JSON
    const texts = [
      answer({ access_token_expire_in: ACCESS_TOKEN, refresh_token_expire_in: REFRESH_TOKEN }),
      answer({ access_token: { value: ACCESS_TOKEN }, refresh_token: [REFRESH_TOKEN] }),
      answer({}, { code: REFRESH_TOKEN, data: ACCESS_TOKEN }),
      answer({ access_token: 12_345, [REFRESH_TOKEN]: ACCESS_TOKEN }),
      `{"access_token":"${ACCESS_TOKEN}","refresh_token":"${REFRESH_TOKEN}"`,
      `${ACCESS_TOKEN}${REFRESH_TOKEN}`,
    ];

    // Act
    const problems = texts.flatMap(problemsOf);

    // Assess
    expect(problems.length).toBeGreaterThanOrEqual(texts.length);
    for (const problem of problems) {
      expect(problem).not.toContain(ACCESS_TOKEN);
      expect(problem).not.toContain(REFRESH_TOKEN);
      expect(problem).not.toContain('12345');
    }
  });
});

describe('Function: parseTokenDocument', () => {
  it('reads expiries sent as strings of digits as their numbers', () => {
    // Act
    const result = parseTokenDocument(
      answer({ access_token_expire_in: '1722342011', refresh_token_expire_in: '4841467787' }),
    );

    // Assess
    expect(result).toMatchObject({
      ok: true,
      value: {
        data: { access_token_expire_in: 1_722_342_011, refresh_token_expire_in: 4_841_467_787 },
      },
    });
  });

  it('still refuses a string expiry that is not an absolute time in seconds', () => {
    expect(problemsOf(answer({ access_token_expire_in: '604800' }))).toEqual([
      'data.access_token_expire_in: must be an absolute Unix timestamp in seconds, not a duration',
    ]);
    expect(problemsOf(answer({ refresh_token_expire_in: '2024-07-30T12:00:00Z' }))).toEqual([
      'data.refresh_token_expire_in: must be a number',
    ]);
    expect(problemsOf(answer({ access_token_expire_in: '' }))).toEqual([
      'data.access_token_expire_in: must be a number',
    ]);
  });

  it('reads optional fields of another type as absent and keeps them in the text', () => {
    // Prepare
    const text = answer({ seller_name: 7, open_id: false }, { message: null, request_id: 12 });

    // Act
    const result = parseTokenDocument(text);

    // Assess
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.data.seller_name).toBeUndefined();
    expect(result.value.data.open_id).toBeUndefined();
    expect(result.value.message).toBeUndefined();
    expect(JSON.parse(text)).toMatchObject({ data: { seller_name: 7, open_id: false } });
  });

  it('accepts fields nobody knows yet and a document without the optional ones', () => {
    const text = JSON.stringify({
      code: 0,
      data: {
        access_token: ACCESS_TOKEN,
        access_token_expire_in: 1_722_342_011,
        refresh_token: REFRESH_TOKEN,
        refresh_token_expire_in: 4_841_467_787,
        token_type: { kind: 'bearer' },
      },
      trace: [1, 2],
    });

    expect(parseTokenDocument(text)).toMatchObject({
      ok: true,
      value: { data: { token_type: { kind: 'bearer' } }, trace: [1, 2] },
    });
  });

  it('stays strict about the tokens themselves', () => {
    expect(problemsOf(answer({ access_token: ['a'], refresh_token: 42 }))).toEqual([
      'data.access_token: must be a string',
      'data.refresh_token: must be a string',
    ]);
  });
});

describe('Function: holdsRefreshToken', () => {
  it.each([
    ['in data', { data: { refresh_token: 'r' } }],
    ['at the top level', { refresh_token: 'r' }],
    ['nested and in camelCase', { data: { token: { refreshToken: 'r' } } }],
    ['in upper case with dashes', { data: { 'REFRESH-TOKEN': 'r' } }],
    ['as a number', { data: { refresh_token: 12_345 } }],
    ['in an array', { tokens: [{ refresh_token: 'r' }] }],
  ])('finds a refresh token %s', (_, json) => {
    expect(holdsRefreshToken(json)).toBe(true);
  });

  it.each([
    ['no refresh token', { data: { access_token: 'a' } }],
    ['an empty one', { data: { refresh_token: '' } }],
    ['a null one', { data: { refresh_token: null } }],
    ['a value that names one', { data: { note: 'refresh_token' } }],
    ['not an object', 'refresh_token'],
  ])('finds none in an answer with %s', (_, json) => {
    expect(holdsRefreshToken(json)).toBe(false);
  });
});

describe('Function: fitToStore', () => {
  it('keeps an answer that fits unchanged', () => {
    const text = answer();

    expect(fitToStore(text)).toEqual({ text });
  });

  it('keeps an answer of exactly the limit unchanged', () => {
    const bare = answer({ padding: '' });
    const text = answer({ padding: 'x'.repeat(MAX_STORED_BYTES - Buffer.byteLength(bare)) });

    expect(Buffer.byteLength(text)).toBe(MAX_STORED_BYTES);
    expect(fitToStore(text)).toEqual({ text });
  });

  it('drops the fields that do not fit, keeps the token and says it was trimmed', () => {
    // Prepare
    const text = answer({ padding: 'x'.repeat(100_000) }, { trace: 'y'.repeat(100_000) });

    // Act
    const fitted = fitToStore(text);

    // Assess
    expect(fitted?.trimmedFromBytes).toBe(Buffer.byteLength(text));
    expect(Buffer.byteLength(fitted?.text ?? '')).toBeLessThanOrEqual(MAX_STORED_BYTES);
    const kept = JSON.parse(fitted?.text ?? '{}') as Record<string, unknown>;
    expect(kept).toEqual({
      code: 0,
      message: 'success',
      request_id: '20240723120011ABCDEF',
      [TRIMMED_FIELD]: Buffer.byteLength(text),
      data: {
        access_token: ACCESS_TOKEN,
        access_token_expire_in: 1_722_342_011,
        refresh_token: REFRESH_TOKEN,
        refresh_token_expire_in: 4_841_467_787,
        open_id: 'open_123',
        seller_name: 'Test Shop',
        seller_base_region: 'GB',
        user_type: 0,
        granted_scopes: ['seller.authorization.info'],
      },
    });
    expect(parseTokenDocument(fitted?.text ?? '').ok).toBe(true);
  });

  it('keeps a refresh token outside data when the shape changed', () => {
    const text = JSON.stringify({
      code: 0,
      refresh_token: REFRESH_TOKEN,
      blob: 'x'.repeat(70_000),
    });

    const fitted = fitToStore(text);

    expect(JSON.parse(fitted?.text ?? '{}')).toEqual({
      code: 0,
      [TRIMMED_FIELD]: Buffer.byteLength(text),
      refresh_token: REFRESH_TOKEN,
    });
  });

  it('gives up when even the token does not fit', () => {
    expect(fitToStore(answer({ access_token: 'a'.repeat(70_000) }))).toBeUndefined();
  });

  it('gives up when what fits holds no refresh token', () => {
    expect(
      fitToStore(
        JSON.stringify({ code: 0, blob: 'x'.repeat(70_000), refresh_token: 'r'.repeat(70_000) }),
      ),
    ).toBeUndefined();
  });
});

describe('Function: parseJson with AppCredentials', () => {
  it('accepts an app key and secret and keeps other fields', () => {
    const result = parseJson(
      '{"app_key":"key","app_secret":"secret","service_id":"7"}',
      AppCredentials,
    );

    expect(result).toEqual({
      ok: true,
      value: { app_key: 'key', app_secret: 'secret', service_id: '7' },
    });
  });

  it('names a missing or empty credential', () => {
    expect(parseJson('{"app_key":""}', AppCredentials)).toEqual({
      ok: false,
      problems: ['app_key: must not be empty', 'app_secret: missing'],
    });
  });
});

describe('Function: parseJson with TikTokEnvelope', () => {
  it('accepts an error answer without data', () => {
    const result = parseJson(
      '{"code":36004005,"message":"can not find related auth record"}',
      TikTokEnvelope,
    );

    expect(result).toEqual({
      ok: true,
      value: { code: 36004005, message: 'can not find related auth record' },
    });
  });

  it('requires a numeric code', () => {
    expect(parseJson('{"message":"x"}', TikTokEnvelope)).toEqual({
      ok: false,
      problems: ['code: missing'],
    });
    expect(parseJson('{"code":"zero"}', TikTokEnvelope)).toEqual({
      ok: false,
      problems: ['code: must be a number'],
    });
  });

  it('reads a code sent as a string of digits as its number', () => {
    expect(parseJson('{"code":"36004005"}', TikTokEnvelope)).toEqual({
      ok: true,
      value: { code: 36004005 },
    });
  });
});

describe('Function: describeIssue', () => {
  it('names unknown fields at the top level without a path', () => {
    expect(parseJson('{"a":1,"b":2}', z.strictObject({ a: z.number() }))).toEqual({
      ok: false,
      problems: ["unknown field 'b'"],
    });
  });

  it('names unknown fields inside an object with their path', () => {
    expect(parseJson('{"x":{"a":1,"b":2}}', z.object({ x: z.strictObject({}) }))).toEqual({
      ok: false,
      problems: ["x: unknown fields 'a', 'b'"],
    });
  });

  it('uses "an" before a vowel', () => {
    expect(parseJson('{"a":1}', z.object({ a: z.array(z.string()) }))).toEqual({
      ok: false,
      problems: ['a: must be an array'],
    });
  });

  it('says "invalid" where the schema gives no reason', () => {
    expect(parseJson('{"a":true}', z.object({ a: z.union([z.string(), z.number()]) }))).toEqual({
      ok: false,
      problems: ['a: invalid'],
    });
  });

  it('keeps the reason the schema gives', () => {
    const issue = {
      code: 'custom' as const,
      path: ['data', 'open_id'],
      message: 'must look like an open id',
      input: 'whatever',
    };

    expect(describeIssue(issue, {})).toBe('data.open_id: must look like an open id');
  });

  it('tells missing from wrong when the input is not an object along the path', () => {
    const issue = {
      code: 'invalid_type' as const,
      expected: 'string' as const,
      path: ['data', 'access_token'],
      message: 'Invalid input',
      input: undefined,
    };

    expect(describeIssue(issue, { data: 'text' })).toBe('data.access_token: missing');
    expect(describeIssue(issue, { data: { access_token: 1 } })).toBe(
      'data.access_token: must be a string',
    );
  });
});

describe('Function: expiresAt', () => {
  it('turns epoch seconds into an ISO 8601 time', () => {
    expect(expiresAt(1_722_342_011)).toBe('2024-07-30T12:20:11.000Z');
  });
});
