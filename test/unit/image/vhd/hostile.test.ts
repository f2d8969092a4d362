// Damaged VHDs (docs/vhd-vhdx.md §1.1–§1.5; DESIGN.md "Bad input"): truncated at each structure boundary,
// fields corrupted with the checksums recomputed (so the damage is believed), seeded random mutations. Every open
// and read ends in success or a BootprobeError with the expected code and offset — never another exception.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../../src/errors.js';
import { openImage } from '../../../../src/image/open-image.js';
import type { openVhd } from '../../../../src/image/vhd/vhd-image.js';
import { type BlockDevice, type FileAccess, MemoryDevice } from '../../../../src/io/index.js';
import { FIXTURES } from '../../../helpers/env.js';
import { gunzipFile } from '../../../helpers/gunzip.js';
import { type BuiltVhd, buildVhd, fixChecksum, write } from '../../../helpers/vhd-builder.js';

interface Outcome {
  code: string;
  offset?: number;
  warnings: string[];
}

/** Opens and reads the whole disk (and its map); 'ok' or the BootprobeError's code. Anything else fails the test. */
async function attempt(bytes: Uint8Array, options: Parameters<typeof openVhd>[1] = {}): Promise<Outcome> {
  let warnings: string[] = [];
  try {
    const img = await openImage(new MemoryDevice(bytes), { path: '/d/c.vhd', ...options });
    warnings = img.warnings.map((w) => w.code);
    const step = 256 * 1024 + 512;
    for (let at = 0; at < img.size; at += step) await img.read(at, Math.min(step, img.size - at));
    await img.mapRange(0, img.size);
    await img.allocatedSize();
    return { code: 'ok', warnings };
  } catch (e) {
    if (!(e instanceof BootprobeError)) throw e;
    expect(e.hint).toBeTruthy();
    return { code: e.code, offset: e.offset, warnings };
  }
}

const BS = 64 * 1024;
const SIZE = 1 << 20;
const parent = buildVhd({ type: 'fixed', size: SIZE, writes: [write(0, 4096, 1)], seed: 40 });
const files: FileAccess = {
  open: async (p: string): Promise<BlockDevice | null> =>
    p === '/d/base.vhd' ? new MemoryDevice(parent.bytes) : null,
  resolveBeside: (_from, rel) => `/d/${rel.split(/[\\/]/).pop()}`,
  basename: (p) => p.split(/[\\/]/).pop() ?? p,
};
const dynamic = buildVhd({
  type: 'dynamic',
  size: SIZE,
  blockSize: BS,
  writes: [write(0, 4096, 2), write(3 * BS - 512, 1024, 3), write(SIZE - 512, 512, 4)],
});
const diff = buildVhd({
  type: 'differencing',
  size: SIZE,
  blockSize: BS,
  writes: [write(512, 512, 5), write(7 * BS, 2048, 6)],
  parent: {
    uniqueId: parent.uniqueId,
    name: 'C:\\VMs\\base.vhd',
    locators: [
      { code: 'W2ru', path: '.\\base.vhd' },
      { code: 'W2ku', path: 'C:\\VMs\\base.vhd' },
    ],
  },
});

/** A copy with `fn` applied, then the footer (both copies) and header checksums recomputed. */
function corrupt(b: BuiltVhd, fn: (dv: DataView, bytes: Uint8Array) => void): Uint8Array {
  const bytes = b.bytes.slice();
  fn(new DataView(bytes.buffer), bytes);
  const f = b.layout.footerAt;
  fixChecksum(bytes, f, 512);
  if (b.layout.headerAt !== null) {
    bytes.set(bytes.subarray(f, f + 512), 0);
    fixChecksum(bytes, b.layout.headerAt, 1024);
  }
  return bytes;
}

