// Writing VHDXs — vhd-vhdx.md §2.2 (two-slot header update), §2.6 (log entries, replay into the file), §2.7
// (allocating payload blocks: data, flush, LogGuid, log entry, flush, BAT sector in place, flush, LogGuid zero).
// qemu-made fixtures (fixed, dynamic, ZERO and NOT_PRESENT blocks) and builder-made differencing chains; every
// prefix of the writes (a kill after any write) must open — replaying the log — and read each sector old or new.
import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../src/errors.js';
import { openImageForWrite } from '../../../src/image/open-writable.js';
import { PAYLOAD_STATE, SB_STATE } from '../../../src/image/vhdx/bat.js';
import {
  decodeVhdxHeader,
  encodeVhdxHeader,
  HEADER_OFFSETS,
  readCurrentHeader,
  updateVhdxHeaders,
} from '../../../src/image/vhdx/header.js';
import {
  decodeLogEntry,
  encodeLogEntry,
  findActiveSequence,
  replayLogInPlace,
} from '../../../src/image/vhdx/log.js';
import type { VhdxImage } from '../../../src/image/vhdx/vhdx-image.js';
import { ByteView, formatGuid } from '../../../src/io/byte-view.js';
import { MemoryDevice } from '../../../src/io/memory-device.js';
import { randomGuidBytes } from '../../../src/io/random.js';
import {
  encodeLogEntry as builderLogEntry,
  buildVhdx,
  guidBytes,
  placeLogEntries,
  randomGuid,
} from '../../helpers/vhdx-builder.js';
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
  vhdxFixture,
} from './helpers.js';

const ZERO_GUID = '00000000-0000-0000-0000-000000000000';

async function headerOf(bytes: Uint8Array) {
  return readCurrentHeader(new MemoryDevice(bytes), []);
}

describe('VHDX header encoder and two-slot update — vhd-vhdx.md §2.2', () => {
  it('encode → decode round trip, CRC-32C valid', () => {
    const f = randomGuidBytes();
    const d = randomGuidBytes();
    const b = encodeVhdxHeader({
      sequenceNumber: 77n,
      fileWriteGuid: f,
      dataWriteGuid: d,
      logGuid: new Uint8Array(16),
      logLength: MiB,
      logOffset: MiB,
    });
    const h = decodeVhdxHeader(new ByteView(b, 0x10000), 1)!;
    expect(h).not.toBeNull();
    expect(h.sequenceNumber).toBe(77n);
    expect(h.fileWriteGuid).toBe(formatGuid(f));
    expect(h.dataWriteGuid).toBe(formatGuid(d));
    expect(h.logGuid).toBe(ZERO_GUID);
    expect([h.version, h.logVersion, h.logLength, h.logOffset]).toEqual([1, 0, MiB, MiB]);
  });

  it('update writes the non-current slot first, then the other: sequence +2, both slots equal but for it', async () => {
    const dev = new RecordingDevice(vhdxFixture('dynamic-1m.vhdx'));
    const before = await readCurrentHeader(dev, []);
    const logGuid = randomGuidBytes();
    const after = await updateVhdxHeaders(dev, before, { logGuid });
    expect(after.sequenceNumber).toBe(before.sequenceNumber + 2n);
    expect(after.slot).toBe(before.slot);
    expect(after.logGuid).toBe(formatGuid(logGuid));
    expect(dev.ops.map((o) => o.offset)).toEqual([
      HEADER_OFFSETS[before.slot === 1 ? 1 : 0],
      HEADER_OFFSETS[before.slot - 1],
    ]);
    expect(dev.flushes).toEqual([1, 2]);
    const a = decodeVhdxHeader(new ByteView(dev.data.subarray(0x10000, 0x11000), 0x10000), 1)!;
    const b = decodeVhdxHeader(new ByteView(dev.data.subarray(0x20000, 0x21000), 0x20000), 2)!;
    expect(a.logGuid).toBe(b.logGuid);
    expect(a.sequenceNumber === b.sequenceNumber + 1n || b.sequenceNumber === a.sequenceNumber + 1n).toBe(
      true,
    );
  });
});

