// The NTFS writer (src/fs/ntfs/file-write.ts) on copies in memory of volumes made by mkntfs + ntfs-3g: every size
// change of docs/ntfs.md §9 (plus allocation through $Bitmap, §8, and resident → non-resident), on 512-byte, 4 KiB
// and 64 KiB clusters, and every refusal of §7 and §9.
import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../src/errors.js';
import { ATTR } from '../../../src/fs/ntfs/attribute.js';
import { type NtfsFileSystem, openNtfs } from '../../../src/fs/ntfs/ntfs.js';
import { applyFixups } from '../../../src/fs/ntfs/record.js';
import { type Run, runPieces } from '../../../src/fs/ntfs/runlist.js';
import { MemoryDevice } from '../../../src/io/memory-device.js';
import {
  commitChecked,
  fixtureBytes,
  indexEntriesFor,
  lastIndex,
  parentsOf,
  pattern,
  sha,
  stateVariant,
  writable,
} from './fixtures.js';

const TIME = new Date('2024-05-06T07:08:09.000Z');

interface Vol {
  name: string;
  fixture: string;
  sector: number;
  cluster: number;
  /** A non-resident file of 24-28 KiB to rewrite. */
  file: string;
}
const VOLUMES: Vol[] = [
  { name: '512-byte clusters', fixture: 'fs-write/ntfs-512c', sector: 512, cluster: 512, file: '/Boot/BCD' },
  {
    name: '4 KiB clusters',
    fixture: 'fs/ntfs-512',
    sector: 512,
    cluster: 4096,
    file: '/EFI/Microsoft/Boot/BCD',
  },
  {
    name: '64 KiB clusters, 4 KiB sectors',
    fixture: 'fs/ntfs-4k',
    sector: 4096,
    cluster: 65536,
    file: '/EFI/Microsoft/Boot/BCD',
  },
];

async function readAll(fs: NtfsFileSystem, path: string): Promise<Uint8Array> {
  const r = await fs.openFile(await fs.lookup(path));
  return r.read(0, r.size);
}

/** Clusters marked in use in $Bitmap. */
async function usedClusters(fs: NtfsFileSystem): Promise<number> {
  const s = (await fs.stream(6, ATTR.DATA, ''))!;
  const b = await fs.reader(s, '$Bitmap').read(0, s.dataSize);
  let n = 0;
  for (let c = 0; c < fs.clusterCount; c++) if (b[c >> 3]! & (1 << (c & 7))) n++;
  return n;
}

async function dataAttr(fs: NtfsFileSystem, path: string) {
  const e = await fs.lookup(path);
  return (await fs.allAttributes(e.id)).find((a) => a.type === ATTR.DATA && a.name === '')!;
}

/** Writes, then checks the content, sizes, allocation and every $I30 entry from a fresh open. */
async function writeAndCheck(dev: MemoryDevice, path: string, data: Uint8Array) {
  const fs = await openNtfs(dev);
  const cs = fs.boot.clusterSize;
  const before = await dataAttr(fs, path);
  const usedBefore = await usedClusters(fs);
  const plan = await fs.planReplaceFile(path, data, { time: TIME });
  expect(plan.newSize).toBe(data.length);
  expect(plan.oldSize).toBe(before.dataSize);
  await commitChecked(dev, plan);
  const fresh = await openNtfs(dev);
  expect(sha(await readAll(fresh, path))).toBe(sha(data));
  // The cached instance used for the plan reads the new bytes too.
  expect(sha(await readAll(fs, path))).toBe(sha(data));
  const entry = await fresh.lookup(path);
  expect(entry.size).toBe(data.length);
  expect(entry.modified).toEqual(TIME);
  expect(entry.changed).toEqual(TIME);
  const after = await dataAttr(fresh, path);
  const clusters = (a: typeof after) => (a.nonResident ? a.allocatedSize / cs : 0);
  if (after.nonResident) {
    expect(after.allocatedSize).toBe(Math.ceil(data.length / cs) * cs);
    expect(after.initializedSize).toBe(data.length);
  }
  // $Bitmap changed by exactly the clusters the file gained or lost.
  expect((await usedClusters(fresh)) - usedBefore).toBe(clusters(after) - clusters(before));
  const allocated = after.nonResident ? after.allocatedSize : (data.length + 7) & ~7;
  for (const dir of await parentsOf(fresh, entry.id)) {
    const keys = await indexEntriesFor(fresh, dev, dir, entry.id);
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) {
      expect(k.realSize, `$I30 "${k.name}" real size`).toBe(data.length);
      expect(k.allocatedSize, `$I30 "${k.name}" allocated size`).toBe(allocated);
      expect(k.modified).toEqual(TIME);
    }
  }
  return { plan, fresh, after };
}