describe('truncated at each structure boundary — vhd-vhdx.md §1.1 layout', () => {
  it('dynamic disk: every cut ends in a read or a BootprobeError with a VHD code', async () => {
    const L = dynamic.layout;
    const blockAts = [...L.blocks.values()];
    const cuts = [
      0,
      1,
      8,
      511,
      512,
      513,
      1024,
      1535,
      1536,
      1540,
      L.batAt! + 512,
      ...blockAts.flatMap((a) => [a, a + 1, a + L.bitmapSize, a + L.bitmapSize + 1000]),
      L.footerAt,
      L.footerAt + 1,
      L.footerAt + 511,
    ];
    for (const cut of cuts) {
      const r = await attempt(dynamic.bytes.subarray(0, cut));
      // Under 512 bytes or without a cookie anywhere: openImage sees raw. Else the VHD reader must refuse or read.
      if (r.code !== 'ok') expect(r.code, `cut at ${cut}`).toMatch(/^(VHD_|TRUNCATED)/);
    }
  });

  it('a dynamic disk cut before its last block: the footer copy at 0 opens it, the lost block is VHD_BLOCK', async () => {
    const last = Math.max(...dynamic.layout.blocks.values());
    const r = await attempt(dynamic.bytes.subarray(0, last + 1000));
    expect(r).toMatchObject({ code: 'VHD_BLOCK', warnings: ['VHD_FOOTER'] });
  });

  it('a dynamic disk cut inside its BAT: VHD_BAT at the table offset field', async () => {
    const cut = buildVhd({ type: 'dynamic', size: 64 * SIZE, blockSize: BS }).bytes.subarray(0, 1536 + 2048);
    expect(await attempt(cut)).toMatchObject({ code: 'VHD_BAT', offset: 512 + 16 });
  });

  it('a dynamic disk cut inside its header: VHD_DYNAMIC_HEADER at the data offset field of the footer copy', async () => {
    expect(await attempt(dynamic.bytes.subarray(0, 1200))).toMatchObject({
      code: 'VHD_DYNAMIC_HEADER',
      offset: 16,
    });
  });

  it('a differencing disk cut inside its locator data: the damaged locators are findings, the parent name finds it', async () => {
    const cut = diff.bytes.subarray(0, diff.layout.locatorsAt[0]! + 10);
    const img = await openImage(new MemoryDevice(cut), { path: '/d/c.vhd', files });
    expect(img.warnings.map((w) => w.code)).toEqual([
      'VHD_FOOTER',
      'VHD_DYNAMIC_HEADER',
      'VHD_DYNAMIC_HEADER',
    ]);
    expect(img.info.parent?.path).toBe('/d/base.vhd');
    // The blocks were cut off too: reading one is VHD_BLOCK at its BAT entry.
    expect(await attempt(cut, { files })).toMatchObject({ code: 'VHD_BLOCK', offset: diff.layout.batAt });
  });

  it('qemu fixed fixture cut by one byte: not a VHD any more, or a footer that no longer fits', async () => {
    const b = gunzipFile(path.join(FIXTURES, 'vhd', 'vpc-fixed.vhd.gz'));
    for (const cut of [b.length - 1, b.length - 512, b.length - 513]) {
      const r = await attempt(b.subarray(0, cut));
      expect(['ok', 'VHD_FOOTER']).toContain(r.code);
    }
  });
});

describe('corrupted footer fields — vhd-vhdx.md §1.2', () => {
  const f = dynamic.layout.footerAt;
  const cases: [string, (dv: DataView) => void, string, number][] = [
    ['disk type 5', (dv) => dv.setUint32(f + 60, 5), 'VHD_FOOTER', f + 60],
    ['disk type 0', (dv) => dv.setUint32(f + 60, 0), 'VHD_FOOTER', f + 60],
    [
      'current size not a multiple of 512',
      (dv) => dv.setBigUint64(f + 48, BigInt(SIZE + 1)),
      'VHD_FOOTER',
      f + 48,
    ],
    ['current size 2^64-1', (dv) => dv.setBigUint64(f + 48, 0xffffffffffffffffn), 'VHD_FOOTER', f + 48],
    [
      'current size 1 TiB (BAT too small for it)',
      (dv) => dv.setBigUint64(f + 48, 1n << 40n),
      'VHD_BAT',
      512 + 28,
    ],
    ['data offset past EOF', (dv) => dv.setBigUint64(f + 16, 1n << 40n), 'VHD_DYNAMIC_HEADER', f + 16],
    [
      'data offset all ones on a dynamic disk',
      (dv) => dv.setBigUint64(f + 16, 0xffffffffffffffffn),
      'VHD_DYNAMIC_HEADER',
      f + 16,
    ],
    ['data offset pointing at the footer copy', (dv) => dv.setBigUint64(f + 16, 0n), 'VHD_DYNAMIC_HEADER', 0],
  ];
  for (const [name, fn, code, offset] of cases) {
    it(`${name}: ${code} at ${offset}`, async () => {
      expect(await attempt(corrupt(dynamic, fn))).toMatchObject({ code, offset });
    });
  }

  it('fixed disk whose current size exceeds the file: VHD_FOOTER', async () => {
    const fixed = buildVhd({ type: 'fixed', size: SIZE });
    const b = corrupt(fixed, (dv) => dv.setBigUint64(SIZE + 48, BigInt(SIZE + 512)));
    expect(await attempt(b)).toMatchObject({ code: 'VHD_FOOTER', offset: SIZE + 48 });
  });
});

