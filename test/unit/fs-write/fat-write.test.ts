// The FAT writer (src/fs/fat/file-write.ts) on copies in memory of the mkfs.fat + mtools fixtures of
// scripts/fixtures/fat.sh: every size change on FAT12, FAT16 (512-byte and 4 KiB sectors) and FAT32, the invariants
// fatgen103 asks for (identical FAT copies, end-of-chain markers, FAT32's reserved bits, FSInfo), the mistakes of npm
// `fatfs` one by one, and the refusals.
import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../src/errors.js';
import type { FatBpb } from '../../../src/fs/fat/bpb.js';
import { decodeDosDateTime } from '../../../src/fs/fat/dir-entry.js';
import { type FatFileSystem, openFat } from '../../../src/fs/fat/fat.js';
import { decodeFatEntry, fatEntryLength, fatEntryOffset } from '../../../src/fs/fat/fat-table.js';
import { MemoryDevice } from '../../../src/io/memory-device.js';
import { FAT_FIXTURES, type FatFixture, fatImage } from '../fs/fat/fat-fixtures.js';
import { commitChecked, lastIndex, pattern, sha, writable } from './fixtures.js';

const TIME = new Date('2024-05-06T07:08:10.000Z'); // even seconds: DOS times keep 2-second steps
const sector = (name: FatFixture) => (name === 'fat16-4k' ? 4096 : 512);
const dev = (name: FatFixture) => writable(fatImage(name), sector(name));

/** Entry `c` of FAT copy `k`, read from the raw bytes. */
function entryOf(d: MemoryDevice, b: FatBpb, c: number, k = 0): number {
  const at = b.fatOffset + k * b.fatBytes + fatEntryOffset(b.type, c);
  return decodeFatEntry(b.type, c, d.data.subarray(at, at + fatEntryLength(b.type)));
}

/** The chain from `first` in FAT copy 0, bounded by the cluster count. */
function chainOf(d: MemoryDevice, b: FatBpb, first: number): number[] {
  const out: number[] = [];
  for (let c = first; c >= 2 && c <= b.clusterCount + 1 && out.length <= b.clusterCount; c = entryOf(d, b, c))
    out.push(c);
  return out;
}

function freeClusters(d: MemoryDevice, b: FatBpb): number {
  let n = 0;
  for (let c = 2; c <= b.clusterCount + 1; c++) if (entryOf(d, b, c) === 0) n++;
  return n;
}

async function readAll(fs: FatFileSystem, path: string): Promise<Uint8Array> {
  const r = await fs.openFile(await fs.lookup(path));
  return r.read(0, r.size);
}

const EOC = { fat12: 0xfff, fat16: 0xffff, fat32: 0x0fffffff } as const;

/** Writes and checks, from a fresh open and from the raw bytes, everything fatgen103 ties to a file's size. */
async function writeAndCheck(d: MemoryDevice, path: string, data: Uint8Array) {
  const fs = await openFat(d);
  const b = fs.bpb;
  const freeBefore = freeClusters(d, b);
  const oldChain = chainOf(d, b, (await fs.lookup(path)).id);
  const plan = await fs.planReplaceFile(path, data, { time: TIME });
  await commitChecked(d, plan);
  const fresh = await openFat(d);
  expect(fresh.warnings.filter((w) => w.code === 'FAT_COPIES_DIFFER')).toEqual([]);
  expect(sha(await readAll(fresh, path))).toBe(sha(data));
  expect(sha(await readAll(fs, path))).toBe(sha(data)); // the instance that wrote sees it too
  const e = await fresh.lookup(path);
  expect(e.size).toBe(data.length);
  expect(e.modified).toEqual(TIME);
  const need = Math.ceil(data.length / b.clusterSize);
  const chain = need ? chainOf(d, b, e.id) : [];
  expect(e.id === 0).toBe(need === 0); // an empty file owns no cluster
  expect(chain.length).toBe(need);
  // The kept clusters come first, in their old order.
  expect(chain.slice(0, Math.min(need, oldChain.length))).toEqual(oldChain.slice(0, need));
  if (need) expect(entryOf(d, b, chain[chain.length - 1]!)).toBe(EOC[b.type]);
  // Freed clusters are free, and the free count moved by exactly the difference.
  for (const c of oldChain.slice(need)) expect(entryOf(d, b, c)).toBe(0);
  expect(freeClusters(d, b)).toBe(freeBefore - (need - oldChain.length));
  // Every FAT copy is the same.
  for (let k = 1; k < b.fatCount; k++)
    expect(
      Buffer.compare(
        d.data.subarray(b.fatOffset, b.fatOffset + b.fatBytes),
        d.data.subarray(b.fatOffset + k * b.fatBytes, b.fatOffset + (k + 1) * b.fatBytes),
      ),
    ).toBe(0);
  // FSInfo counts what the FAT says.
  if (b.type === 'fat32') expect(fresh.volumeInfo.fsInfoFreeClusters).toBe(freeClusters(d, b));
  return { plan, chain };
}