describe('VHDX log entry encoder — vhd-vhdx.md §2.6', () => {
  it('the reader accepts our entries and reconstructs every sector; the builder encodes the same bytes', () => {
    const logGuid = randomGuid();
    for (const count of [1, 3, 126, 127, 200]) {
      const descriptors = Array.from({ length: count }, (_, i) => ({
        kind: 'desc' as const,
        fileOffset: 3 * MiB + i * 4096,
        data: fill(4096, i + count),
      }));
      const spec = {
        sequenceNumber: 0x1_0000_0005n,
        tail: 0,
        logGuid: guidBytes(logGuid),
        flushedFileOffset: 8 * MiB,
        lastFileOffset: 9 * MiB,
        descriptors,
      };
      const ours = encodeLogEntry(spec);
      const log = new Uint8Array(2 * MiB);
      log.set(ours, 0);
      const e = decodeLogEntry(log, 0, guidBytes(logGuid), MiB)!;
      expect(e).not.toBeNull();
      expect(e.descriptors.length).toBe(count);
      for (const [i, d] of e.descriptors.entries()) {
        expect(d.fileOffset).toBe(descriptors[i]!.fileOffset);
        expect(Buffer.compare(d.data!, descriptors[i]!.data)).toBe(0);
      }
      expect(findActiveSequence(log, guidBytes(logGuid))?.length).toBe(1);
      const theirs = builderLogEntry({
        ...spec,
        logGuid,
        descriptors: descriptors.map((d) => ({ kind: 'desc', fileOffset: d.fileOffset, sector: d.data })),
      });
      expect(Buffer.compare(ours, theirs)).toBe(0);
    }
  });
});

