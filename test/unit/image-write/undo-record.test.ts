// The undo record (src/io/undo-record.ts): every byte of the container a write overwrites is saved first, once;
// restoring gives the original bytes and size back; a record torn by a crash restores what it protects; a damaged
// record is refused before the image is touched.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../src/errors.js';
import { openImageForWrite } from '../../../src/image/open-writable.js';
import { MemoryDevice } from '../../../src/io/memory-device.js';
import {
  decodeUndoHeader,
  encodeUndoHeader,
  readUndoRecord,
  restoreUndoRecord,
  UNDO_HEADER_SIZE,
  UndoRecorder,
} from '../../../src/io/undo-record.js';
import { fill, MiB, RecordingDevice, randomWrites, vhdFixture, vhdxFixture } from './helpers.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('undo record format', () => {
  it('header round trip, sha256 kept; a flipped bit is refused', () => {
    const h = { originalSize: 123456789, createdMs: 1_700_000_000_000, originalSha256: sha(fill(10, 1)) };
    const b = encodeUndoHeader(h);
    expect(b.length).toBe(UNDO_HEADER_SIZE);
    expect(decodeUndoHeader(b)).toEqual(h);
    expect(decodeUndoHeader(encodeUndoHeader({ ...h, originalSha256: null })).originalSha256).toBeNull();
    b[20]! ^= 1;
    expect(() => decodeUndoHeader(b)).toThrow(BootprobeError);
  });
});

