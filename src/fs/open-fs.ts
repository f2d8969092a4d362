// Opens the file system a volume holds, recognised by content (boot-sectors.md §4: OEM id, BPB).
import { BootprobeError } from '../errors.js';
import type { BlockDevice } from '../io/index.js';
import { classifyBootSector, type FsFamily } from '../volume/boot-record.js';
import { openFat } from './fat/fat.js';
import type { FileSystem } from './file-system.js';
import { openNtfs } from './ntfs/ntfs.js';

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
