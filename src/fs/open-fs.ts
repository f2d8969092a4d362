// Recognises the file system on a volume from its boot sector and opens it (issue 3). Recognition is by content:
// the OEM id for NTFS and exFAT (boot-sectors.md §4.1), a plausible BPB for FAT (§4.2).
import { BootprobeError } from '../errors.js';
import type { BlockDevice } from '../io/index.js';
import { openFat } from './fat/fat.js';
import type { FileSystem } from './file-system.js';
import { openNtfs } from './ntfs/ntfs.js';

export type FsFamily = 'ntfs' | 'fat' | 'exfat';

function ascii(b: Uint8Array, at: number, n: number): string {
  let s = '';
  for (let i = at; i < at + n && i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** Classifies a volume's first sector; null when it holds no file system we know. Pure. */
export function classifyBootSector(b: Uint8Array): FsFamily | null {
  if (b.length < 512) return null;
  const oem = ascii(b, 3, 8);
  if (oem === 'NTFS    ') return 'ntfs';
  if (oem === 'EXFAT   ') return 'exfat';
  // FAT: a jump instruction, a power-of-two sector size 512..4096, a power-of-two cluster size, at least one
  // reserved sector and one or two FATs (fatgen103 "BPB"). The 0x55AA signature is absent on some old media.
  const jump = b[0] === 0xeb || b[0] === 0xe9;
  const bps = b[11]! | (b[12]! << 8);
  const spc = b[13]!;
  const reserved = b[14]! | (b[15]! << 8);
  const fats = b[16]!;
  const pow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;
  if (jump && bps >= 512 && bps <= 4096 && pow2(bps) && pow2(spc) && reserved >= 1 && fats >= 1 && fats <= 2) {
    return 'fat';
  }
  return null;
}

export async function detectFileSystem(dev: BlockDevice): Promise<FsFamily | null> {
  if (dev.size < 512) return null;
  return classifyBootSector(await dev.read(0, 512));
}

/** Opens the file system on `dev`; FS_UNKNOWN when there is none we can read. */
export async function openFileSystem(dev: BlockDevice, where = 'volume'): Promise<FileSystem> {
  const family = await detectFileSystem(dev);
  switch (family) {
    case 'ntfs':
      return openNtfs(dev);
    case 'fat':
      return openFat(dev);
    case 'exfat':
      throw new BootprobeError('FS_UNKNOWN', `${where} holds exFAT, which this version cannot read`, {
        kind: 'unsupported',
        offset: 0,
        hint: 'bootprobe reads NTFS and FAT12/16/32 volumes',
      });
    default:
      throw new BootprobeError('FS_UNKNOWN', `${where} holds no NTFS or FAT file system`, {
        kind: 'unsupported',
        offset: 0,
        hint: 'choose another partition with -p (see `bootprobe info`)',
      });
  }
}
