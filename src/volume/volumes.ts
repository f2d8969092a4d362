// A disk's partitions with the file system each holds, recognised from its boot sector: what `info` lists.
import type { BlockDevice } from '../io/index.js';
import { classifyMbrCode, classifyVbr, type MbrCode, type VbrCode } from './boot-code.js';
import { classifyBootSector, fatTypeOf } from './boot-record.js';
import type { Partition, PartitionTable } from './partition.js';
import { isExtendedContainer, readPartitionTable } from './partition-table.js';

export type FsType = 'ntfs' | 'fat12' | 'fat16' | 'fat32' | 'exfat';

export interface VolumeSummary extends Partition {
  filesystem: FsType | null;
  /** What the volume boot record loads (SCVMM's BootSectorType); null for containers and unreadable volumes. */
  bootCode: VbrCode | null;
}

export interface DiskVolumes {
  table: PartitionTable;
  /** The MBR's boot code (also on GPT disks: the protective MBR may carry code); null without a sector 0. */
  mbrCode: MbrCode | null;
  volumes: VolumeSummary[];
}

/** The first 8 KiB of a volume (NTFS keeps its loader's name in $Boot at 0x200: boot-sectors.md §4.1). */
async function volumeHead(disk: BlockDevice, p: Partition): Promise<Uint8Array | null> {
  if (p.size < 512 || p.start + 512 > disk.size) return null;
  return disk.read(p.start, Math.min(8192, p.size, disk.size - p.start));
}

/** The file system a volume's first sector announces; null for none we know or a sector past the disk. */
export async function identifyFileSystem(disk: BlockDevice, p: Partition): Promise<FsType | null> {
  if (p.size < 512 || p.start + 512 > disk.size) return null;
  const sector = await disk.read(p.start, 512);
  const family = classifyBootSector(sector);
  if (family === 'fat') return fatTypeOf(sector);
  return family;
}

export async function describeVolumes(disk: BlockDevice): Promise<DiskVolumes> {
  const table = await readPartitionTable(disk);
  const volumes: VolumeSummary[] = [];
  for (const p of table.partitions) {
    // An extended container holds EBRs, not a file system.
    const container = isExtendedContainer(p);
    const filesystem = container ? null : await identifyFileSystem(disk, p);
    const head = container || !filesystem ? null : await volumeHead(disk, p);
    volumes.push({ ...p, filesystem, bootCode: head ? classifyVbr(head) : null });
  }
  const mbrCode =
    table.scheme !== 'none' && disk.size >= 512 ? classifyMbrCode(await disk.read(0, 512)) : null;
  return { table, mbrCode, volumes };
}
