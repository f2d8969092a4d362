// MBR partition type bytes and their names. Table: docs/boot-sectors.md §3; names are util-linux's (what
// `sfdisk -l` and `fdisk -l` print), so a listing can be compared with theirs.

/** Type bytes the readers act on (§1, §1.1, §2 protective MBR). */
export const MBR_TYPE = {
  EMPTY: 0x00,
  EXTENDED_CHS: 0x05,
  EXTENDED_LBA: 0x0f,
  /** Linux's own extended type; Linux follows it like 0x05/0x0F. */
  EXTENDED_LINUX: 0x85,
  NTFS: 0x07,
  WINDOWS_RECOVERY: 0x27,
  GPT_PROTECTIVE: 0xee,
  EFI_SYSTEM: 0xef,
} as const;
export type MbrType = (typeof MBR_TYPE)[keyof typeof MBR_TYPE];

/** Extended partition containers: their space holds EBRs, not a file system (§1.1 step 1). */
export const isExtended = (type: number): boolean =>
  type === MBR_TYPE.EXTENDED_CHS || type === MBR_TYPE.EXTENDED_LBA || type === MBR_TYPE.EXTENDED_LINUX;

export const MBR_TYPE_NAMES: Readonly<Record<number, string>> = {
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
  // §3: PARTITION_MSFT_RECOVERY in the Windows SDK; util-linux calls it "Hidden NTFS WinRE".
  39: 'Windows recovery (hidden NTFS)',
  // §3: Microsoft's LDM type; util-linux names it "SFS" after an older user of the byte.
  66: 'Windows dynamic disk (LDM)',
  130: 'Linux swap',
  131: 'Linux',
  133: 'Linux extended',
  142: 'Linux LVM',
  238: 'GPT protective',
  239: 'EFI System',
  253: 'Linux raid autodetect',
};

export function mbrTypeName(type: number): string {
  return MBR_TYPE_NAMES[type] ?? `unknown (0x${type.toString(16).padStart(2, '0')})`;
}