describe('dynamic VHDX (qemu fixtures) — vhd-vhdx.md §2.7', () => {
  for (const name of [
    'dynamic-1m.vhdx',
    'dynamic-1m-notpresent.vhdx',
    'dynamic-8m-log4m.vhdx',
    'fixed-1m-zerostate.vhdx',
  ]) {
    it(`${name}: random writes read back through a fresh strict open; new write GUIDs; LogGuid zero`, async () => {
      const original = vhdxFixture(name);
      const dev = new MemoryDevice(original.slice(), { writable: true });
      const img = await openImageForWrite(dev, {});
      const model = await readAll(img);
      const bs = img.info.blockSize!;
      for (const w of randomWrites(21, img.size, 30, 2 * bs + 5000, bs)) {
        await img.write(w.offset, w.data);
        model.set(w.data, w.offset);
      }
      const before = await headerOf(original);
      const again = await openRead(dev.data, { strict: true });
      expect(again.warnings).toEqual([]);
      expect(firstDiff(await readAll(again), model)).toBe(-1);
      const h = await headerOf(dev.data);
      expect(h.logGuid).toBe(ZERO_GUID);
      expect(h.fileWriteGuid).not.toBe(before.fileWriteGuid);
      expect(h.dataWriteGuid).not.toBe(before.dataWriteGuid);
      expect(h.sequenceNumber).toBeGreaterThan(before.sequenceNumber);
      // Every block this file holds lies on a 1 MiB boundary and inside the file.
      expect(dev.size % MiB).toBe(0);
    });
  }

  it('allocation order: data, flush, LogGuid set, log entry, flush, BAT sector, flush, LogGuid zero', async () => {
    const dev = new RecordingDevice(vhdxFixture('dynamic-1m.vhdx'));
    const img = (await openImageForWrite(dev, {})) as unknown as VhdxImage;
    const h0 = img.header;
    // Block 20 is ZERO in the fixture (qemu wrote blocks 0, 1, 5, 7, 8 and 23).
    expect((await img.bat.payload(20)).state).toBe(PAYLOAD_STATE.ZERO);
    const start = dev.ops.length;
    await img.write!(20 * MiB + 4096, fill(8192, 5));
    const ops = dev.ops.slice(start);
    const kind = (o: { offset: number; data: Uint8Array }) =>
      o.offset === 0x10000 || o.offset === 0x20000
        ? `header(${formatGuid(o.data.subarray(48, 64))})`
        : o.offset === h0.logOffset
          ? 'log'
          : o.offset >= img.bat.offset && o.offset < img.bat.offset + MiB
            ? 'bat'
            : 'data';
    const seq = ops
      .map(kind)
      .map((k) =>
        k.startsWith('header(0000') ? 'header(zero)' : k.startsWith('header') ? 'header(set)' : k,
      );
    // The first write of the session also renews the write GUIDs (two header writes with LogGuid zero).
    expect(seq).toEqual([
      'header(zero)',
      'header(zero)',
      'data',
      'data',
      'header(set)',
      'header(set)',
      'log',
      'bat',
      'header(zero)',
      'header(zero)',
    ]);
    const at = (name: string) => start + seq.indexOf(name);
    const flushedBetween = (a: number, b: number) => dev.flushes.some((f) => f > a && f <= b);
    expect(flushedBetween(at('data') + 1, at('header(set)'))).toBe(true);
    expect(flushedBetween(at('log'), at('bat'))).toBe(true);
    expect(flushedBetween(at('bat'), start + seq.lastIndexOf('header(zero)'))).toBe(true);
    const e = await img.bat.payload(20);
    expect(e.state).toBe(PAYLOAD_STATE.FULLY_PRESENT);
    expect(e.fileOffset % MiB).toBe(0);
  });

  it('a kill after any single write leaves a file that opens (log replayed in memory), every sector old or new', async () => {
    const original = vhdxFixture('dynamic-1m.vhdx');
    const dev = new RecordingDevice(original);
    const img = await openImageForWrite(dev, {});
    const writes = [
      { offset: 20 * MiB + 100, data: fill(3 * MiB, 1) }, // three new blocks, one log entry with 1 BAT sector
      { offset: 5 * MiB + 10, data: fill(100, 2) }, // inside an allocated block
      ...randomWrites(4, img.size, 3, 2 * MiB, MiB),
    ];
    let before = await readAll(img);
    let sawPendingLog = false;
    for (const w of writes) {
      const first = dev.ops.length;
      await img.write(w.offset, w.data);
      const after = before.slice();
      after.set(w.data, w.offset);
      for (let k = first; k <= dev.ops.length; k++) {
        const state = dev.stateAfter(k);
        const crashed = await openRead(state);
        if (crashed.warnings.some((x) => x.code === 'VHDX_LOG_PENDING')) sawPendingLog = true;
        const got = await readAll(crashed);
        expectOldOrNew(got, before, after, `write at ${w.offset}, killed after op ${k}`);
        // Replaying into the file gives what the in-memory replay showed, and a clean log.
        const fixed = new MemoryDevice(state.slice(), { writable: true });
        const h = await readCurrentHeader(fixed, []);
        if (h.logGuid !== ZERO_GUID) {
          await replayLogInPlace(fixed, h);
          const reopened = await openRead(fixed.data, { strict: true });
          expect(firstDiff(await readAll(reopened), got)).toBe(-1);
        }
      }
      before = after;
    }
    expect(sawPendingLog).toBe(true);
  });
});

describe('fixed VHDX — writes in place', () => {
  it('fixed-1m.vhdx: file size unchanged, only payload bytes and the headers change', async () => {
    const original = vhdxFixture('fixed-1m.vhdx');
    const dev = new RecordingDevice(original);
    const img = await openImageForWrite(dev, {});
    const model = await readAll(img);
    for (const w of randomWrites(5, img.size, 20, 100_000, MiB)) {
      await img.write(w.offset, w.data);
      model.set(w.data, w.offset);
    }
    expect(dev.size).toBe(original.length);
    const touched = new Set(
      dev.ops.map((o) =>
        o.offset === 0x10000 || o.offset === 0x20000 ? 'header' : o.offset >= 4 * MiB ? 'payload' : 'other',
      ),
    );
    expect([...touched].sort()).toEqual(['header', 'payload']);
    expect(firstDiff(await readAll(await openRead(dev.data, { strict: true })), model)).toBe(-1);
  });
});

