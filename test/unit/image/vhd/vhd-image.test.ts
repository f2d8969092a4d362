// Reading fixed and dynamic VHDs (docs/vhd-vhdx.md §1.1–§1.5): qemu-made fixtures against what qemu-img itself
// reads (test/fixtures/vhd/manifest.json, made by scripts/fixtures/vhd.sh), and builder-made disks for the rules
// qemu never exercises (partial bitmaps, the 511-byte footer, a lost trailing footer, bad checksums).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../../src/errors.js';
import type { DiskImage } from '../../../../src/image/disk-image.js';
import { openImage } from '../../../../src/image/open-image.js';
import { openVhd } from '../../../../src/image/vhd/vhd-image.js';
import { MemoryDevice, newIoStats } from '../../../../src/io/index.js';
import { FIXTURES } from '../../../helpers/env.js';
import { gunzipFile } from '../../../helpers/gunzip.js';
import { buildVhd, chainContent, firstDiff, fixChecksum, write } from '../../../helpers/vhd-builder.js';

interface Entry {
  virtualSize: number;
  rawSha256: string;
  fileSize: number;
}
const DIR = path.join(FIXTURES, 'vhd');
const manifest: Record<string, Entry> = JSON.parse(readFileSync(path.join(DIR, 'manifest.json'), 'utf8'));
const fixture = (name: string) => gunzipFile(path.join(DIR, `${name}.gz`));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Reads the whole disk in steps that are not block- or sector-aligned, so reads straddle every boundary. */
async function readAll(img: DiskImage, step = 3 * 1024 * 1024 + 777): Promise<Uint8Array> {
  const out = new Uint8Array(img.size);
  for (let at = 0; at < img.size; at += step) out.set(await img.read(at, Math.min(step, img.size - at)), at);
  return out;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (!(e instanceof BootprobeError)) throw e;
    return e.code;
  }
}

