// What a volume's first sector says it holds, by content (boot-sectors.md §4: the OEM id for NTFS and exFAT, a
// plausible BPB for FAT). Pure; used to recognise a bare file system with no partition table, and by fs/.

export type FsFamily = 'ntfs' | 'fat' | 'exfat';

function ascii(b: Uint8Array, at: number, n: number): string {
  let s = '';
  for (let i = at; i < at + n && i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

export function classifyBootSector(b: Uint8Array): FsFamily | null {
  if (b.length < 512) return null;
  const oem = ascii(b, 3, 8);
  if (oem === 'NTFS    ') return 'ntfs';
  if (oem === 'EXFAT   ') return 'exfat';
  // FAT: a jump instruction, a power-of-two sector size 512..4096, a power-of-two cluster size, at least one
  // reserved sector and one or two FATs (fatgen103 "BPB"). An MBR starts with code, not a jump over a BPB.
  const jump = b[0] === 0xeb || b[0] === 0xe9;
  const bps = b[11]! | (b[12]! << 8);
  const spc = b[13]!;
  const reserved = b[14]! | (b[15]! << 8);
  const fats = b[16]!;
  const pow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;
  if (
    jump &&
    bps >= 512 &&
    bps <= 4096 &&
    pow2(bps) &&
    pow2(spc) &&
    reserved >= 1 &&
    fats >= 1 &&
    fats <= 2
  ) {
    return 'fat';
  }
  return null;
}

/** FAT12/16/32 by cluster count, the only rule the FAT specification accepts (fatgen103 "FAT type determination"). */
export function fatTypeOf(b: Uint8Array): 'fat12' | 'fat16' | 'fat32' | null {
  if (b.length < 512) return null;
  const u16 = (at: number) => b[at]! | (b[at + 1]! << 8);
  const u32 = (at: number) => (u16(at) + u16(at + 2) * 65536) >>> 0;
  const bps = u16(11);
  const spc = b[13]!;
  const reserved = u16(14);
  const fats = b[16]!;
  const rootEntries = u16(17);
  const total = u16(19) || u32(32);
  const fatSize = u16(22) || u32(36);
  if (!bps || !spc) return null;
  const rootSectors = Math.ceil((rootEntries * 32) / bps);
  const data = total - (reserved + fats * fatSize + rootSectors);
  if (data <= 0) return null;
  const clusters = Math.floor(data / spc);
  return clusters < 4085 ? 'fat12' : clusters < 65525 ? 'fat16' : 'fat32';
}
