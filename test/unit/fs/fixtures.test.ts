// NTFS and FAT volumes made by mkntfs + ntfs-3g and mkfs.fat + mtools read as those tools wrote them
// (scripts/fixtures/fs.sh records the answers from the tools' side).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../src/errors.js';
import { FatFileSystem } from '../../../src/fs/fat/fat.js';
import type { FileSystem, FsEntry } from '../../../src/fs/file-system.js';
import { NtfsFileSystem } from '../../../src/fs/ntfs/ntfs.js';
import { openFileSystem } from '../../../src/fs/open-fs.js';
import { newIoStats } from '../../../src/io/block-device.js';
import { MemoryDevice } from '../../../src/io/memory-device.js';
import { FIXTURES } from '../../helpers/env.js';
import { readWhole } from '../../helpers/file-read.js';
import { gunzipFile } from '../../helpers/gunzip.js';

interface Answer {
  label: string;
  entries: {
    path: string;
    type: 'file' | 'directory';
    size?: number;
    sha256?: string;
    streams?: Record<string, { size: number; sha256: string }>;
  }[];
}

const dir = path.join(FIXTURES, 'fs');
const answer = (name: string): Answer => JSON.parse(readFileSync(path.join(dir, `${name}.json`), 'utf8'));
const image = (name: string) => gunzipFile(path.join(dir, `${name}.img.gz`));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function walk(fs: FileSystem, skipSystem: boolean): Promise<Map<string, FsEntry>> {
  const out = new Map<string, FsEntry>();
  const rec = async (d: FsEntry, depth: number) => {
    expect(depth).toBeLessThan(32);
    for (const e of await fs.list(d)) {
      if (skipSystem && d.path === '/' && e.name.startsWith('$')) continue;
      out.set(e.path, e);
      if (e.isDirectory) await rec(e, depth + 1);
    }
  };
  await rec(await fs.root(), 0);
  return out;
}

async function readAll(fs: FileSystem, e: FsEntry, stream?: string): Promise<Uint8Array> {
  return readWhole(await fs.openFile(e, stream));
}

const volumes: { name: string; type: string }[] = [
  { name: 'ntfs-512', type: 'ntfs' },
  { name: 'ntfs-4k', type: 'ntfs' },
  { name: 'fat12', type: 'fat12' },
  { name: 'fat16', type: 'fat16' },
  { name: 'fat32', type: 'fat32' },
  { name: 'fat16-4k', type: 'fat16' },
];

describe('file-system fixtures — listings and contents equal what the writing tools recorded', () => {
  for (const v of volumes) {
    it(`${v.name}: every directory, file, size, content and stream`, async () => {
      const want = answer(v.name);
      const fs = await openFileSystem(new MemoryDevice(image(v.name)));
      expect(fs.type).toBe(v.type);
      expect(fs.label).toBe(want.label);
      const got = await walk(fs, v.type === 'ntfs');
      expect([...got.keys()].sort()).toEqual(want.entries.map((e) => e.path).sort());
      for (const w of want.entries) {
        const e = got.get(w.path)!;
        expect(e.isDirectory, w.path).toBe(w.type === 'directory');
        if (w.type !== 'file') continue;
        expect(e.size, w.path).toBe(w.size);
        expect(sha(await readAll(fs, e)), w.path).toBe(w.sha256);
        for (const [name, s] of Object.entries(w.streams ?? {})) {
          expect(e.streams.find((x) => x.name === name)?.size).toBe(s.size);
          expect(sha(await readAll(fs, e, name))).toBe(s.sha256);
        }
      }
    });
  }
});

