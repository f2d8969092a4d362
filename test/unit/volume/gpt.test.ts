import { describe, expect, it } from 'vitest';
import { BootprobeError, type Finding } from '../../../src/errors.js';
import { ByteView, MemoryDevice } from '../../../src/io/index.js';
import { decodeGptEntries, decodeGptHeader, MAX_ENTRY_ARRAY, readGpt } from '../../../src/volume/gpt.js';
import { GPT_TYPE, gptTypeName } from '../../../src/volume/gpt-types.js';
import {
  expectedFromSfdisk,
  fixEntriesCrc,
  fixHeaderCrc,
  fixtureBytes,
  flip,
  setU32,
  setU64,
  sfdiskAnswer,
} from './fixtures.js';

const SS = 512;
const header = (b: Uint8Array, lba = 1, ss = SS) =>
  decodeGptHeader(new ByteView(b.subarray(lba * ss, (lba + 1) * ss), lba * ss, 'gpt.header'), lba);

function codeOf(f: () => unknown): { code: string; offset: number | undefined } {
  try {
    f();
  } catch (e) {
    if (!(e instanceof BootprobeError)) throw e;
    return { code: e.code, offset: e.offset };
  }
  throw new Error('accepted');
}

describe('GPT header — boot-sectors.md §2', () => {
  const disk = fixtureBytes('gpt-windows');
  const lastLba = disk.length / SS - 1;
  const sf = sfdiskAnswer('gpt-windows');

  it('decodes the primary header sgdisk wrote: disk GUID, usable range, 128 × 128-byte entries at LBA 2', () => {
    const h = header(disk);
    expect(h.diskGuid).toBe(sf.id.toLowerCase());
    expect(h.revision).toBe(0x00010000);
    expect(h.headerSize).toBe(92);
    expect([h.myLba, h.alternateLba]).toEqual([1, lastLba]);
    expect(h.firstUsableLba).toBe((sf as unknown as { firstlba: number }).firstlba);
    expect(h.lastUsableLba).toBe((sf as unknown as { lastlba: number }).lastlba);
    expect([h.entriesLba, h.entryCount, h.entrySize]).toEqual([2, 128, 128]);
    expect(h.offset).toBe(512);
  });

  it('the backup at the last LBA: MyLBA = last, AlternateLBA = 1, array just below it (last − 32)', () => {
    const h = header(disk, lastLba);
    expect([h.myLba, h.alternateLba, h.entriesLba]).toEqual([lastLba, 1, lastLba - 32]);
    expect(h.diskGuid).toBe(header(disk).diskGuid);
    expect(h.entriesCrc).toBe(header(disk).entriesCrc);
  });

  it('a header CRC mismatch is GPT_HEADER at the CRC field', () => {
    const b = disk.slice();
    flip(b, 512 + 0x38, 1);
    expect(codeOf(() => header(b))).toEqual({ code: 'GPT_HEADER', offset: 512 + 0x10 });
  });

  it('no "EFI PART" signature is GPT_HEADER', () => {
    const b = disk.slice();
    b[512] = 0x45 ^ 0xff;
    expect(codeOf(() => header(b)).code).toBe('GPT_HEADER');
  });

  it.each([0, 91, 513, 0xffffffff])('header size %i outside 92..sector is GPT_HEADER at 0x0C', (size) => {
    const b = disk.slice();
    setU32(b, 512 + 0x0c, size);
    expect(codeOf(() => header(b))).toEqual({ code: 'GPT_HEADER', offset: 512 + 0x0c });
  });

  it('MyLBA must equal the LBA the header was read from', () => {
    const b = disk.slice();
    setU64(b, 512 + 0x18, 7n);
    fixHeaderCrc(b, 512);
    expect(codeOf(() => header(b))).toEqual({ code: 'GPT_HEADER', offset: 512 + 0x18 });
  });

  it.each([0, 1, 96, 129, 0x80000001])('entry size %i (not 128 × 2^n) is GPT_HEADER', (size) => {
    const b = disk.slice();
    setU32(b, 512 + 0x54, size);
    fixHeaderCrc(b, 512);
    expect(codeOf(() => header(b))).toEqual({ code: 'GPT_HEADER', offset: 512 + 0x54 });
  });

  it(`count × size above ${MAX_ENTRY_ARRAY} bytes is refused before any allocation`, () => {
    for (const [count, size] of [
      [0xffffffff, 128],
      [8193, 128],
      [2, 0x80000000],
    ] as const) {
      const b = disk.slice();
      setU32(b, 512 + 0x50, count);
      setU32(b, 512 + 0x54, size);
      fixHeaderCrc(b, 512);
      expect(codeOf(() => header(b))).toEqual({ code: 'GPT_HEADER', offset: 512 + 0x50 });
    }
  });

  it('first usable > last usable is GPT_HEADER', () => {
    const b = disk.slice();
    setU64(b, 512 + 0x28, 20000n);
    fixHeaderCrc(b, 512);
    expect(codeOf(() => header(b))).toEqual({ code: 'GPT_HEADER', offset: 512 + 0x28 });
  });

  it('a 64-bit LBA beyond 2^53 is GPT_HEADER, never a rounded number', () => {
    const b = disk.slice();
    setU64(b, 512 + 0x30, 0xffffffffffffffffn);
    fixHeaderCrc(b, 512);
    expect(codeOf(() => header(b))).toEqual({ code: 'GPT_HEADER', offset: 512 + 0x30 });
  });

  it('a header cut short is TRUNCATED', () => {
    for (const n of [0, 8, 91]) {
      expect(codeOf(() => decodeGptHeader(new ByteView(disk.slice(512, 512 + n), 512), 1)).code).toBe(
        'TRUNCATED',
      );
    }
  });
});

