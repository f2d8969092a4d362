// VHDX BAT — vhd-vhdx.md §2.5: geometry (chunk ratio, interleaved sector-bitmap entries), entry layout, every
// payload block state in base and differencing disks, sector bitmaps (LSB-first), lazy pages, coalesced reads.
import { describe, expect, it } from 'vitest';
import { batGeometry, decodeBatEntry } from '../../../../src/image/vhdx/bat.js';
import { openVhdx } from '../../../../src/image/vhdx/vhdx-image.js';
import { newIoStats } from '../../../../src/io/block-device.js';
import { MemoryDevice } from '../../../../src/io/memory-device.js';
import {
  batEntry,
  batEntryOffset,
  buildVhdx,
  expectedContent,
  firstDiff,
  le64,
  MiB,
  memoryFiles,
  pattern,
  readAll,
  STATE,
  typedError,
} from '../../../helpers/vhdx-builder.js';

describe('BAT geometry — vhd-vhdx.md §2.5', () => {
  it('chunkRatio = 2^23 × logical sector size / block size', () => {
    expect(batGeometry(64 * MiB, 32 * MiB, 512, false).chunkRatio).toBe(128);
    expect(batGeometry(64 * MiB, MiB, 512, false).chunkRatio).toBe(4096);
    expect(batGeometry(64 * MiB, 256 * MiB, 512, false).chunkRatio).toBe(16);
    expect(batGeometry(64 * MiB, MiB, 4096, false).chunkRatio).toBe(32768);
  });

  it('entries: dataBlocks + floor((dataBlocks-1)/chunkRatio) without a parent, whole chunks with one (qemu)', () => {
    // 10 GiB in 32 MiB blocks: 320 payload blocks, 3 chunks of 128.
    expect(batGeometry(10 * 1024 * MiB, 32 * MiB, 512, false)).toEqual({
      chunkRatio: 128,
      dataBlocks: 320,
      totalEntries: 322,
    });
    expect(batGeometry(10 * 1024 * MiB, 32 * MiB, 512, true)).toEqual({
      chunkRatio: 128,
      dataBlocks: 320,
      totalEntries: 387,
    });
    // Exactly one chunk: no bitmap entry after it in a base disk.
    expect(batGeometry(128 * 32 * MiB, 32 * MiB, 512, false).totalEntries).toBe(128);
    expect(batGeometry(128 * 32 * MiB + 512, 32 * MiB, 512, false).totalEntries).toBe(130);
  });

  it('an entry is state in bits 0-2 and FileOffsetMB in bits 20-63', () => {
    const e = batEntry(6, 0x123 * MiB);
    const lo = Number(e & 0xffffffffn);
    const hi = Number(e >> 32n);
    expect(decodeBatEntry(lo, hi)).toEqual({ state: 6, fileOffset: 0x123 * MiB });
    expect(decodeBatEntry(7 | (1 << 20), 1)).toEqual({ state: 7, fileOffset: (4096 + 1) * MiB });
  });
});

const SIZE = 8 * MiB;

