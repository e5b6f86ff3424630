// A shop's token in a local file for the commands, written as the Secrets Manager store writes:
// pending, compare-and-swap, previous and kept beside it, never half a token.
import { createHash, randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import {
  type FileHandle,
  link,
  lstat,
  open,
  readlink,
  realpath,
  rename,
  stat,
  unlink,
} from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { stripByteOrderMark } from '../onboarding/destination.js';
import { SecretStoreError } from '../shared/errors.js';
import {
  type StoredToken,
  type StoredVersion,
  storedToken,
  type TokenStore,
  type WriteOutcome,
} from '../shared/secrets-store.js';
import { MAX_STORED_BYTES } from '../shared/token.js';

/** Longest OS error text quoted in a message. */
const MAX_OS_ERROR_LENGTH = 200;
/** Symbolic links followed to reach a token file, at most. */
const MAX_LINKS = 8;

/**
 * A token kept in a local JSON file, for the local commands. It mirrors the Secrets Manager
 * store: a new token is first written beside the file as `<file>.pending`, then renamed over the
 * file only if the file still holds the token it was based on; the replaced content is kept as
 * `<file>.previous`. Every write is a temp file plus rename, so a crash never leaves half a token.
 *
 * A symbolic link is followed: its target is replaced, the link stays. Call `prepareWrite`
 * before asking TikTok for a token: it proves the folder can be written and reserves a recovery
 * file there, owner-only, so that a token TikTok issued is kept even if the write fails later
 * (a folder made read-only meanwhile, a full disk). `release` removes an unused reservation.
 */
export class FileTokenStore implements TokenStore {
  readonly #reserved = new Map<string, { readonly path: string; readonly file: FileHandle }>();

  async read(path: string): Promise<StoredToken> {
    const target = await tokenFileTarget(path);
    const current = await readVersion(target, path);
    if (current === undefined) throw new SecretStoreError(`token file ${path} does not exist`);
    const [pending, kept] = await Promise.all([
      readVersion(`${target}.pending`),
      this.readKept(path),
    ]);
    return storedToken(current, pending, kept);
  }

  /** The current content, or undefined when there is no file yet. */
  async readIfExists(path: string): Promise<StoredVersion | undefined> {
    return readVersion(await tokenFileTarget(path), path);
  }

  /**
   * Fails unless a token file can be written at `path` (following a link): not a folder, and its
   * folder takes new files. Reserves the recovery file that `replace` and `create` fall back to.
   */
  async prepareWrite(path: string): Promise<void> {
    const target = await tokenFileTarget(path);
    try {
      const found = await stat(target);
      if (found.isDirectory()) throw new SecretStoreError(`token file ${path} is a folder`);
      if (!found.isFile()) throw new SecretStoreError(`token file ${path} is not a regular file`);
    } catch (error) {
      if (error instanceof SecretStoreError) throw error;
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw fileError(`token file ${path} cannot be checked`, error);
      }
    }
    if (this.#reserved.has(target)) return;
    const recovery = recoveryPathFor(target);
    let file: FileHandle;
    try {
      file = await open(recovery, 'wx', 0o600);
    } catch (error) {
      throw fileError(`token file ${path} cannot be written`, error);
    }
    this.#reserved.set(target, { path: recovery, file });
  }

  /** Closes and removes the recovery files that were not needed. */
  async release(): Promise<void> {
    const reserved = [...this.#reserved.values()];
    this.#reserved.clear();
    await Promise.all(
      reserved.map(async ({ path, file }) => {
        await file.close().catch(() => {});
        await unlink(path).catch(() => {});
      }),
    );
  }

  async replace(path: string, raw: string, basedOnVersionId: string): Promise<WriteOutcome> {
    const target = await tokenFileTarget(path);
    try {
      await writeAtomically(`${target}.pending`, raw);
      return await this.#promote(target, versionOf(raw), basedOnVersionId);
    } catch (error) {
      throw await this.#keep(path, target, raw, error);
    }
  }

  async promote(path: string, versionId: string, basedOnVersionId: string): Promise<WriteOutcome> {
    return this.#promote(await tokenFileTarget(path), versionId, basedOnVersionId);
  }

  /** `<file>.kept`: the latest answer that was kept but not made current. */
  async keep(path: string, raw: string): Promise<string> {
    const target = await tokenFileTarget(path);
    try {
      await writeAtomically(`${target}.kept`, raw);
    } catch (error) {
      throw await this.#keep(path, target, raw, error);
    }
    return versionOf(raw);
  }

  /** `<file>.kept`, with its modification time as when it was written. */
  async readKept(path: string): Promise<StoredVersion | undefined> {
    const target = await tokenFileTarget(path);
    const kept = await readVersion(`${target}.kept`);
    if (kept === undefined) return undefined;
    return { ...kept, createdAt: (await stat(`${target}.kept`)).mtimeMs };
  }

  /**
   * Writes a new token file; a file that appeared meanwhile is left alone (answers undefined).
   * Written to a temporary name and linked into place, so it never overwrites.
   */
  async create(path: string, raw: string): Promise<string | undefined> {
    const target = await tokenFileTarget(path);
    const temp = tempPathFor(target);
    try {
      await writeFile(temp, raw, 'wx');
      try {
        await link(temp, target);
      } finally {
        await unlink(temp);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
      throw await this.#keep(path, target, raw, error);
    }
    await this.#consumeReservation(target);
    return versionOf(raw);
  }

  async #promote(
    target: string,
    versionId: string,
    basedOnVersionId: string,
  ): Promise<WriteOutcome> {
    const current = await readVersion(target);
    if (current?.versionId === versionId) return { stored: true, versionId };
    const pending = await readVersion(`${target}.pending`);
    // Another writer's pending token, or a current one that moved on: theirs stands.
    if (pending?.versionId !== versionId)
      return { stored: false, currentVersionId: current?.versionId };
    if (current?.versionId !== basedOnVersionId) {
      // Kept, not deleted (one file per version): nothing TikTok issued is ever thrown away.
      await renameOrFail(`${target}.pending`, `${target}.superseded-${versionId.slice(0, 12)}`);
      return { stored: false, currentVersionId: current?.versionId };
    }
    await writeAtomically(`${target}.previous`, current.raw);
    await renameOrFail(`${target}.pending`, target);
    await this.#consumeReservation(target);
    return { stored: true, versionId };
  }

  /** The token is in place: the reservation is not needed any more. */
  async #consumeReservation(target: string): Promise<void> {
    const reserved = this.#reserved.get(target);
    if (reserved === undefined) return;
    this.#reserved.delete(target);
    await reserved.file.close().catch(() => {});
    await unlink(reserved.path).catch(() => {});
  }

  /**
   * TikTok's answer could not be written where it belongs: it goes into the reserved recovery
   * file (open since before TikTok was called), or else a new one beside the file. The error
   * names both places and the OS error; only when neither can be written is the token lost.
   */
  async #keep(
    path: string,
    target: string,
    raw: string,
    error: unknown,
  ): Promise<SecretStoreError> {
    const why = osError(error);
    const reserved = this.#reserved.get(target);
    this.#reserved.delete(target);
    let kept: string | undefined;
    let keepError: unknown;
    try {
      if (reserved !== undefined) {
        try {
          await reserved.file.truncate(0);
          await reserved.file.write(raw, 0, 'utf8');
          await reserved.file.sync();
        } finally {
          await reserved.file.close();
        }
        kept = reserved.path;
      } else {
        const recovery = recoveryPathFor(target);
        await writeFile(recovery, raw, 'wx');
        kept = recovery;
      }
    } catch (failure) {
      keepError = failure;
    }
    return kept === undefined
      ? new SecretStoreError(
          `token file ${path} could not be written (${why}), nor could a recovery file beside it (${osError(keepError)}): the new token is lost and the seller must authorize the app again`,
          { cause: error },
        )
      : new SecretStoreError(
          `token file ${path} could not be written (${why}); TikTok's answer is kept in ${kept} (owner-only): once the folder can be written, move it into place with: mv '${kept}' '${target}'`,
          { cause: error },
        );
  }
}

