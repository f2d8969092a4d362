// Damaged and hostile images: every open and read ends in success or a BootprobeError, never another exception,
// a hang or a huge allocation (issue 2 "Must show": corrupted and truncated copies of every fixture).
import { describe, expect, it } from 'vitest';
import { openImage } from '../../../src/image/open-image.js';
import { newIoStats } from '../../../src/io/block-device.js';
import { crc32c } from '../../../src/io/checksum.js';
import type { FileAccess } from '../../../src/io/file-access.js';
import { anyBasename } from '../../../src/io/file-access.js';
import { MemoryDevice } from '../../../src/io/memory-device.js';
import { buildVhd, buildVhdx, pattern } from '../../helpers/image-builder.js';
import { fixtureBytes, openAndReadTyped } from './helpers.js';

/** Files by name, in memory: parents for in-memory differencing disks. */
function memoryFiles(files: Record<string, Uint8Array>): FileAccess {
  return {
    open: async (p) => (files[anyBasename(p)] ? new MemoryDevice(files[anyBasename(p)]!) : null),
    resolveBeside: (_from, rel) => anyBasename(rel),
    basename: anyBasename,
  };
}

/** A tiny deterministic PRNG so every run mutates the same way (failures reproduce). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

const le32 = (b: Uint8Array, at: number, v: number) =>
  new DataView(b.buffer, b.byteOffset).setUint32(at, v >>> 0, true);
/** Recomputes the CRC-32C of the VHDX headers and region tables so a mutation gets past the checksum. */
function fixVhdxCrcs(b: Uint8Array): void {
  for (const [at, len] of [
    [65536, 4096],
    [131072, 4096],
    [196608, 65536],
    [262144, 65536],
  ] as const) {
    if (at + len > b.length) continue;
    const s = b.subarray(at, at + len);
    le32(s, 4, 0);
    le32(s, 4, crc32c(s));
  }
}
function fixVhdChecksums(b: Uint8Array): void {
  const fix = (at: number, len: number, field: number) => {
    if (at < 0 || at + len > b.length) return;
    const s = b.subarray(at, at + len);
    let sum = 0;
    for (let i = 0; i < len; i++) if (i < field || i >= field + 4) sum = (sum + s[i]!) >>> 0;
    new DataView(s.buffer, s.byteOffset).setUint32(field, ~sum >>> 0, false);
  };
  fix(0, 512, 64);
  fix(b.length - 512, 512, 64);
  fix(512, 1024, 36);
}

const vhdBase = buildVhd({ size: 4 * 1024 * 1024, writes: [pattern(0, 8192, 1)] });
const vhdChild = buildVhd({
  size: 4 * 1024 * 1024,
  writes: [pattern(4096, 1024, 2)],
  parent: { uniqueId: vhdBase.uniqueId, name: 'base.vhd', locators: [{ code: 'W2ru', path: '.\\base.vhd' }] },
});
const vhdxBase = buildVhdx({ size: 4 * 1024 * 1024, writes: [pattern(0, 8192, 1)] });
const vhdxChild = buildVhdx({
  size: 4 * 1024 * 1024,
  writes: [pattern(4096, 1024, 2)],
  parent: { dataWriteGuid: vhdxBase.dataWriteGuid, locators: { relative_path: '.\\base.vhdx' } },
});

const subjects: {
  name: string;
  bytes: Uint8Array;
  files?: FileAccess;
  fix: (b: Uint8Array) => void;
  hot: number[];
}[] = [
  {
    name: 'qemu dynamic VHD',
    bytes: fixtureBytes('vpc-dynamic.vhd'),
    fix: fixVhdChecksums,
    hot: [0, 16, 48, 60, 512, 528, 540, 544, 1536],
  },
  { name: 'qemu fixed VHD', bytes: fixtureBytes('vpc-fixed.vhd'), fix: fixVhdChecksums, hot: [] },
  {
    name: 'differencing VHD',
    bytes: vhdChild.bytes,
    files: memoryFiles({ 'base.vhd': vhdBase.bytes }),
    fix: fixVhdChecksums,
    hot: [0, 16, 60, 512, 528, 540, 544, 552, 1088, 1096, 1104, 1536],
  },
  {
    name: 'qemu dynamic VHDX',
    bytes: fixtureBytes('vhdx-dynamic-1m.vhdx'),
    fix: fixVhdxCrcs,
    hot: [
      65536 + 8,
      65536 + 48,
      65536 + 68,
      65536 + 72,
      131072 + 72,
      196608 + 8,
      196608 + 32,
      196608 + 40,
      196608 + 64,
      196608 + 72,
      2097152,
      3145728 + 10,
      3145728 + 48,
      3145728 + 52,
    ],
  },
  {
    name: 'differencing VHDX',
    bytes: vhdxChild.bytes,
    files: memoryFiles({ 'base.vhdx': vhdxBase.bytes }),
    fix: fixVhdxCrcs,
    hot: [
      65536 + 32,
      196608 + 32,
      2097152,
      2097152 + 8 * 4096,
      3145728 + 32 * 6,
      3145728 + 65536,
      3145728 + 65536 + 4,
    ],
  },
];

