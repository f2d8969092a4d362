// Master boot record (and the same 512-byte layout in an EBR). Layout: docs/boot-sectors.md §1.
import { BootprobeError, hex } from '../errors.js';
import type { ByteView } from '../io/index.js';

/** 55 AA at 0x1FE, read as u16 LE (§1). */
export const MBR_SIGNATURE = 0xaa55;
export const MBR_SIZE = 512;
export const MBR_BOOT_CODE_SIZE = 440;
export const MBR_DISK_SIGNATURE_OFFSET = 0x1b8;
export const MBR_ENTRIES_OFFSET = 0x1be;
export const MBR_ENTRY_SIZE = 16;
export const MBR_SIGNATURE_OFFSET = 0x1fe;
/** Status 0x80 = active; the Windows MBR code boots the first entry with bit 7 set (§1). */
export const MBR_ACTIVE = 0x80;

/** Cylinder/head/sector as stored (§1 "Partition entry"): kept for display; the readers use the LBA fields. */
export interface Chs {
  cylinder: number;
  head: number;
  sector: number;
}

export interface MbrEntry {
  /** 0..3 */
  readonly slot: number;
  readonly status: number;
  readonly chsStart: Chs;
  readonly type: number;
  readonly chsEnd: Chs;
  readonly startLba: number;
  readonly sectorCount: number;
  /** Absolute byte offset of the 16-byte entry. */
  readonly entryOffset: number;
}

export interface Mbr {
  /** Bytes 0..439 as stored, for boot-code classification (§1.2). */
  readonly bootCode: Uint8Array;
  /** 0x1B8, u32 LE: what BCD MBR partition devices reference. */
  readonly diskSignature: number;
  readonly entries: readonly MbrEntry[];
  /** Absolute byte offset of the sector. */
  readonly offset: number;
}

// 0x01 head, 0x02 sector in bits 0-5 and cylinder bits 8-9 in bits 6-7, 0x03 cylinder bits 0-7.
function decodeChs(v: ByteView, at: number): Chs {
  const head = v.u8(at);
  const b = v.u8(at + 1);
  return { head, sector: b & 0x3f, cylinder: ((b & 0xc0) << 2) | v.u8(at + 2) };
}

/** Decodes a 512-byte MBR or EBR (§1); throws MBR_INVALID without 55 AA, TRUNCATED when short. */
export function decodeMbr(v: ByteView): Mbr {
  v.need(0, MBR_SIZE, 'MBR');
  if (v.u16le(MBR_SIGNATURE_OFFSET) !== MBR_SIGNATURE) {
    throw new BootprobeError(
      'MBR_INVALID',
      `${v.structure} at ${hex(v.base)}: no 55 AA signature at ${hex(v.base + MBR_SIGNATURE_OFFSET)}`,
      {
        offset: v.base + MBR_SIGNATURE_OFFSET,
        structure: v.structure,
        hint: 'the sector is not a partition table (or the table was wiped)',
        data: { expected: '55 aa', actual: hex(v.u16le(MBR_SIGNATURE_OFFSET)) },
      },
    );
  }
  const entries: MbrEntry[] = [];
  for (let i = 0; i < 4; i++) {
    const at = MBR_ENTRIES_OFFSET + MBR_ENTRY_SIZE * i;
    entries.push({
      slot: i,
      status: v.u8(at),
      chsStart: decodeChs(v, at + 1),
      type: v.u8(at + 4),
      chsEnd: decodeChs(v, at + 5),
      startLba: v.u32le(at + 8),
      sectorCount: v.u32le(at + 12),
      entryOffset: v.base + at,
    });
  }
  return {
    bootCode: v.slice(0, MBR_BOOT_CODE_SIZE).slice(),
    diskSignature: v.u32le(MBR_DISK_SIGNATURE_OFFSET),
    entries,
    offset: v.base,
  };
}

/** An entry that describes nothing: type 0 or no sectors (Linux skips both). */
export const isEmptyEntry = (e: MbrEntry): boolean => e.type === 0 || e.sectorCount === 0;
