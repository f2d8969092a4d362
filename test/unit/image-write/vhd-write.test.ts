// Writing VHDs — vhd-vhdx.md §1.5 "Allocating a block and writing into it": fixed in place, dynamic by block
// allocation at the old footer's place (footer moved first, then bitmap and data, then the BAT entry), differencing
// by copy-on-write with bits only for the sectors written. A qemu-made fixture and builder-made chains; every
// prefix of the writes (a kill after any write) must open and read each sector old or new.
import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../src/errors.js';
import { openImageForWrite } from '../../../src/image/open-writable.js';
import type { VhdImage } from '../../../src/image/vhd/vhd-image.js';
import { MemoryDevice } from '../../../src/io/memory-device.js';
import { buildVhd, idString } from '../../helpers/vhd-builder.js';
import {
  expectOldOrNew,
  fill,
  firstDiff,
  MiB,
  memoryFiles,
  openRead,
  RecordingDevice,
  randomWrites,
  readAll,
  vhdFixture,
} from './helpers.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (!(e instanceof BootprobeError)) throw e;
    return `${e.code}/${e.kind}`;
  }
}

describe('dynamic VHD (qemu fixture) — vhd-vhdx.md §1.5', () => {
  it('random writes read back through a fresh open exactly as a model of the disk', async () => {
    const dev = new RecordingDevice(vhdFixture('vpc-dynamic.vhd'));
    const img = await openImageForWrite(dev, {});
    const model = await readAll(img);
    for (const w of randomWrites(7, img.size, 40, 300_000, 2 * MiB)) {
      await img.write(w.offset, w.data);
      model.set(w.data, w.offset);
    }
    expect(firstDiff(await readAll(img), model)).toBe(-1);
    const again = await openRead(dev.data, { strict: true });
    expect(again.warnings).toEqual([]);
    expect(firstDiff(await readAll(again), model)).toBe(-1);
    // The footer copy at 0 is unchanged (§1.5 step 6); the trailing footer is the same bytes, moved.
    const original = vhdFixture('vpc-dynamic.vhd');
    expect(Buffer.compare(dev.data.subarray(0, 512), original.subarray(0, 512))).toBe(0);
    expect(Buffer.compare(dev.data.subarray(dev.size - 512), original.subarray(original.length - 512))).toBe(
      0,
    );
  });

  it('a new block is placed at the old footer, 4 KiB-aligned data, all bitmap bits set', async () => {
    const bytes = vhdFixture('vpc-dynamic.vhd');
    const dev = new RecordingDevice(bytes);
    const img = (await openImageForWrite(dev, {})) as unknown as VhdImage;
    // Block 2 (4-6 MiB) is never written in the fixture.
    expect(await img.blockOffset(2)).toBeNull();
    await img.write!(4 * MiB + 1000, fill(10, 1));
    const at = await img.blockOffset(2);
    expect(at).not.toBeNull();
    expect(at).toBeGreaterThanOrEqual(bytes.length - 512);
    expect((at! + 512) % 4096).toBe(0);
    expect(dev.data.subarray(at!, at! + 512).every((x) => x === 0xff)).toBe(true);
    expect(dev.size).toBe(at! + 512 + 2 * MiB + 512);
    // §1.5 order: the footer at the new end, then bitmap/data, then the BAT entry, each flushed.
    const footerWrite = dev.ops.findIndex((o) => o.offset === at! + 512 + 2 * MiB);
    const batWrite = dev.ops.findIndex((o) => o.data.length === 4 && o.offset === 1536 + 8);
    const bitmapWrite = dev.ops.findIndex((o) => o.offset === at);
    expect(footerWrite).toBeGreaterThanOrEqual(0);
    expect(footerWrite).toBeLessThan(bitmapWrite);
    expect(bitmapWrite).toBeLessThan(batWrite);
    expect(dev.flushes.some((f) => f > footerWrite && f <= bitmapWrite)).toBe(true);
    expect(dev.flushes.some((f) => f > bitmapWrite && f <= batWrite)).toBe(true);
  });

  it('a kill after any single write leaves a file that opens, every sector old or new', async () => {
    const original = vhdFixture('vpc-dynamic-forcesize.vhd');
    const dev = new RecordingDevice(original);
    const img = await openImageForWrite(dev, {});
    const writes = randomWrites(11, img.size, 6, 3 * MiB, 2 * MiB);
    let before = await readAll(img);
    for (const w of writes) {
      const first = dev.ops.length;
      await img.write(w.offset, w.data);
      const after = before.slice();
      after.set(w.data, w.offset);
      for (let k = first; k <= dev.ops.length; k++) {
        const crashed = await openRead(dev.stateAfter(k), { strict: true });
        expectOldOrNew(await readAll(crashed), before, after, `write at ${w.offset}, killed after op ${k}`);
      }
      before = after;
    }
  });
});

