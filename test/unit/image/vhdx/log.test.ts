// VHDX log — vhd-vhdx.md §2.6: entry validation, finding the active sequence (tails, wrap-around, foreign GUIDs),
// replay into an in-memory overlay through which region tables, metadata and BAT are read; the file never changes.
import { describe, expect, it } from 'vitest';
import { decodeLogEntry, findActiveSequence } from '../../../../src/image/vhdx/log.js';
import { openVhdx } from '../../../../src/image/vhdx/vhdx-image.js';
import { MemoryDevice } from '../../../../src/io/memory-device.js';
import {
  type BuiltVhdx,
  batEntry,
  batEntryOffset,
  buildVhdx,
  encodeLogEntry,
  encodeRegionTable,
  guidBytes,
  KiB,
  type LogEntrySpec,
  le64,
  MiB,
  pattern,
  placeLogEntries,
  REGION_GUID,
  resealVhdx,
  STATE,
  sha256,
  typedError,
} from '../../../helpers/vhdx-builder.js';

const LOG = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const OTHER = '11111111-2222-3333-4444-555555555555';
const SIZE = 8 * MiB;
const SECTOR = 4 * KiB;
const W0 = pattern(0, 4096, 1);
const W3 = pattern(3 * MiB, 4096, 2);

/**
 * A dynamic disk whose on-disk BAT is stale (block 3 marked ZERO), plus the good first BAT sector for a log entry
 * to carry: replaying it makes block 3's data visible, ignoring it reads zeros there.
 */
function staleDisk(logGuid: string | null = LOG): { v: BuiltVhdx; goodBat: Uint8Array } {
  const v = buildVhdx({ size: SIZE, writes: [W0, W3], logGuid: logGuid ?? undefined });
  const goodBat = v.bytes.slice(v.layout.batAt, v.layout.batAt + SECTOR);
  le64(v.bytes, batEntryOffset(v, 3), batEntry(STATE.ZERO, 0));
  return { v, goodBat };
}

function entry(
  v: BuiltVhdx,
  over: Partial<LogEntrySpec> & { descriptors: LogEntrySpec['descriptors'] },
): Uint8Array {
  return encodeLogEntry({
    sequenceNumber: 10n,
    tail: 0,
    logGuid: LOG,
    flushedFileOffset: v.bytes.length,
    lastFileOffset: v.bytes.length,
    ...over,
  });
}

const open = (v: BuiltVhdx, options = {}) => openVhdx(new MemoryDevice(v.bytes), options);
const block3 = async (v: BuiltVhdx) => (await open(v)).read(3 * MiB, 4096);