describe('differencing VHDX — copy-on-write, vhd-vhdx.md §2.5', () => {
  const SIZE = 12 * MiB;
  function chain(ss: 512 | 4096 = 512) {
    const base = buildVhdx({
      size: SIZE,
      blockSize: 2 * MiB,
      logicalSectorSize: ss,
      writes: [{ offset: 0, data: fill(8 * MiB, 1) }],
    });
    const child = buildVhdx({
      size: SIZE,
      blockSize: 2 * MiB,
      logicalSectorSize: ss,
      writes: [
        { offset: 2 * MiB, data: fill(ss * 2, 2) },
        { offset: 6 * MiB, data: fill(2 * MiB, 3) },
      ],
      states: { 5: PAYLOAD_STATE.ZERO },
      parent: { linkage: base.dataWriteGuid, locators: { relative_path: '.\\base.vhdx' } },
    });
    return { base, child };
  }

  for (const ss of [512, 4096] as const) {
    it(`${ss}-byte sectors: NOT_PRESENT → PARTIALLY_PRESENT with a new sector bitmap; ZERO → FULLY_PRESENT; parent untouched`, async () => {
      const { base, child } = chain(ss);
      const baseCopy = base.bytes.slice();
      const files = memoryFiles({ '/vm/base.vhdx': base.bytes });
      const dev = new MemoryDevice(child.bytes.slice(), { writable: true });
      const img = (await openImageForWrite(dev, { path: '/vm/child.avhdx', files })) as unknown as VhdxImage;
      const model = await readAll(img);
      const writes = [
        { offset: 100, data: fill(7, 4) }, // block 0 NOT_PRESENT: partial sector merged from the parent
        { offset: 2 * MiB + ss * 5 + 3, data: fill(ss, 5) }, // block 1 PARTIALLY_PRESENT already
        { offset: 10 * MiB + 1, data: fill(10, 6) }, // block 5 ZERO: reads zeros, never the parent
        { offset: 8 * MiB, data: fill(2 * MiB, 7) }, // block 4 written whole: FULLY_PRESENT
        ...randomWrites(ss, SIZE, 20, 300_000, 2 * MiB),
      ];
      for (const w of writes) {
        await img.write!(w.offset, w.data);
        model.set(w.data, w.offset);
      }
      expect(Buffer.compare(base.bytes, baseCopy)).toBe(0);
      const again = (await openRead(dev.data, { path: '/vm/child.avhdx', files, strict: true })) as VhdxImage;
      expect(firstDiff(await readAll(again), model)).toBe(-1);
      expect((await again.bat.payload(0)).state).toBe(PAYLOAD_STATE.PARTIALLY_PRESENT);
      expect((await again.bat.payload(4)).state).toBe(PAYLOAD_STATE.FULLY_PRESENT);
      expect((await again.bat.payload(5)).state).toBe(PAYLOAD_STATE.FULLY_PRESENT);
      expect((await again.bat.bitmap(0)).state).toBe(SB_STATE.PRESENT);
      // The sector bitmap of block 0 claims the one sector written and not the others.
      const sb = (await again.bat.bitmap(0)).fileOffset;
      const bits = dev.data.subarray(sb, sb + (2 * MiB) / ss / 8);
      expect(bits[0]! & 1).toBe(1);
    });
  }

  it('every prefix of a copy-on-write allocation reads old or new', async () => {
    const { base, child } = chain();
    const files = memoryFiles({ '/vm/base.vhdx': base.bytes });
    const dev = new RecordingDevice(child.bytes);
    const img = await openImageForWrite(dev, { path: '/vm/child.avhdx', files });
    const before = await readAll(img);
    const w = { offset: 4 * MiB - 1000, data: fill(3000, 8) };
    await img.write(w.offset, w.data);
    const after = before.slice();
    after.set(w.data, w.offset);
    for (let k = 0; k <= dev.ops.length; k++) {
      const crashed = await openRead(dev.stateAfter(k), { path: '/vm/child.avhdx', files });
      expectOldOrNew(await readAll(crashed), before, after, `killed after op ${k}`);
    }
  });
});

