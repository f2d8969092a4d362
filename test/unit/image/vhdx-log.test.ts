// The VHDX log on synthetic rings: entries that wrap at the end of the log, sequences whose tail points back, stale
// and foreign entries (vhd-vhdx.md §2.6; the corpus covers the plain cases).
import { describe, expect, it } from 'vitest';
import { decodeLogEntry, findActiveSequence } from '../../../src/image/vhdx/log.js';
import { crc32c } from '../../../src/io/checksum.js';

const SECTOR = 4096;
const GUID = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
const OTHER = Uint8Array.from({ length: 16 }, (_, i) => 100 + i);

interface Desc {
  fileOffset: number;
  fill: number;
}

/** Encodes one entry: header + descriptors in the first sector(s), one data sector per descriptor (§2.6). */
function entry(seq: number, tail: number, descs: Desc[], guid = GUID): Uint8Array {
  const descSectors = Math.ceil((descs.length + 2) / 128);
  const len = (descSectors + descs.length) * SECTOR;
  const b = new Uint8Array(len);
  const dv = new DataView(b.buffer);
  b.set([0x6c, 0x6f, 0x67, 0x65], 0); // "loge"
  dv.setUint32(8, len, true);
  dv.setUint32(12, tail, true);
  dv.setBigUint64(16, BigInt(seq), true);
  dv.setUint32(24, descs.length, true);
  b.set(guid, 32);
  dv.setBigUint64(48, 8n << 20n, true);
  dv.setBigUint64(56, 8n << 20n, true);
  descs.forEach((d, i) => {
    const at = 64 + 32 * i;
    b.set([0x64, 0x65, 0x73, 0x63], at); // "desc"
    dv.setUint32(at + 4, d.fill * 0x01010101, true); // trailing 4 bytes of the sector
    dv.setBigUint64(at + 8, BigInt(d.fill) * 0x0101010101010101n, true); // leading 8 bytes
    dv.setBigUint64(at + 16, BigInt(d.fileOffset), true);
    dv.setBigUint64(at + 24, BigInt(seq), true);
    const s = (descSectors + i) * SECTOR;
    b.set([0x64, 0x61, 0x74, 0x61], s); // "data"
    dv.setUint32(s + 4, Math.floor(seq / 2 ** 32), true);
    b.fill(d.fill, s + 8, s + 4092);
    dv.setUint32(s + 4092, seq >>> 0, true);
  });
  dv.setUint32(4, crc32c(b), true);
  return b;
}

/** Places entries in a ring of `sectors` sectors, wrapping at the end. */
function ring(sectors: number, placed: [number, Uint8Array][]): Uint8Array {
  const log = new Uint8Array(sectors * SECTOR);
  for (const [at, e] of placed) {
    for (let i = 0; i < e.length; i++) log[(at + i) % log.length] = e[i]!;
  }
  return log;
}

describe('VHDX log entry — vhd-vhdx.md §2.6 "Validating one entry"', () => {
  it('reconstructs a data sector from leading bytes, payload and trailing bytes', () => {
    const log = ring(8, [[0, entry(5, 0, [{ fileOffset: 2 << 20, fill: 0xab }])]]);
    const e = decodeLogEntry(log, 0, GUID, 0)!;
    expect(e.sequenceNumber).toBe(5n);
    expect(e.descriptors).toHaveLength(1);
    expect(e.descriptors[0]!.data!.every((x) => x === 0xab)).toBe(true);
  });

  it('rejects an entry with another LogGuid, a bad CRC or a data sector of another sequence', () => {
    expect(
      decodeLogEntry(ring(8, [[0, entry(5, 0, [{ fileOffset: 0, fill: 1 }], OTHER)]]), 0, GUID, 0),
    ).toBeNull();
    const bad = entry(5, 0, [{ fileOffset: 0, fill: 1 }]);
    bad[5000] = bad[5000]! ^ 1;
    expect(decodeLogEntry(ring(8, [[0, bad]]), 0, GUID, 0)).toBeNull();
  });
});

describe('VHDX active sequence — vhd-vhdx.md §2.6 "Finding the active sequence"', () => {
  it('finds an entry that wraps from the end of the ring to its start', () => {
    // 8-sector ring; a 2-sector entry at sector 7 continues at sector 0.
    const log = ring(8, [[7 * SECTOR, entry(9, 7 * SECTOR, [{ fileOffset: 3 << 20, fill: 0x5a }])]]);
    const seq = findActiveSequence(log, GUID)!;
    expect(seq.map((e) => e.sequenceNumber)).toEqual([9n]);
    expect(seq[0]!.descriptors[0]!.data![100]).toBe(0x5a);
  });

  it('replays from the tail entry to the newest, in order', () => {
    const e1 = entry(3, 0, [{ fileOffset: 2 << 20, fill: 1 }]);
    const e2 = entry(4, 0, [{ fileOffset: 2 << 20, fill: 2 }]);
    const e3 = entry(5, 2 * SECTOR, [{ fileOffset: 2 << 20, fill: 3 }]);
    const log = ring(16, [
      [0, e1],
      [2 * SECTOR, e2],
      [4 * SECTOR, e3],
    ]);
    const seq = findActiveSequence(log, GUID)!;
    // The newest entry's tail is e2: e1 is already applied and is not part of the active sequence.
    expect(seq.map((e) => e.sequenceNumber)).toEqual([4n, 5n]);
  });

  it('prefers the sequence with the highest sequence number', () => {
    const old = entry(2, 8 * SECTOR, [{ fileOffset: 0, fill: 9 }]);
    const nu = entry(7, 0, [{ fileOffset: 0, fill: 8 }]);
    const log = ring(16, [
      [8 * SECTOR, old],
      [0, nu],
    ]);
    expect(findActiveSequence(log, GUID)!.map((e) => e.sequenceNumber)).toEqual([7n]);
  });

  it('finds nothing in an empty log, or when the only entries carry another LogGuid', () => {
    expect(findActiveSequence(new Uint8Array(8 * SECTOR), GUID)).toBeNull();
    expect(findActiveSequence(ring(8, [[0, entry(1, 0, [], OTHER)]]), GUID)).toBeNull();
  });

  it('ends on a ring full of valid chained entries (no endless loop)', () => {
    const placed: [number, Uint8Array][] = [];
    for (let i = 0; i < 8; i++) placed.push([i * SECTOR, entry(10 + i, i * SECTOR, [])]);
    const seq = findActiveSequence(ring(8, placed), GUID);
    expect(seq?.length).toBeGreaterThan(0);
  });
});
