// The FAT FileSystem (src/fs/file-system.ts contract) over the mkfs.fat + mtools fixtures, against the answers
// mdir / mtype / mshowfat / mlabel / fsck.fat wrote (scripts/fixtures/fat.sh); hostile volumes built in memory.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../../src/errors.js';
import { type FatEntry, FatFileSystem, fatUpper, openFat } from '../../../../src/fs/fat/fat.js';
import { fatEntryOffset } from '../../../../src/fs/fat/fat-table.js';
import type { FileSystem, FsEntry } from '../../../../src/fs/file-system.js';
import { newIoStats } from '../../../../src/io/index.js';
import { FAT_FIXTURES, type FatAnswerEntry, fatAnswer, fatDevice, fatImage } from './fat-fixtures.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function walk(fs: FileSystem): Promise<FatEntry[]> {
  const out: FatEntry[] = [];
  const rec = async (d: FsEntry, depth: number) => {
    if (depth > 40) throw new Error('directory tree deeper than 40');
    for (const e of (await fs.list(d)) as FatEntry[]) {
      out.push(e);
      if (e.isDirectory) await rec(e, depth + 1);
    }
  };
  await rec(await fs.root(), 0);
  return out;
}

/** Reads a whole file in 4000-byte pieces (not cluster aligned). */
async function readAll(fs: FileSystem, e: FsEntry): Promise<Uint8Array> {
  const r = await fs.openFile(e);
  const out = new Uint8Array(r.size);
  for (let o = 0; o < r.size; o += 4000) out.set(await r.read(o, Math.min(4000, r.size - o)), o);
  return out;
}

const minute = (d: Date | null) => d?.toISOString().slice(0, 16).replace('T', ' ') ?? null;
const parentOf = (p: string) => p.slice(0, p.lastIndexOf('/')) || '/';

async function expectError(p: Promise<unknown>, code: string, offset?: number): Promise<BootprobeError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BootprobeError);
  const be = err as BootprobeError;
  expect(be.code).toBe(code);
  if (offset !== undefined) expect(be.offset).toBe(offset);
  return be;
}

/** Sets cluster c's entry to `value` in both FAT copies of a FAT12/16/32 image. */
function setFat(img: Uint8Array, fs: FatFileSystem, c: number, value: number): void {
  const b = fs.bpb;
  const dv = new DataView(img.buffer, img.byteOffset);
  for (let k = 0; k < b.fatCount; k++) {
    const at = b.fatOffset + k * b.fatBytes + fatEntryOffset(b.type, c);
    if (b.type === 'fat32') dv.setUint32(at, value, true);
    else if (b.type === 'fat16') dv.setUint16(at, value, true);
    else {
      const w = dv.getUint16(at, true);
      dv.setUint16(at, c & 1 ? (w & 0x000f) | (value << 4) : (w & 0xf000) | value, true);
    }
  }
}

