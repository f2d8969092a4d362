// The NTFS reader on volumes made by mkntfs + ntfs-3g (scripts/fixtures/ntfs.sh), checked against the answers The
// Sleuth Kit gave for the same images (fls listing, icat contents), committed beside them.
import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../../src/errors.js';
import { FILE_ATTRIBUTE, type FsEntry } from '../../../../src/fs/file-system.js';
import { ATTR } from '../../../../src/fs/ntfs/attribute.js';
import { type NtfsEntry, NtfsFileSystem, openNtfs } from '../../../../src/fs/ntfs/ntfs.js';
import { REPARSE_TAG } from '../../../../src/fs/ntfs/reparse-point.js';
import { newIoStats } from '../../../../src/io/block-device.js';
import { MemoryDevice } from '../../../../src/io/memory-device.js';
import { readWhole } from '../../../helpers/file-read.js';
import { fls, icat, image, sha, VOLUMES, type Volume } from './fixture.js';

const cache = new Map<Volume, Uint8Array>();
const bytes = (name: Volume) => {
  let b = cache.get(name);
  if (!b) {
    b = image(name);
    cache.set(name, b);
  }
  return b;
};
const open = (name: Volume) => openNtfs(new MemoryDevice(bytes(name)));

async function walk(fs: NtfsFileSystem): Promise<Map<string, NtfsEntry>> {
  const out = new Map<string, NtfsEntry>();
  const rec = async (d: FsEntry) => {
    for (const e of await fs.list(d)) {
      out.set(e.path.slice(1), e);
      if (e.isDirectory) await rec(e);
    }
  };
  await rec(await fs.root());
  return out;
}

async function readAll(fs: NtfsFileSystem, e: FsEntry, stream?: string): Promise<Uint8Array> {
  return readWhole(await fs.openFile(e, stream));
}

const GEOMETRY: Record<Volume, { sector: number; cluster: number; record: number; label: string }> = {
  // The mkntfs arguments scripts/fixtures/ntfs.sh passes (-s, -c, -L); 4 KiB records follow from 4 KiB sectors.
  'ntfs-a': { sector: 512, cluster: 4096, record: 1024, label: 'bootprobe A' },
  'ntfs-b': { sector: 4096, cluster: 65536, record: 4096, label: 'bootprobe B' },
  'ntfs-c': { sector: 512, cluster: 512, record: 1024, label: 'bootprobe C' },
};

describe('openNtfs — ntfs.md §1 (boot sector), §7.1 ($Volume)', () => {
  for (const name of VOLUMES) {
    it(`${name}: geometry from the boot sector, label and version from $Volume, clean`, async () => {
      const fs = await open(name);
      const g = GEOMETRY[name];
      expect(fs.type).toBe('ntfs');
      expect(fs.boot).toMatchObject({
        bytesPerSector: g.sector,
        clusterSize: g.cluster,
        recordSize: g.record,
      });
      expect(fs.label).toBe(g.label);
      expect(fs.volumeInfo).toMatchObject({ major: 3, minor: 1, dirty: false });
      expect(fs.warnings).toEqual([]);
    });
  }
});

describe('listing and contents equal The Sleuth Kit — ntfs.md §3, §4, §5, §6', () => {
  for (const name of VOLUMES) {
    it(`${name}: every fls path is listed once per link, with fls's type and size`, async () => {
      const fs = await open(name);
      const ours = await walk(fs);
      const theirs = fls(name);
      const paths = new Set(theirs.map((l) => l.base));
      expect([...ours.keys()].sort()).toEqual([...paths].sort());
      for (const l of theirs) {
        const e = ours.get(l.base)!;
        expect(e.isDirectory, l.path).toBe(l.type === 'd');
        if (l.stream === null && l.type === 'r') expect(e.size, l.path).toBe(l.size);
      }
    });

    it(`${name}: every file and named data stream has icat's bytes`, async () => {
      const fs = await open(name);
      const ours = await walk(fs);
      const sums = icat(name);
      let checked = 0;
      for (const l of fls(name)) {
        if (l.type !== 'r') continue;
        const e = ours.get(l.base)!;
        // fls also lists named index roots ($Secure:$SDH...) as streams; named $DATA are the streams we open.
        if (l.stream !== null && !e.streams.some((s) => s.name === l.stream)) {
          expect(l.stream.startsWith('$'), l.path).toBe(true);
          continue;
        }
        const data = await readAll(fs, e, l.stream ?? undefined);
        if (l.path === '$BadClus:$Bad') {
          // TSK's icat prints nothing for this volume-sized, wholly sparse stream; NTFS reads it as zeros.
          expect(data.length).toBe(l.size);
          expect(data.every((b) => b === 0)).toBe(true);
        } else expect(sha(data), l.path).toBe(sums[l.addr]);
        checked++;
      }
      expect(checked).toBeGreaterThan(name === 'ntfs-c' ? 10 : 700);
    });
  }
});