describe('fixed VHD — vhd-vhdx.md §1.1', () => {
  it('writes in place: same file size, footer untouched', async () => {
    const bytes = vhdFixture('vpc-fixed.vhd');
    const dev = new MemoryDevice(bytes.slice(), { writable: true });
    const img = await openImageForWrite(dev, {});
    const model = await readAll(img);
    for (const w of randomWrites(3, img.size, 20, 100_000, 2 * MiB)) {
      await img.write(w.offset, w.data);
      model.set(w.data, w.offset);
    }
    expect(dev.size).toBe(bytes.length);
    expect(Buffer.compare(dev.data.subarray(img.size), bytes.subarray(img.size))).toBe(0);
    expect(firstDiff(dev.data.subarray(0, img.size), model)).toBe(-1);
  });
});

describe('differencing VHD — copy-on-write, vhd-vhdx.md §1.4, §1.5', () => {
  const SIZE = 8 * MiB;
  function chain() {
    const parent = buildVhd({
      type: 'dynamic',
      size: SIZE,
      writes: [{ offset: 0, data: fill(6 * MiB, 1) }],
      seed: 5,
    });
    const child = buildVhd({
      type: 'differencing',
      size: SIZE,
      writes: [{ offset: 1024, data: fill(1024, 2) }],
      parent: {
        uniqueId: parent.uniqueId,
        name: 'parent.vhd',
        locators: [{ code: 'W2ru', path: '.\\parent.vhd' }],
      },
    });
    return { parent, child };
  }

  it('partial sectors merge the parent; unwritten sectors keep bit 0; the parent is never written', async () => {
    const { parent, child } = chain();
    const parentBytes = parent.bytes.slice();
    const files = memoryFiles({ '/vm/parent.vhd': parent.bytes });
    const dev = new MemoryDevice(child.bytes.slice(), { writable: true });
    const img = (await openImageForWrite(dev, { path: '/vm/child.vhd', files })) as unknown as VhdImage;
    const model = await readAll(img);
    const writes = [
      { offset: 100, data: fill(3, 3) }, // inside an allocated block, a sector not in the child
      { offset: 2 * MiB + 700, data: fill(1000, 4) }, // an unallocated block: allocated, two partial sectors
      { offset: 6 * MiB + 512, data: fill(512, 5) }, // past the parent's data
      ...randomWrites(9, SIZE, 25, 200_000, 2 * MiB),
    ];
    for (const w of writes) {
      await img.write!(w.offset, w.data);
      model.set(w.data, w.offset);
    }
    expect(Buffer.compare(parent.bytes, parentBytes)).toBe(0);
    const again = await openRead(dev.data, { path: '/vm/child.vhd', files, strict: true });
    expect(firstDiff(await readAll(again), model)).toBe(-1);
    // Block 1 (2-4 MiB) got only sectors 1-3 of its 4096 from the writes above plus the random ones: its bitmap
    // must not claim the sectors nobody wrote.
    const at = (await (again as VhdImage).blockOffset(1))!;
    const bm = dev.data.subarray(at, at + 512);
    expect(bm.some((x) => x !== 0xff)).toBe(true);
    expect((bm[0]! >> 6) & 1).toBe(1); // sector 1 (offset 2 MiB + 512)
    // Whole 8-sector groups: no bitmap byte this writer touched is partly set (libvhdi reads such a byte as 8
    // sectors of the child). Block 0 came from the builder, whose bitmap has the partial byte of its 1024-byte write.
    for (let b = 1; b < 4; b++) {
      const o = await (again as VhdImage).blockOffset(b);
      if (o !== null) expect(dev.data.subarray(o, o + 512).every((x) => x === 0 || x === 0xff)).toBe(true);
    }
  });

  it('every prefix of a copy-on-write allocation reads old or new', async () => {
    const { parent, child } = chain();
    const files = memoryFiles({ '/vm/parent.vhd': parent.bytes });
    const dev = new RecordingDevice(child.bytes);
    const img = await openImageForWrite(dev, { path: '/vm/child.vhd', files });
    const before = await readAll(img);
    const w = { offset: 3 * MiB + 300, data: fill(5000, 8) };
    await img.write(w.offset, w.data);
    const after = before.slice();
    after.set(w.data, w.offset);
    for (let k = 0; k <= dev.ops.length; k++) {
      const crashed = await openRead(dev.stateAfter(k), { path: '/vm/child.vhd', files });
      expectOldOrNew(await readAll(crashed), before, after, `killed after op ${k}`);
    }
  });
});

