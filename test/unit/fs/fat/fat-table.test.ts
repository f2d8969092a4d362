// fatgen103 "FAT Data Structure": entry packing, markers, chains; the FAT copies compared.
import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../../src/errors.js';
import { decodeFatBpb } from '../../../../src/fs/fat/bpb.js';
import {
  classifyFatEntry,
  compareFatCopies,
  decodeFatEntry,
  FatTable,
  fatEntryOffset,
  firstOverlap,
} from '../../../../src/fs/fat/fat-table.js';
import { ByteView, MemoryDevice } from '../../../../src/io/index.js';
import { FAT_FIXTURES, type FatFixture, fatAnswer, fatImage } from './fat-fixtures.js';

function table(img: Uint8Array, copy?: number) {
  const dev = new MemoryDevice(img);
  const bpb = decodeFatBpb(new ByteView(img.subarray(0, 512)), img.length);
  return { dev, bpb, fat: new FatTable(dev, bpb, copy) };
}

/** Writes cluster c's entry in every FAT copy. */
function setEntry(img: Uint8Array, name: FatFixture, c: number, value: number): void {
  const { bpb } = table(img);
  for (let k = 0; k < bpb.fatCount; k++) {
    const at = bpb.fatOffset + k * bpb.fatBytes + fatEntryOffset(bpb.type, c);
    const dv = new DataView(img.buffer, img.byteOffset);
    if (bpb.type === 'fat32') dv.setUint32(at, (dv.getUint32(at, true) & 0xf0000000) | value, true);
    else if (bpb.type === 'fat16') dv.setUint16(at, value, true);
    else {
      const w = dv.getUint16(at, true);
      dv.setUint16(at, c & 1 ? (w & 0x000f) | (value << 4) : (w & 0xf000) | value, true);
    }
  }
  expect(name).toBeTruthy();
}

async function expectChainError(p: Promise<unknown>, offset: number, message: RegExp) {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BootprobeError);
  expect((err as BootprobeError).code).toBe('FAT_CHAIN');
  expect((err as BootprobeError).offset).toBe(offset);
  expect((err as BootprobeError).message).toMatch(message);
}

describe('FAT entries — fatgen103 "FAT Data Structure"', () => {
  it('FAT12 packs two entries in three bytes: even cluster low 12 bits, odd cluster high 12 bits', () => {
    // Entries 2 = 0x123 and 3 = 0x456 stored at byte 3: 23 61 45.
    const b = new Uint8Array([0x23, 0x61, 0x45]);
    expect(fatEntryOffset('fat12', 2)).toBe(3);
    expect(fatEntryOffset('fat12', 3)).toBe(4);
    expect(decodeFatEntry('fat12', 2, b.subarray(0, 2))).toBe(0x123);
    expect(decodeFatEntry('fat12', 3, b.subarray(1, 3))).toBe(0x456);
  });

  it('FAT16 entries are 16-bit, FAT32 entries keep only their low 28 bits', () => {
    expect(decodeFatEntry('fat16', 5, new Uint8Array([0x34, 0x12]))).toBe(0x1234);
    expect(decodeFatEntry('fat32', 5, new Uint8Array([0x78, 0x56, 0x34, 0xf2]))).toBe(0x02345678);
    expect(decodeFatEntry('fat32', 5, new Uint8Array([0xff, 0xff, 0xff, 0xff]))).toBe(0x0fffffff);
  });

  it('markers: 0 free, 1 reserved, bad 0xFF7/0xFFF7/0x0FFFFFF7, end from 0xFF8/0xFFF8/0x0FFFFFF8', () => {
    expect(classifyFatEntry('fat12', 0, 100)).toBe('free');
    expect(classifyFatEntry('fat12', 1, 100)).toBe('reserved');
    expect(classifyFatEntry('fat12', 0xff7, 100)).toBe('bad');
    expect(classifyFatEntry('fat12', 0xff8, 100)).toBe('end');
    expect(classifyFatEntry('fat16', 0xfff7, 100)).toBe('bad');
    expect(classifyFatEntry('fat16', 0xffff, 100)).toBe('end');
    expect(classifyFatEntry('fat32', 0x0ffffff7, 100)).toBe('bad');
    expect(classifyFatEntry('fat32', 0x0ffffff8, 100)).toBe('end');
    expect(classifyFatEntry('fat32', 0x0ffffff0, 100)).toBe('reserved');
  });

  it('a cluster number past the last cluster is not a next cluster', () => {
    expect(classifyFatEntry('fat16', 101, 100)).toBe('next');
    expect(classifyFatEntry('fat16', 102, 100)).toBe('reserved');
  });
});

describe('cluster chains — runs equal mshowfat for every entry of every fixture', () => {
  for (const name of FAT_FIXTURES) {
    it(name, async () => {
      const { fat, bpb } = table(fatImage(name));
      let checked = 0;
      for (const e of fatAnswer(name).entries) {
        if (e.chain.length === 0) continue;
        const { runs, more } = await fat.chain(e.chain[0]![0], bpb.clusterCount, e.path);
        expect(more).toBe(false);
        expect(runs.map((r) => [r.cluster, r.cluster + r.count - 1])).toEqual(e.chain);
        checked++;
      }
      expect(checked).toBeGreaterThan(300);
    });
  }

  it('the fragmented file has two runs (write A, B, delete A, write C)', async () => {
    const a = fatAnswer('fat16').entries.find((e) => e.path === '/c-fragmented.bin')!;
    expect(a.chain.length).toBe(2);
  });

  it('a bound stops the walk and says the chain goes on', async () => {
    const { fat } = table(fatImage('fat16'));
    const a = fatAnswer('fat16').entries.find((e) => e.path === '/c-fragmented.bin')!;
    const r = await fat.chain(a.chain[0]![0], 3, 'c');
    expect(r).toMatchObject({ clusters: 3, more: true });
  });
});