describe('path lookup — ntfs.md §4 "Lookup", COLLATION_FILENAME', () => {
  it('is case-insensitive through $UpCase, for ASCII and non-ASCII names, with / or \\ separators', async () => {
    const fs = await open('ntfs-a');
    const leaf = await fs.lookup('DEEP\\Level1/LEVEL2/level3/Level4/level5/LEVEL6/LEAF.TXT');
    expect(leaf.path).toBe('/deep/level1/level2/level3/level4/level5/level6/leaf.txt');
    expect((await fs.lookup('/SYSTÈME – ÜNÏCØDÉ ✓.TXT')).name).toBe('Système – ünïcødé ✓.txt');
    expect((await fs.lookup('/ελληνικά.txt')).name).toBe('Ελληνικά.txt');
    expect((await fs.lookup('many/FILE-0433.TXT')).size).toBe(4);
  });

  it('prefers the exact-case name when two POSIX names are equal under $UpCase (ä.txt / Ä.txt)', async () => {
    const fs = await open('ntfs-a');
    const lower = await fs.lookup('/ä.txt');
    const upper = await fs.lookup('/Ä.txt');
    expect(lower.name).toBe('ä.txt');
    expect(upper.name).toBe('Ä.txt');
    expect(lower.id).not.toBe(upper.id);
    expect(new TextDecoder().decode(await readAll(fs, upper))).toBe('upper A-umlaut\n');
  });

  it('finds every one of 700 names in a multi-level B-tree, and misses absent names', async () => {
    const fs = await open('ntfs-b');
    for (let i = 1; i <= 700; i += 37) {
      const n = String(i).padStart(4, '0');
      expect(new TextDecoder().decode(await readAll(fs, await fs.lookup(`/many/file-${n}.txt`)))).toBe(
        `${i}\n`,
      );
    }
    for (const p of ['/many/file-0000.txt', '/many/file-0701.txt', '/many/file-0350.tx', '/nothing/here']) {
      await expect(fs.lookup(p)).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    }
    await expect(fs.lookup('/tiny.txt/below')).rejects.toMatchObject({ code: 'NOT_A_DIRECTORY' });
  });

  for (const name of ['ntfs-a', 'ntfs-c'] as const) {
    it(`${name}: a lookup reads a handful of records and index blocks, never the MFT`, async () => {
      const stats = newIoStats();
      const fs = await NtfsFileSystem.open(new MemoryDevice(bytes(name), { stats }));
      const before = { ...stats };
      const e = await fs.lookup(name === 'ntfs-a' ? '/many/file-0612.txt' : '/comp/text.txt');
      expect(e.size).toBeGreaterThan(0);
      // root record, root index block(s), the directory's record and index blocks, the file's record
      expect(stats.reads - before.reads).toBeLessThanOrEqual(12);
      expect(stats.bytesRead - before.bytesRead).toBeLessThan(48 * 1024);
    });
  }
});