describe('listings and contents equal mdir / mtype / mshowfat — fatgen103 directories, LFN, chains', () => {
  for (const name of FAT_FIXTURES) {
    it(`${name}: every entry, in on-disk order, with names, 8.3 names, times, sizes, sha256`, async () => {
      const a = fatAnswer(name);
      // mtools writes 8.3 names in code page 850.
      const fs = await openFat(fatDevice(name), { codePage: 850 });
      expect(fs.type).toBe(a.type);
      expect(fs.warnings).toEqual([]);
      const ours = await walk(fs);
      const key = (e: { path: string }) => e.path;
      expect(ours.map(key).sort()).toEqual(a.entries.map(key).sort());
      // Order inside each directory is the on-disk order mdir prints.
      const order = (list: { path: string }[]) => {
        const m = new Map<string, string[]>();
        for (const e of list) m.set(parentOf(e.path), [...(m.get(parentOf(e.path)) ?? []), e.path]);
        return m;
      };
      expect(order(ours)).toEqual(order(a.entries));
      const byPath = new Map<string, FatAnswerEntry>(a.entries.map((e) => [e.path, e]));
      for (const e of ours) {
        const want = byPath.get(e.path)!;
        expect(e.name).toBe(want.name);
        expect(e.shortName ?? e.name).toBe(want.shortName);
        expect(e.isDirectory).toBe(want.type === 'directory');
        expect(minute(e.modified)).toBe(want.modified);
        if (!e.isDirectory) {
          expect(e.size).toBe(want.size);
          expect(sha(await readAll(fs, e))).toBe(want.sha256);
        }
      }
    });

    it(`${name}: label, serial, cluster geometry`, async () => {
      const a = fatAnswer(name);
      const fs = await openFat(fatDevice(name));
      expect(fs.label).toBe(a.label);
      expect(fs.volumeInfo).toMatchObject({
        type: a.type,
        clusterSize: a.clusterSize,
        clusterCount: a.clusterCount,
        serial: a.serial,
        rootLabel: a.label,
        fatCopiesDiffer: false,
        cleanShutdown: a.type === 'fat12' ? null : true,
        hardErrors: a.type === 'fat12' ? null : false,
      });
    });
  }

  it('the 320-entry directory spans several clusters and lists all of them', async () => {
    const fs = await openFat(fatDevice('fat12'));
    const many = await fs.lookup('/many');
    expect(await fs.list(many)).toHaveLength(320);
    const st = await fs.stat(many);
    expect(st.clusters as number).toBeGreaterThan(1);
  });

  it('the default code page is 437: the same OEM byte shows as "╘"', async () => {
    const fs = await openFat(fatDevice('fat16'));
    const e = await fs.lookup('/Système – ünïcødé ✓.txt');
    expect(e.shortName).toBe('SYST╘M~1.TXT');
  });
});

describe('path lookup — case-insensitive as Windows compares names', () => {
  it('long names in any case, any separator', async () => {
    const fs = await openFat(fatDevice('fat32'));
    expect((await fs.lookup('/efi/MICROSOFT/boot/bcd')).path).toBe('/EFI/Microsoft/Boot/BCD');
    expect((await fs.lookup('\\EFI\\BOOT\\BOOTX64.EFI')).path).toBe('/EFI/Boot/bootx64.efi');
    expect((await fs.lookup('EFI/Boot/')).path).toBe('/EFI/Boot');
    expect((await fs.lookup('/mixedcase LONG name.text')).name).toBe('MixedCase Long Name.Text');
    expect((await fs.lookup('/SYSTÈME – ÜNÏCØDÉ ✓.TXT')).name).toBe('Système – ünïcødé ✓.txt');
    expect((await fs.lookup('/DEEP/L1/L2/L3/L4/L5/L6/L7/L8/L9/L10/L11/L12/L13/LEAF.TXT')).size).toBe(5);
    expect((await fs.lookup('')).path).toBe('/');
    expect((await fs.lookup('/')).path).toBe('/');
  });

  it('8.3 names in any case', async () => {
    const fs = await openFat(fatDevice('fat16'));
    expect((await fs.lookup('/mixedc~1.tex')).name).toBe('MixedCase Long Name.Text');
    expect((await fs.lookup('/C-FRAG~1.BIN')).name).toBe('c-fragmented.bin');
    expect((await fs.lookup('/efi/micros~1/boot/BCD')).path).toBe('/EFI/Microsoft/Boot/BCD');
  });

  it('fatUpper maps character by character (no ß → SS)', () => {
    expect(fatUpper('straße ünï')).toBe('STRAßE ÜNÏ');
  });

  it('PATH_NOT_FOUND and NOT_A_DIRECTORY', async () => {
    const fs = await openFat(fatDevice('fat12'));
    await expectError(fs.lookup('/EFI/nothing'), 'PATH_NOT_FOUND');
    await expectError(fs.lookup('/lower.txt/x'), 'NOT_A_DIRECTORY');
    await expectError(fs.list(await fs.lookup('/lower.txt')), 'NOT_A_DIRECTORY');
    await expectError(fs.openFile(await fs.lookup('/EFI')), 'NOT_A_FILE');
    await expectError(fs.openFile(await fs.lookup('/lower.txt'), 'ads'), 'PATH_NOT_FOUND');
  });
});

