// Choosing and opening the volume a file command works on (-p N, or the only file system on the disk).
import { BootprobeError } from '../errors.js';
import type { BlockDevice } from '../io/index.js';
import type { Partition } from '../volume/partition.js';
import { partitionDevice, readPartitionTable } from '../volume/partition-table.js';
import type { FileSystem } from './file-system.js';
import { detectFileSystem, openFileSystem } from './open-fs.js';

export interface OpenedVolume {
  partition: Partition;
  fs: FileSystem;
}

/**
 * Opens the file system of partition `index`, or the only NTFS/FAT one on the disk. Several and no choice is
 * PARTITION_CHOICE listing them; none is FS_UNKNOWN listing the partitions.
 */
export async function openVolume(disk: BlockDevice, index?: number): Promise<OpenedVolume> {
  const table = await readPartitionTable(disk);
  const choices = () =>
    table.partitions.map((p) => `${p.index} (${p.typeName}, ${p.size} bytes at ${p.start})`).join('; ') ||
    'none';
  if (index !== undefined) {
    const p = table.partitions.find((x) => x.index === index);
    if (!p) {
      throw new BootprobeError(
        'PARTITION_CHOICE',
        `no partition ${index} on this disk; partitions: ${choices()}`,
        {
          hint: 'choose one with -p N (see `bootprobe info`)',
        },
      );
    }
    return { partition: p, fs: await openFileSystem(partitionDevice(disk, p), `partition ${p.index}`) };
  }
  const candidates: Partition[] = [];
  for (const p of table.partitions) {
    if (p.start + p.size > disk.size) continue;
    const family = await detectFileSystem(partitionDevice(disk, p));
    if (family) candidates.push(p); // exFAT too, so its refusal names it
  }
  if (candidates.length === 1) {
    const p = candidates[0]!;
    return { partition: p, fs: await openFileSystem(partitionDevice(disk, p), `partition ${p.index}`) };
  }
  if (candidates.length === 0) {
    throw new BootprobeError(
      'FS_UNKNOWN',
      `no NTFS or FAT file system on this disk; partitions: ${choices()}`,
      {
        kind: 'unsupported',
        hint: 'bootprobe reads NTFS and FAT12/16/32 volumes',
      },
    );
  }
  throw new BootprobeError(
    'PARTITION_CHOICE',
    `${candidates.length} file systems on this disk: partitions ${candidates.map((p) => `${p.index} (${p.typeName})`).join(', ')}`,
    { hint: 'choose one with -p N' },
  );
}