/** Where the token is: `path`, or the file a symbolic link at `path` points to (missing or not). */
export async function tokenFileTarget(path: string): Promise<string> {
  let current = resolve(path);
  for (let hops = 0; hops < MAX_LINKS; hops++) {
    let isLink: boolean;
    try {
      isLink = (await lstat(current)).isSymbolicLink();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return current;
      throw fileError(`token file ${path} cannot be checked`, error);
    }
    if (!isLink) {
      // Also resolves links among the folders, so that pending and previous files sit beside it.
      return realpath(current).catch(() => current);
    }
    current = resolve(dirname(current), await readlink(current));
  }
  throw new SecretStoreError(`token file ${path} is a chain of more than ${MAX_LINKS} links`);
}

function versionOf(raw: string): string {
  return createHash('sha256').update(raw).digest('hex');
}

/**
 * A byte-order mark is dropped (JSON refuses it); CRLF line ends are JSON whitespace already.
 * Only a regular file of at most MAX_STORED_BYTES is read, as a secret holds: a FIFO would block
 * the read forever and a device or a huge file would fill the memory, and all of them before
 * TikTok is called, not after.
 */
async function readVersion(path: string, shownAs = path): Promise<StoredVersion | undefined> {
  let file: FileHandle;
  try {
    // Non-blocking, so that opening a FIFO returns at once instead of waiting for a writer.
    file = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw unreadable(shownAs, error);
  }
  try {
    const found = await file.stat();
    if (!found.isFile()) {
      throw new SecretStoreError(
        `token file ${shownAs} is not a regular file (${fileKind(found)}); give the path of the JSON file that holds the token`,
      );
    }
    // Read one byte more than allowed: a file that grew past the limit is caught too.
    const buffer = Buffer.alloc(MAX_STORED_BYTES + 1);
    const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
    if (found.size > MAX_STORED_BYTES || bytesRead > MAX_STORED_BYTES) {
      throw new SecretStoreError(
        `token file ${shownAs} holds ${Math.max(found.size, bytesRead)} bytes, more than the ${MAX_STORED_BYTES} a token file may (TikTok's answer is about 1 KB); it was not read`,
      );
    }
    const raw = stripByteOrderMark(buffer.subarray(0, bytesRead).toString('utf8'));
    return { versionId: versionOf(raw), raw };
  } catch (error) {
    throw error instanceof SecretStoreError ? error : unreadable(shownAs, error);
  } finally {
    await file.close();
  }
}