describe('names — ntfs.md §3.3 (namespaces), hard links, reparse points', () => {
  it('lists a Win32 name once with its DOS alias as shortName, and finds it by either', async () => {
    const fs = await open('ntfs-a');
    const root = await fs.list(await fs.root());
    const hits = root.filter((e) => e.id === root.find((x) => x.name === 'A long file name.text')!.id);
    expect(hits.map((e) => [e.name, e.shortName])).toEqual([['A long file name.text', 'ALONGF~1.TXT']]);
    const byShort = await fs.lookup('/alongf~1.txt');
    expect(byShort.name).toBe('A long file name.text');
    expect(byShort.path).toBe('/A long file name.text');
  });

  it('lists a hard-linked file in both directories, and 40 links of one file in one directory', async () => {
    const fs = await open('ntfs-a');
    const a = await fs.lookup('/tiny.txt');
    const b = await fs.lookup('/sub/tiny-link.txt');
    expect(b.id).toBe(a.id);
    const links = await fs.list(await fs.lookup('/links'));
    expect(links).toHaveLength(40);
    expect(new Set(links.map((e) => e.id)).size).toBe(1);
  });

  it('flags a reparse point with its tag and shows the symlink target in stat', async () => {
    const fs = await open('ntfs-a');
    const e = await fs.lookup('/symlink-reparse');
    expect(e.reparseTag).toBe(REPARSE_TAG.SYMLINK);
    expect(e.attributes & FILE_ATTRIBUTE.REPARSE_POINT).toBe(FILE_ATTRIBUTE.REPARSE_POINT);
    const st = await fs.stat(e);
    const rp = (st.attributes as Record<string, unknown>[]).find((a) => a.type === '$REPARSE_POINT');
    expect(rp).toMatchObject({ reparseTag: '0xa000000c', target: 'tiny.txt' });
    expect((await fs.lookup('/tiny.txt')).reparseTag).toBeNull();
  });
});