describe('log entry — vhd-vhdx.md §2.6 "Validating one entry"', () => {
  const guid = guidBytes(LOG);
  const ring = (sectors: number, placed: [number, Uint8Array][]) => {
    const log = new Uint8Array(sectors * SECTOR);
    for (const [at, e] of placed) for (let i = 0; i < e.length; i++) log[(at + i) % log.length] = e[i]!;
    return log;
  };
  const sector = (fill: number) => new Uint8Array(SECTOR).fill(fill);

  it('a data sector is LeadingBytes(8) + payload(4084) + TrailingBytes(4), checked against the sequence number', () => {
    const s = sector(0x5a);
    s.set([1, 2, 3, 4, 5, 6, 7, 8], 0);
    s.set([9, 10, 11, 12], 4092);
    const e = encodeLogEntry({
      sequenceNumber: 0x1_0000_0002n,
      tail: 0,
      logGuid: LOG,
      descriptors: [{ kind: 'desc', fileOffset: 2 * MiB, sector: s }],
      flushedFileOffset: 8 * MiB,
      lastFileOffset: 9 * MiB,
    });
    const d = decodeLogEntry(ring(4, [[0, e]]), 0, guid, MiB)!;
    expect(d).toMatchObject({
      at: 0,
      entryLength: 2 * SECTOR,
      sequenceNumber: 0x1_0000_0002n,
      flushedFileOffset: 8 * MiB,
      lastFileOffset: 9 * MiB,
    });
    expect(d.descriptors[0]).toMatchObject({ kind: 'desc', fileOffset: 2 * MiB, length: SECTOR });
    expect([...d.descriptors[0]!.data!]).toEqual([...s]);
  });

  it('descriptor sectors = ceil((count + 2) / 128): 126 fit the first sector, 127 need a second', () => {
    const zeros = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        kind: 'zero' as const,
        fileOffset: i * SECTOR,
        length: SECTOR,
      }));
    for (const [n, sectors] of [
      [126, 1],
      [127, 2],
      [254, 2],
      [255, 3],
    ] as const) {
      const e = encodeLogEntry({
        sequenceNumber: 1n,
        tail: 0,
        logGuid: LOG,
        descriptors: zeros(n),
        flushedFileOffset: 0,
        lastFileOffset: 0,
      });
      expect(e.length).toBe(sectors * SECTOR);
      expect(decodeLogEntry(ring(4, [[0, e]]), 0, guid, 0)?.descriptors).toHaveLength(n);
    }
  });

  it('invalid: foreign LogGuid, bad CRC, sequence 0, a data sector with another sequence, a misaligned descriptor', () => {
    const base = { sequenceNumber: 5n, tail: 0, logGuid: LOG, flushedFileOffset: 0, lastFileOffset: 0 };
    const desc = [{ kind: 'desc' as const, fileOffset: 2 * MiB, sector: sector(1) }];
    expect(
      decodeLogEntry(ring(4, [[0, encodeLogEntry({ ...base, descriptors: desc })]]), 0, guid, 0),
    ).not.toBeNull();
    expect(
      decodeLogEntry(
        ring(4, [[0, encodeLogEntry({ ...base, logGuid: OTHER, descriptors: desc })]]),
        0,
        guid,
        0,
      ),
    ).toBeNull();
    expect(
      decodeLogEntry(
        ring(4, [[0, encodeLogEntry({ ...base, sequenceNumber: 0n, descriptors: desc })]]),
        0,
        guid,
        0,
      ),
    ).toBeNull();
    const crc = encodeLogEntry({ ...base, descriptors: desc });
    crc[5000]! ^= 1;
    expect(decodeLogEntry(ring(4, [[0, crc]]), 0, guid, 0)).toBeNull();
    const seq = encodeLogEntry({ ...base, descriptors: desc });
    le64(seq, 64 + 24, 6n); // descriptor sequence
    expect(decodeLogEntry(ring(4, [[0, seq]]), 0, guid, 0)).toBeNull();
    const mis = { kind: 'desc' as const, fileOffset: 2 * MiB + 512, sector: sector(1) };
    expect(
      decodeLogEntry(ring(4, [[0, encodeLogEntry({ ...base, descriptors: [mis] })]]), 0, guid, 0),
    ).toBeNull();
    const zl = { kind: 'zero' as const, fileOffset: 2 * MiB, length: 100 };
    expect(
      decodeLogEntry(ring(4, [[0, encodeLogEntry({ ...base, descriptors: [zl] })]]), 0, guid, 0),
    ).toBeNull();
  });

  it('an entry longer than the log or with a tail outside it is invalid', () => {
    const e = encodeLogEntry({
      sequenceNumber: 1n,
      tail: 8 * SECTOR,
      logGuid: LOG,
      descriptors: [],
      flushedFileOffset: 0,
      lastFileOffset: 0,
    });
    expect(decodeLogEntry(ring(4, [[0, e]]), 0, guid, 0)).toBeNull();
  });
});

describe('the active sequence — vhd-vhdx.md §2.6 "Finding the active sequence"', () => {
  const guid = guidBytes(LOG);
  const mk = (seq: bigint, tail: number) =>
    encodeLogEntry({
      sequenceNumber: seq,
      tail,
      logGuid: LOG,
      descriptors: [],
      flushedFileOffset: 0,
      lastFileOffset: 0,
    });
  const ring = (placed: [number, Uint8Array][], sectors = 16) => {
    const log = new Uint8Array(sectors * SECTOR);
    for (const [at, e] of placed) for (let i = 0; i < e.length; i++) log[(at + i) % log.length] = e[i]!;
    return log;
  };

  it('the run from the last entry’s tail to the last entry is replayed, earlier entries of the run are not', () => {
    const s = findActiveSequence(
      ring([
        [0, mk(3n, 0)],
        [SECTOR, mk(4n, SECTOR)],
        [2 * SECTOR, mk(5n, SECTOR)],
      ]),
      guid,
    )!;
    expect(s.map((e) => e.sequenceNumber)).toEqual([4n, 5n]);
  });

  it('the sequence with the greatest last sequence number wins', () => {
    const s = findActiveSequence(
      ring([
        [0, mk(7n, 0)],
        [5 * SECTOR, mk(20n, 5 * SECTOR)],
        [6 * SECTOR, mk(21n, 5 * SECTOR)],
        [10 * SECTOR, mk(9n, 10 * SECTOR)],
      ]),
      guid,
    )!;
    expect(s.map((e) => e.sequenceNumber)).toEqual([20n, 21n]);
  });

  it('a gap in sequence numbers ends a run (the next run starts after it); a tail naming no entry of its run is invalid', () => {
    expect(
      findActiveSequence(
        ring([
          [0, mk(1n, 0)],
          [SECTOR, mk(3n, SECTOR)],
        ]),
        guid,
      )!.map((e) => e.sequenceNumber),
    ).toEqual([3n]);
    expect(findActiveSequence(ring([[0, mk(1n, 12 * SECTOR)]]), guid)).toBeNull();
  });

  it('an entry that wraps from the end of the ring to its start is read across the wrap', () => {
    const e = encodeLogEntry({
      sequenceNumber: 2n,
      tail: 15 * SECTOR,
      logGuid: LOG,
      descriptors: [{ kind: 'desc', fileOffset: 2 * MiB, sector: new Uint8Array(SECTOR).fill(0x77) }],
      flushedFileOffset: 0,
      lastFileOffset: 0,
    });
    const s = findActiveSequence(ring([[15 * SECTOR, e]]), guid)!;
    expect(s).toHaveLength(1);
    expect(s[0]!.at).toBe(15 * SECTOR);
    expect(s[0]!.descriptors[0]!.data![100]).toBe(0x77);
  });

  it('a sequence that fills the whole ring ends (no endless loop)', () => {
    const placed: [number, Uint8Array][] = Array.from({ length: 16 }, (_, i) => [
      i * SECTOR,
      mk(BigInt(i + 1), 0),
    ]);
    expect(findActiveSequence(ring(placed), guid)!.length).toBe(16);
  });

  it('an all-zero log has no sequence', () => {
    expect(findActiveSequence(ring([]), guid)).toBeNull();
  });
});