async function refusal(d: MemoryDevice, path: string, data: Uint8Array): Promise<BootprobeError> {
  const before = sha(d.data);
  const err = await (await openFat(d)).planReplaceFile(path, data).then(
    () => null,
    (e: unknown) => e,
  );
  expect(sha(d.data)).toBe(before);
  expect(err).toBeInstanceOf(BootprobeError);
  return err as BootprobeError;
}

describe('FAT replace — fatgen103 chains, both FATs, FSInfo, directory entry', () => {
  for (const name of FAT_FIXTURES) {
    it(`${name}: same size, smaller, larger within clusters, larger with new clusters, 0 bytes, regrown`, async () => {
      const d = dev(name);
      const fs = await openFat(d);
      const cs = fs.bpb.clusterSize;
      const path = '/EFI/Microsoft/Boot/BCD';
      const old = (await fs.lookup(path)).size;
      let r = await writeAndCheck(d, path, pattern(old, 1));
      expect(r.plan.patches.some((p) => p.what.startsWith('FAT copy'))).toBe(false);
      const smaller = old - cs - 10;
      r = await writeAndCheck(d, path, pattern(smaller, 2));
      expect(r.plan.changes.join(' ')).toMatch(/clusters freed/);
      r = await writeAndCheck(d, path, pattern(Math.ceil(smaller / cs) * cs, 3));
      expect(r.plan.patches.some((p) => p.what.startsWith('FAT copy'))).toBe(false);
      r = await writeAndCheck(d, path, pattern(old + 5 * cs + 1, 4));
      // Data, then the new clusters in every copy, then the directory entry.
      const what = r.plan.patches.map((p) => p.what);
      expect(what.filter((w) => w.includes('clusters allocated')).length % fs.bpb.fatCount).toBe(0);
      expect(what.findIndex((w) => w.startsWith('directory entry'))).toBeGreaterThan(
        lastIndex(what, (w) => w.includes('clusters allocated')),
      );
      await writeAndCheck(d, path, new Uint8Array(0));
      await writeAndCheck(d, path, pattern(200_000, 5));
      // A fragmented file (A, B, delete A, C fills the hole and continues): shrunk and grown.
      await writeAndCheck(d, '/c-fragmented.bin', pattern(30_000, 6));
      await writeAndCheck(d, '/c-fragmented.bin', pattern(120_000, 7));
      // An empty file gets its first cluster.
      await writeAndCheck(d, '/empty.dat', pattern(777, 8));
    });
  }

  it('keeps the reserved high 4 bits of FAT32 entries it rewrites (npm fatfs dropped them)', async () => {
    const d = dev('fat32');
    const fs = await openFat(d);
    const b = fs.bpb;
    const path = '/EFI/Microsoft/Boot/BCD';
    const chain = chainOf(d, b, (await fs.lookup(path)).id);
    const last = chain[chain.length - 1]!;
    for (let k = 0; k < b.fatCount; k++) d.data[b.fatOffset + k * b.fatBytes + last * 4 + 3]! |= 0xa0;
    await writeAndCheck(d, path, pattern(60_000, 9));
    expect(d.data[b.fatOffset + last * 4 + 3]! & 0xf0).toBe(0xa0);
    expect(entryOf(d, b, last)).not.toBe(EOC.fat32); // now a link, with its high bits kept
  });

  it('allocates the last two clusters of the volume, wrapping from the next-free hint (npm fatfs never did)', async () => {
    const d = dev('fat12');
    const b = (await openFat(d)).bpb;
    // Every cluster in use (bad-cluster marks) except the last two: a 2-cluster file must get exactly those.
    for (let c = 2; c <= b.clusterCount - 1; c++) {
      if (entryOf(d, b, c) !== 0) continue;
      for (let k = 0; k < b.fatCount; k++) {
        const at = b.fatOffset + k * b.fatBytes + fatEntryOffset('fat12', c);
        const w = d.data[at]! | (d.data[at + 1]! << 8);
        const v = c & 1 ? (w & 0xf) | (0xff7 << 4) : (w & 0xf000) | 0xff7;
        d.data[at] = v & 0xff;
        d.data[at + 1] = v >> 8;
      }
    }
    const { chain } = await writeAndCheck(d, '/empty.dat', pattern(2 * b.clusterSize, 10));
    expect(chain).toEqual([b.clusterCount, b.clusterCount + 1]);
    const full = await refusal(d, '/lower.txt', pattern(5 * b.clusterSize, 11));
    expect(full.code).toBe('FS_NO_SPACE');
  });

  it('updates FSInfo next-free to the last cluster it allocated', async () => {
    const d = dev('fat32');
    const { chain } = await writeAndCheck(d, '/empty.dat', pattern(3000, 12));
    expect((await openFat(d)).volumeInfo.fsInfoNextFree).toBe(chain[chain.length - 1]);
  });
});