describe('NTFS replace of non-resident $DATA — ntfs.md §9, §8', () => {
  for (const vol of VOLUMES) {
    it(`${vol.name}: same size, smaller, larger within clusters, larger with new clusters, 0 bytes, regrown`, async () => {
      const dev = writable(fixtureBytes(vol.fixture), vol.sector);
      const fs = await openNtfs(dev);
      expect(fs.boot.clusterSize).toBe(vol.cluster);
      const cs = vol.cluster;
      const old = (await fs.lookup(vol.file)).size;
      // Same size, other content: no allocation change.
      let r = await writeAndCheck(dev, vol.file, pattern(old, 1));
      expect(r.plan.patches.some((p) => p.what.startsWith('$Bitmap'))).toBe(false);
      // Smaller by one cluster and a bit: the tail cluster(s) freed (none on 64 KiB clusters: one cluster holds it).
      const smaller = old - cs - 100 > 0 ? old - cs - 100 : old - 100;
      r = await writeAndCheck(dev, vol.file, pattern(smaller, 2));
      expect(r.plan.patches.some((p) => p.what.includes('freed'))).toBe(
        Math.ceil(smaller / cs) < Math.ceil(old / cs),
      );
      // Larger, within the clusters it has.
      const within = Math.ceil(smaller / cs) * cs;
      r = await writeAndCheck(dev, vol.file, pattern(within, 3));
      expect(r.plan.patches.some((p) => p.what.startsWith('$Bitmap'))).toBe(false);
      // Larger: three more clusters and a byte, allocated in $Bitmap, data written before the bitmap and the record.
      r = await writeAndCheck(dev, vol.file, pattern(within + 3 * cs + 1, 4));
      const order = r.plan.patches.map((p) => p.what);
      const firstBitmap = order.findIndex((w) => w.startsWith('$Bitmap'));
      expect(firstBitmap).toBeGreaterThan(
        lastIndex(order, (w) => w.includes('clusters') && !w.startsWith('$')),
      );
      expect(firstBitmap).toBeLessThan(order.findIndex((w) => w.startsWith('MFT record')));
      // Empty: no runs, highest VCN -1, every cluster freed after the record stops naming them.
      r = await writeAndCheck(dev, vol.file, new Uint8Array(0));
      expect(r.after.nonResident).toBe(true);
      expect(r.after.highestVcn).toBe(-1);
      const last = r.plan.patches[r.plan.patches.length - 1]!;
      expect(last.what).toMatch(/^\$Bitmap.*freed/);
      // And grown again from nothing: a BCD-sized file.
      await writeAndCheck(dev, vol.file, pattern(1 << 20, 5));
    });
  }

  it('on 64 KiB clusters writes the root directory record to $MFTMirr too (records < $MFTMirr size)', async () => {
    const dev = writable(fixtureBytes('fs/ntfs-4k'), 4096);
    const fs = await openNtfs(dev);
    const mirr = (await fs.stream(1, ATTR.DATA, ''))!;
    expect(mirr.dataSize / fs.boot.recordSize).toBe(16);
    const { plan } = await writeAndCheck(dev, '/tiny.txt', pattern(20, 6));
    expect(plan.patches.map((p) => p.what)).toContain('$MFTMirr copy of MFT record 5');
    const rs = fs.boot.recordSize;
    const cs = fs.boot.clusterSize;
    const at = (runs: readonly Run[]) => runPieces(runs, 5 * rs, rs, cs, 'r5')[0]!.offset;
    const inMft = dev.data.slice(at(fs.mftLayout.runs), at(fs.mftLayout.runs) + rs);
    const inMirr = dev.data.slice(at(mirr.runs), at(mirr.runs) + rs);
    expect(sha(inMirr)).toBe(sha(inMft));
    applyFixups(inMft, 'FILE', 0); // a valid, protected record
  });

  it('a fragmented file keeps its runs and grows from the end of the last one', async () => {
    const dev = writable(fixtureBytes('fs-write/ntfs-512c'));
    const fs = await openNtfs(dev);
    const a = await dataAttr(fs, '/frag.bin');
    const size = a.dataSize;
    await writeAndCheck(dev, '/frag.bin', pattern(size, 7));
    await writeAndCheck(dev, '/frag.bin', pattern(size + 5000, 8));
    await writeAndCheck(dev, '/frag.bin', pattern(size / 4, 9));
  });
});