describe('path lookup — Windows rules', () => {
  it('is case-insensitive and takes / or \\ separators, on NTFS and FAT', async () => {
    for (const name of ['ntfs-512', 'fat32']) {
      const fs = await openFileSystem(new MemoryDevice(image(name)));
      const a = await fs.lookup('/EFI/Microsoft/Boot/BCD');
      const b = await fs.lookup('efi\\MICROSOFT\\boot\\bcd');
      expect(b.path).toBe(a.path);
      expect(b.size).toBe(24576);
      await expect(fs.lookup('/EFI/nope')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
      await expect(fs.lookup('/tiny.txt/x')).rejects.toMatchObject({ code: 'NOT_A_DIRECTORY' });
    }
  });

  it('finds FAT files by their 8.3 alias too', async () => {
    const fs = await openFileSystem(new MemoryDevice(image('fat16')));
    const long = await fs.lookup('/MixedCase Long Name.Text');
    expect(long.shortName).toMatch(/^MIXEDC~\d\.TEX$/);
    expect((await fs.lookup(`/${long.shortName}`)).path).toBe(long.path);
  });

  it('NTFS: finding a file in a 700-entry directory reads a handful of records, not the MFT', async () => {
    const stats = newIoStats();
    const fs = await NtfsFileSystem.open(new MemoryDevice(image('ntfs-512'), { stats }));
    const before = stats.bytesRead;
    const e = await fs.lookup('/many/file-0650.txt');
    expect(e.size).toBe(4);
    // boot sector, $UpCase (128 KiB), root and 'many' records and index blocks: far less than the MFT (> 700 KiB).
    expect(stats.bytesRead - before).toBeLessThan(200 * 1024);
  });
});

describe('NTFS features — ntfs.md §3.1, §5, §6', () => {
  it('reads a file whose attributes spill into extension records through $ATTRIBUTE_LIST', async () => {
    const fs = await NtfsFileSystem.open(new MemoryDevice(image('ntfs-512')));
    const e = await fs.lookup('/linked.txt');
    const st = await fs.stat(e);
    const attrs = st.attributes as { type: string; record: number }[];
    expect(attrs.filter((a) => a.type === '$FILE_NAME').length).toBe(41);
    expect(new Set(attrs.map((a) => a.record)).size).toBeGreaterThan(1);
    expect(
      (await fs.lookup('/links/a-rather-long-hard-link-name-number-40-to-overflow-the-record.txt')).id,
    ).toBe(e.id);
  });

  it('reads a fragmented file run by run', async () => {
    const fs = await NtfsFileSystem.open(new MemoryDevice(image('ntfs-512')));
    const st = await fs.stat(await fs.lookup('/frag.bin'));
    const data = (st.attributes as { type: string; runCount?: number }[]).find((a) => a.type === '$DATA')!;
    expect(data.runCount).toBeGreaterThan(1);
  });

  it('reads LZNT1-compressed and sparse files', async () => {
    const fs = await NtfsFileSystem.open(new MemoryDevice(image('ntfs-512')));
    const st = await fs.stat(await fs.lookup('/comp/text.txt'));
    expect(
      (st.attributes as { type: string; compressed: boolean }[]).find((a) => a.type === '$DATA')?.compressed,
    ).toBe(true);
    const sp = await fs.stat(await fs.lookup('/sparse.bin'));
    const runs = (sp.attributes as { type: string; runs?: { lcn: number | null }[] }[]).find(
      (a) => a.type === '$DATA',
    )!.runs!;
    expect(runs.some((r) => r.lcn === null)).toBe(true);
  });

  it('lists a hard-linked file under both names', async () => {
    const fs = await NtfsFileSystem.open(new MemoryDevice(image('ntfs-512')));
    const a = await fs.lookup('/tiny.txt');
    const b = await fs.lookup('/Boot/tiny-link.txt');
    expect(b.id).toBe(a.id);
  });

  it('reports the volume version and state', async () => {
    const fs = await NtfsFileSystem.open(new MemoryDevice(image('ntfs-512')));
    expect(fs.volumeInfo).toMatchObject({ major: 3, minor: 1, dirty: false });
  });
});

describe('FAT features', () => {
  it('warns when the FAT copies differ and reads the first', async () => {
    const fs = await FatFileSystem.open(new MemoryDevice(image('fat16-fatdiff')));
    expect(fs.warnings.map((w) => w.code)).toContain('FAT_COPIES_DIFFER');
    const clean = await FatFileSystem.open(new MemoryDevice(image('fat16')));
    expect(clean.warnings).toEqual([]);
  });

  it('follows a fragmented chain', async () => {
    const fs = await FatFileSystem.open(new MemoryDevice(image('fat16')));
    const st = await fs.stat(await fs.lookup('/c-fragmented.bin'));
    expect((st.clusterRuns as unknown[]).length).toBeGreaterThan(1);
  });

  it('reports FSInfo on FAT32', async () => {
    const fs = await FatFileSystem.open(new MemoryDevice(image('fat32')));
    expect(fs.volumeInfo.fsInfoFreeClusters).toBeGreaterThan(0);
  });
});

describe('hostile volumes — every failure is a BootprobeError', () => {
  const rng = (seed: number) => () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed;
  };
  for (const name of ['ntfs-512', 'fat16', 'fat32']) {
    it(`${name}: 120 seeded mutations of the metadata area, then a full walk`, async () => {
      const base = image(name);
      const next = rng(name.length * 7919);
      for (let i = 0; i < 120; i++) {
        const b = base.slice();
        const area = name.startsWith('ntfs') ? 6 * 1024 * 1024 : 512 * 1024;
        for (let k = 0; k < 1 + (next() % 16); k++) b[next() % area] = next() & 0xff;
        try {
          const fs = await openFileSystem(new MemoryDevice(b));
          const all = await walk(fs, false);
          for (const e of [...all.values()].slice(0, 40)) if (!e.isDirectory) await readAll(fs, e);
        } catch (e) {
          if (!(e instanceof BootprobeError)) throw e;
        }
      }
    });
    it(`${name}: truncated volumes`, async () => {
      const base = image(name);
      for (const cut of [0, 100, 512, 4096, 65536, base.length >> 2, base.length >> 1]) {
        try {
          const fs = await openFileSystem(new MemoryDevice(base.slice(0, cut)));
          await walk(fs, false);
        } catch (e) {
          if (!(e instanceof BootprobeError)) throw e;
        }
      }
    });
  }
});
