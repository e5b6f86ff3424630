/**
 * The check that nothing secret gets out: a token, an authorization code, the app secret or the
 * signing key, in any encoding, in what a run printed, answered, threw or published. Each test
 * checks its own output (an invocation of a LocalDeployment started with `leakCheck`, or an
 * `afterEach` over what the test captured), so a test run alone is checked as well.
 */
import { REFRESH_PATH } from '../local/endpoints/tiktok.js';

/** Text that gives a secret away whatever its value: a query with one, TikTok's refresh URL. */
const TELLTALES = ['app_secret=', 'refresh_token=', REFRESH_PATH];

/** How a secret may show up: as is, URL-encoded, JSON-escaped, base64, base64url, hex. */
export function encodingsOf(secret: string): Record<string, string> {
  return {
    plain: secret,
    'URL-encoded': encodeURIComponent(secret),
    'JSON-escaped': JSON.stringify(secret).slice(1, -1),
    base64: Buffer.from(secret).toString('base64').replace(/=+$/, ''),
    base64url: Buffer.from(secret).toString('base64url'),
    hex: Buffer.from(secret).toString('hex'),
  };
}

/**
 * What in `output` gives a secret away, one line per find (the secret shortened, and how it was
 * encoded); empty when nothing does.
 */
export function leaksIn(output: string, secrets: Iterable<string>): string[] {
  const found: string[] = [];
  for (const secret of new Set(secrets)) {
    if (secret === '') continue;
    for (const [encoding, form] of Object.entries(encodingsOf(secret))) {
      if (output.includes(form)) found.push(`${secret.slice(0, 10)}… (${encoding})`);
    }
  }
  for (const telltale of TELLTALES) {
    if (output.includes(telltale)) found.push(`"${telltale}"`);
  }
  return found;
}

/** Thrown when output gives a secret away: a test that sees it fails. */
export class SecretLeakedError extends Error {
  override readonly name = 'SecretLeakedError';
}

/** Throws SecretLeakedError naming what in `output` gives a secret away, if anything does. */
export function assertNoLeaks(what: string, output: string, secrets: Iterable<string>): void {
  const leaks = leaksIn(output, secrets);
  if (leaks.length > 0) {
    throw new SecretLeakedError(`${what} gave a secret away: ${leaks.join(', ')}`);
  }
}