describe('NTFS replace of resident $DATA — ntfs.md §9 step 2', () => {
  it('stays resident while it fits, moves out of the record when it does not, and never moves back', async () => {
    const dev = writable(fixtureBytes('fs-write/ntfs-512c'));
    const path = '/small.txt';
    expect((await dataAttr(await openNtfs(dev), path)).nonResident).toBe(false);
    let r = await writeAndCheck(dev, path, pattern(100, 10)); // same size
    expect(r.after.nonResident).toBe(false);
    r = await writeAndCheck(dev, path, pattern(7, 11)); // smaller
    expect(r.after.nonResident).toBe(false);
    r = await writeAndCheck(dev, path, pattern(400, 12)); // larger, still fits the 1 KiB record
    expect(r.after.nonResident).toBe(false);
    expect(r.plan.patches.every((p) => p.kind === 'metadata')).toBe(true);
    r = await writeAndCheck(dev, path, pattern(5000, 13)); // too large: clusters allocated
    expect(r.after.nonResident).toBe(true);
    expect(r.plan.changes.join(' ')).toMatch(/non-resident now/);
    r = await writeAndCheck(dev, path, pattern(50, 14));
    expect(r.after.nonResident).toBe(true);
  });

  it('fills an empty file (resident, 0 bytes) and the empty \\Boot\\BCD.LOG', async () => {
    const dev = writable(fixtureBytes('fs-write/ntfs-512c'));
    await writeAndCheck(dev, '/empty.dat', pattern(3000, 15));
    await writeAndCheck(dev, '/Boot/BCD.LOG', pattern(300, 16));
  });
});

describe('NTFS replace on a device over a Node Buffer', () => {
  it('never edits the device while reading or planning (a Buffer slice is a view), and writes on commit', async () => {
    const dev = writable(Buffer.from(fixtureBytes('fs-write/ntfs-512c')));
    const before = sha(dev.data);
    const fs = await openNtfs(dev);
    await fs.list(await fs.lookup('/many'));
    const plan = await fs.planReplaceFile('/Boot/BCD', pattern(30000, 30));
    expect(sha(dev.data)).toBe(before);
    await commitChecked(dev, plan);
    fs.dropCaches();
    await writeAndCheck(dev, '/Boot/BCD', pattern(20000, 31));
  });
});