describe('hostile images — every failure is a BootprobeError (DESIGN.md "Bad input")', () => {
  for (const s of subjects) {
    it(`${s.name}: truncated at every structure boundary`, async () => {
      const size = s.bytes.length;
      const cuts = [
        0,
        1,
        511,
        512,
        1023,
        1024,
        1535,
        1536,
        2048,
        4096,
        65536,
        65536 + 100,
        131072,
        196608,
        262144,
        1 << 20,
        2 << 20,
        3 << 20,
        (3 << 20) + 65536,
        size >> 1,
        size - 512,
        size - 511,
        size - 1,
      ];
      for (const cut of cuts.filter((c) => c < size)) {
        await openAndReadTyped(s.bytes.slice(0, cut), { path: 'x', files: s.files });
      }
    });

    it(`${s.name}: fields overwritten with 0, 1, 0xFF.. and huge values, checksums recomputed`, async () => {
      const values = [0x00, 0x01, 0xff, 0x7f, 0x80];
      for (const at of s.hot) {
        for (const v of values) {
          for (const width of [1, 4, 8]) {
            const b = s.bytes.slice();
            b.fill(v, at, Math.min(at + width, b.length));
            s.fix(b);
            await openAndReadTyped(b, { path: 'x', files: s.files });
          }
        }
      }
    });

    it(`${s.name}: 150 random mutations (fixed seed)`, async () => {
      const next = rng(0x5eed + s.name.length);
      for (let i = 0; i < 150; i++) {
        const b = s.bytes.slice();
        const n = 1 + (next() % 8);
        for (let k = 0; k < n; k++) {
          // Aim half of the mutations at the metadata areas, where they matter.
          const region = next() % 2 === 0 ? Math.min(b.length, 4 << 20) : b.length;
          b[next() % region] = next() & 0xff;
        }
        if (next() % 2) s.fix(b);
        await openAndReadTyped(b, { path: 'x', files: s.files });
      }
    });
  }

  it('a BAT entry pointing past the end of the file is VHD_BLOCK at the entry', async () => {
    const b = fixtureBytes('vpc-dynamic.vhd');
    new DataView(b.buffer).setUint32(1536, 0x7fffff00, false);
    expect(await openAndReadTyped(b)).toBe('VHD_BLOCK');
  });

  it('a VHDX block size that is not a power of two is VHDX_METADATA', async () => {
    const b = vhdxBase.bytes.slice();
    const metaAt = 3 << 20; // builder layout: metadata at 3 MiB, first item (file parameters) at +64 KiB
    le32(b, metaAt + 65536, 3 * 1024 * 1024);
    expect(await openAndReadTyped(b)).toBe('VHDX_METADATA');
  });

  it('a huge VHD max-table-entries count does not allocate: only the entries the disk needs are read', async () => {
    const b = fixtureBytes('vpc-dynamic.vhd');
    new DataView(b.buffer).setUint32(512 + 28, 0xffffffff, false);
    fixVhdChecksums(b);
    expect(await openAndReadTyped(b)).toBe('ok');
  });
});

describe('large sparse images open in milliseconds — the BAT is read in pages on demand', () => {
  it('a 64 TB dynamic VHDX opens reading a few hundred KB and no BAT page', async () => {
    const size = 64 * 1024 ** 4;
    const img = buildVhdx({ size, blockSize: 32 * 1024 * 1024, writes: [pattern(size - 4096, 4096, 1)] });
    const stats = newIoStats();
    const dev = new MemoryDevice(img.bytes, { stats });
    const t0 = performance.now();
    const opened = await openImage(dev, {});
    const openMs = performance.now() - t0;
    expect(opened.size).toBe(size);
    expect(stats.bytesRead).toBeLessThan(300 * 1024);
    expect(openMs).toBeLessThan(200);
    const before = stats.bytesRead;
    const tail = await opened.read(size - 4096, 4096);
    expect(tail).toEqual(pattern(size - 4096, 4096, 1).data);
    expect(stats.bytesRead - before).toBeLessThan(16 * 1024);
  });
});
