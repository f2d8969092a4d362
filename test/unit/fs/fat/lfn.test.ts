// fatgen103 "FAT Long Directory Entries" and "FAT Directory Structure" (short entries, dates, NT case flags).
import { describe, expect, it } from 'vitest';
import { decodeDosDateTime, decodeShortName, isDotEntry } from '../../../../src/fs/fat/dir-entry.js';
import { DirectoryDecoder } from '../../../../src/fs/fat/directory.js';
import { decodeLfnEntry, lfnChecksum } from '../../../../src/fs/fat/lfn.js';
import { ByteView } from '../../../../src/io/index.js';
import { fatImage } from './fat-fixtures.js';

const ascii = (s: string) => new TextEncoder().encode(s);

/** An 11-byte short name field from "BASE    EXT". */
const name11 = (s: string) => ascii(s.padEnd(11));

/** A short entry: name, attributes, NT flags, first cluster, size. */
function shortEntry(n11: Uint8Array, attr = 0x20, nt = 0, cluster = 0, size = 0): Uint8Array {
  const e = new Uint8Array(32);
  e.set(n11, 0);
  e[11] = attr;
  e[12] = nt;
  const dv = new DataView(e.buffer);
  dv.setUint16(0x1a, cluster & 0xffff, true);
  dv.setUint16(0x14, cluster >>> 16, true);
  dv.setUint32(0x1c, size, true);
  return e;
}

/** The LFN entries for `name` (UTF-16 units), in the order they are stored (last first). */
function lfnEntries(name: string, checksum: number): Uint8Array[] {
  const units = Array.from({ length: name.length }, (_, i) => name.charCodeAt(i));
  if (units.length % 13) units.push(0);
  while (units.length % 13) units.push(0xffff);
  const n = units.length / 13;
  const out: Uint8Array[] = [];
  for (let k = n; k >= 1; k--) {
    const e = new Uint8Array(32);
    const dv = new DataView(e.buffer);
    e[0] = k | (k === n ? 0x40 : 0);
    e[11] = 0x0f;
    e[13] = checksum;
    const part = units.slice((k - 1) * 13, k * 13);
    const at = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30];
    for (const [i, u] of part.entries()) dv.setUint16(at[i]!, u, true);
    out.push(e);
  }
  return out;
}

function decodeDir(entries: Uint8Array[], isRoot = false): DirectoryDecoder {
  const b = new Uint8Array(entries.length * 32 + 32);
  for (const [i, e] of entries.entries()) b.set(e, i * 32);
  const d = new DirectoryDecoder(true, 437, isRoot);
  d.feed(new ByteView(b, 0x10000, 'fat.dirent'));
  return d;
}

describe('LFN checksum — fatgen103 ChkSum()', () => {
  it('equals the checksum mtools wrote beside "MIXEDC~1TEX" in the fat16 fixture', () => {
    const img = fatImage('fat16');
    const want = name11('MIXEDC~1TEX');
    for (let at = 0; at + 32 <= img.length; at += 32) {
      if (img[at + 11] !== 0x20 || !img.subarray(at, at + 11).every((b, i) => b === want[i])) continue;
      expect(img[at - 32 + 11]).toBe(0x0f); // the LFN entry just before it
      expect(lfnChecksum(want)).toBe(img[at - 32 + 13]);
      return;
    }
    throw new Error('MIXEDC~1.TEX not found');
  });
});