describe('NTFS $I30 entries of every name — ntfs.md §9 step 5', () => {
  it('updates a hard link in another directory', async () => {
    const dev = writable(fixtureBytes('fs-write/ntfs-512c'));
    const data = pattern(33, 17);
    const { fresh } = await writeAndCheck(dev, '/tiny.txt', data);
    expect(sha(await readAll(fresh, '/Boot/tiny-link.txt'))).toBe(sha(data));
    expect((await parentsOf(fresh, (await fresh.lookup('/tiny.txt')).id)).length).toBe(2);
  });

  it('updates both the Win32 name and its separate DOS name', async () => {
    const dev = writable(fixtureBytes('fs-write/ntfs-512c'));
    const { fresh } = await writeAndCheck(dev, '/ALONGF~1.TXT', pattern(2000, 18));
    const e = await fresh.lookup('/A long file name.text');
    const keys = await indexEntriesFor(fresh, dev, 5, e.id);
    expect(keys.map((k) => k.namespace).sort()).toEqual([1, 2]);
  });

  it('updates an entry that lies in an INDX record', async () => {
    const dev = writable(fixtureBytes('fs-write/ntfs-512c'));
    const { plan } = await writeAndCheck(dev, '/many/target.bin', pattern(9000, 19));
    expect(plan.patches.some((p) => p.what.startsWith('INDX record'))).toBe(true);
  });

  it('updates the 41 names of a file whose names fill extension records (an attribute list)', async () => {
    const dev = writable(fixtureBytes('fs-write/ntfs-512c'));
    const fs = await openNtfs(dev);
    const e = await fs.lookup('/linked.txt');
    expect((await fs.allAttributes(e.id)).some((a) => a.type === ATTR.ATTRIBUTE_LIST)).toBe(true);
    const data = pattern(1500, 20);
    const { plan, fresh } = await writeAndCheck(dev, '/linked.txt', data);
    expect(plan.changes.filter((c) => c.startsWith('$I30')).length).toBe(41);
    expect(
      sha(await readAll(fresh, '/links/a-rather-long-hard-link-name-number-40-to-overflow-the-record.txt')),
    ).toBe(sha(data));
  });

  it('keeps the alternate data streams of the file', async () => {
    const dev = writable(fixtureBytes('fs-write/ntfs-512c'));
    const before = await openNtfs(dev);
    const ads = await (await before.openFile(await before.lookup('/ads.txt'), 'Zone.Identifier')).read(0, 23);
    const { fresh } = await writeAndCheck(dev, '/ads.txt', pattern(4000, 21));
    expect(
      sha(await (await fresh.openFile(await fresh.lookup('/ads.txt'), 'Zone.Identifier')).read(0, 23)),
    ).toBe(sha(ads));
  });
});

/** The error a plan throws; the device must be untouched. */
async function refusal(dev: MemoryDevice, path: string, data: Uint8Array): Promise<BootprobeError> {
  const before = sha(dev.data);
  const fs = await openNtfs(dev);
  const err = await fs.planReplaceFile(path, data).then(
    () => null,
    (e: unknown) => e,
  );
  expect(sha(dev.data)).toBe(before);
  expect(err).toBeInstanceOf(BootprobeError);
  return err as BootprobeError;
}