describe('stat — the directory entry fields', () => {
  it('the fragmented file: runs equal mshowfat, entry offset, LFN entries, times, attributes', async () => {
    const img = fatImage('fat16');
    const fs = await openFat(fatDevice(img));
    const e = await fs.lookup('/c-fragmented.bin');
    const st = await fs.stat(e);
    const want = fatAnswer('fat16').entries.find((x) => x.path === '/c-fragmented.bin')!;
    const runs = st.clusterRuns as { cluster: number; count: number; offset: number }[];
    expect(runs.map((r) => [r.cluster, r.cluster + r.count - 1])).toEqual(want.chain);
    expect(runs[0]!.offset).toBe(fs.bpb.dataOffset + (runs[0]!.cluster - 2) * fs.bpb.clusterSize);
    expect(st).toMatchObject({
      shortName: 'C-FRAG~1.BIN',
      longName: 'c-fragmented.bin',
      attributes: '0x20',
      attributeNames: ['archive'],
      ntCaseFlags: { lowerBase: false, lowerExt: false },
      size: 90000,
      modified: '2021-03-04T05:06:08.000Z',
      lfnEntries: 2,
      chainLongerThanSize: false,
      firstCluster: want.chain[0]![0],
    });
    expect(st.clusters).toBe(Math.ceil(90000 / fs.bpb.clusterSize));
    expect(st.allocatedSize).toBe((st.clusters as number) * fs.bpb.clusterSize);
    const off = st.entryOffset as number;
    expect(new TextDecoder().decode(img.subarray(off, off + 11))).toBe('C-FRAG~1BIN');
    expect(st.lfnOffset).toBe(off - 64);
  });

  it('lower-case 8.3 names carry the NT case flags, without LFN entries', async () => {
    const fs = await openFat(fatDevice('fat12'));
    const cases = [
      ['/lower.txt', true, true],
      ['/lowbase.TXT', true, false],
      ['/UPBASE.txt', false, true],
      ['/UPPER.TXT', false, false],
    ] as const;
    for (const [p, base, ext] of cases) {
      const e = await fs.lookup(p);
      expect(e.name).toBe(p.slice(1));
      expect(e.shortName).toBeNull();
      expect(await fs.stat(e)).toMatchObject({
        lfnEntries: 0,
        ntCaseFlags: { lowerBase: base, lowerExt: ext },
      });
    }
  });

  it('a directory, the empty file and the roots', async () => {
    const fs12 = await openFat(fatDevice('fat12'));
    const many = await fs12.stat(await fs12.lookup('/many'));
    const want = fatAnswer('fat12').entries.find((x) => x.path === '/many')!;
    expect(
      (many.clusterRuns as { cluster: number; count: number }[]).map((r) => [
        r.cluster,
        r.cluster + r.count - 1,
      ]),
    ).toEqual(want.chain);
    expect(many.attributeNames).toEqual(['directory']);
    expect(await fs12.stat(await fs12.lookup('/empty.dat'))).toMatchObject({
      size: 0,
      clusters: 0,
      clusterRuns: [],
    });
    expect(await fs12.stat(await fs12.root())).toMatchObject({
      root: true,
      rootCluster: null,
      rootDirOffset: fs12.bpb.rootDirOffset,
      rootEntryCount: 512,
    });
    const fs32 = await openFat(fatDevice('fat32'));
    expect(await fs32.stat(await fs32.root())).toMatchObject({
      root: true,
      rootCluster: 2,
      rootDirOffset: null,
    });
  });
});

