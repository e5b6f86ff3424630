import { createHash } from 'node:crypto';
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileTokenStore } from '../../lambda/commands/file-store.js';
import { SecretStoreError } from '../../lambda/shared/errors.js';

/** A token document as the file holds it; `n` makes each one distinct. */
function token(n: number): string {
  return JSON.stringify({
    code: 0,
    message: 'success',
    data: {
      access_token: `TTS_AT_${n}`,
      access_token_expire_in: 1_900_000_000 + n,
      refresh_token: `TTS_RT_${n}`,
      refresh_token_expire_in: 4_841_467_787,
    },
  });
}

function versionOf(raw: string): string {
  return createHash('sha256').update(raw).digest('hex');
}

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

/** The error a promise rejects with. */
async function failureOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

describe('Class: FileTokenStore', () => {
  let dir: string;
  let file: string;
  /** Where a token that lost the compare-and-swap is kept: one file per version, never overwritten. */
  const superseded = (raw: string) => `${file}.superseded-${versionOf(raw).slice(0, 12)}`;
  const store = new FileTokenStore();

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'file-store-test-'));
    file = join(dir, 'shop-a.json');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('Method: read', () => {
    it('answers the file content with a version derived from it', async () => {
      await writeFile(file, token(1));

      const stored = await store.read(file);

      expect(stored).toEqual({ current: { raw: token(1), versionId: versionOf(token(1)) } });
    });

    it('refuses a file that does not exist, naming it', async () => {
      const read = store.read(join(dir, 'missing.json'));

      await expect(read).rejects.toBeInstanceOf(SecretStoreError);
      await expect(read).rejects.toThrow(`token file ${join(dir, 'missing.json')} does not exist`);
    });

    it('answers a pending file left by an interrupted write', async () => {
      // Prepare
      await writeFile(file, token(1));
      await writeFile(`${file}.pending`, token(2));

      // Act
      const stored = await store.read(file);

      // Assess
      expect(stored).toEqual({
        current: { raw: token(1), versionId: versionOf(token(1)) },
        pending: { raw: token(2), versionId: versionOf(token(2)) },
      });
    });

    it('ignores a pending file that holds the current token', async () => {
      await writeFile(file, token(1));
      await writeFile(`${file}.pending`, token(1));

      await expect(store.read(file)).resolves.toEqual({
        current: { raw: token(1), versionId: versionOf(token(1)) },
      });
    });

    it('refuses a folder in the token file’s place as a store error naming what it is', async () => {
      await mkdir(file);

      await expect(store.read(file)).rejects.toThrow(
        `token file ${file} is not a regular file (a folder)`,
      );
    });
  });

  describe('Method: replace', () => {
    it('replaces the file atomically and keeps the replaced token as <file>.previous', async () => {
      // Prepare
      await writeFile(file, token(1));

      // Act
      const outcome = await store.replace(file, token(2), versionOf(token(1)));

      // Assess
      expect(outcome).toEqual({ stored: true, versionId: versionOf(token(2)) });
      expect(await readFile(file, 'utf8')).toBe(token(2));
      expect(await readFile(`${file}.previous`, 'utf8')).toBe(token(1));
      expect((await readdir(dir)).sort()).toEqual(['shop-a.json', 'shop-a.json.previous']);
    });

    it('writes the token and its backup readable by the owner only', async () => {
      await writeFile(file, token(1), { mode: 0o644 });

      await store.replace(file, token(2), versionOf(token(1)));

      expect(await mode(file)).toBe(0o600);
      expect(await mode(`${file}.previous`)).toBe(0o600);
    });

    it('keeps the other writer’s file and moves ours to .superseded-<version> when the compare-and-swap is lost', async () => {
      // Prepare: another writer replaced token 1 with token 3 after we read token 1
      await writeFile(file, token(3));

      // Act
      const outcome = await store.replace(file, token(2), versionOf(token(1)));

      // Assess
      expect(outcome).toEqual({ stored: false, currentVersionId: versionOf(token(3)) });
      expect(await readFile(file, 'utf8')).toBe(token(3));
      expect(await readFile(superseded(token(2)), 'utf8')).toBe(token(2));
      expect(await mode(superseded(token(2)))).toBe(0o600);
      expect(await exists(`${file}.pending`)).toBe(false);
      expect(await exists(`${file}.previous`)).toBe(false);
    });

    it('keeps a token whose file disappeared as .superseded-<version>', async () => {
      const outcome = await store.replace(file, token(2), versionOf(token(1)));

      expect(outcome).toEqual({ stored: false, currentVersionId: undefined });
      expect(await readFile(superseded(token(2)), 'utf8')).toBe(token(2));
      expect(await exists(file)).toBe(false);
    });

    it('answers stored when the file already holds the same token', async () => {
      await writeFile(file, token(2));

      const outcome = await store.replace(file, token(2), versionOf(token(1)));

      expect(outcome).toEqual({ stored: true, versionId: versionOf(token(2)) });
      expect(await readFile(file, 'utf8')).toBe(token(2));
    });

    it('leaves no temporary file behind', async () => {
      await writeFile(file, token(1));

      await store.replace(file, token(2), versionOf(token(1)));
      await store.replace(file, token(3), versionOf(token(2)));

      expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
      expect(await readFile(file, 'utf8')).toBe(token(3));
      expect(await readFile(`${file}.previous`, 'utf8')).toBe(token(2));
    });
  });

  describe('Method: promote', () => {
    it('recovers a pending file found by read() and makes it current', async () => {
      // Prepare: an earlier run wrote token 2 as pending and stopped before the rename
      await writeFile(file, token(1));
      await writeFile(`${file}.pending`, token(2));
      const stored = await store.read(file);
      expect(stored.pending).toBeDefined();

      // Act
      const outcome = await store.promote(
        file,
        stored.pending?.versionId ?? '',
        stored.current.versionId,
      );

      // Assess
      expect(outcome).toEqual({ stored: true, versionId: versionOf(token(2)) });
      expect(await readFile(file, 'utf8')).toBe(token(2));
      expect(await readFile(`${file}.previous`, 'utf8')).toBe(token(1));
      await expect(store.read(file)).resolves.toEqual({
        current: { raw: token(2), versionId: versionOf(token(2)) },
      });
    });

    it('answers stored without a change when the version is already current', async () => {
      await writeFile(file, token(2));

      const outcome = await store.promote(file, versionOf(token(2)), versionOf(token(1)));

      expect(outcome).toEqual({ stored: true, versionId: versionOf(token(2)) });
      expect(await exists(`${file}.previous`)).toBe(false);
    });

    it('leaves another writer’s pending token alone', async () => {
      // Prepare: the pending file is not the version we ask to promote
      await writeFile(file, token(1));
      await writeFile(`${file}.pending`, token(3));

      // Act
      const outcome = await store.promote(file, versionOf(token(2)), versionOf(token(1)));

      // Assess
      expect(outcome).toEqual({ stored: false, currentVersionId: versionOf(token(1)) });
      expect(await readFile(file, 'utf8')).toBe(token(1));
      expect(await readFile(`${file}.pending`, 'utf8')).toBe(token(3));
    });

    it('answers not stored when there is no pending file', async () => {
      await writeFile(file, token(1));

      const outcome = await store.promote(file, versionOf(token(2)), versionOf(token(1)));

      expect(outcome).toEqual({ stored: false, currentVersionId: versionOf(token(1)) });
      expect(await readFile(file, 'utf8')).toBe(token(1));
    });

    it('moves the pending token to .superseded-<version> when the file moved on', async () => {
      await writeFile(file, token(3));
      await writeFile(`${file}.pending`, token(2));

      const outcome = await store.promote(file, versionOf(token(2)), versionOf(token(1)));

      expect(outcome).toEqual({ stored: false, currentVersionId: versionOf(token(3)) });
      expect(await readFile(file, 'utf8')).toBe(token(3));
      expect(await readFile(superseded(token(2)), 'utf8')).toBe(token(2));
      expect(await exists(`${file}.pending`)).toBe(false);
    });
  });

  describe('Method: keep', () => {
    it('writes the answer beside the token as <file>.kept, leaving the token alone', async () => {
      // Prepare
      await writeFile(file, token(1));

      // Act
      const versionId = await store.keep(file, token(2));

      // Assess
      expect(versionId).toBe(versionOf(token(2)));
      expect(await readFile(file, 'utf8')).toBe(token(1));
      expect(await readFile(`${file}.kept`, 'utf8')).toBe(token(2));
      expect(await mode(`${file}.kept`)).toBe(0o600);
      expect((await store.read(file)).pending).toBeUndefined();
    });

    it('answers the kept answer with its version and when it was written', async () => {
      await writeFile(file, token(1));
      await store.keep(file, token(2));

      const kept = await store.readKept(file);

      expect(kept).toMatchObject({ versionId: versionOf(token(2)), raw: token(2) });
      expect(kept?.createdAt).toBeGreaterThan(0);
    });

    it('answers no kept answer when there is none', async () => {
      await writeFile(file, token(1));

      expect(await store.readKept(file)).toBeUndefined();
    });
  });

  describe('a symbolic link', () => {
    it('is followed: the target is replaced atomically, the link stays, the backups sit beside the target', async () => {
      // Prepare: the token lives elsewhere, the link points at it
      const targetDir = join(dir, 'vault');
      await mkdir(targetDir);
      const target = join(targetDir, 'shop-a.real.json');
      await writeFile(target, token(1), { mode: 0o600 });
      await symlink(target, file);

      // Act
      const stored = await store.read(file);
      const outcome = await store.replace(file, token(2), stored.current.versionId);

      // Assess
      expect(outcome).toEqual({ stored: true, versionId: versionOf(token(2)) });
      expect((await lstat(file)).isSymbolicLink()).toBe(true);
      expect(await readlink(file)).toBe(target);
      expect(await readFile(target, 'utf8')).toBe(token(2));
      expect(await readFile(`${target}.previous`, 'utf8')).toBe(token(1));
      expect((await readdir(dir)).sort()).toEqual(['shop-a.json', 'vault']);
    });

    it('is followed through a relative link, and through a link whose target is not there yet', async () => {
      await symlink('shop-a.real.json', file);

      await expect(store.readIfExists(file)).resolves.toBeUndefined();
      expect(await store.create(file, token(1))).toBe(versionOf(token(1)));

      expect((await lstat(file)).isSymbolicLink()).toBe(true);
      expect(await readFile(join(dir, 'shop-a.real.json'), 'utf8')).toBe(token(1));
    });
  });

  it('refuses a loop of symbolic links, naming the path', async () => {
    await symlink(join(dir, 'b.json'), file);
    await symlink(file, join(dir, 'b.json'));

    await expect(store.read(file)).rejects.toThrow(
      `token file ${file} is a chain of more than 8 links`,
    );
  });

  describe('a file written by an editor', () => {
    it('is read without its UTF-8 byte-order mark, and with CRLF line ends kept as JSON whitespace', async () => {
      const crlf = token(1).replace(/,/g, ',\r\n');
      await writeFile(file, `\uFEFF${crlf}\r\n`);

      const stored = await store.read(file);

      expect(stored.current.raw).toBe(`${crlf}\r\n`);
      expect(JSON.parse(stored.current.raw)).toEqual(JSON.parse(token(1)));
    });
  });

  describe('Method: prepareWrite', () => {
    it('reserves one owner-only recovery file beside the token, which release removes', async () => {
      await writeFile(file, token(1));

      await store.prepareWrite(file);
      await store.prepareWrite(file);
      const reserved = (await readdir(dir)).filter((name) => name.includes('.recovery-'));
      const modes = await Promise.all(reserved.map((name) => mode(join(dir, name))));
      await store.release();

      expect(reserved).toHaveLength(1);
      expect(modes).toEqual([0o600]);
      expect(await readdir(dir)).toEqual(['shop-a.json']);
    });

    it('removes the reservation once the new token is in place', async () => {
      await writeFile(file, token(1));

      await store.prepareWrite(file);
      await store.replace(file, token(2), versionOf(token(1)));

      expect((await readdir(dir)).sort()).toEqual(['shop-a.json', 'shop-a.json.previous']);
    });

    it.each([
      ['a folder', async () => mkdir(file), 'is a folder'],
      ['in a folder that does not exist', async () => {}, 'cannot be written (ENOENT'],
    ])('refuses %s, naming the path', async (_, setup, expected) => {
      const path = expected.includes('ENOENT') ? join(dir, 'missing', 'shop-a.json') : file;
      await setup();

      await expect(store.prepareWrite(path)).rejects.toThrow(`token file ${path} ${expected}`);
    });
  });

  describe('when the write fails after TikTok answered', () => {
    it('keeps the answer in the reserved recovery file and names it with the OS error', async () => {
      // Prepare: a reservation, then the pending name taken by a folder: the write must fail
      await writeFile(file, token(1));
      await store.prepareWrite(file);
      await mkdir(`${file}.pending`);

      // Act
      const replacing = store.replace(file, token(2), versionOf(token(1)));

      // Assess
      const error = await failureOf(replacing);
      expect(error).toBeInstanceOf(SecretStoreError);
      const recovery = (await readdir(dir)).find((name) => name.includes('.recovery-')) ?? '';
      expect(error.message).toMatch(
        new RegExp(
          `^token file ${file} could not be written \\(.*EISDIR.*\\); TikTok's answer is kept in ${join(dir, recovery)} \\(owner-only\\)`,
        ),
      );
      expect(await readFile(join(dir, recovery), 'utf8')).toBe(token(2));
      expect(await mode(join(dir, recovery))).toBe(0o600);
      expect(await readFile(file, 'utf8')).toBe(token(1));
    });

    it('keeps the answer in a new recovery file when none was reserved', async () => {
      await writeFile(file, token(1));
      await mkdir(`${file}.pending`);

      const error = await failureOf(store.replace(file, token(2), versionOf(token(1))));

      const recovery = (await readdir(dir)).find((name) => name.includes('.recovery-')) ?? '';
      expect(error.message).toContain(`TikTok's answer is kept in ${join(dir, recovery)}`);
      expect(await readFile(join(dir, recovery), 'utf8')).toBe(token(2));
    });

    it('says the token is lost, with both OS errors, when no recovery file can be written either', async () => {
      const path = join(dir, 'gone', 'shop-a.json');

      const error = await failureOf(store.replace(path, token(2), versionOf(token(1))));

      expect(error.message).toMatch(
        /could not be written \(.*ENOENT.*\), nor could a recovery file beside it \(.*ENOENT.*\): the new token is lost/,
      );
      expect(error.message).not.toContain('TTS_');
    });
  });
});
