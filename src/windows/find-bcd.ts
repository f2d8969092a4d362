// Where a disk keeps its BCD store, as Windows Boot Manager finds it (bcd.md §1; boot-sectors.md §5): on a GPT disk
// the EFI system partition's \EFI\Microsoft\Boot\BCD, on an MBR disk the active partition's \Boot\BCD; then any other
// volume holding either path (a data disk, a template whose active flag was lost).
import { BootprobeError } from '../errors.js';
import type { FileSystem, FsEntry } from '../fs/file-system.js';
import { openFileSystem } from '../fs/open-fs.js';
import type { BlockDevice } from '../io/index.js';
import type { Partition } from '../volume/partition.js';
import { partitionDevice, readPartitionTable } from '../volume/partition-table.js';

export const ESP_TYPE = 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b';
export const UEFI_STORE = '/EFI/Microsoft/Boot/BCD';
export const BIOS_STORE = '/Boot/BCD';

export interface StoreCandidate {
  partition: Partition;
  path: string;
  /** Why this place is looked at: 'EFI system partition', 'active partition', 'other volume'. */
  role: string;
  /** What was found: the store, or why it was passed over. */
  found: { fs: FileSystem; entry: FsEntry } | { reason: string };
}

/** Every place a store may be, in the order Windows looks, with what each held. */
export async function findBcdStores(disk: BlockDevice, only?: number): Promise<StoreCandidate[]> {
  const table = await readPartitionTable(disk);
  const parts = table.partitions.filter((p) => only === undefined || p.index === only);
  if (only !== undefined && parts.length === 0) {
    throw new BootprobeError('PARTITION_CHOICE', `no partition ${only} on this disk`, {
      hint: 'see `bootprobe info`',
    });
  }
  const order: { p: Partition; role: string; paths: string[] }[] = [];
  for (const p of parts) {
    if (p.type === ESP_TYPE || p.type === '0xef')
      order.push({ p, role: 'EFI system partition', paths: [UEFI_STORE] });
    else if (p.active || p.kind === 'whole')
      order.push({ p, role: p.active ? 'active partition' : 'volume', paths: [BIOS_STORE, UEFI_STORE] });
  }
  for (const p of parts)
    if (!order.some((o) => o.p === p))
      order.push({ p, role: 'other volume', paths: [BIOS_STORE, UEFI_STORE] });
  const out: StoreCandidate[] = [];
  for (const { p, role, paths } of order) {
    let fs: FileSystem;
    try {
      if (p.type === '0x05' || p.type === '0x0f') continue;
      fs = await openFileSystem(partitionDevice(disk, p), `partition ${p.index}`);
    } catch (e) {
      if (!(e instanceof BootprobeError)) throw e;
      out.push({ partition: p, path: paths[0]!, role, found: { reason: e.message } });
      continue;
    }
    for (const path of paths) {
      try {
        const entry = await fs.lookup(path);
        out.push({
          partition: p,
          path,
          role,
          found: entry.isDirectory ? { reason: `${path} is a directory` } : { fs, entry },
        });
      } catch (e) {
        if (!(e instanceof BootprobeError)) throw e;
        out.push({
          partition: p,
          path,
          role,
          found: { reason: e.code === 'PATH_NOT_FOUND' ? `no ${path}` : e.message },
        });
      }
    }
  }
  return out;
}

/** Reads a whole (small) file: a store or a hive log. Stores are kilobytes; refuse anything absurd. */
export async function readSmallFile(
  fs: FileSystem,
  entry: FsEntry,
  limit = 256 * 1024 * 1024,
): Promise<Uint8Array> {
  if (entry.size > limit) {
    throw new BootprobeError(
      'BCD_INVALID',
      `${entry.path} is ${entry.size} bytes, more than a registry hive can sensibly be`,
      { hint: 'this is not a BCD store' },
    );
  }
  const r = await fs.openFile(entry);
  return r.read(0, r.size);
}