describe('refusals — exit 4 with a reason', () => {
  it('a read-only device', async () => {
    expect(await codeOf(openImageForWrite(new MemoryDevice(vhdFixture('vpc-dynamic.vhd')), {}))).toBe(
      'READ_ONLY/unsafe',
    );
  });

  it('a footer with a bad checksum (readable, not writable)', async () => {
    const b = vhdFixture('vpc-dynamic.vhd');
    b[b.length - 512 + 64]! ^= 1;
    expect(await codeOf(openRead(b))).toBe('ok');
    expect(await codeOf(openImageForWrite(new MemoryDevice(b, { writable: true }), {}))).toBe(
      'UNSAFE_WRITE/unsafe',
    );
  });

  it('a VHD holding a saved state', async () => {
    const built = buildVhd({ type: 'dynamic', size: 4 * MiB });
    const b = built.bytes;
    const f = b.length - 512;
    b[f + 84] = 1;
    // Re-seal the footer checksum so only the saved-state flag differs.
    let sum = 0;
    for (let i = 0; i < 512; i++) if (i < 64 || i >= 68) sum = (sum + b[f + i]!) >>> 0;
    new DataView(b.buffer, b.byteOffset).setUint32(f + 64, ~sum >>> 0);
    b.set(b.subarray(f), 0); // the copy at 0 must match, or the file is refused as damaged first
    const e = await openImageForWrite(new MemoryDevice(b, { writable: true }), {}).catch((x) => x);
    expect(e).toBeInstanceOf(BootprobeError);
    expect(e.kind).toBe('unsafe');
    expect(e.message).toMatch(/saved/);
  });

  it('the parent of a differencing disk beside it', async () => {
    const parent = buildVhd({ type: 'dynamic', size: 4 * MiB, seed: 9 });
    const child = buildVhd({
      type: 'differencing',
      size: 4 * MiB,
      parent: { uniqueId: parent.uniqueId, name: 'p.vhd', locators: [] },
    });
    const files = memoryFiles({
      '/vm/p.vhd': parent.bytes,
      '/vm/c.vhd': child.bytes,
      '/vm/notes.txt': fill(9, 1),
    });
    const e = await openImageForWrite(new MemoryDevice(parent.bytes, { writable: true }), {
      path: '/vm/p.vhd',
      files,
    }).catch((x) => x);
    expect(e).toBeInstanceOf(BootprobeError);
    expect(e.kind).toBe('unsafe');
    expect(e.message).toContain('/vm/c.vhd');
    expect(e.message).toContain('parent');
    expect(idString(parent.uniqueId)).toBeTruthy();
    // The child itself is writable; the same check does not trip on it.
    const ok = await openImageForWrite(new MemoryDevice(child.bytes.slice(), { writable: true }), {
      path: '/vm/c.vhd',
      files,
    });
    await ok.write(0, fill(512, 3));
  });

  it('a write past the end of the disk', async () => {
    const img = await openImageForWrite(
      new MemoryDevice(vhdFixture('vpc-dynamic.vhd'), { writable: true }),
      {},
    );
    expect(await codeOf(img.write(img.size - 10, fill(11, 1)))).toBe('READ_OUT_OF_RANGE/corrupt');
  });
});