describe('LFN assembly — sequences, checksums, orphans', () => {
  const sn = name11('LONGNA~1TXT');
  const sum = lfnChecksum(sn);

  it('a complete sequence names its short entry', () => {
    const d = decodeDir([...lfnEntries('Long name of a file.txt', sum), shortEntry(sn)]);
    expect(d.entries.map((e) => [e.longName, e.shortName, e.lfnEntries])).toEqual([
      ['Long name of a file.txt', 'LONGNA~1.TXT', 2],
    ]);
    expect(d.entries[0]!.lfnOffset).toBe(0x10000);
    expect(d.orphanLfnEntries).toBe(0);
  });

  it('a name of exactly 13 characters has no terminator', () => {
    const d = decodeDir([...lfnEntries('Thirteen char', sum), shortEntry(sn)]);
    expect(d.entries[0]!.longName).toBe('Thirteen char');
  });

  it('a surrogate pair (a character past U+FFFF) survives', () => {
    const d = decodeDir([...lfnEntries('smile \u{1f600}.txt', sum), shortEntry(sn)]);
    expect(d.entries[0]!.longName).toBe('smile 😀.txt');
  });

  it('a bad checksum falls back to the 8.3 name', () => {
    const d = decodeDir([...lfnEntries('Long name of a file.txt', sum ^ 1), shortEntry(sn)]);
    expect(d.entries[0]!.longName).toBeNull();
    expect(d.entries[0]!.shortName).toBe('LONGNA~1.TXT');
    expect(d.orphanLfnEntries).toBe(2);
  });

  it('a missing middle entry (orphan) falls back to the 8.3 name', () => {
    const l = lfnEntries('A name long enough for three entries.txt', sum);
    expect(l).toHaveLength(4);
    const d = decodeDir([l[0]!, l[1]!, l[3]!, shortEntry(sn)]);
    expect(d.entries[0]!.longName).toBeNull();
  });

  it('entries out of order, or a sequence without its first (0x40) entry, are orphans', () => {
    const l = lfnEntries('Long name of a file.txt', sum);
    expect(decodeDir([l[1]!, l[0]!, shortEntry(sn)]).entries[0]!.longName).toBeNull();
    expect(decodeDir([l[1]!, shortEntry(sn)]).entries[0]!.longName).toBeNull();
  });

  it('a deleted entry between the LFN entries and the short entry breaks the sequence', () => {
    const del = shortEntry(name11('XDELETEDTXT'));
    del[0] = 0xe5;
    const d = decodeDir([...lfnEntries('Long name of a file.txt', sum), del, shortEntry(sn)]);
    expect(d.entries.map((e) => e.longName)).toEqual([null]);
  });

  it('a new sequence replaces an unfinished one', () => {
    const other = lfnEntries('Other', 0x12);
    const d = decodeDir([other[0]!, ...lfnEntries('Long name of a file.txt', sum), shortEntry(sn)]);
    expect(d.entries[0]!.longName).toBe('Long name of a file.txt');
  });

  it('LFN entries with a non-zero type byte are ignored', () => {
    const l = lfnEntries('Typed', sum);
    l[0]![12] = 1;
    expect(decodeDir([...l, shortEntry(sn)]).entries[0]!.longName).toBeNull();
  });

  it('decodeLfnEntry reads order, last flag, checksum and the 13 units', () => {
    const e = lfnEntries('Thirteen char', 0x5a)[0]!;
    const l = decodeLfnEntry(new ByteView(e, 64), 0);
    expect(l).toMatchObject({ order: 1, last: true, checksum: 0x5a, type: 0, cluster: 0, offset: 64 });
    expect(String.fromCharCode(...l.units)).toBe('Thirteen char');
  });
});

describe('directory scanning — fatgen103 "FAT Directory Structure"', () => {
  it('stops at the first 0x00 entry; deleted entries and "."/".." are skipped', () => {
    const del = shortEntry(name11('GONE    TXT'));
    del[0] = 0xe5;
    const after = shortEntry(name11('AFTER   TXT'));
    const d = decodeDir([
      shortEntry(name11('.'), 0x10),
      shortEntry(name11('..'), 0x10),
      del,
      shortEntry(name11('KEPT    TXT')),
      new Uint8Array(32),
      after,
    ]);
    expect(d.entries.map((e) => e.shortName)).toEqual(['KEPT.TXT']);
    expect(d.ended).toBe(true);
  });

  it('the volume label entry is kept apart, in the root only', () => {
    const label = shortEntry(name11('MY DISK'), 0x08);
    expect(decodeDir([label, shortEntry(name11('A       TXT'))], true).label).toEqual({
      label: 'MY DISK',
      offset: 0x10000,
    });
    const sub = decodeDir([label, shortEntry(name11('A       TXT'))], false);
    expect(sub.label).toBeNull();
    expect(sub.entries).toHaveLength(1);
  });

  it('FAT32 takes the high cluster word, FAT12/16 ignore it', () => {
    const b = shortEntry(name11('BIG     BIN'), 0x20, 0, 0x12345, 10);
    const fat32 = new DirectoryDecoder(true, 437, false);
    fat32.feed(new ByteView(b));
    expect(fat32.entries[0]!.firstCluster).toBe(0x12345);
    const fat16 = new DirectoryDecoder(false, 437, false);
    fat16.feed(new ByteView(b));
    expect(fat16.entries[0]!.firstCluster).toBe(0x2345);
  });

  it('isDotEntry recognises only "." and ".."', () => {
    expect(isDotEntry(name11('.'))).toBe(true);
    expect(isDotEntry(name11('..'))).toBe(true);
    expect(isDotEntry(name11('...'))).toBe(false);
    expect(isDotEntry(name11('.A'))).toBe(false);
  });
});

