import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, link, open, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { StoredFirstToken } from '../onboarding/connect.js';
import { SecretStoreError } from '../shared/errors.js';
import { FileTokenStore } from './file-store.js';

/**
 * Stores a first token in a local file, as FileTokenStore keeps tokens: an existing token is
 * replaced through `<file>.pending` and kept as `<file>.previous`; a new file is written to a
 * temporary name and linked into place, which fails rather than overwrite a file that appeared
 * meanwhile.
 */
export async function storeFirstTokenFile(path: string, raw: string): Promise<StoredFirstToken> {
  const store = new FileTokenStore();
  if (await createExclusively(path, raw)) {
    const { current } = await store.read(path);
    return { name: path, versionId: current.versionId, created: true };
  }
  const { current } = await store.read(path);
  const outcome = await store.replace(path, raw, current.versionId);
  if (!outcome.stored) {
    throw new SecretStoreError(`token file ${path} changed while the new token was written`);
  }
  return { name: path, versionId: outcome.versionId, created: false };
}

/**
 * Fails unless a token file can be written at `path`. Checked before the code is exchanged:
 * a code works once, so finding out afterwards would lose the token.
 */
export async function checkTokenFileWritable(path: string): Promise<void> {
  try {
    await access(dirname(path), constants.W_OK);
  } catch (error) {
    throw fileError(path, 'cannot be written', error);
  }
}

/** True when the file was created; false when it already existed. */
async function createExclusively(path: string, content: string): Promise<boolean> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const file = await open(temp, 'wx', 0o600);
    try {
      await file.writeFile(content, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    try {
      await link(temp, path);
      return true;
    } finally {
      await unlink(temp);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw fileError(path, 'cannot be written', error);
  }
}

function fileError(path: string, what: string, error: unknown): SecretStoreError {
  const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
  return new SecretStoreError(`token file ${path} ${what} (${code})`, { cause: error });
}
