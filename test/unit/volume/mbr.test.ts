import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../src/errors.js';
import { ByteView } from '../../../src/io/index.js';
import { decodeMbr, isEmptyEntry } from '../../../src/volume/mbr.js';
import { isExtended, mbrTypeName } from '../../../src/volume/mbr-types.js';
import { blankMbrDisk, expectedFromSfdisk, fixtureBytes, sfdiskAnswer } from './fixtures.js';

const sector0 = (name: string) => new ByteView(fixtureBytes(name).slice(0, 512), 0, 'mbr');

// CHS as sfdisk computes it for a disk without geometry: 255 heads, 63 sectors per track.
const chsOf = (lba: number) => ({
  cylinder: Math.floor(lba / (255 * 63)),
  head: Math.floor(lba / 63) % 255,
  sector: (lba % 63) + 1,
});

describe('MBR — boot-sectors.md §1', () => {
  it('decodes the disk signature and the four entries sfdisk wrote (mbr-primary)', () => {
    const sf = sfdiskAnswer('mbr-primary');
    const mbr = decodeMbr(sector0('mbr-primary'));
    expect(`0x${mbr.diskSignature.toString(16).padStart(8, '0')}`).toBe(sf.id);
    const want = expectedFromSfdisk(sf);
    expect(mbr.entries).toHaveLength(4);
    mbr.entries.forEach((e, i) => {
      expect(e.slot).toBe(i);
      expect(e.entryOffset).toBe(0x1be + 16 * i);
      expect(e.startLba * 512).toBe(want[i]!.start);
      expect(e.sectorCount * 512).toBe(want[i]!.size);
      expect(`0x${e.type.toString(16).padStart(2, '0')}`).toBe(want[i]!.type);
      // Status 0x80 = active; sfdisk's "bootable" (§1 partition entry).
      expect(e.status).toBe(want[i]!.active ? 0x80 : 0x00);
    });
  });

  it('decodes the 3-byte CHS start and end of each entry', () => {
    const mbr = decodeMbr(sector0('mbr-primary'));
    const e = mbr.entries[0]!;
    expect(e.chsStart).toEqual(chsOf(e.startLba));
    expect(e.chsEnd).toEqual(chsOf(e.startLba + e.sectorCount - 1));
  });

  it('keeps the 440 boot-code bytes raw, as a copy', () => {
    const bytes = fixtureBytes('mbr-primary').slice(0, 512);
    bytes[0] = 0xfa;
    bytes[439] = 0x42;
    const mbr = decodeMbr(new ByteView(bytes));
    expect(mbr.bootCode).toHaveLength(440);
    expect(mbr.bootCode[0]).toBe(0xfa);
    expect(mbr.bootCode[439]).toBe(0x42);
    bytes[0] = 0;
    expect(mbr.bootCode[0]).toBe(0xfa);
  });

  it('entry offsets are absolute: an MBR read at 0x10000 reports entries at 0x101be..', () => {
    const mbr = decodeMbr(new ByteView(blankMbrDisk(1), 0x10000, 'ebr'));
    expect(mbr.offset).toBe(0x10000);
    expect(mbr.entries.map((e) => e.entryOffset)).toEqual([0x101be, 0x101ce, 0x101de, 0x101ee]);
    expect(mbr.entries.every(isEmptyEntry)).toBe(true);
  });

  it('requires 55 AA at 0x1FE: MBR_INVALID at that offset', () => {
    const b = blankMbrDisk(1);
    b[0x1ff] = 0;
    const err = (() => {
      try {
        decodeMbr(new ByteView(b, 0x2000));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(BootprobeError);
    expect((err as BootprobeError).code).toBe('MBR_INVALID');
    expect((err as BootprobeError).offset).toBe(0x2000 + 0x1fe);
  });

  it('a sector shorter than 512 bytes is TRUNCATED, never a RangeError', () => {
    for (const n of [0, 1, 0x1be, 0x1fe, 511]) {
      expect(() => decodeMbr(new ByteView(blankMbrDisk(1).slice(0, n)))).toThrow(
        expect.objectContaining({ code: 'TRUNCATED' }),
      );
    }
  });
});

describe('MBR partition type codes — boot-sectors.md §3', () => {
  it('names the Windows types as util-linux does, unknown bytes as hex', () => {
    expect(mbrTypeName(0x07)).toBe('HPFS/NTFS/exFAT');
    expect(mbrTypeName(0x0c)).toBe('W95 FAT32 (LBA)');
    expect(mbrTypeName(0x27)).toBe('Windows recovery (hidden NTFS)');
    expect(mbrTypeName(0xee)).toBe('GPT protective');
    expect(mbrTypeName(0x9a)).toBe('unknown (0x9a)');
  });

  it('0x05 and 0x0F (and Linux 0x85) are extended containers; 0x07 is not', () => {
    expect([0x05, 0x0f, 0x85].map(isExtended)).toEqual([true, true, true]);
    expect(isExtended(0x07)).toBe(false);
  });
});