describe('corrupted dynamic header and BAT — vhd-vhdx.md §1.4, §1.5', () => {
  const h = 512;
  const batAt = dynamic.layout.batAt!;
  const cases: [string, (dv: DataView) => void, string, number][] = [
    ['cookie not "cxsparse"', (dv) => dv.setUint8(h, 0x41), 'VHD_DYNAMIC_HEADER', h],
    ['block size 0', (dv) => dv.setUint32(h + 32, 0), 'VHD_DYNAMIC_HEADER', h + 32],
    ['block size not a power of two', (dv) => dv.setUint32(h + 32, 3 * BS), 'VHD_DYNAMIC_HEADER', h + 32],
    ['block size 256 bytes', (dv) => dv.setUint32(h + 32, 256), 'VHD_DYNAMIC_HEADER', h + 32],
    ['block size 2 GiB', (dv) => dv.setUint32(h + 32, 0x80000000), 'VHD_DYNAMIC_HEADER', h + 32],
    ['max table entries 0', (dv) => dv.setUint32(h + 28, 0), 'VHD_BAT', h + 28],
    ['max table entries one short', (dv) => dv.setUint32(h + 28, SIZE / BS - 1), 'VHD_BAT', h + 28],
    ['table offset past EOF', (dv) => dv.setBigUint64(h + 16, 1n << 40n), 'VHD_BAT', h + 16],
    [
      'table offset 2^64-1',
      (dv) => dv.setBigUint64(h + 16, 0xffffffffffffffffn),
      'VHD_DYNAMIC_HEADER',
      h + 16,
    ],
    ['BAT entry pointing past EOF', (dv) => dv.setUint32(batAt, 0x7fffff00), 'VHD_BLOCK', batAt],
    ['BAT entry 0 (the footer copy)', (dv) => dv.setUint32(batAt, 0), 'VHD_BLOCK', batAt],
    [
      'BAT entry overlapping the trailing footer',
      (dv) => dv.setUint32(batAt + 4 * 15, dynamic.layout.footerAt / 512 - 10),
      'VHD_BLOCK',
      batAt + 60,
    ],
  ];
  for (const [name, fn, code, offset] of cases) {
    it(`${name}: ${code} at ${offset}`, async () => {
      expect(await attempt(corrupt(dynamic, fn))).toMatchObject({ code, offset });
    });
  }

  it('huge max table entries (0xFFFFFFFF): nothing is allocated for it; a VHD_BAT finding, an error with strict', async () => {
    const b = corrupt(dynamic, (dv) => dv.setUint32(h + 28, 0xffffffff));
    expect(await attempt(b)).toEqual({ code: 'ok', warnings: ['VHD_BAT'] });
    expect(await attempt(b, { strict: true })).toMatchObject({ code: 'VHD_BAT', offset: h + 28 });
  });

  it('differencing: locator length 0xFFFFFFFF and offset past EOF are findings; the parent is still found', async () => {
    const b = corrupt(diff, (dv) => {
      dv.setUint32(h + 576 + 8, 0xffffffff);
      dv.setBigUint64(h + 600 + 16, 1n << 40n);
    });
    expect(await attempt(b, { files })).toEqual({
      code: 'ok',
      warnings: ['VHD_DYNAMIC_HEADER', 'VHD_DYNAMIC_HEADER'],
    });
  });

  it('differencing: a bitmap of all ones over a zero data area reads, a BAT entry past EOF is VHD_BLOCK', async () => {
    const at = diff.layout.blocks.get(0)!;
    const ones = corrupt(diff, (_dv, bytes) => bytes.fill(0xff, at, at + diff.layout.bitmapSize));
    expect((await attempt(ones, { files })).code).toBe('ok');
    const past = corrupt(diff, (dv) => dv.setUint32(diff.layout.batAt!, 0xfffffff0));
    expect(await attempt(past, { files })).toMatchObject({ code: 'VHD_BLOCK', offset: diff.layout.batAt });
  });
});

describe('seeded random mutations — DESIGN.md "Bad input"', () => {
  function rng(seed: number) {
    let s = seed >>> 0;
    return () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s;
    };
  }
  const fixed = gunzipFile(path.join(FIXTURES, 'vhd', 'vpc-dynamic.vhd.gz'));
  const subjects: [string, BuiltVhd | Uint8Array][] = [
    ['builder dynamic', dynamic],
    ['builder differencing', diff],
    ['qemu dynamic fixture', fixed],
  ];
  for (const [name, s] of subjects) {
    it(`${name}: 200 mutations of the metadata (fixed seed), half with checksums recomputed`, async () => {
      const next = rng(0xbad + name.length);
      const base = s instanceof Uint8Array ? s : s.bytes;
      for (let i = 0; i < 200; i++) {
        const n = 1 + (next() % 6);
        const pick = () => {
          // Footer, dynamic header and BAT/locators: where a byte changes what is read.
          const r = next() % 3;
          if (r === 0) return base.length - 512 + (next() % 512);
          if (r === 1) return 512 + (next() % 1024);
          return 1536 + (next() % 4096);
        };
        const edits = Array.from({ length: n }, () => [pick(), next() & 0xff] as const);
        const apply = (dv: DataView, bytes: Uint8Array) => {
          for (const [at, v] of edits) if (at < bytes.length) bytes[at] = v;
          void dv;
        };
        let b: Uint8Array;
        if (!(s instanceof Uint8Array) && next() % 2) b = corrupt(s, apply);
        else {
          b = base.slice();
          apply(new DataView(b.buffer), b);
        }
        await attempt(b, { files });
      }
    });
  }
});
