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

  it('a small $INDEX_ALLOCATION (40 records in one run) is read in one request; a large one node by node', async () => {
    for (const [name, dataSize, requests] of [
      ['ntfs-4k', 163840, 1],
      ['ntfs-512', 1249280, 55], // 1.2 MB over 55 runs, more than the one read's 256 KiB: a read per node
    ] as const) {
      const stats = newIoStats();
      const fs = await NtfsFileSystem.open(
        counted(gunzipFile(path.join(FIXTURES, 'fs', `${name}.img.gz`)), stats),
      );
      const many = await fs.lookup('/many');
      const r0 = stats.reads;
      const b0 = stats.bytesRead;
      const names = await fs.listNames(many);
      expect(names.names.length, name).toBeGreaterThan(500);
      // The directory's record is cached by the lookup: what the listing reads is its index records.
      if (requests === 1) {
        expect(stats.reads - r0, name).toBe(1);
        expect(stats.bytesRead - b0, name).toBe(dataSize);
      } else expect(stats.reads - r0, name).toBeGreaterThan(requests);
    }
  });

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