describe('hostile chains — FAT_CHAIN at the FAT entry, never a hang', () => {
  const start = (name: (typeof FAT_FIXTURES)[number]) =>
    fatAnswer(name).entries.find((e) => e.path === '/c-fragmented.bin')!.chain[0]![0];

  for (const name of ['fat12', 'fat16', 'fat32'] as const) {
    it(`${name}: a chain that loops back to its first cluster`, async () => {
      const img = fatImage(name);
      const s = start(name);
      setEntry(img, name, s + 3, s);
      const { fat, bpb } = table(img);
      await expectChainError(fat.chain(s, bpb.clusterCount, 'c'), fat.entryAt(s), /\(a loop\)/);
    });

    it(`${name}: a cluster that points to itself`, async () => {
      const img = fatImage(name);
      const s = start(name);
      setEntry(img, name, s, s);
      const { fat, bpb } = table(img);
      await expectChainError(fat.chain(s, bpb.clusterCount, 'c'), fat.entryAt(s), /\(a loop\)/);
    });

    it(`${name}: a free cluster inside the chain`, async () => {
      const img = fatImage(name);
      const s = start(name);
      setEntry(img, name, s + 1, 0);
      const { fat, bpb } = table(img);
      await expectChainError(fat.chain(s, bpb.clusterCount, 'c'), fat.entryAt(s + 1), /free cluster/);
    });

    it(`${name}: the bad-cluster marker inside the chain`, async () => {
      const img = fatImage(name);
      const s = start(name);
      setEntry(img, name, s + 1, name === 'fat12' ? 0xff7 : name === 'fat16' ? 0xfff7 : 0x0ffffff7);
      const { fat, bpb } = table(img);
      await expectChainError(fat.chain(s, bpb.clusterCount, 'c'), fat.entryAt(s + 1), /bad-cluster/);
    });

    it(`${name}: a next cluster past the last cluster`, async () => {
      const img = fatImage(name);
      const s = start(name);
      const { bpb } = table(img);
      setEntry(img, name, s + 1, bpb.clusterCount + 2);
      const { fat } = table(img);
      await expectChainError(
        fat.chain(s, bpb.clusterCount, 'c'),
        fat.entryAt(s + 1),
        /no cluster of this volume/,
      );
    });

    it(`${name}: a first cluster out of range is reported at the caller's offset`, async () => {
      const { fat, bpb } = table(fatImage(name));
      for (const c of [0, 1, bpb.clusterCount + 2]) {
        await expectChainError(fat.chain(c, 10, 'x', 12345), 12345, /first cluster/);
      }
    });
  }

  it('firstOverlap finds a cluster met twice, in any order', () => {
    expect(
      firstOverlap([
        { cluster: 10, count: 5 },
        { cluster: 20, count: 2 },
      ]),
    ).toBeNull();
    expect(
      firstOverlap([
        { cluster: 20, count: 2 },
        { cluster: 10, count: 11 },
      ]),
    ).toBe(20);
    expect(
      firstOverlap([
        { cluster: 7, count: 1 },
        { cluster: 7, count: 1 },
      ]),
    ).toBe(7);
  });
});

describe('FAT copies compared — fatgen103 BPB_NumFATs, BPB_ExtFlags', () => {
  it('identical copies give no finding', async () => {
    for (const name of FAT_FIXTURES) {
      const { dev, bpb } = table(fatImage(name));
      expect(await compareFatCopies(dev, bpb)).toEqual([]);
    }
  });

  it('fat16-fatdiff: FAT_COPIES_DIFFER at the changed byte of copy 2 (cluster 600)', async () => {
    const { dev, bpb } = table(fatImage('fat16-fatdiff'));
    const f = await compareFatCopies(dev, bpb);
    expect(f).toHaveLength(1);
    expect(f[0]!.code).toBe('FAT_COPIES_DIFFER');
    expect(f[0]!.offset).toBe(bpb.fatOffset + bpb.fatBytes + 1200);
    expect(f[0]!.message).toMatch(/copy 2 differs .*\(cluster 600's entry\)/);
  });

  it('with mirroring disabled the copies may differ and the active one is read', async () => {
    const img = fatImage('fat32');
    const { bpb } = table(img);
    const at = bpb.fatOffset + bpb.fatBytes + 4 * 700;
    img[at] = img[at]! ^ 0x11;
    new DataView(img.buffer).setUint16(0x28, 0x81, true);
    const t = table(img);
    expect(t.bpb.activeFat).toBe(1);
    expect(t.fat.base).toBe(bpb.fatOffset + bpb.fatBytes);
    expect(await compareFatCopies(t.dev, t.bpb)).toEqual([]);
  });
});