describe('UndoRecorder over a container', () => {
  it('overlapping writes save each original byte once; restore gives the original sha256 and size', async () => {
    const original = fill(64 * 1024, 3);
    const target = new MemoryDevice(original.slice(), { writable: true });
    const record = new MemoryDevice(new Uint8Array(0), { writable: true });
    const rec = await UndoRecorder.start(target, record, { originalSha256: sha(original) });
    await rec.write(100, fill(1000, 4));
    await rec.write(600, fill(1000, 5)); // overlaps the first: only 1100..1600 is new
    await rec.write(60 * 1024, fill(8 * 1024, 6)); // runs past the end: the file grows, the tail is not saved
    expect(rec.stats.savedBytes).toBe(1500 + 4 * 1024);
    const parsed = (await readUndoRecord(record))!;
    expect(parsed.tornTail).toBe(false);
    expect(parsed.entries.map((e) => [e.offset, e.length])).toEqual([
      [100, 1000],
      [1100, 500],
      [60 * 1024, 4 * 1024],
    ]);
    expect(target.size).toBe(68 * 1024);
    const r = await restoreUndoRecord(target, record);
    expect(r.originalSha256).toBe(sha(original));
    expect(target.size).toBe(original.length);
    expect(sha(target.data)).toBe(sha(original));
    // Idempotent.
    await restoreUndoRecord(target, record);
    expect(sha(target.data)).toBe(sha(original));
  });

  it('truncate saves the original tail it cuts off; restore grows the file back', async () => {
    const original = fill(20000, 4);
    const target = new MemoryDevice(original.slice(), { writable: true });
    const record = new MemoryDevice(new Uint8Array(0), { writable: true });
    const rec = await UndoRecorder.start(target, record);
    await rec.write(0, fill(5000, 5)); // a smaller file rewritten at 0...
    await rec.truncate(5000); // ...and cut to its new size
    await rec.write(6000, fill(100, 6)); // grown again over bytes truncate already saved
    expect(rec.stats.savedBytes).toBe(20000);
    await restoreUndoRecord(target, record);
    expect(sha(target.data)).toBe(sha(original));
  });

  it('the record is flushed before the container write it protects', async () => {
    const target = new RecordingDevice(fill(8192, 1));
    const record = new RecordingDevice(new Uint8Array(0));
    const order: string[] = [];
    const tw = target.write!;
    target.write = async (o, d) => {
      order.push(`target ${o} (record flushes ${record.flushes.length})`);
      await tw(o, d);
    };
    const rec = await UndoRecorder.start(target, record);
    await rec.write(0, fill(10, 2));
    await rec.write(4000, fill(10, 3));
    expect(order).toEqual(['target 0 (record flushes 2)', 'target 4000 (record flushes 3)']);
  });

  it('a record torn in its last entry (a kill while appending) restores every completed write', async () => {
    const original = fill(32 * 1024, 7);
    const target = new MemoryDevice(original.slice(), { writable: true });
    const record = new MemoryDevice(new Uint8Array(0), { writable: true });
    const rec = await UndoRecorder.start(target, record);
    await rec.write(0, fill(4096, 8));
    await rec.write(8192, fill(4096, 9));
    const full = record.data.slice();
    // Cut inside the last entry: its target write never happened, so undo the first only.
    const cut = full.slice(0, full.length - 100);
    const t2 = new MemoryDevice(original.slice(), { writable: true });
    t2.data.set(fill(4096, 8), 0);
    const r = await restoreUndoRecord(t2, new MemoryDevice(cut));
    expect(r.tornTail).toBe(true);
    expect(r.entries).toBe(1);
    expect(sha(t2.data)).toBe(sha(original));
    // A damaged entry in the middle is corruption: nothing is restored.
    const bad = full.slice();
    bad[UNDO_HEADER_SIZE + 30]! ^= 1;
    const t3 = new MemoryDevice(target.data.slice(), { writable: true });
    const before = sha(t3.data);
    await expect(restoreUndoRecord(t3, new MemoryDevice(bad))).rejects.toThrow(/entry at 0x40/);
    expect(sha(t3.data)).toBe(before);
  });

  it('a record cut inside its header (killed before any container write) restores nothing', async () => {
    const target = new MemoryDevice(fill(100, 1), { writable: true });
    for (const cut of [new Uint8Array(0), new Uint8Array(30), new Uint8Array(64)]) {
      const r = await restoreUndoRecord(target, new MemoryDevice(cut));
      expect([r.entries, r.tornTail, r.originalSize]).toEqual([0, true, 100]);
    }
    expect(sha(target.data)).toBe(sha(fill(100, 1)));
  });

  it('only a new, empty, writable record is accepted', async () => {
    const target = new MemoryDevice(fill(10, 1), { writable: true });
    await expect(
      UndoRecorder.start(target, new MemoryDevice(fill(3, 1), { writable: true })),
    ).rejects.toThrow(BootprobeError);
    await expect(
      UndoRecorder.start(
        new MemoryDevice(fill(10, 1)),
        new MemoryDevice(new Uint8Array(0), { writable: true }),
      ),
    ).rejects.toThrow(/read-only/);
  });
});

describe('undo under the image write layer: restore gives the original container sha256', () => {
  for (const [name, bytes] of [
    ['vpc-dynamic.vhd', () => vhdFixture('vpc-dynamic.vhd')],
    ['dynamic-1m.vhdx', () => vhdxFixture('dynamic-1m.vhdx')],
    ['fixed-1m.vhdx', () => vhdxFixture('fixed-1m.vhdx')],
  ] as const) {
    it(name, async () => {
      const original = bytes();
      const file = new MemoryDevice(original.slice(), { writable: true });
      const record = new MemoryDevice(new Uint8Array(0), { writable: true });
      const rec = await UndoRecorder.start(file, record, { originalSha256: sha(original) });
      const img = await openImageForWrite(rec, {});
      for (const w of randomWrites(31, img.size, 15, 2 * MiB, MiB)) await img.write(w.offset, w.data);
      await img.flush();
      expect(sha(file.data)).not.toBe(sha(original));
      const r = await restoreUndoRecord(file, record);
      expect(r.originalSha256).toBe(sha(original));
      expect(sha(file.data)).toBe(sha(original));
    });
  }
});