describe('qemu-made fixtures read as qemu-img reads them — vhd-vhdx.md §1.1, §1.5', () => {
  for (const [name, m] of Object.entries(manifest)) {
    it(`${name}: virtual size and the sha256 of every byte equal qemu-img's`, async () => {
      const bytes = fixture(name);
      expect(bytes.length).toBe(m.fileSize);
      const img = await openImage(new MemoryDevice(bytes), {});
      expect(img.info.format).toBe('vhd');
      expect(img.size).toBe(m.virtualSize);
      expect(img.info.virtualSize).toBe(m.virtualSize);
      expect(img.warnings).toEqual([]);
      expect(sha256(await readAll(img))).toBe(m.rawSha256);
    });
  }

  it('info of a qemu dynamic disk: variant, sizes, creator and details', async () => {
    const img = await openVhd(new MemoryDevice(fixture('vpc-dynamic.vhd')), {});
    expect(img.info).toMatchObject({
      format: 'vhd',
      variant: 'dynamic',
      virtualSize: 10514432,
      logicalSectorSize: 512,
      physicalSectorSize: 512,
      blockSize: 2097152,
      creator: 'qemu 5.3 (Wi2k)',
      fileSize: manifest['vpc-dynamic.vhd']!.fileSize,
      parent: null,
      details: {
        diskType: 'dynamic',
        geometry: '302/4/17',
        chsSize: 10514432,
        originalSize: 10514432,
        footerChecksum: 'valid',
        headerChecksum: 'valid',
        batOffset: 1536,
        maxTableEntries: 6,
        savedState: false,
      },
    });
    expect(img.info.details.timestamp).toMatch(/^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    // The script writes into blocks 0, 0-1 (across the boundary), 4 and 4 again: 3 blocks of 6; 5 is unallocated.
    expect(await img.allocatedSize()).toBe(3 * 2097152);
  });

  it('info of a fixed disk: no block size, allocated size = virtual size', async () => {
    const img = await openVhd(new MemoryDevice(fixture('vpc-fixed-forcesize.vhd')), {});
    expect(img.info).toMatchObject({ variant: 'fixed', blockSize: null, creator: 'qem2 5.3 (Wi2k)' });
    expect(img.info.details.geometry).toBe('65535/16/255');
    expect(await img.allocatedSize()).toBe(12289 * 1024);
  });

  it('mapRange: unallocated blocks are zero, allocated ones data, adjacent extents merged', async () => {
    const img = await openVhd(new MemoryDevice(fixture('vpc-dynamic.vhd')), {});
    const mib = 1 << 20;
    expect(await img.mapRange(0, img.size)).toEqual([
      { offset: 0, length: 4 * mib, kind: 'data' },
      { offset: 4 * mib, length: 4 * mib, kind: 'zero' },
      { offset: 8 * mib, length: 2 * mib, kind: 'data' },
      { offset: 10 * mib, length: img.size - 10 * mib, kind: 'zero' },
    ]);
    expect(await img.mapRange(5 * mib + 3, 10)).toEqual([{ offset: 5 * mib + 3, length: 10, kind: 'zero' }]);
    const fixed = await openVhd(new MemoryDevice(fixture('vpc-fixed.vhd')), {});
    expect(await fixed.mapRange(0, fixed.size)).toEqual([{ offset: 0, length: fixed.size, kind: 'data' }]);
  });
});

describe('dynamic disk sector bitmaps — vhd-vhdx.md §1.5 (MSB first; 0 = never written, reads zeros)', () => {
  const bs = 64 * 1024;
  const writes = [write(512, 1024, 1), write(bs - 512, 1024, 2), write(5 * bs + 4096, 512, 3)];
  const built = buildVhd({ type: 'dynamic', size: 8 * bs, blockSize: bs, writes });
  // Garbage in the data area of clear-bit sectors must never be read (Windows zero-fills, a hostile file need not).
  const dirty = built.bytes.slice();
  for (const [, at] of built.layout.blocks) {
    const data = dirty.subarray(at + built.layout.bitmapSize, at + built.layout.bitmapSize + bs);
    for (let s = 0; s < bs / 512; s++) {
      const bit = (dirty[at + (s >> 3)]! >> (7 - (s & 7))) & 1;
      if (!bit) data.fill(0xee, s * 512, s * 512 + 512);
    }
  }

  it('clear-bit sectors of an allocated block read as zeros, set ones as written', async () => {
    const img = await openVhd(new MemoryDevice(dirty), {});
    expect(firstDiff(await readAll(img, 3000), chainContent(8 * bs, [writes]))).toBe(-1);
  });

  it('mapRange reports clear-bit sectors as zero and set ones as data', async () => {
    const img = await openVhd(new MemoryDevice(dirty), {});
    expect(await img.mapRange(0, 2 * bs)).toEqual([
      { offset: 0, length: 512, kind: 'zero' },
      { offset: 512, length: 1024, kind: 'data' },
      { offset: 1536, length: bs - 2048, kind: 'zero' },
      { offset: bs - 512, length: 1024, kind: 'data' },
      { offset: bs + 512, length: bs - 512, kind: 'zero' },
    ]);
  });

  it('bit 7 of byte 0 is sector 0: an LSB-first reading would give other sectors', async () => {
    const b = buildVhd({ type: 'dynamic', size: bs, blockSize: bs, writes: [write(0, 512, 4)] });
    const at = b.layout.blocks.get(0)!;
    expect(b.bytes[at]).toBe(0x80);
    const img = await openVhd(new MemoryDevice(b.bytes), {});
    expect(await img.mapRange(0, 4096)).toEqual([
      { offset: 0, length: 512, kind: 'data' },
      { offset: 512, length: 3584, kind: 'zero' },
    ]);
  });

  it('contiguous present sectors are one device read, however many sectors', async () => {
    const b = buildVhd({
      type: 'dynamic',
      size: 4 * bs,
      blockSize: bs,
      fullBitmaps: true,
      writes: [write(0, bs, 5)],
    });
    const stats = newIoStats();
    const img = await openVhd(new MemoryDevice(b.bytes, { stats }), {});
    await img.read(0, 100); // loads the BAT page and the bitmap
    const reads = stats.reads;
    expect(await img.read(1000, bs - 2000)).toEqual(write(0, bs, 5).data.subarray(1000, bs - 1000));
    expect(stats.reads - reads).toBe(1);
  });

  it('reads of any offset and length across block boundaries equal the expected content', async () => {
    const img = await openVhd(new MemoryDevice(dirty), {});
    const want = chainContent(8 * bs, [writes]);
    for (const [o, n] of [
      [0, 1],
      [511, 2],
      [bs - 600, 1300],
      [bs - 1, 2 * bs + 2],
      [5 * bs + 4095, 514],
      [8 * bs - 1, 1],
      [0, 0],
    ] as const) {
      expect(await img.read(o, n)).toEqual(want.subarray(o, o + n));
    }
  });

  it('a read past the end is READ_OUT_OF_RANGE', async () => {
    const img = await openVhd(new MemoryDevice(built.bytes), {});
    expect(await codeOf(img.read(8 * bs - 511, 512))).toBe('READ_OUT_OF_RANGE');
    expect(await codeOf(img.mapRange(-1, 2))).toBe('READ_OUT_OF_RANGE');
  });
});

describe('finding the footer — vhd-vhdx.md §1.1 procedure', () => {
  const writes = [write(0, 4096, 6)];

  it('the 511-byte footer of old Virtual PC is found and read', async () => {
    const b = buildVhd({ type: 'fixed', size: 65536, writes }).bytes;
    const img = await openImage(new MemoryDevice(b.subarray(0, b.length - 1)), {});
    expect(img.info.variant).toBe('fixed');
    expect(img.size).toBe(65536);
    expect(await img.read(0, 4096)).toEqual(writes[0]!.data);
  });

  it('a dynamic disk whose trailing footer is lost opens from the copy at 0, with a VHD_FOOTER finding', async () => {
    const b = buildVhd({ type: 'dynamic', size: 1 << 20, blockSize: 65536, writes });
    const cut = b.bytes.slice();
    cut.fill(0, b.layout.footerAt);
    const img = await openImage(new MemoryDevice(cut), {});
    expect(img.warnings.map((w) => w.code)).toEqual(['VHD_FOOTER']);
    expect(await img.read(0, 4096)).toEqual(writes[0]!.data);
    expect(await codeOf(openVhd(new MemoryDevice(cut), { strict: true }))).toBe('VHD_FOOTER');
  });

  it('a fixed disk without a footer is not a VHD: VHD_FOOTER at EOF-512', async () => {
    const b = buildVhd({ type: 'fixed', size: 65536 }).bytes;
    b.fill(0, 65536);
    try {
      await openVhd(new MemoryDevice(b), {});
      expect.unreachable();
    } catch (e) {
      expect((e as BootprobeError).code).toBe('VHD_FOOTER');
      expect((e as BootprobeError).offset).toBe(65536);
    }
  });

  it('a footer copy at 0 that differs from the trailing footer is a finding', async () => {
    const b = buildVhd({ type: 'dynamic', size: 1 << 20, blockSize: 65536 }).bytes;
    b[100] = 1;
    const img = await openVhd(new MemoryDevice(b), {});
    expect(img.warnings.map((w) => w.code)).toEqual(['VHD_FOOTER']);
    expect(img.warnings[0]!.offset).toBe(0);
  });
});

describe('checksum policy — vhd-vhdx.md §1.1 step 4 (libvhdi reads on, --strict refuses)', () => {
  const b = buildVhd({ type: 'dynamic', size: 1 << 20, blockSize: 65536, writes: [write(0, 512, 7)] });

  it('a bad footer checksum: read with a VHD_FOOTER_CHECKSUM finding, footerChecksum "invalid"', async () => {
    const bad = b.bytes.slice();
    bad[b.layout.footerAt + 64] = bad[b.layout.footerAt + 64]! ^ 0xff;
    bad[64] = bad[64]! ^ 0xff;
    const img = await openVhd(new MemoryDevice(bad), {});
    expect(img.warnings.map((w) => w.code)).toEqual(['VHD_FOOTER_CHECKSUM']);
    expect(img.warnings[0]!.offset).toBe(b.layout.footerAt + 64);
    expect(img.info.details.footerChecksum).toBe('invalid');
    expect(await img.read(0, 512)).toEqual(write(0, 512, 7).data);
  });

  it('a bad footer checksum with strict: VHD_FOOTER_CHECKSUM error at the field', async () => {
    const bad = b.bytes.slice();
    bad[b.layout.footerAt + 64] = bad[b.layout.footerAt + 64]! ^ 0xff;
    try {
      await openVhd(new MemoryDevice(bad), { strict: true });
      expect.unreachable();
    } catch (e) {
      expect((e as BootprobeError).code).toBe('VHD_FOOTER_CHECKSUM');
      expect((e as BootprobeError).offset).toBe(b.layout.footerAt + 64);
      expect((e as BootprobeError).hint).toMatch(/strict/);
    }
  });

  it('a bad dynamic header checksum: the same policy with VHD_HEADER_CHECKSUM', async () => {
    const bad = b.bytes.slice();
    bad[512 + 36] = bad[512 + 36]! ^ 0xff;
    const img = await openVhd(new MemoryDevice(bad), {});
    expect(img.warnings.map((w) => w.code)).toEqual(['VHD_HEADER_CHECKSUM']);
    expect(img.info.details.headerChecksum).toBe('invalid');
    expect(await codeOf(openVhd(new MemoryDevice(bad), { strict: true }))).toBe('VHD_HEADER_CHECKSUM');
  });

  it('a field changed with its checksum recomputed is believed (the checksum is the only integrity check)', async () => {
    const changed = b.bytes.slice();
    changed[b.layout.footerAt + 84] = 1; // saved state
    fixChecksum(changed, b.layout.footerAt, 512);
    changed.set(changed.subarray(b.layout.footerAt, b.layout.footerAt + 512), 0);
    const img = await openVhd(new MemoryDevice(changed), {});
    expect(img.warnings).toEqual([]);
    expect(img.info.details.savedState).toBe(true);
  });
});