describe('volume label, FSInfo, FAT copies — fatgen103', () => {
  it('the root label entry takes precedence over the BPB label; without it the BPB label shows', async () => {
    const img = fatImage('fat16');
    img.set(new TextEncoder().encode('BPB LABEL  '), 0x2b);
    let fs = await openFat(fatDevice(img));
    expect(fs.label).toBe('FAT16VOL');
    expect(fs.volumeInfo.bpbLabel).toBe('BPB LABEL');
    const root = fs.bpb.rootDirOffset;
    expect(img[root + 11]).toBe(0x08); // mkfs.fat writes the label entry first
    img[root] = 0xe5;
    fs = await openFat(fatDevice(img));
    expect(fs.label).toBe('BPB LABEL');
    expect(fs.volumeInfo.rootLabel).toBeNull();
  });

  it('FAT32 FSInfo free count and next-free in volumeInfo', async () => {
    const fs = await openFat(fatDevice('fat32'));
    const vi = fs.volumeInfo;
    expect(vi.fsInfo).not.toBeNull();
    expect(vi.fsInfoFreeClusters).toBe(vi.fsInfo!.freeClusters);
    expect(vi.fsInfoFreeClusters!).toBeGreaterThan(vi.clusterCount - 2000);
  });

  it('a damaged FSInfo is a warning, not a failure', async () => {
    const img = fatImage('fat32');
    img[512] = 0;
    const fs = await openFat(fatDevice(img));
    expect(fs.volumeInfo.fsInfo).toBeNull();
    expect(fs.warnings.map((w) => [w.code, w.offset])).toEqual([['FAT_BPB', 512]]);
    expect((await fs.lookup('/EFI/Microsoft/Boot/BCD')).size).toBe(24576);
  });

  it('FAT copies that differ: a FAT_COPIES_DIFFER warning; clean volumes have none', async () => {
    const fs = await openFat(fatDevice('fat16-fatdiff'));
    expect(fs.warnings.map((w) => w.code)).toEqual(['FAT_COPIES_DIFFER']);
    expect(fs.warnings[0]!.offset).toBe(fs.bpb.fatOffset + fs.bpb.fatBytes + 1200);
    expect(fs.volumeInfo.fatCopiesDiffer).toBe(true);
    expect((await walk(fs)).length).toBe(fatAnswer('fat16').entries.length);
  });

  it('a volume not unmounted cleanly shows in FAT[1]', async () => {
    const img = fatImage('fat16');
    const fs0 = await openFat(fatDevice(img));
    for (let k = 0; k < 2; k++) {
      const at = fs0.bpb.fatOffset + k * fs0.bpb.fatBytes + 3;
      img[at] = img[at]! & 0x3f;
    }
    const fs = await openFat(fatDevice(img));
    expect(fs.volumeInfo).toMatchObject({ cleanShutdown: false, hardErrors: true });
  });
});

describe('streamed reads — one device read per run, nothing read whole', () => {
  it('reading the fragmented file reads its two runs, and only them', async () => {
    const stats = newIoStats();
    const fs = await openFat(fatDevice('fat16', stats));
    const e = await fs.lookup('/c-fragmented.bin');
    const r = await fs.openFile(e);
    stats.reads = 0;
    stats.bytesRead = 0;
    const all = await r.read(0, r.size);
    expect(stats.reads).toBe(2);
    expect(stats.bytesRead).toBe(90000);
    expect(sha(all)).toBe(fatAnswer('fat16').entries.find((x) => x.path === '/c-fragmented.bin')!.sha256);
    stats.reads = 0;
    stats.bytesRead = 0;
    expect(await r.read(30000, 100)).toEqual(all.subarray(30000, 30100));
    expect(stats).toMatchObject({ reads: 1, bytesRead: 100 });
  });

  it('reads outside the file are READ_OUT_OF_RANGE', async () => {
    const fs = await openFat(fatDevice('fat12'));
    const r = await fs.openFile(await fs.lookup('/lower.txt'));
    await expectError(r.read(0, 7), 'READ_OUT_OF_RANGE');
    await expectError(r.read(-1, 1), 'READ_OUT_OF_RANGE');
    await expectError(r.read(0.5, 1), 'READ_OUT_OF_RANGE');
    expect(new TextDecoder().decode(await r.read(0, 6))).toBe('lower\n');
  });

  it('the empty file opens with size 0', async () => {
    const fs = await openFat(fatDevice('fat32'));
    const r = await fs.openFile(await fs.lookup('/empty.dat'));
    expect(r.size).toBe(0);
    expect(await r.read(0, 0)).toHaveLength(0);
  });
});

