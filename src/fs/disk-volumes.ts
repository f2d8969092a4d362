// A disk's partitions with the file system each holds: what `info` lists and what -p chooses from (issue 3).
import { BootprobeError } from '../errors.js';
import type { BlockDevice } from '../io/index.js';
import type { Partition, PartitionTable } from '../volume/partition.js';
import { partitionDevice, readPartitionTable } from '../volume/partition-table.js';
import type { FileSystem, FsType } from './file-system.js';
import { detectFileSystem, openFileSystem } from './open-fs.js';

export interface VolumeSummary extends Partition {
  filesystem: FsType | null;
  label: string | null;
}

export interface DiskVolumes {
  table: PartitionTable;
  volumes: VolumeSummary[];
}

/**
 * Reads the partition table and identifies each partition's file system and label. A file system that is
 * recognised but cannot be opened is reported with its type and no label (the error surfaces when it is used).
 */
export async function describeVolumes(disk: BlockDevice): Promise<DiskVolumes> {
  const table = await readPartitionTable(disk);
  const volumes: VolumeSummary[] = [];
  for (const p of table.partitions) {
    const dev = partitionDevice(disk, p);
    let filesystem: FsType | null = null;
    let label: string | null = null;
    const family = await detectFileSystem(dev).catch(() => null);
    if (family === 'exfat') filesystem = 'exfat';
    else if (family) {
      try {
        const fs = await openFileSystem(dev);
        filesystem = fs.type;
        label = fs.label;
      } catch (e) {
        if (!(e instanceof BootprobeError)) throw e;
        filesystem = family === 'ntfs' ? 'ntfs' : null;
      }
    }
    volumes.push({ ...p, filesystem, label });
  }
  return { table, volumes };
}

export interface OpenedVolume {
  partition: Partition;
  fs: FileSystem;
}

/**
 * Opens the file system the user chose with -p N, or the only one on the disk. Several file systems and no choice
 * is PARTITION_CHOICE listing them.
 */
export async function openVolume(disk: BlockDevice, index?: number): Promise<OpenedVolume> {
  const table = await readPartitionTable(disk);
  const choices = () =>
    table.partitions.map((p) => `${p.index} (${p.typeName}, ${p.size} bytes at ${p.start})`).join('; ') || 'none';
  if (index !== undefined) {
    const p = table.partitions.find((x) => x.index === index);
    if (!p) {
      throw new BootprobeError('PARTITION_CHOICE', `no partition ${index} on this disk; partitions: ${choices()}`, {
        hint: 'choose one with -p N',
      });
    }
    return { partition: p, fs: await openFileSystem(partitionDevice(disk, p), `partition ${p.index}`) };
  }
  const withFs: OpenedVolume[] = [];
  for (const p of table.partitions) {
    const dev = partitionDevice(disk, p);
    const family = await detectFileSystem(dev).catch(() => null);
    if (family === 'ntfs' || family === 'fat') {
      withFs.push({ partition: p, fs: await openFileSystem(dev, `partition ${p.index}`) });
    }
  }
  if (withFs.length === 1) return withFs[0]!;
  if (withFs.length === 0) {
    throw new BootprobeError('FS_UNKNOWN', `no NTFS or FAT file system on this disk; partitions: ${choices()}`, {
      kind: 'unsupported',
      hint: 'bootprobe reads NTFS and FAT12/16/32 volumes',
    });
  }
  throw new BootprobeError(
    'PARTITION_CHOICE',
    `${withFs.length} file systems on this disk: ${withFs.map((v) => `${v.partition.index} (${v.fs.type}${v.fs.label ? ` "${v.fs.label}"` : ''})`).join(', ')}`,
    { hint: 'choose one with -p N' },
  );
}