describe('data — ntfs.md §3.1 (runlists), §3.4 (streams), §5 (attribute list), §6 (compression, sparse)', () => {
  it('names alternate data streams in FsEntry.streams and opens them by name', async () => {
    const fs = await open('ntfs-a');
    const e = await fs.lookup('/ads.txt');
    expect(e.streams.map((s) => [s.name, s.size]).sort()).toEqual([
      ['Zone.Identifier', 26],
      ['big stream', 70000],
    ]);
    expect(new TextDecoder().decode(await readAll(fs, e, 'Zone.Identifier'))).toBe(
      '[ZoneTransfer]\r\nZoneId=3\r\n',
    );
    await expect(fs.openFile(e, 'absent')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
  });

  it('reads a fragmented file, any slice of it, across run boundaries', async () => {
    const fs = await open('ntfs-a');
    const e = await fs.lookup('/frag-2.bin');
    const st = await fs.stat(e);
    const data = (st.attributes as { type: string; runs?: { lcn: number; length: number }[] }[]).find(
      (a) => a.type === '$DATA',
    )!;
    expect(data.runs!.length).toBeGreaterThan(20);
    // The runs are apart on disk (frag-1.bin took the clusters between them), so no two coalesce.
    expect(
      data.runs!.every((r, i) => i === 0 || r.lcn !== data.runs![i - 1]!.lcn + data.runs![i - 1]!.length),
    ).toBe(true);
    const whole = await readAll(fs, e);
    const r = await fs.openFile(e);
    for (const [o, l] of [
      [0, 1],
      [4095, 2],
      [100_000, 50_000],
      [e.size - 3, 3],
    ] as const)
      expect(await r.read(o, l)).toEqual(whole.subarray(o, o + l));
    await expect(r.read(e.size - 1, 2)).rejects.toMatchObject({ code: 'READ_OUT_OF_RANGE' });
  });

  it('bytes past the initialized size read as zeros, through read and readInto alike (§3)', async () => {
    const fs = await open('ntfs-a');
    const e = await fs.lookup('/frag-2.bin');
    const original = await readAll(fs, e);
    const s = (await fs.stream(e.id, ATTR.DATA, ''))!;
    expect(s.resident).toBe(false);
    const init = 100_000 + 123;
    const cut = fs.reader({ ...s, initializedSize: init }, 'frag-2.bin, initialized in part');
    const whole = await readWhole(cut); // read() and readInto() agree, in uneven pieces
    expect(whole.subarray(0, init)).toEqual(original.subarray(0, init));
    expect(whole.subarray(init).every((b) => b === 0)).toBe(true);
    const inside = new Uint8Array(10).fill(7);
    await cut.readInto!(init - 5, inside);
    expect(Array.from(inside)).toEqual([...original.subarray(init - 5, init), 0, 0, 0, 0, 0]);
    await expect(cut.readInto!(e.size - 1, new Uint8Array(2))).rejects.toMatchObject({
      code: 'READ_OUT_OF_RANGE',
    });
  });

  it('reads a sparse file of 4000 runs whose runlist spans extension records of a non-resident attribute list', async () => {
    const fs = await open('ntfs-c');
    const e = await fs.lookup('/sparse-runs.bin');
    const st = await fs.stat(e);
    const attrs = st.attributes as { type: string; record: number; resident: boolean; sparse: boolean }[];
    const list = attrs.find((a) => a.type === '$ATTRIBUTE_LIST')!;
    expect(list.resident).toBe(false);
    const extents = attrs.filter((a) => a.type === '$DATA');
    expect(new Set(extents.map((a) => a.record)).size).toBeGreaterThan(5);
    const data = await readAll(fs, e);
    for (let i = 0; i < 2000; i += 111) {
      expect(data[i * 2048]).toBe(65 + (i % 26));
      expect(data[i * 2048 + 1000]).toBe(0);
    }
  });

  it('reads LZNT1 units stored compressed, raw and all-zero', async () => {
    const fs = await open('ntfs-a');
    const text = await fs.lookup('/comp/text.txt');
    const st = await fs.stat(text);
    const data = (st.attributes as { type: string; compressed?: boolean; compressedSize?: number }[]).find(
      (a) => a.type === '$DATA',
    )!;
    expect(data.compressed).toBe(true);
    expect(data.compressedSize).toBeLessThan(text.size / 2);
    const body = new TextDecoder().decode(await readAll(fs, text));
    expect(body.split('\n')[12345]).toBe('line 12345 of a compressible file');
    const mixed = await readAll(fs, await fs.lookup('/comp/zeros-and-text.bin'));
    expect(mixed.subarray(0, 200000).every((b) => b === 0)).toBe(true);
    expect(new TextDecoder().decode(mixed.subarray(200000, 200006))).toBe('abcabc');
  });
});

describe('stat — every attribute as JSON', () => {
  it('shows record number, sequence, link count, flags and each attribute decoded', async () => {
    const fs = await open('ntfs-a');
    const e = await fs.lookup('/sparse.bin');
    const st = await fs.stat(e);
    expect(st).toMatchObject({
      record: e.id,
      sequence: e.sequence,
      linkCount: 1,
      inUse: true,
      directory: false,
    });
    const attrs = st.attributes as Record<string, unknown>[];
    expect(attrs.map((a) => a.type)).toEqual(
      expect.arrayContaining(['$STANDARD_INFORMATION', '$FILE_NAME', '$DATA']),
    );
    const si = attrs.find((a) => a.type === '$STANDARD_INFORMATION')!;
    expect(si).toMatchObject({ resident: true, valueLength: 48, ownerId: null });
    expect(typeof si.created).toBe('string');
    expect(attrs.find((a) => a.type === '$FILE_NAME')).toMatchObject({
      fileName: 'sparse.bin',
      parentRecord: 5,
    });
    const data = attrs.find((a) => a.type === '$DATA') as { sparse: boolean; runs: { lcn: number | null }[] };
    expect(data.sparse).toBe(true);
    expect(data.runs.some((r) => r.lcn === null)).toBe(true);
    expect(JSON.parse(JSON.stringify(st))).toEqual(st);
  });
});

describe('volume state — ntfs.md §7.1', () => {
  it('a dirty $VOLUME_INFORMATION gives volumeInfo.dirty and an NTFS_DIRTY warning', async () => {
    const b = bytes('ntfs-a').slice();
    const fs0 = await openNtfs(new MemoryDevice(b));
    const st = await fs0.stat({ ...(await fs0.root()), id: 3, isDirectory: false });
    const rec = st.recordOffset as number;
    // Find $VOLUME_INFORMATION (0x70) in record 3 and set the dirty bit in its flags (value +10).
    let at = rec + (b[rec + 0x14]! | (b[rec + 0x15]! << 8));
    while (b[at] !== 0x70) at += b[at + 4]! | (b[at + 5]! << 8);
    const value = at + (b[at + 0x14]! | (b[at + 0x15]! << 8));
    b[value + 10] = b[value + 10]! | 1;
    const fs = await openNtfs(new MemoryDevice(b));
    expect(fs.volumeInfo?.dirty).toBe(true);
    expect(fs.warnings.map((w) => w.code)).toEqual(['NTFS_DIRTY']);
    expect((await fs.lookup('/tiny.txt')).size).toBe(19);
  });

  it('directories are not files and files are not directories', async () => {
    const fs = await open('ntfs-a');
    await expect(fs.openFile(await fs.lookup('/deep'))).rejects.toBeInstanceOf(BootprobeError);
    await expect(fs.list(await fs.lookup('/tiny.txt'))).rejects.toMatchObject({ code: 'NOT_A_DIRECTORY' });
  });
});