describe('hostile volumes — BootprobeError with an offset, never a RangeError or a hang', () => {
  for (const name of ['fat12', 'fat16', 'fat32'] as const) {
    it(`${name}: a file chain that loops is FAT_CHAIN`, async () => {
      const img = fatImage(name);
      const fs0 = await openFat(fatDevice(img));
      const first = (await fs0.lookup('/c-fragmented.bin')).id;
      setFat(img, fs0, first + 2, first);
      const fs = await openFat(fatDevice(img));
      const err = await expectError(fs.openFile(await fs.lookup('/c-fragmented.bin')), 'FAT_CHAIN');
      expect(err.message).toMatch(/\(a loop\)/);
      expect(err.offset).toBeGreaterThan(0);
    });

    it(`${name}: a directory chain that loops is FAT_CHAIN`, async () => {
      const img = fatImage(name);
      const fs0 = await openFat(fatDevice(img));
      const st = await fs0.stat(await fs0.lookup('/many'));
      const runs = st.clusterRuns as { cluster: number; count: number }[];
      const last = runs[runs.length - 1]!;
      setFat(img, fs0, last.cluster + last.count - 1, runs[0]!.cluster);
      const fs = await openFat(fatDevice(img));
      const err = await expectError(fs.list(await fs.lookup('/many')), 'FAT_CHAIN');
      expect(err.offset).toBeDefined();
    });

    it(`${name}: a file larger than its chain is FAT_CHAIN at its directory entry`, async () => {
      const img = fatImage(name);
      const fs0 = await openFat(fatDevice(img));
      const off = (await fs0.lookup('/b.bin')).dirent!.offset;
      new DataView(img.buffer).setUint32(off + 28, 50 * 1024 * 1024, true);
      const fs = await openFat(fatDevice(img));
      const err = await expectError(fs.openFile(await fs.lookup('/b.bin')), 'FAT_CHAIN', off);
      expect(err.message).toMatch(/need \d+ clusters, the chain has \d+/);
    });

    it(`${name}: a first cluster out of range is FAT_CHAIN at the directory entry`, async () => {
      const img = fatImage(name);
      const fs0 = await openFat(fatDevice(img));
      const off = (await fs0.lookup('/b.bin')).dirent!.offset;
      new DataView(img.buffer).setUint16(off + 26, 0xfff0, true);
      if (name === 'fat32') new DataView(img.buffer).setUint16(off + 20, 0x0fff, true);
      const fs = await openFat(fatDevice(img));
      await expectError(fs.openFile(await fs.lookup('/b.bin')), 'FAT_CHAIN', off);
    });

    it(`${name}: a file with a size but no cluster, a directory with no cluster: FAT_DIRENT`, async () => {
      const img = fatImage(name);
      const fs0 = await openFat(fatDevice(img));
      const fileAt = (await fs0.lookup('/b.bin')).dirent!.offset;
      const dirAt = (await fs0.lookup('/deep')).dirent!.offset;
      for (const at of [fileAt, dirAt]) {
        new DataView(img.buffer).setUint16(at + 26, 0, true);
        new DataView(img.buffer).setUint16(at + 20, 0, true);
      }
      const fs = await openFat(fatDevice(img));
      await expectError(fs.openFile(await fs.lookup('/b.bin')), 'FAT_DIRENT', fileAt);
      await expectError(fs.list(await fs.lookup('/deep')), 'FAT_DIRENT', dirAt);
    });
  }

  it('a directory whose chain runs past 65536 entries is FAT_CHAIN', async () => {
    const img = fatImage('fat12');
    const fs0 = await openFat(fatDevice(img));
    const many = await fs0.lookup('/many');
    const runs = (await fs0.stat(many)).clusterRuns as { cluster: number; count: number }[];
    const last = runs[runs.length - 1]!;
    // Chain the last cluster of /many on through 1100 free clusters: more than 2 MiB of 2 KiB clusters.
    let c = last.cluster + last.count - 1;
    const limit = fs0.bpb.clusterCount + 1;
    let added = 0;
    for (let n = c + 1; n <= limit && added < 1100; n++, added++) {
      setFat(img, fs0, c, n);
      c = n;
    }
    setFat(img, fs0, c, 0xfff);
    expect(added).toBe(1100);
    const fs = await openFat(fatDevice(img));
    const err = await expectError(fs.list(await fs.lookup('/many')), 'FAT_CHAIN');
    expect(err.message).toMatch(/65536 entries/);
  });

  it('a FAT32 root directory chain that loops fails at open', async () => {
    const img = fatImage('fat32');
    const fs0 = await openFat(fatDevice(img));
    setFat(img, fs0, 2, 2);
    await expectError(openFat(fatDevice(img)), 'FAT_CHAIN');
  });

  it('truncated volumes: open fails with FAT_BPB/TRUNCATED, or files past the cut fail with FAT_CHAIN', async () => {
    for (const name of ['fat12', 'fat16', 'fat32', 'fat16-4k'] as const) {
      const full = fatImage(name);
      for (const cut of [
        0,
        100,
        512,
        4096,
        20000,
        60000,
        full.length >> 3,
        full.length >> 1,
        full.length - 512,
      ]) {
        try {
          const fs = await openFat(fatDevice(full.slice(0, cut)));
          expect(fs.warnings.map((w) => w.code)).toContain('FAT_BPB');
          for (const e of await walk(fs)) if (!e.isDirectory) await readAll(fs, e);
        } catch (e) {
          if (!(e instanceof BootprobeError)) throw e;
          expect(e.code).toMatch(/^(FAT_BPB|FAT_CHAIN|FAT_DIRENT|TRUNCATED)$/);
        }
      }
    }
  });

  it('300 seeded mutations of the boot sector, FATs and root directory: only BootprobeErrors', async () => {
    let seed = 12345;
    const next = () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed;
    };
    const base = fatImage('fat12');
    const fs0 = await openFat(fatDevice(base));
    const hot = fs0.bpb.dataOffset + 8 * fs0.bpb.clusterSize;
    for (let i = 0; i < 300; i++) {
      const b = base.slice();
      for (let k = 0; k < 1 + (next() % 12); k++) b[next() % hot] = next() & 0xff;
      try {
        const fs = await openFat(fatDevice(b));
        for (const e of (await walk(fs)).slice(0, 60)) if (!e.isDirectory) await readAll(fs, e);
      } catch (e) {
        if (!(e instanceof BootprobeError)) throw e;
      }
    }
  });
});

describe('FatFileSystem.open — the entry point', () => {
  it('openFat and FatFileSystem.open agree; a device under 512 bytes is FAT_BPB', async () => {
    const a = await openFat(fatDevice('fat12'));
    const b = await FatFileSystem.open(fatDevice('fat12'));
    expect(a.volumeInfo).toEqual(b.volumeInfo);
    await expectError(openFat(fatDevice(new Uint8Array(100))), 'FAT_BPB', 0);
  });

  it('entries from another file system are refused', async () => {
    const fs = await openFat(fatDevice('fat12'));
    const foreign: FsEntry = { ...(await fs.lookup('/lower.txt')) };
    delete (foreign as Partial<FatEntry>).dirent;
    await expectError(fs.openFile(foreign), 'NOT_A_FILE');
  });
});