describe('refusals and log replay — vhd-vhdx.md §2.6 reader policy', () => {
  function withPendingLog() {
    const logGuid = randomGuid();
    const v = buildVhdx({
      size: 8 * MiB,
      blockSize: MiB,
      logGuid,
      writes: [{ offset: 0, data: fill(MiB, 1) }],
    });
    // The entry says block 2 is FULLY_PRESENT at the end of the file; the BAT in place still says ZERO.
    const at = v.bytes.length;
    const grown = new Uint8Array(at + MiB);
    grown.set(v.bytes);
    grown.set(fill(MiB, 9), at);
    const sectorAt = v.layout.batAt;
    const sector = grown.slice(sectorAt, sectorAt + 4096);
    new DataView(sector.buffer).setBigUint64(16, 6n | (BigInt(at / MiB) << 20n), true);
    const entry = builderLogEntry({
      sequenceNumber: 3n,
      tail: 0,
      logGuid,
      flushedFileOffset: grown.length,
      lastFileOffset: grown.length,
      descriptors: [{ kind: 'desc', fileOffset: sectorAt, sector }],
    });
    const built = { ...v, bytes: grown };
    placeLogEntries(built, [[0, entry]]);
    return grown;
  }

  it('a pending log is refused (exit 4) unless replay is asked for; replay gives the in-memory view and LogGuid 0', async () => {
    const bytes = withPendingLog();
    const e = await openImageForWrite(new MemoryDevice(bytes.slice(), { writable: true }), {}).catch(
      (x) => x,
    );
    expect(e).toBeInstanceOf(BootprobeError);
    expect([e.code, e.kind]).toEqual(['VHDX_LOG_PENDING', 'unsafe']);
    const view = await readAll(await openRead(bytes));
    expect(view.subarray(2 * MiB, 3 * MiB).every((x) => x !== 0)).toBe(true);
    const dev = new MemoryDevice(bytes.slice(), { writable: true });
    const img = await openImageForWrite(dev, { replayLog: true });
    expect(img.warnings.map((w) => w.code)).toContain('VHDX_LOG_PENDING');
    expect(firstDiff(await readAll(img), view)).toBe(-1);
    expect((await headerOf(dev.data)).logGuid).toBe(ZERO_GUID);
    await img.write(7 * MiB, fill(10, 3));
    view.set(fill(10, 3), 7 * MiB);
    expect(firstDiff(await readAll(await openRead(dev.data, { strict: true })), view)).toBe(-1);
  });

  it('the parent of a differencing VHDX beside it is refused; its child is not', async () => {
    const base = buildVhdx({ size: 4 * MiB });
    const child = buildVhdx({
      size: 4 * MiB,
      parent: { linkage: base.dataWriteGuid, locators: { relative_path: 'b.vhdx' } },
    });
    const files = memoryFiles({ '/d/b.vhdx': base.bytes, '/d/c.avhdx': child.bytes });
    const e = await openImageForWrite(new MemoryDevice(base.bytes.slice(), { writable: true }), {
      path: '/d/b.vhdx',
      files,
    }).catch((x) => x);
    expect(e).toBeInstanceOf(BootprobeError);
    expect(e.kind).toBe('unsafe');
    expect(e.message).toContain('/d/c.avhdx');
    const img = await openImageForWrite(new MemoryDevice(child.bytes.slice(), { writable: true }), {
      path: '/d/c.avhdx',
      files,
    });
    await img.write(0, fill(4096, 1));
  });

  it('a damaged region table 1 (table 2 used for reading) is refused', async () => {
    const v = buildVhdx({ size: 4 * MiB });
    v.bytes[192 * 1024 + 20]! ^= 0xff;
    expect((await openRead(v.bytes)).warnings.map((w) => w.code)).toContain('VHDX_REGION_TABLE');
    const e = await openImageForWrite(new MemoryDevice(v.bytes, { writable: true }), {}).catch((x) => x);
    expect([e.code, e.kind]).toEqual(['UNSAFE_WRITE', 'unsafe']);
  });
});
