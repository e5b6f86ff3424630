import { UsageError } from '../shared/errors.js';

/** Far longer than any authorization code seen; the read stops there. */
export const MAX_AUTH_CODE_LENGTH = 512;

/** What an authorization code may look like: printable ASCII, no spaces. */
const AUTH_CODE = /^[\x21-\x7e]+$/;

export interface CodeInput extends AsyncIterable<string | Buffer> {
  readonly isTTY?: boolean;
}

/**
 * The first line of standard input, so that the code stays out of npm's command banner and the
 * shell history: piped in (`pbpaste | npm run authorize -- --auth-code-stdin …`) or pasted at
 * the prompt. Reads at most a few kilobytes and stops at the first line end.
 */
export async function readAuthCode(
  input: CodeInput,
  prompt: (text: string) => void,
): Promise<string> {
  if (input.isTTY === true) prompt('Paste the authorization code and press Enter: ');
  let text = '';
  for await (const chunk of input) {
    text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    if (text.includes('\n') || text.length > 8 * MAX_AUTH_CODE_LENGTH) break;
  }
  return checkAuthCode(text.split(/\r?\n/, 1)[0] ?? '', 'standard input');
}

/** The code, trimmed; refused when empty, oversized or not a code, without quoting it. */
export function checkAuthCode(raw: string, from: string): string {
  const code = raw.trim();
  if (code === '') throw new UsageError(`the authorization code from ${from} is empty`);
  if (code.length > MAX_AUTH_CODE_LENGTH || !AUTH_CODE.test(code)) {
    throw new UsageError(
      `the authorization code from ${from} is not one TikTok issues (at most ${MAX_AUTH_CODE_LENGTH} printable characters, no spaces)`,
    );
  }
  return code;
}