function unreadable(shownAs: string, error: unknown): SecretStoreError {
  const code = (error as NodeJS.ErrnoException).code;
  return new SecretStoreError(`token file ${shownAs} cannot be read (${code ?? 'unknown error'})`, {
    cause: error,
  });
}

function fileKind(found: Stats): string {
  if (found.isDirectory()) return 'a folder';
  if (found.isFIFO()) return 'a FIFO';
  if (found.isCharacterDevice() || found.isBlockDevice()) return 'a device';
  if (found.isSocket()) return 'a socket';
  return 'not a file';
}

function recoveryPathFor(target: string): string {
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${target}.recovery-${stamp}-${randomBytes(3).toString('hex')}`;
}

function tempPathFor(path: string): string {
  return `${path}.${randomBytes(6).toString('hex')}.tmp`;
}

/** Tokens are secrets: owner-only permissions, flushed to disk before they replace anything. */
async function writeAtomically(path: string, content: string): Promise<void> {
  const temp = tempPathFor(path);
  await writeFile(temp, content, 'wx');
  await renameOrFail(temp, path);
}

async function writeFile(path: string, content: string, flags: 'wx'): Promise<void> {
  let file: FileHandle;
  try {
    file = await open(path, flags, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw error;
    throw fileError(`${path} cannot be created`, error);
  }
  try {
    await file.writeFile(content, 'utf8');
    await file.sync();
  } catch (error) {
    await file.close().catch(() => {});
    await unlink(path).catch(() => {});
    throw fileError(`${path} cannot be written`, error);
  }
  await file.close();
}

async function renameOrFail(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    throw fileError(`${from} cannot be renamed to ${to}`, error);
  }
}

/** The OS error as a person reads it: code and text, bounded. */
function osError(error: unknown): string {
  if (error instanceof SecretStoreError) return error.message.slice(0, MAX_OS_ERROR_LENGTH * 2);
  const { code, message } = (error ?? {}) as NodeJS.ErrnoException;
  const text = typeof message === 'string' ? message : String(error);
  const bounded =
    text.length > MAX_OS_ERROR_LENGTH ? `${text.slice(0, MAX_OS_ERROR_LENGTH)}…` : text;
  return code === undefined || bounded.startsWith(code) ? bounded : `${code}: ${bounded}`;
}

function fileError(what: string, error: unknown): SecretStoreError {
  return new SecretStoreError(`${what} (${osError(error)})`, { cause: error });
}
