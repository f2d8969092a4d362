// A disk's partitions with the file system each holds, recognised from its boot sector: what `info` lists.
import type { BlockDevice } from '../io/index.js';
import { classifyBootSector, fatTypeOf } from './boot-record.js';
import type { Partition, PartitionTable } from './partition.js';
import { isExtendedContainer, readPartitionTable } from './partition-table.js';

export type FsType = 'ntfs' | 'fat12' | 'fat16' | 'fat32' | 'exfat';

export interface VolumeSummary extends Partition {
  filesystem: FsType | null;
}

export interface DiskVolumes {
  table: PartitionTable;
  volumes: VolumeSummary[];
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
    volumes.push({ ...p, filesystem: isExtendedContainer(p) ? null : await identifyFileSystem(disk, p) });
  }
  return { table, volumes };
}
