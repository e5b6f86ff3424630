import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, rename, stat } from 'node:fs/promises';
import { SecretStoreError } from '../shared/errors.js';
import type {
  StoredToken,
  StoredVersion,
  TokenStore,
  WriteOutcome,
} from '../shared/secrets-store.js';

/**
 * A token kept in a local JSON file, for the local command. It mirrors the Secrets Manager store:
 * a new token is first written beside the file as `<file>.pending`, then renamed over the file
 * only if the file still holds the token it was based on; the replaced content is kept as
 * `<file>.previous`. Every write is a temp file plus rename, so a crash never leaves half a token.
 */
export class FileTokenStore implements TokenStore {
  async read(path: string): Promise<StoredToken> {
    const current = await readVersion(path);
    if (current === undefined) throw new SecretStoreError(`token file ${path} does not exist`);
    const pending = await readVersion(`${path}.pending`);
    return pending === undefined || pending.versionId === current.versionId
      ? { current }
      : { current, pending };
  }

  async replace(path: string, raw: string, basedOnVersionId: string): Promise<WriteOutcome> {
    await writeAtomically(`${path}.pending`, raw);
    return this.promote(path, versionOf(raw), basedOnVersionId);
  }

  async promote(path: string, versionId: string, basedOnVersionId: string): Promise<WriteOutcome> {
    const current = await readVersion(path);
    if (current?.versionId === versionId) return { stored: true, versionId };
    const pending = await readVersion(`${path}.pending`);
    // Another writer's pending token, or a current one that moved on: theirs stands.
    if (pending?.versionId !== versionId)
      return { stored: false, currentVersionId: current?.versionId };
    if (current?.versionId !== basedOnVersionId) {
      // Kept, not deleted (one file per version): nothing TikTok issued is ever thrown away.
      await rename(`${path}.pending`, `${path}.superseded-${versionId.slice(0, 12)}`);
      return { stored: false, currentVersionId: current?.versionId };
    }
    await writeAtomically(`${path}.previous`, current.raw);
    await rename(`${path}.pending`, path);
    return { stored: true, versionId };
  }

  /** `<file>.kept`: the latest answer that was kept but not made current. */
  async keep(path: string, raw: string): Promise<string> {
    await writeAtomically(`${path}.kept`, raw);
    return versionOf(raw);
  }

  async readKept(path: string): Promise<StoredVersion | undefined> {
    const kept = await readVersion(`${path}.kept`);
    if (kept === undefined) return undefined;
    return { ...kept, createdAt: (await stat(`${path}.kept`)).mtimeMs };
  }
}

function versionOf(raw: string): string {
  return createHash('sha256').update(raw).digest('hex');
}

async function readVersion(path: string): Promise<StoredVersion | undefined> {
  try {
    const raw = await readFile(path, 'utf8');
    return { versionId: versionOf(raw), raw };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new SecretStoreError(`token file ${path} cannot be read (${code ?? 'unknown error'})`, {
      cause: error,
    });
  }
}

/** Tokens are secrets: owner-only permissions, flushed to disk before they replace anything. */
async function writeAtomically(path: string, content: string): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const file = await open(temp, 'w', 0o600);
  try {
    await file.writeFile(content, 'utf8');
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
}