describe('GPT entry array — boot-sectors.md §2 entry', () => {
  const disk = fixtureBytes('gpt-windows');
  const sf = sfdiskAnswer('gpt-windows');
  const array = (b: Uint8Array) => new ByteView(b.subarray(1024, 1024 + 128 * 128), 1024, 'gpt.entries');

  it('decodes the non-empty entries: types, unique GUIDs, LBAs, names, attributes (= sfdisk)', () => {
    const entries = decodeGptEntries(array(disk), header(disk));
    const want = expectedFromSfdisk(sf);
    expect(entries.map((e) => e.slot + 1)).toEqual(want.map((p) => p.index));
    expect(entries.map((e) => e.typeGuid)).toEqual(want.map((p) => p.type));
    expect(entries.map((e) => e.uniqueGuid)).toEqual(want.map((p) => p.guid));
    expect(entries.map((e) => e.name)).toEqual(want.map((p) => p.name));
    expect(entries.map((e) => e.firstLba * 512)).toEqual(want.map((p) => p.start));
    expect(entries.map((e) => (e.lastLba - e.firstLba + 1) * 512)).toEqual(want.map((p) => p.size));
    // sgdisk -A 4:set:0 → bit 0 "platform required" (sfdisk: RequiredPartition) on the recovery entry only.
    expect(entries.map((e) => e.attributes)).toEqual([0n, 0n, 0n, 1n]);
    expect(entries[2]!.entryOffset).toBe(1024 + 2 * 128);
  });

  it('GUIDs are stored mixed-endian: the ESP type starts 28 73 2A C1 on disk', () => {
    expect([...disk.subarray(1024, 1028)]).toEqual([0x28, 0x73, 0x2a, 0xc1]);
    expect(decodeGptEntries(array(disk), header(disk))[0]!.typeGuid).toBe(GPT_TYPE.EFI_SYSTEM);
  });

  it('an entry-array CRC mismatch is GPT_ENTRIES at the array', () => {
    const b = disk.slice();
    flip(b, 1024 + 56, 1); // a name byte
    expect(codeOf(() => decodeGptEntries(array(b), header(b)))).toEqual({
      code: 'GPT_ENTRIES',
      offset: 1024,
    });
  });

  it('an array shorter than count × size is TRUNCATED', () => {
    const short = new ByteView(disk.slice(1024, 1024 + 1000), 1024);
    expect(codeOf(() => decodeGptEntries(short, header(disk))).code).toBe('TRUNCATED');
  });

  it('names the Windows type GUIDs', () => {
    expect(
      [
        GPT_TYPE.EFI_SYSTEM,
        GPT_TYPE.MICROSOFT_RESERVED,
        GPT_TYPE.MICROSOFT_BASIC_DATA,
        GPT_TYPE.WINDOWS_RECOVERY,
      ].map(gptTypeName),
    ).toEqual(['EFI System', 'Microsoft reserved', 'Microsoft basic data', 'Windows recovery environment']);
    expect(gptTypeName('0FC63DAF-8483-4772-8E79-3D69D8477DE4')).toBe('Linux filesystem');
    expect(gptTypeName('00000000-1111-2222-3333-444444444444')).toBe('unknown');
  });
});