describe('NTFS refusals — ntfs.md §7 (volume state) and §9 preconditions', () => {
  it('refuses a dirty volume, an unclean $LogFile and a hibernated Windows with exit-4 errors', async () => {
    const cases = [
      ['dirty', 'NTFS_DIRTY', /marked dirty.*chkdsk/],
      ['log-unclean', 'NTFS_LOG_NOT_CLEAN', /client 0 in use and is not flagged clean/],
      ['hibr', 'NTFS_HIBERNATED', /hiberfil\.sys starts "hibr"/],
    ] as const;
    for (const [variant, code, message] of cases) {
      const e = await refusal(writable(stateVariant(variant)), '/Boot/BCD', pattern(100, 1));
      expect(e.code, variant).toBe(code);
      expect(e.kind).toBe('unsafe');
      expect(e.message).toMatch(message);
      expect(e.hint).toMatch(/shut it down fully|chkdsk/);
    }
  });

  it('writes the clean variants: restart area flagged clean, hiberfil.sys with a zeroed header', async () => {
    await writeAndCheck(writable(stateVariant('log-clean')), '/Boot/BCD', pattern(30000, 22));
    await writeAndCheck(writable(stateVariant(null)), '/Boot/BCD', pattern(30000, 23));
    const zeroed = stateVariant('hibr');
    const fs = await openNtfs(new MemoryDevice(zeroed));
    const stat = await fs.stat(await fs.lookup('/hiberfil.sys'));
    const runs = (stat.attributes as { type: string; runs?: { lcn: number }[] }[]).find(
      (a) => a.type === '$DATA',
    )!.runs!;
    const at = runs[0]!.lcn * fs.boot.clusterSize;
    expect(String.fromCharCode(...zeroed.subarray(at, at + 4))).toBe('hibr');
    for (const sig of ['wake', 'WAKE', 'HIBR']) {
      const b = zeroed.slice();
      b.set(Buffer.from(sig), at);
      expect((await refusal(writable(b), '/Boot/BCD', pattern(10, 1))).code).toBe('NTFS_HIBERNATED');
    }
    zeroed.fill(0, at, at + 4);
    await writeAndCheck(writable(zeroed), '/Boot/BCD', pattern(30000, 24));
  });

  it('refuses compressed, sparse, multi-extent, encrypted, reparse-point and system files, and directories', async () => {
    const dev = () => writable(fixtureBytes('fs-write/ntfs-512c'));
    expect((await refusal(dev(), '/comp/text.txt', pattern(10, 1))).message).toMatch(/compressed/);
    expect((await refusal(dev(), '/sparse.bin', pattern(10, 1))).message).toMatch(/sparse/);
    expect((await refusal(dev(), '/$Boot', pattern(10, 1))).message).toMatch(/metadata file record 7/);
    expect((await refusal(dev(), '/Boot', pattern(10, 1))).code).toBe('NOT_A_FILE');
    // 4000 runs over 12 extension records (the reader's fixture ntfs-c).
    const multi = await refusal(writable(fixtureBytes('ntfs/ntfs-c')), '/sparse-runs.bin', pattern(10, 1));
    expect(multi.code).toBe('FS_WRITE_REFUSED');
    expect(multi.message).toMatch(/attribute extents/);
    // A reparse point (ntfs-3g symlink) of the reader's fixtures.
    const rp = await refusal(writable(fixtureBytes('ntfs/ntfs-a')), '/symlink-reparse', pattern(10, 1));
    expect(rp.message).toMatch(/reparse point/);
    // Encrypted: the EFS flag set on /small.txt's $DATA header (flags +0x0C, outside any fixup slot).
    const enc = dev();
    const fs = await openNtfs(enc);
    const a = await dataAttr(fs, '/small.txt');
    expect((a.offset + 0x0c) % 512).toBeLessThan(510);
    enc.data[a.offset + 0x0d]! |= 0x40;
    expect((await refusal(enc, '/small.txt', pattern(10, 1))).message).toMatch(/encrypted/);
    for (const e of [multi, rp]) expect(e.kind).toBe('unsafe');
  });

  it('refuses a read-only device, a volume too small for the data, and a plan gone stale', async () => {
    const ro = new MemoryDevice(fixtureBytes('fs-write/ntfs-512c'));
    expect((await refusal(ro, '/Boot/BCD', pattern(10, 1))).code).toBe('READ_ONLY');
    const full = await refusal(writable(stateVariant(null)), '/Boot/BCD', pattern(8 << 20, 1));
    expect(full.code).toBe('FS_NO_SPACE');
    expect(full.kind).toBe('unsafe');
    const dev = writable(fixtureBytes('fs-write/ntfs-512c'));
    const fs = await openNtfs(dev);
    const plan = await fs.planReplaceFile('/Boot/BCD', pattern(30000, 2));
    const r = plan.ranges[plan.ranges.length - 1]!;
    dev.data[r.offset + r.length - 1]! ^= 0xff;
    const before = sha(dev.data);
    await expect(plan.commit()).rejects.toMatchObject({ code: 'FS_WRITE_STALE', kind: 'unsafe' });
    expect(sha(dev.data)).toBe(before);
  });
});
