// Master boot record and extended boot records. Layout: docs/boot-sectors.md §1 (MBR), §1.1 (EBR chain).
import { BootprobeError, hex } from '../errors.js';
import type { ByteView } from '../io/index.js';

export const MBR_SIGNATURE = 0xaa55;
export const MBR_TYPE = {
  EMPTY: 0x00,
  EXTENDED_CHS: 0x05,
  EXTENDED_LBA: 0x0f,
  GPT_PROTECTIVE: 0xee,
} as const;

export interface MbrEntry {
  /** 0..3 */
  slot: number;
  status: number;
  type: number;
  startLba: number;
  sectorCount: number;
  /** Absolute byte offset of the 16-byte entry. */
  entryOffset: number;
}

export interface Mbr {
  /** Bytes 0..439, kept for boot-code classification. */
  bootCode: Uint8Array;
  /** 0x1B8, u32 LE. */
  diskSignature: number;
  hasSignature: boolean;
  entries: MbrEntry[];
}

/** Decodes a 512-byte MBR or EBR; throws MBR_INVALID without 55 AA (§1). */
export function decodeMbr(v: ByteView): Mbr {
  v.need(0, 512, 'MBR');
  if (v.u16le(0x1fe) !== MBR_SIGNATURE) {
    throw new BootprobeError('MBR_INVALID', `no 55 AA signature at ${hex(v.base + 0x1fe)}`, {
      offset: v.base + 0x1fe,
      structure: 'mbr',
      hint: 'the sector is not a partition table',
    });
  }
  const entries: MbrEntry[] = [];
  for (let i = 0; i < 4; i++) {
    const at = 0x1be + 16 * i;
    entries.push({
      slot: i,
      status: v.u8(at),
      type: v.u8(at + 4),
      startLba: v.u32le(at + 8),
      sectorCount: v.u32le(at + 12),
      entryOffset: v.base + at,
    });
  }
  return { bootCode: v.slice(0, 440).slice(), diskSignature: v.u32le(0x1b8), hasSignature: true, entries };
}

export const isExtended = (type: number): boolean =>
  type === MBR_TYPE.EXTENDED_CHS || type === MBR_TYPE.EXTENDED_LBA;

/** Names of MBR partition types (§3). */
export const MBR_TYPE_NAMES: Record<number, string> = {
  1: 'FAT12',
  4: 'FAT16 <32M',
  5: 'Extended',
  6: 'FAT16',
  7: 'HPFS/NTFS/exFAT',
  11: 'W95 FAT32',
  12: 'W95 FAT32 (LBA)',
  14: 'W95 FAT16 (LBA)',
  15: 'W95 Extended (LBA)',
  17: 'Hidden FAT12',
  20: 'Hidden FAT16 <32M',
  22: 'Hidden FAT16',
  23: 'Hidden HPFS/NTFS',
  27: 'Hidden W95 FAT32',
  28: 'Hidden W95 FAT32 (LBA)',
  30: 'Hidden W95 FAT16 (LBA)',
  39: 'Windows recovery (hidden NTFS)',
  66: 'Windows dynamic disk (LDM)',
  130: 'Linux swap',
  131: 'Linux',
  142: 'Linux LVM',
  238: 'GPT protective',
  239: 'EFI System',
  253: 'Linux raid autodetect',
};

export function mbrTypeName(type: number): string {
  return MBR_TYPE_NAMES[type] ?? `unknown (0x${type.toString(16).padStart(2, '0')})`;
}
