// Hostile VHDX input — DESIGN.md "Bad input gets a typed error": truncation at every structure boundary, corrupted
// headers, region tables, metadata, BAT and log entries (checksums recomputed so the damage gets past them), and a
// 64 TB sparse disk that must open reading a few dozen KB. Only BootprobeErrors, never a RangeError or a hang.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../../src/errors.js';
import type { OpenImageOptions } from '../../../../src/image/disk-image.js';
import { openVhdx } from '../../../../src/image/vhdx/vhdx-image.js';
import { type BlockDevice, newIoStats } from '../../../../src/io/block-device.js';
import { MemoryDevice } from '../../../../src/io/memory-device.js';
import { FIXTURES } from '../../../helpers/env.js';
import {
  type BuiltVhdx,
  batEntryOffset,
  buildVhdx,
  encodeLogEntry,
  KiB,
  le32,
  MiB,
  memoryFiles,
  pattern,
  placeLogEntries,
  resealVhdx,
  sealCrc,
} from '../../../helpers/vhdx-builder.js';

const LOG = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';

/** Opens, reads every byte and maps the whole disk. Returns 'ok' or the BootprobeError code; anything else fails. */
async function attempt(bytes: Uint8Array, options: OpenImageOptions = {}): Promise<string> {
  try {
    const img = await openVhdx(new MemoryDevice(bytes), options);
    for (let at = 0; at < img.size; at += 2 * MiB + 512)
      await img.read(at, Math.min(2 * MiB + 512, img.size - at));
    await img.mapRange(0, img.size);
    await img.allocatedSize();
    return 'ok';
  } catch (e) {
    if (e instanceof BootprobeError) return e.code;
    throw new Error(`not a BootprobeError: ${String(e)}\n${(e as Error)?.stack}`);
  }
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

const qemu = new Uint8Array(gunzipSync(readFileSync(path.join(FIXTURES, 'vhdx/dynamic-1m.vhdx.gz'))));
const base = buildVhdx({ size: 4 * MiB, writes: [pattern(0, 8192, 1), pattern(3 * MiB, MiB, 2)] });
const child = buildVhdx({
  size: 4 * MiB,
  writes: [pattern(512, 512, 3), pattern(2 * MiB, 4096, 4)],
  parent: { linkage: base.dataWriteGuid, locators: { relative_path: 'base.vhdx' } },
});
const childOpts = () => ({ path: '/d/child.avhdx', files: memoryFiles({ '/d/base.vhdx': base.bytes }) });

/** A disk with a pending one-entry log (a BAT sector rewrite), for log corruption. */
function withLog(): BuiltVhdx {
  const v = buildVhdx({ size: 4 * MiB, writes: [pattern(0, 4096, 5)], logGuid: LOG });
  const e = encodeLogEntry({
    sequenceNumber: 3n,
    tail: 0,
    logGuid: LOG,
    descriptors: [
      {
        kind: 'desc',
        fileOffset: v.layout.batAt,
        sector: v.bytes.slice(v.layout.batAt, v.layout.batAt + 4096),
      },
      { kind: 'zero', fileOffset: v.layout.metaAt + 0x20000, length: 4096 },
    ],
    flushedFileOffset: v.bytes.length,
    lastFileOffset: v.bytes.length,
  });
  placeLogEntries(v, [[0, e]]);
  return v;
}

describe('truncated VHDX — every structure boundary', () => {
  const cases: [string, Uint8Array, number[], () => OpenImageOptions][] = [
    [
      'qemu dynamic',
      qemu,
      [
        0,
        8,
        520,
        64 * KiB,
        68 * KiB,
        128 * KiB,
        132 * KiB,
        192 * KiB,
        256 * KiB,
        320 * KiB,
        MiB,
        2 * MiB,
        2 * MiB + 8,
        3 * MiB,
        3 * MiB + 64 * KiB,
        4 * MiB,
        4 * MiB + 100,
        qemu.length - MiB + 100,
      ],
      () => ({}),
    ],
    [
      'builder child',
      child.bytes,
      [
        MiB,
        child.layout.batAt + 8,
        child.layout.metaAt,
        child.layout.metaAt + 0x15000,
        ...child.layout.blockAt.values(),
        ...[...child.layout.bitmapAt.values()].map((x) => x + 100),
      ],
      childOpts,
    ],
  ];
  for (const [name, bytes, cuts, opts] of cases) {
    it(`${name}: cut at each boundary (and one byte either side) gives a typed error`, async () => {
      const codes = new Set<string>();
      for (const cut of cuts)
        for (const at of [cut - 1, cut, cut + 1])
          if (at > 0 && at < bytes.length) codes.add(await attempt(bytes.slice(0, at), opts()));
      expect(codes.has('ok')).toBe(false);
      expect([...codes].every((c) => c.startsWith('VHDX_') || c === 'TRUNCATED')).toBe(true);
    });
  }

  it('below 1 MiB is VHDX_SIGNATURE; a cut through the BAT or metadata is VHDX_REGION_TABLE; through data VHDX_BLOCK', async () => {
    expect(await attempt(qemu.slice(0, 512 * KiB))).toBe('VHDX_SIGNATURE');
    expect(await attempt(qemu.slice(0, 2 * MiB + 4096))).toBe('VHDX_REGION_TABLE');
    // The file's last MiB is block 24, whose 1536 bytes of disk are read from its start (vhdx.sh writes it last).
    expect(await attempt(qemu.slice(0, qemu.length - MiB + 1024))).toBe('VHDX_BLOCK');
    // A file may end inside its last block when the disk ends there too (qemu fixed files do): not an error.
    expect(await attempt(qemu.slice(0, qemu.length - MiB + 1536))).toBe('ok');
  });
});

describe('corrupted VHDX structures — checksums recomputed so the damage is seen', () => {
  const mutate = (src: Uint8Array, at: number, value: number, width: 1 | 4 = 4) => {
    const b = src.slice();
    if (width === 4) le32(b, at, value);
    else b[at] = value;
    resealVhdx(b);
    return b;
  };

  it('header fields: version, log GUID/offset/length (headers), each gives ok or a typed error', async () => {
    for (const hdr of [64 * KiB, 128 * KiB])
      for (const [off, val] of [
        [66, 2],
        [64, 1],
        [68, 3],
        [68, 0xffffffff],
        [72, 0],
        [76, 0xffffffff],
        [48, 0x12345678],
      ] as const)
        expect(await attempt(mutate(qemu, hdr + off, val))).toMatch(/^(ok|VHDX_\w+)$/);
    // Both headers broken (CRC not recomputed): VHDX_HEADER_CRC.
    const b = qemu.slice();
    b[64 * KiB + 100]! ^= 1;
    b[128 * KiB + 100]! ^= 1;
    expect(await attempt(b)).toBe('VHDX_HEADER_CRC');
  });

  it('region table entries: offset, length, count, required flag', async () => {
    for (const [off, val] of [
      [8, 0],
      [8, 5000],
      [16 + 16, 12345],
      [16 + 24, 0],
      [16 + 24, 0x7ff00000],
      [16 + 28, 1],
      [48 + 16, 0],
      [48 + 20, 0xffff],
    ] as const)
      expect(await attempt(mutate(qemu, 192 * KiB + off, val))).toMatch(/^(ok|VHDX_\w+)$/);
  });

  it('metadata: entry count, item offsets and lengths, item values', async () => {
    const m = 3 * MiB; // qemu's metadata region (vhd-vhdx.md §2.1)
    for (const [off, val] of [
      [10, 0xffff],
      [10, 0],
      [48, 0],
      [48, 0x100000],
      [52, 0xffffffff],
      [52, 2],
      [56, 7],
      [0x10000, 0],
      [0x10000, 3 * MiB],
      [0x10004, 2],
      [0x10008, 0xffffffff],
      [0x1000c, 0x7fffffff],
      [0x10020, 1024],
    ] as const)
      expect(await attempt(mutate(qemu, m + off, val))).toMatch(/^(ok|VHDX_\w+|TRUNCATED)$/);
  });

  it('BAT entries: every state with offsets inside, outside and far beyond the file', async () => {
    const codes = new Set<string>();
    for (const b of [0, 1, 5, 24])
      for (const state of [0, 1, 2, 3, 4, 5, 6, 7])
        for (const mb of [0, 1, 4, 14, 15, 0xfff, 0xfffff]) {
          const bytes = qemu.slice();
          const at = 2 * MiB + 8 * b;
          le32(bytes, at, (state | (mb << 20)) >>> 0);
          le32(bytes, at + 4, mb >>> 12);
          codes.add(await attempt(bytes));
        }
    expect([...codes].every((c) => /^(ok|VHDX_\w+)$/.test(c))).toBe(true);
    expect(codes).toContain('VHDX_BLOCK');
  });

  it('a differencing child’s bitmap entry and PARTIALLY_PRESENT entries pointing anywhere', async () => {
    for (const mb of [0, 1, 3, 1000, 0xfffff]) {
      for (const at of [child.layout.batAt + 8 * child.layout.chunkRatio, batEntryOffset(child, 0)]) {
        const b = child.bytes.slice();
        le32(b, at, ((at === batEntryOffset(child, 0) ? 7 : 6) | (mb << 20)) >>> 0);
        expect(await attempt(b, childOpts())).toMatch(/^(ok|VHDX_\w+)$/);
      }
    }
  });

  it('log entries: every field of the entry and its descriptors, CRC recomputed', async () => {
    const v = withLog();
    expect(await attempt(v.bytes)).toBe('ok');
    const r = rng(7);
    const fields = [8, 12, 16, 24, 28, 48, 56, 64, 68, 72, 80, 88, 96, 104, 112, 120, 4096, 4100, 8188];
    for (const f of fields) {
      for (const val of [0, 1, 4096, 0xffffffff, r()]) {
        const b = v.bytes.slice();
        const entry = b.subarray(v.layout.logAt, v.layout.logAt + 2 * 4096);
        le32(entry, f, val);
        sealCrc(entry);
        expect(await attempt(b)).toMatch(/^(ok|VHDX_\w+)$/);
      }
    }
  });

  for (const [name, make, opts] of [
    ['qemu dynamic', () => qemu, () => ({})],
    ['builder child', () => child.bytes, childOpts],
    ['pending log', () => withLog().bytes, () => ({})],
  ] as const) {
    it(`${name}: 120 seeded mutations in the structures, half with checksums recomputed`, async () => {
      const src = make();
      const r = rng(name.length * 7919);
      const areas = [
        [64 * KiB, 4096],
        [128 * KiB, 4096],
        [192 * KiB, 256],
        [MiB, 8192],
        [2 * MiB, 4096],
        [3 * MiB, 4096],
        [3 * MiB + 64 * KiB, 256],
      ] as const;
      for (let i = 0; i < 120; i++) {
        const b = src.slice();
        for (let k = 0; k < 1 + (r() % 4); k++) {
          const [start, len] = areas[r() % areas.length]!;
          if (start + len <= b.length) b[start + (r() % len)] = r() & 0xff;
        }
        if (i % 2) resealVhdx(b);
        expect(await attempt(b, opts())).toMatch(/^(ok|VHDX_\w+|TRUNCATED|PARENT_CHAIN)$/);
      }
    });
  }
});

describe('a 64 TB sparse VHDX opens in milliseconds — vhd-vhdx.md §2.5 "read in pages"', () => {
  it('open reads < 80 KiB and none of the 16 MiB BAT; a read at the end reads one BAT page and the data', async () => {
    const size = 64 * 1024 ** 4;
    const v = buildVhdx({ size, blockSize: 32 * MiB, writes: [pattern(size - 4096, 4096, 1)] });
    expect(v.layout.batLength).toBeGreaterThan(16 * MiB);
    const stats = newIoStats();
    const mem = new MemoryDevice(v.bytes, { stats });
    const batReads: number[] = [];
    const dev: BlockDevice = {
      size: mem.size,
      sectorSize: 512,
      read: (o, n) => {
        if (o < v.layout.batAt + v.layout.batLength && o + n > v.layout.batAt) batReads.push(n);
        return mem.read(o, n);
      },
      close: () => mem.close(),
    };
    const t0 = performance.now();
    const img = await openVhdx(dev, {});
    const ms = performance.now() - t0;
    expect(img.size).toBe(size);
    expect(img.info.details.batEntries).toBe(2 * 1024 * 1024 + 16383);
    expect(stats.bytesRead).toBeLessThan(80 * KiB);
    expect(batReads).toEqual([]);
    expect(ms).toBeLessThan(200);
    const before = stats.bytesRead;
    expect([...(await img.read(size - 4096, 4096))]).toEqual([...pattern(size - 4096, 4096, 1).data]);
    // One BAT page: the last one, cut at the end of the BAT.
    expect(batReads).toHaveLength(1);
    expect(batReads[0]).toBeLessThanOrEqual(4096);
    expect(stats.bytesRead - before).toBe(batReads[0]! + 4096);
    // A FULLY_PRESENT block maps as data whole (no bitmap in a disk without a parent).
    expect(await img.mapRange(size - 64 * MiB, 64 * MiB)).toEqual([
      { offset: size - 64 * MiB, length: 32 * MiB, kind: 'zero' },
      { offset: size - 32 * MiB, length: 32 * MiB, kind: 'data' },
    ]);
  });
});
