// listNames (issue 7): the names and types of a directory from its $I30 index alone — the same entries, in the same
// order, as list() builds from every file's MFT record, for a fraction of the bytes.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type FileSystem, type FsEntry, nameEntry } from '../../../../src/fs/file-system.js';
import { NtfsFileSystem } from '../../../../src/fs/ntfs/ntfs.js';
import { type IoStats, newIoStats } from '../../../../src/io/block-device.js';
import { CachedDevice } from '../../../../src/io/cache.js';
import { MemoryDevice } from '../../../../src/io/memory-device.js';
import { FIXTURES } from '../../../helpers/env.js';
import { gunzipFile } from '../../../helpers/gunzip.js';

/** A device that counts the bytes asked of it (below the cache, as the file backend counts them). */
function counted(bytes: Uint8Array, stats: IoStats) {
  const inner = new MemoryDevice(bytes);
  return new CachedDevice({
    size: inner.size,
    sectorSize: inner.sectorSize,
    read: (o, l) => {
      stats.bytesRead += l;
      stats.reads++;
      return inner.read(o, l);
    },
    close: () => inner.close(),
  });
}

async function tree(fs: FileSystem, how: 'list' | 'listNames'): Promise<string[]> {
  const out: string[] = [];
  const rec = async (d: FsEntry, depth: number) => {
    expect(depth).toBeLessThan(32);
    const entries =
      how === 'list'
        ? await fs.list(d)
        : await fs.listNames!(d).then((l) => l.names.map((_, i) => nameEntry(d, l, i)));
    for (const e of entries) {
      out.push(`${e.path}${e.isDirectory ? '/' : ''} ${e.id}`);
      if (e.isDirectory && !e.path.startsWith('/$Extend')) await rec(e, depth + 1);
    }
  };
  await rec(await fs.root(), 0);
  return out;
}

describe('NTFS listNames — names and types from the index (ntfs.md §3.3 $FILE_NAME flags)', () => {
  for (const name of ['ntfs-512', 'ntfs-4k']) {
    it(`${name}: the same paths, types, record numbers and order as list(), reading far fewer bytes`, async () => {
      const bytes = gunzipFile(path.join(FIXTURES, 'fs', `${name}.img.gz`));
      const a = newIoStats();
      const b = newIoStats();
      const full = await tree(await NtfsFileSystem.open(counted(bytes, a)), 'list');
      const names = await tree(await NtfsFileSystem.open(counted(bytes, b)), 'listNames');
      expect(names).toEqual(full);
      expect(full.length).toBeGreaterThan(100);
      expect(b.bytesRead).toBeLessThan(a.bytesRead / 2);
    });
  }

  it('a file is not a directory to list', async () => {
    const fs = await NtfsFileSystem.open(
      new MemoryDevice(gunzipFile(path.join(FIXTURES, 'fs', 'ntfs-512.img.gz'))),
    );
    const root = await fs.root();
    const names = await fs.listNames(root);
    const file = nameEntry(root, names, names.directory.indexOf(0));
    expect(file.isDirectory).toBe(false);
    await expect(fs.listNames(file)).rejects.toMatchObject({ code: 'NOT_A_DIRECTORY' });
  });
});
