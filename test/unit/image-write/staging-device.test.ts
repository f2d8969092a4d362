// StagingDevice (src/io/staging-device.ts): writes held in memory over a base, read back merged, then committed
// together (and verified) or discarded; the base is untouched until commit.
import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../src/errors.js';
import { openImageForWrite } from '../../../src/image/open-writable.js';
import { MemoryDevice } from '../../../src/io/memory-device.js';
import { SliceDevice } from '../../../src/io/slice-device.js';
import { StagingDevice } from '../../../src/io/staging-device.js';
import { fill, firstDiff, MiB, openRead, readAll, vhdxFixture } from './helpers.js';

describe('StagingDevice', () => {
  it('overlapping and adjacent writes merge; reads see them; the base is untouched until commit', async () => {
    const base = new MemoryDevice(fill(10000, 1), { writable: true });
    const before = base.data.slice();
    const s = new StagingDevice(base);
    await s.write(100, fill(50, 2));
    await s.write(150, fill(50, 3)); // adjacent: merged
    await s.write(120, fill(10, 4)); // inside: merged
    await s.write(5000, fill(10, 5));
    expect(s.pending.map((r) => [r.offset, r.data.length])).toEqual([
      [100, 100],
      [5000, 10],
    ]);
    expect(s.stagedBytes).toBe(110);
    const model = before.slice();
    model.set(fill(50, 2), 100);
    model.set(fill(50, 3), 150);
    model.set(fill(10, 4), 120);
    model.set(fill(10, 5), 5000);
    expect(firstDiff(await s.read(0, 10000), model)).toBe(-1);
    expect(firstDiff(base.data, before)).toBe(-1);
    expect(await s.commit()).toEqual({ ranges: 2, bytes: 110 });
    expect(firstDiff(base.data, model)).toBe(-1);
    expect(s.pending).toEqual([]);
  });

  it('discard drops everything; writes past the end and over the limit are refused', async () => {
    const base = new MemoryDevice(fill(1000, 1), { writable: true });
    const s = new StagingDevice(base, { limit: 100 });
    await s.write(0, fill(60, 2));
    await expect(s.write(200, fill(60, 3))).rejects.toThrow(BootprobeError);
    await expect(s.write(990, fill(20, 3))).rejects.toThrow(BootprobeError);
    s.discard();
    expect(s.stagedBytes).toBe(0);
    expect(firstDiff(await s.read(0, 1000), fill(1000, 1))).toBe(-1);
  });

  it('commit onto a read-only base is refused, nothing lost', async () => {
    const s = new StagingDevice(new MemoryDevice(fill(100, 1)));
    await s.write(0, fill(10, 2));
    await expect(s.commit()).rejects.toMatchObject({ code: 'READ_ONLY' });
    expect(s.stagedBytes).toBe(10);
  });

  it('over a partition slice of a writable VHDX: staged, checked, committed through the whole stack', async () => {
    const file = new MemoryDevice(vhdxFixture('dynamic-1m.vhdx'), { writable: true });
    const img = await openImageForWrite(file, {});
    const part = new SliceDevice(img, MiB, 8 * MiB, 'partition 1');
    const s = new StagingDevice(part);
    await s.write(3 * MiB + 5, fill(70000, 9));
    const expected = await readAll(img);
    expected.set(fill(70000, 9), MiB + 3 * MiB + 5);
    const headerBefore = file.data.slice(0x10000, 0x30000);
    expect(Buffer.compare(file.data.subarray(0x10000, 0x30000), headerBefore)).toBe(0);
    await s.commit();
    expect(firstDiff(await readAll(await openRead(file.data, { strict: true })), expected)).toBe(-1);
  });
});