describe('8.3 names — NT case flags (byte 12) and the 0x05 escape', () => {
  it('bit 3 lower-cases the base, bit 4 the extension', () => {
    const n = name11('README  TXT');
    expect(decodeShortName(n, 0, 437)).toBe('README.TXT');
    expect(decodeShortName(n, 0x08, 437)).toBe('readme.TXT');
    expect(decodeShortName(n, 0x10, 437)).toBe('README.txt');
    expect(decodeShortName(n, 0x18, 437)).toBe('readme.txt');
  });

  it('no extension: no dot', () => {
    expect(decodeShortName(name11('NOEXT'), 0, 437)).toBe('NOEXT');
  });

  it('a leading 0x05 stands for 0xE5, decoded in the OEM code page', () => {
    const n = name11('_ABC    TXT');
    n[0] = 0x05;
    expect(decodeShortName(n, 0, 437)).toBe('σABC.TXT');
    expect(decodeShortName(n, 0, 850)).toBe('ÕABC.TXT');
  });

  it('OEM bytes: 0xD4 is "È" in code page 850 (mtools) and "╘" in 437', () => {
    const n = name11('SYST_M~1TXT');
    n[4] = 0xd4;
    expect(decodeShortName(n, 0, 850)).toBe('SYSTÈM~1.TXT');
    expect(decodeShortName(n, 0, 437)).toBe('SYST╘M~1.TXT');
  });
});

describe('DOS dates and times — fatgen103 "Date and Time Formats"', () => {
  const date = (y: number, m: number, d: number) => ((y - 1980) << 9) | (m << 5) | d;
  const time = (h: number, mi: number, s: number) => (h << 11) | (mi << 5) | (s >> 1);

  it('decodes date, two-second time and the creation 10-ms count', () => {
    expect(decodeDosDateTime(date(2021, 3, 4), time(5, 6, 8))?.toISOString()).toBe(
      '2021-03-04T05:06:08.000Z',
    );
    expect(decodeDosDateTime(date(2021, 3, 4), time(5, 6, 8), 150)?.toISOString()).toBe(
      '2021-03-04T05:06:09.500Z',
    );
    expect(decodeDosDateTime(date(2107, 12, 31), time(23, 59, 58))?.toISOString()).toBe(
      '2107-12-31T23:59:58.000Z',
    );
  });

  it('a zero date is null; out-of-range fields are null, never rolled over', () => {
    expect(decodeDosDateTime(0, time(1, 2, 4))).toBeNull();
    expect(decodeDosDateTime(date(2021, 0, 4))).toBeNull();
    expect(decodeDosDateTime(date(2021, 13, 4))).toBeNull();
    expect(decodeDosDateTime(date(2021, 2, 0))).toBeNull();
    expect(decodeDosDateTime(date(2021, 2, 30))).toBeNull();
    expect(decodeDosDateTime(date(2021, 2, 3), (24 << 11) | 0)).toBeNull();
    expect(decodeDosDateTime(date(2021, 2, 3), time(1, 60, 0))).toBeNull();
    expect(decodeDosDateTime(date(2021, 2, 3), 30)).toBeNull();
  });
});