describe('FAT replace on a device over a Node Buffer', () => {
  it('never edits the device while planning (a Buffer slice is a view), and writes on commit', async () => {
    const d = writable(Buffer.from(fatImage('fat16')));
    const before = sha(d.data);
    const plan = await (await openFat(d)).planReplaceFile('/EFI/Microsoft/Boot/BCD', pattern(50_000, 30));
    expect(sha(d.data)).toBe(before);
    await commitChecked(d, plan);
    await writeAndCheck(d, '/EFI/Microsoft/Boot/BCD', pattern(5_000, 31));
  });
});

describe('FAT refusals', () => {
  const path = '/EFI/Microsoft/Boot/BCD';

  it('refuses FAT copies that differ, a dirty boot sector, a FAT[1] dirty or error bit', async () => {
    const diff = await refusal(writable(fatImage('fat16-fatdiff')), path, pattern(10, 1));
    expect(diff.code).toBe('FAT_COPIES_DIFFER');
    expect(diff.kind).toBe('unsafe');
    const boot = dev('fat32');
    boot.data[0x41]! |= 1;
    expect((await refusal(boot, path, pattern(10, 1))).message).toMatch(
      /boot sector marks this volume dirty/,
    );
    const boot16 = dev('fat16');
    boot16.data[0x25]! |= 1;
    expect((await refusal(boot16, path, pattern(10, 1))).code).toBe('FAT_DIRTY');
    for (const [bit, msg] of [
      [0x80, /not unmounted cleanly/],
      [0x40, /disk I\/O errors/],
    ] as const) {
      const d = dev('fat16');
      const b = (await openFat(d)).bpb;
      for (let k = 0; k < b.fatCount; k++) d.data[b.fatOffset + k * b.fatBytes + 3]! &= ~bit; // FAT[1] high byte
      const e = await refusal(d, path, pattern(10, 1));
      expect(e.code).toBe('FAT_DIRTY');
      expect(e.message).toMatch(msg);
      expect(e.kind).toBe('unsafe');
    }
  });

  it('refuses a chain longer than the size says, a directory, a read-only device, a stale plan', async () => {
    const d = dev('fat16');
    const fs = await openFat(d);
    const e = await fs.lookup(path);
    const off = e.dirent!.offset;
    new DataView(d.data.buffer).setUint32(off + 0x1c, e.size - 3 * fs.bpb.clusterSize, true);
    const long = await refusal(d, path, pattern(10, 1));
    expect(long.code).toBe('FAT_CHAIN');
    expect(long.kind).toBe('unsafe');
    expect((await refusal(dev('fat16'), '/EFI', pattern(10, 1))).code).toBe('NOT_A_FILE');
    expect((await refusal(new MemoryDevice(fatImage('fat16')), path, pattern(10, 1))).code).toBe('READ_ONLY');
    const s = dev('fat12');
    const plan = await (await openFat(s)).planReplaceFile(path, pattern(50_000, 2));
    const r = plan.ranges[0]!;
    s.data[r.offset]! ^= 1;
    const before = sha(s.data);
    await expect(plan.commit()).rejects.toMatchObject({ code: 'FS_WRITE_STALE' });
    expect(sha(s.data)).toBe(before);
  });

  it('clamps DOS dates before 1980 to 1980-01-01', () => {
    // The directory entry's write time is checked for every write above; here only the decoding of the clamp.
    expect(decodeDosDateTime(0x0021, 0)).toEqual(new Date('1980-01-01T00:00:00Z'));
  });
});
