// The NTFS reader on volumes Windows made (../shared/corpus, MANIFEST.md): facts the manifest and docs/ntfs.md state,
// and internal consistency (every listed entry looks up by its path, with the size its stat shows). No tools here:
// the comparison with fls/icat is in test/interop/ntfs.test.ts.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FsEntry } from '../../src/fs/file-system.js';
import { ATTR } from '../../src/fs/ntfs/attribute.js';
import { type NtfsEntry, type NtfsFileSystem, openNtfs } from '../../src/fs/ntfs/ntfs.js';
import { decodeUpcase, isAsciiCompatible } from '../../src/fs/ntfs/upcase.js';
import { newIoStats } from '../../src/io/block-device.js';
import { MemoryDevice } from '../../src/io/memory-device.js';
import { SliceDevice } from '../../src/io/slice-device.js';
import { corpus } from '../helpers/env.js';

interface Volume {
  file: string;
  start: number;
  size: number;
}
const DFIR: Volume = { file: 'ntfs/dfirntfs-ntfs_index-mbr-disk.raw', start: 128 * 512, size: 59392 * 512 };
const SDI: Volume = { file: 'ntfs/msmedia-boot.sdi', start: 0x2000, size: 0x303c00 };

const open = (v: Volume, stats?: ReturnType<typeof newIoStats>) =>
  openNtfs(
    new SliceDevice(
      new MemoryDevice(new Uint8Array(readFileSync(corpus(v.file))), { stats }),
      v.start,
      v.size,
    ),
  );

async function walk(fs: NtfsFileSystem): Promise<NtfsEntry[]> {
  const out: NtfsEntry[] = [];
  const rec = async (d: FsEntry, depth: number) => {
    expect(depth).toBeLessThan(20);
    for (const e of await fs.list(d)) {
      out.push(e);
      if (e.isDirectory) await rec(e, depth + 1);
    }
  };
  await rec(await fs.root(), 0);
  return out;
}

async function upcase(fs: NtfsFileSystem): Promise<Uint16Array> {
  const r = await fs.openFile(await fs.lookup('/$UpCase'));
  return decodeUpcase(await r.read(0, r.size), 0);
}

/** Every listed entry looks up by its path (upper-cased: lookups are case-insensitive) to the same record. */
async function consistent(fs: NtfsFileSystem, entries: NtfsEntry[]) {
  for (const e of entries) {
    const again = await fs.lookup(e.path.toUpperCase());
    expect(again.id, e.path).toBe(e.id);
    expect(again.size, e.path).toBe(e.size);
    const st = await fs.stat(e);
    expect(st.record).toBe(e.id);
    const data = (
      st.attributes as {
        typeCode: string;
        name: string;
        lowestVcn?: number;
        dataSize?: number;
        valueLength?: number;
      }[]
    ).find((a) => a.typeCode === `0x${ATTR.DATA.toString(16)}` && a.name === '' && (a.lowestVcn ?? 0) === 0);
    if (!e.isDirectory && data) expect(data.dataSize ?? data.valueLength, e.path).toBe(e.size);
  }
}

describe('ntfs/dfirntfs-ntfs_index-mbr-disk.raw — Windows 8+ NTFS, the volume at LBA 128', () => {
  let fs: NtfsFileSystem;
  let entries: NtfsEntry[];
  beforeAll(async () => {
    fs = await open(DFIR);
    entries = await walk(fs);
  });

  it('label "Test index", 1 KiB records, 2 KiB clusters, $MFT at cluster 4949, NTFS 3.1, clean (MANIFEST, ntfs.md §1)', () => {
    expect(fs.label).toBe('Test index');
    expect(fs.boot).toMatchObject({
      recordSize: 1024,
      clusterSize: 2048,
      mftLcn: 4949,
      indexRecordSize: 4096,
    });
    expect(fs.volumeInfo).toMatchObject({ major: 3, minor: 1, dirty: false });
    // ntfs.md §7.1: flag 0x0080 is set on this clean Windows 8+ volume, and it is not "dirty".
    expect(fs.volumeInfo!.flags & 0x80).toBe(0x80);
    expect(fs.warnings).toEqual([]);
  });

  it('lists the root and the big directories; every entry looks up by path with the size stat shows', async () => {
    const root = await fs.list(await fs.root());
    expect(root.map((e) => e.name)).toEqual(expect.arrayContaining(['$MFT', '$Extend', '$UpCase']));
    const big = entries.filter((e) => e.path.startsWith('/test_dir/'));
    expect(big.length).toBeGreaterThan(5);
    await consistent(fs, entries);
  });

  it('names are POSIX (namespace 0), as ntfs.md §3.3 says of this volume', () => {
    const user = entries.filter((e) => !e.path.startsWith('/$'));
    expect(user.length).toBeGreaterThan(5);
    for (const e of user) expect(e.namespace, e.path).toBe(0);
  });

  it('a lookup reads a few KiB, not the MFT', async () => {
    const stats = newIoStats();
    const fs2 = await open(DFIR, stats);
    const deepest = entries.filter((e) => !e.isDirectory).sort((a, b) => b.path.length - a.path.length)[0]!;
    const before = { ...stats };
    await fs2.lookup(deepest.path);
    expect(stats.bytesRead - before.bytesRead).toBeLessThan(64 * 1024);
  });
});

describe('ntfs/msmedia-boot.sdi — the Microsoft-made NTFS volume at 0x2000 inside boot.sdi', () => {
  let fs: NtfsFileSystem;
  beforeAll(async () => {
    fs = await open(SDI);
  });

  it('label "Boot", 512-byte clusters, 1 KiB records (clusters per record 0x02, ntfs.md §1)', () => {
    expect(fs.label).toBe('Boot');
    expect(fs.boot).toMatchObject({ clusterSize: 512, recordSize: 1024 });
  });

  it('"System Volume Information" is listed once by its Win32 name with SYSTEM~1 as its short name (§3.3)', async () => {
    const root = await fs.list(await fs.root());
    const svi = root.filter((e) => e.name.toUpperCase().startsWith('SYSTEM'));
    expect(svi.map((e) => [e.name, e.shortName, e.namespace])).toEqual([
      ['System Volume Information', 'SYSTEM~1', 1],
    ]);
    expect((await fs.lookup('/system~1')).name).toBe('System Volume Information');
  });

  it('every entry looks up by path with the size stat shows', async () => {
    const entries = await walk(fs);
    expect(entries.length).toBeGreaterThan(10);
    await consistent(fs, entries);
  });
});

describe('$UpCase of Windows volumes — ntfs.md §4 collation', () => {
  it('both tables map ASCII as ASCII and nothing else into it (lookups of ASCII names may skip the table)', async () => {
    const [dfir, sdi] = await Promise.all([open(DFIR).then(upcase), open(SDI).then(upcase)]);
    expect(isAsciiCompatible(dfir)).toBe(true);
    expect(isAsciiCompatible(sdi)).toBe(true);
    // ntfs.md §4: the older (sdi) table differs from the Windows 8+ (dfir) one in 339 entries.
    let differ = 0;
    for (let i = 0; i < 65536; i++) if (dfir[i] !== sdi[i]) differ++;
    expect(differ).toBe(339);
  });
});