describe('GPT primary and backup — boot-sectors.md §2 steps 5-6', () => {
  const clean = fixtureBytes('gpt-windows');
  const lastLba = clean.length / SS - 1;
  const read = async (b: Uint8Array) => {
    const warnings: Finding[] = [];
    const gpt = await readGpt(new MemoryDevice(b), SS, warnings);
    return { gpt, warnings };
  };

  it('a valid primary and matching backup: the primary, no warnings', async () => {
    const { gpt, warnings } = await read(clean.slice());
    expect(gpt.fromBackup).toBe(false);
    expect(gpt.header.myLba).toBe(1);
    expect(warnings).toEqual([]);
  });

  it('a damaged primary (the script’s gpt-bad-primary): the backup, with a GPT_HEADER warning', async () => {
    const { gpt, warnings } = await read(fixtureBytes('gpt-bad-primary'));
    expect(gpt.fromBackup).toBe(true);
    expect(gpt.header.myLba).toBe(lastLba);
    expect(gpt.entries).toHaveLength(4);
    expect(warnings.map((w) => [w.code, w.offset])).toEqual([['GPT_HEADER', 512 + 0x10]]);
    expect(warnings[0]!.message).toMatch(/primary GPT unusable.*backup header at LBA 16383/);
  });

  it('a primary whose entry array fails its CRC: the backup, with a GPT_ENTRIES warning', async () => {
    const b = clean.slice();
    flip(b, 1024 + 200, 0xff);
    const { gpt, warnings } = await read(b);
    expect(gpt.fromBackup).toBe(true);
    expect(warnings.map((w) => w.code)).toEqual(['GPT_ENTRIES']);
  });

  it('a primary whose entry array lies outside the disk: the backup', async () => {
    const b = clean.slice();
    setU64(b, 512 + 0x48, BigInt(lastLba));
    fixHeaderCrc(b, 512);
    const { gpt, warnings } = await read(b);
    expect(gpt.fromBackup).toBe(true);
    expect(warnings[0]!.message).toMatch(/entry array at LBA 16383/);
  });

  it('a missing backup is a warning on a good primary', async () => {
    const b = clean.slice();
    b.fill(0, lastLba * SS);
    const { gpt, warnings } = await read(b);
    expect(gpt.fromBackup).toBe(false);
    expect(warnings.map((w) => [w.code, w.offset])).toEqual([['GPT_HEADER', lastLba * SS]]);
  });

  it('a backup that describes another table is a warning', async () => {
    const b = clean.slice();
    const backupArray = (lastLba - 32) * SS;
    flip(b, backupArray + 56, 1);
    fixEntriesCrc(b, lastLba * SS, SS);
    const { warnings } = await read(b);
    expect(warnings.map((w) => w.message)).toEqual([expect.stringMatching(/differs from the primary/)]);
  });

  it('both copies damaged: GPT_HEADER naming both faults', async () => {
    const b = fixtureBytes('gpt-bad-primary');
    flip(b, lastLba * SS + 0x38, 1);
    const err = await readGpt(new MemoryDevice(b), SS, []).catch((e) => e);
    expect(err).toBeInstanceOf(BootprobeError);
    expect(err.code).toBe('GPT_HEADER');
    expect(err.offset).toBe(512 + 0x10);
    expect(err.message).toMatch(/primary .* and backup .* are both unusable/);
  });
});