describe('replay into memory — vhd-vhdx.md §2.6 "Replaying"', () => {
  it('a pending BAT update is replayed: block 3 reads its data; the file bytes are unchanged; a finding says so', async () => {
    const { v, goodBat } = staleDisk();
    placeLogEntries(v, [
      [0, entry(v, { descriptors: [{ kind: 'desc', fileOffset: v.layout.batAt, sector: goodBat }] })],
    ]);
    const before = sha256(v.bytes);
    const img = await open(v);
    expect(await img.read(3 * MiB, 4096)).toEqual(W3.data);
    expect(img.info.details).toMatchObject({ logState: 'replayed in memory', logGuid: LOG });
    expect(img.warnings).toMatchObject([
      { code: 'VHDX_LOG_PENDING', message: expect.stringMatching(/1 entry replayed in memory/) },
    ]);
    expect(sha256(v.bytes)).toBe(before);
  });

  it('LogGuid zero: valid-looking entries in the log are stale and never replayed (Hyper-V corpus files)', async () => {
    const { v, goodBat } = staleDisk(null);
    placeLogEntries(v, [
      [0, entry(v, { descriptors: [{ kind: 'desc', fileOffset: v.layout.batAt, sector: goodBat }] })],
    ]);
    const img = await open(v);
    expect(img.info.details.logState).toBe('clean');
    expect(img.warnings).toEqual([]);
    expect(await block3(v)).toEqual(new Uint8Array(4096));
  });

  it('LogGuid set but only entries of another LogGuid (or none): nothing replayed, with a finding', async () => {
    for (const guid of [OTHER, null]) {
      const { v, goodBat } = staleDisk();
      if (guid)
        placeLogEntries(v, [
          [
            0,
            entry(v, {
              logGuid: guid,
              descriptors: [{ kind: 'desc', fileOffset: v.layout.batAt, sector: goodBat }],
            }),
          ],
        ]);
      const img = await open(v);
      expect(img.info.details.logState).toBe('logguid set, nothing to replay');
      expect(img.warnings[0]!.message).toMatch(/holds no valid entry/);
      expect(await img.read(3 * MiB, 4096)).toEqual(new Uint8Array(4096));
    }
  });

  it('entries replay in order: a later zero descriptor undoes an earlier data descriptor', async () => {
    const { v, goodBat } = staleDisk();
    const e1 = entry(v, {
      sequenceNumber: 40n,
      tail: 0,
      descriptors: [{ kind: 'desc', fileOffset: v.layout.batAt, sector: goodBat }],
    });
    const e2 = entry(v, {
      sequenceNumber: 41n,
      tail: 0,
      descriptors: [{ kind: 'zero', fileOffset: v.layout.batAt, length: SECTOR }],
    });
    placeLogEntries(v, [
      [0, e1],
      [e1.length, e2],
    ]);
    const img = await open(v);
    // The whole first BAT sector is zero: every block NOT_PRESENT, block 0 included.
    expect(await img.read(0, 4096)).toEqual(new Uint8Array(4096));
    expect(img.warnings[0]!.message).toMatch(/2 entries replayed/);
  });

  it('an entry that wraps around the end of the log is replayed', async () => {
    const { v, goodBat } = staleDisk();
    const e = entry(v, {
      tail: v.layout.logLength - SECTOR,
      descriptors: [{ kind: 'desc', fileOffset: v.layout.batAt, sector: goodBat }],
    });
    placeLogEntries(v, [[v.layout.logLength - SECTOR, e]]);
    expect(v.bytes.subarray(v.layout.logAt, v.layout.logAt + 4)).toEqual(new TextEncoder().encode('data'));
    expect(await block3(v)).toEqual(W3.data);
  });

  it('region tables and metadata are read through the replayed log too', async () => {
    // The log moves the BAT: region table 1 rewritten (16 sectors) to name a copy of the good BAT past the old EOF.
    const { v, goodBat } = staleDisk();
    const newBat = v.bytes.length;
    const rt = encodeRegionTable([
      { guid: REGION_GUID.BAT, fileOffset: newBat, length: MiB, required: true },
      { guid: REGION_GUID.METADATA, fileOffset: v.layout.metaAt, length: MiB, required: true },
    ]);
    const descriptors: LogEntrySpec['descriptors'] = Array.from({ length: 16 }, (_, i) => ({
      kind: 'desc' as const,
      fileOffset: 192 * KiB + i * SECTOR,
      sector: rt.subarray(i * SECTOR, (i + 1) * SECTOR),
    }));
    descriptors.push({ kind: 'desc', fileOffset: newBat, sector: goodBat });
    // And the virtual size item (metadata +0x11000) shrinks to 4 MiB.
    const vs = v.bytes.slice(v.layout.metaAt + 0x11000, v.layout.metaAt + 0x12000);
    le64(vs, 0, 4 * MiB);
    descriptors.push({ kind: 'desc', fileOffset: v.layout.metaAt + 0x11000, sector: vs });
    placeLogEntries(v, [[0, entry(v, { descriptors, lastFileOffset: newBat + MiB })]]);
    const img = await open(v);
    expect(img.size).toBe(4 * MiB);
    expect(img.info.details.batOffset).toBe(newBat);
    expect(await img.read(3 * MiB, 4096)).toEqual(W3.data);
  });

  it('LastFileOffset extends the file: a block placed past the old end reads what the log put there, zeros elsewhere', async () => {
    const { v, goodBat } = staleDisk();
    const at = v.bytes.length + MiB;
    const bat = goodBat.slice();
    le64(bat, 8 * 2, batEntry(STATE.FULLY_PRESENT, at)); // block 2 → new space
    placeLogEntries(v, [
      [
        0,
        entry(v, {
          descriptors: [
            { kind: 'desc', fileOffset: v.layout.batAt, sector: bat },
            { kind: 'desc', fileOffset: at + SECTOR, sector: new Uint8Array(SECTOR).fill(0xee) },
          ],
          lastFileOffset: at + MiB,
        }),
      ],
    ]);
    const img = await open(v);
    const got = await img.read(2 * MiB, 3 * SECTOR);
    expect(got.subarray(0, SECTOR)).toEqual(new Uint8Array(SECTOR));
    expect(got.subarray(SECTOR, 2 * SECTOR)).toEqual(new Uint8Array(SECTOR).fill(0xee));
    expect(got.subarray(2 * SECTOR)).toEqual(new Uint8Array(SECTOR));
  });

  it('a file shorter than the last entry’s FlushedFileOffset was truncated: VHDX_LOG', async () => {
    const { v, goodBat } = staleDisk();
    placeLogEntries(v, [
      [
        0,
        entry(v, {
          flushedFileOffset: v.bytes.length + MiB,
          descriptors: [{ kind: 'desc', fileOffset: v.layout.batAt, sector: goodBat }],
        }),
      ],
    ]);
    const e = await typedError(open(v), 'VHDX_LOG');
    expect(e.offset).toBe(v.layout.logAt + 48);
  });

  it('a log region outside the file or misaligned is VHDX_LOG; strict mode refuses any pending log', async () => {
    const a = buildVhdx({ size: SIZE, logGuid: LOG, logLength: MiB });
    new DataView(a.bytes.buffer).setBigUint64(64 * KiB + 72, BigInt(a.bytes.length), true);
    new DataView(a.bytes.buffer).setBigUint64(128 * KiB + 72, BigInt(a.bytes.length), true);
    resealVhdx(a.bytes);
    await typedError(open(a), 'VHDX_LOG');
    const { v } = staleDisk();
    // Refused as unreadable (exit 3): the reader will not show metadata the log says is stale.
    const e = await typedError(open(v, { strict: true }), 'VHDX_LOG_PENDING');
    expect(e.kind).toBe('corrupt');
  });
});