describe('payload block states without a parent — vhd-vhdx.md §2.5.1 table', () => {
  it('NOT_PRESENT, UNDEFINED, ZERO, UNMAPPED and 5 read as zeros and map as zero; FULLY_PRESENT reads the file', async () => {
    const w = pattern(0, MiB, 3);
    const v = buildVhdx({
      size: SIZE,
      writes: [w],
      states: {
        1: STATE.NOT_PRESENT,
        2: STATE.UNDEFINED,
        3: STATE.ZERO,
        4: STATE.UNMAPPED,
        5: STATE.UNMAPPED_V095,
      },
    });
    // Give the zero-state blocks a stale offset pointing at data: it must not be read (offset field ignored).
    for (const b of [2, 4, 5])
      le64(
        v.bytes,
        batEntryOffset(v, b),
        batEntry(
          Number(new DataView(v.bytes.buffer).getBigUint64(batEntryOffset(v, b), true) & 7n),
          v.layout.blockAt.get(0)!,
        ),
      );
    const img = await openVhdx(new MemoryDevice(v.bytes), {});
    expect(firstDiff(await readAll(img), expectedContent(SIZE, [[w]]))).toBe(-1);
    expect(await img.mapRange(0, SIZE)).toEqual([
      { offset: 0, length: MiB, kind: 'data' },
      { offset: MiB, length: SIZE - MiB, kind: 'zero' },
    ]);
    expect(await img.allocatedSize()).toBe(MiB);
  });

  it('reserved state 4 is VHDX_BLOCK at the entry offset', async () => {
    const v = buildVhdx({ size: SIZE, states: { 2: STATE.RESERVED_4 } });
    const img = await openVhdx(new MemoryDevice(v.bytes), {});
    await img.read(0, 2 * MiB);
    const e = await typedError(img.read(2 * MiB, 512), 'VHDX_BLOCK');
    expect(e.offset).toBe(batEntryOffset(v, 2));
  });

  it('PARTIALLY_PRESENT in a disk without a parent is VHDX_BLOCK', async () => {
    const v = buildVhdx({ size: SIZE, writes: [pattern(0, MiB, 1)] });
    le64(v.bytes, batEntryOffset(v, 0), batEntry(STATE.PARTIALLY_PRESENT, v.layout.blockAt.get(0)!));
    const img = await openVhdx(new MemoryDevice(v.bytes), {});
    await typedError(img.read(0, 512), 'VHDX_BLOCK');
  });

  it('a FULLY_PRESENT block below 1 MiB or past the end of the file is VHDX_BLOCK, not a short read', async () => {
    for (const off of [0, 1024 * MiB]) {
      const v = buildVhdx({ size: SIZE, writes: [pattern(0, MiB, 1)] });
      le64(v.bytes, batEntryOffset(v, 0), batEntry(STATE.FULLY_PRESENT, off));
      const img = await openVhdx(new MemoryDevice(v.bytes), {});
      await typedError(img.read(0, 512), 'VHDX_BLOCK');
      // Again with the BAT page loaded (the read path's shortcut for a present block checks the same bounds).
      await typedError(img.read(512, 512), 'VHDX_BLOCK');
    }
  });

  it('reads inside one block once its BAT page is loaded: the same bytes, one device read each, ranges still checked', async () => {
    const w = [pattern(0, 2 * MiB, 3)];
    const v = buildVhdx({ size: SIZE, writes: w });
    const stats = newIoStats();
    const img = await openVhdx(new MemoryDevice(v.bytes, { stats }), {});
    await img.read(0, 512); // loads the BAT page
    const r0 = stats.reads;
    for (const [o, n] of [
      [4096, 4096],
      [MiB - 100, 100],
      [MiB, 1024],
      [2 * MiB - 1, 1],
    ] as const)
      expect(firstDiff(await img.read(o, n), w[0]!.data.subarray(o, o + n))).toBe(-1);
    expect(stats.reads - r0).toBe(4);
    // Across a block boundary, and into an unwritten block: the general path, the same answer.
    expect(firstDiff(await img.read(MiB - 8, 16), w[0]!.data.subarray(MiB - 8, MiB + 8))).toBe(-1);
    expect(Array.from(await img.read(2 * MiB, 8))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    await expect(img.read(SIZE - 4, 8)).rejects.toMatchObject({ code: 'READ_OUT_OF_RANGE' });
    await expect(img.read(-1, 8)).rejects.toMatchObject({ code: 'READ_OUT_OF_RANGE' });
  });

  it('4096-byte logical sectors: chunk ratio and reads follow the sector size', async () => {
    const w = [pattern(4096, 8192, 5), pattern(3 * MiB - 4096, 8192, 6)];
    const v = buildVhdx({ size: SIZE, logicalSectorSize: 4096, writes: w });
    const img = await openVhdx(new MemoryDevice(v.bytes), {});
    expect(img.sectorSize).toBe(4096);
    expect(img.info.details.chunkRatio).toBe(32768);
    expect(firstDiff(await readAll(img), expectedContent(SIZE, [w]))).toBe(-1);
  });
});

describe('payload states in a differencing disk and sector bitmaps — vhd-vhdx.md §2.5', () => {
  const parentWrites = [pattern(0, SIZE, 9)];
  const parent = buildVhdx({ size: SIZE, writes: parentWrites });
  const files = () => memoryFiles({ '/d/p.vhdx': parent.bytes });
  const child = (spec: Parameters<typeof buildVhdx>[0]) =>
    buildVhdx({ ...spec, parent: { linkage: parent.dataWriteGuid, locators: { relative_path: 'p.vhdx' } } });

  it('NOT_PRESENT reads the parent; ZERO, UNDEFINED and UNMAPPED read zeros (not the parent) [?] settled as zeros', async () => {
    const c = child({
      size: SIZE,
      states: { 1: STATE.ZERO, 2: STATE.UNDEFINED, 3: STATE.UNMAPPED, 4: STATE.UNMAPPED_V095 },
    });
    const img = await openVhdx(new MemoryDevice(c.bytes), { path: '/d/c.avhdx', files: files() });
    const want = expectedContent(SIZE, [parentWrites]);
    want.fill(0, MiB, 5 * MiB);
    expect(firstDiff(await readAll(img), want)).toBe(-1);
    expect(await img.mapRange(0, SIZE)).toEqual([
      { offset: 0, length: MiB, kind: 'data' },
      { offset: MiB, length: 4 * MiB, kind: 'zero' },
      { offset: 5 * MiB, length: 3 * MiB, kind: 'data' },
    ]);
  });

  it('PARTIALLY_PRESENT: bit 1 = this file, 0 = parent, LSB-first per byte, bits of block i start at (i mod chunkRatio) × sectors per block', async () => {
    // Sectors 0, 2, 3 and 9 of block 3, and one sector at the very end of block 3.
    const w = [
      pattern(3 * MiB, 512, 1),
      pattern(3 * MiB + 1024, 1024, 2),
      pattern(3 * MiB + 9 * 512, 512, 3),
      pattern(4 * MiB - 512, 512, 4),
    ];
    const c = child({ size: SIZE, writes: w });
    const bm = c.layout.bitmapAt.get(0)!;
    const first = (3 * MiB) / 512 / 8; // byte of the bitmap where block 3 starts
    expect([...c.bytes.subarray(bm + first, bm + first + 2)]).toEqual([0b00001101, 0b00000010]);
    const img = await openVhdx(new MemoryDevice(c.bytes), { path: '/d/c.avhdx', files: files() });
    expect(firstDiff(await readAll(img), expectedContent(SIZE, [parentWrites, w]))).toBe(-1);
    // Sector-granular reads inside the block, including unaligned offsets.
    const want = expectedContent(SIZE, [parentWrites, w]);
    for (const [o, n] of [
      [3 * MiB + 100, 700],
      [3 * MiB + 1000, 5000],
      [4 * MiB - 600, 700],
    ])
      expect(await img.read(o!, n!)).toEqual(want.subarray(o!, o! + n!));
    const map = await img.mapRange(3 * MiB, 4 * 512);
    expect(map).toEqual([{ offset: 3 * MiB, length: 2048, kind: 'data' }]);
  });

  it('PARTIALLY_PRESENT with every bit set reads only this file; FULLY_PRESENT ignores the bitmap', async () => {
    const w = [pattern(2 * MiB, MiB, 7)];
    const c = child({ size: SIZE, writes: w, forcePartial: true });
    const img = await openVhdx(new MemoryDevice(c.bytes), { path: '/d/c.avhdx', files: files() });
    expect(firstDiff(await img.read(2 * MiB, MiB), w[0]!.data)).toBe(-1);
    const full = child({ size: SIZE, writes: w });
    const bm = full.layout.bitmapAt.get(0)!;
    full.bytes.fill(0, bm, bm + MiB); // bitmap says "parent" everywhere: must not matter for FULLY_PRESENT
    const img2 = await openVhdx(new MemoryDevice(full.bytes), { path: '/d/c.avhdx', files: files() });
    expect(firstDiff(await img2.read(2 * MiB, MiB), w[0]!.data)).toBe(-1);
  });

  it('a PARTIALLY_PRESENT block whose chunk has no sector bitmap is VHDX_BAT', async () => {
    const c = child({ size: SIZE, writes: [pattern(0, 512, 1)] });
    le64(c.bytes, c.layout.batAt + 8 * c.layout.chunkRatio, batEntry(0, 0));
    const img = await openVhdx(new MemoryDevice(c.bytes), { path: '/d/c.avhdx', files: files() });
    await typedError(img.read(0, 512), 'VHDX_BAT');
  });
});

describe('the BAT is read lazily, reads coalesce — vhd-vhdx.md §2.5, DESIGN.md "Read only what is needed"', () => {
  it('opening reads no BAT page; reading one block reads one 4 KiB BAT page and the data in one request', async () => {
    const w = [pattern(0, 8 * MiB, 1)];
    const v = buildVhdx({ size: 8 * MiB, writes: w });
    const stats = newIoStats();
    const img = await openVhdx(new MemoryDevice(v.bytes, { stats }), {});
    const atOpen = stats.bytesRead;
    expect(atOpen).toBeLessThan(80 * 1024);
    const r0 = stats.reads;
    expect(firstDiff(await img.read(MiB, 3 * MiB), w[0]!.data.subarray(MiB, 4 * MiB))).toBe(-1);
    // One BAT page + one read for three consecutive blocks laid out contiguously in the file.
    expect(stats.reads - r0).toBe(2);
    expect(stats.bytesRead - atOpen).toBe(Math.min(4096, 8 * v.layout.totalEntries) + 3 * MiB);
  });

  it('allocatedSize is not computed at open (info.allocatedSize null) but by the method', async () => {
    const v = buildVhdx({ size: 8 * MiB, writes: [pattern(MiB, 512, 1), pattern(7 * MiB, 512, 2)] });
    const img = await openVhdx(new MemoryDevice(v.bytes), {});
    expect(img.info.allocatedSize).toBeNull();
    expect(await img.allocatedSize()).toBe(2 * MiB);
  });
});
