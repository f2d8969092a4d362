// Master boot record and extended boot records. Layout: docs/boot-sectors.md §1 (MBR), §1.1 (EBR chain).
import { BootprobeError, hex } from '../errors.js';
import type { ByteView } from '../io/index.js';

export const MBR_SIGNATURE = 0xaa55;
export const MBR_TYPE = { EMPTY: 0x00, EXTENDED_CHS: 0x05, EXTENDED_LBA: 0x0f, GPT_PROTECTIVE: 0xee } as const;

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

export const isExtended = (type: number): boolean => type === MBR_TYPE.EXTENDED_CHS || type === MBR_TYPE.EXTENDED_LBA;

/** Names of MBR partition types (§3). */
export const MBR_TYPE_NAMES: Record<number, string> = {
  0x01: 'FAT12',
  0x04: 'FAT16 <32M',
  0x05: 'Extended',
  0x06: 'FAT16',
  0x07: 'HPFS/NTFS/exFAT',
  0x0b: 'W95 FAT32',
  0x0c: 'W95 FAT32 (LBA)',
  0x0e: 'W95 FAT16 (LBA)',
  0x0f: 'W95 Extended (LBA)',
  0x11: 'Hidden FAT12',
  0x14: 'Hidden FAT16 <32M',
  0x16: 'Hidden FAT16',
  0x17: 'Hidden HPFS/NTFS',
  0x1b: 'Hidden W95 FAT32',
  0x1c: 'Hidden W95 FAT32 (LBA)',
  0x1e: 'Hidden W95 FAT16 (LBA)',
  0x27: 'Windows recovery (hidden NTFS)',
  0x42: 'Windows dynamic disk (LDM)',
  0x82: 'Linux swap',
  0x83: 'Linux',
  0x8e: 'Linux LVM',
  0xee: 'GPT protective',
  0xef: 'EFI System',
  0xfd: 'Linux raid autodetect',
};

export function mbrTypeName(type: number): string {
  return MBR_TYPE_NAMES[type] ?? `unknown (0x${type.toString(16).padStart(2, '0')})`;
}
