// Planning a BCD repair (issue 6; DESIGN.md "Repair"): which store to rewrite, what the transform changes, and the
// new hive bytes — before anything is written. The transforms are bcd/'s (generalize: what sysprep /generalize does
// to the store, known-answers.md §2; retarget: partition= devices pointed at this disk; transplant: another image's
// or file's store, retargeted to this disk); the hive is written whole and clean by hive/writer.ts with a sequence
// number above every one the old file and its logs carry, so no stale log can ever be replayed over it (regf.md §8).
import type { BcdEditResult, BcdListingDiff, BcdStore } from '../bcd/index.js';
import {
  bcdListingDiff,
  generalizeBcd,
  readBcdStore,
  retargetBcd,
  targetDiskFromTable,
} from '../bcd/index.js';
import { BootprobeError } from '../errors.js';
import type { FileSystem, FsEntry } from '../fs/file-system.js';
import { openFileSystem } from '../fs/open-fs.js';
import { editableFromHive, encodeHive, type Hive, nextHiveSequence } from '../hive/index.js';
import type { BlockDevice } from '../io/block-device.js';
import { partitionDevice, readPartitionTable } from '../volume/partition-table.js';
import type { DiskWalk, VolumeProbe } from './boot-volume.js';
import { winPath } from './boot-volume.js';
import { readHiveFile } from './hive-file.js';

export type RepairMode =
  | { kind: 'generalize' }
  | { kind: 'retarget' }
  | { kind: 'transplant'; donor: Hive; donorName: string };

/** Where the store to rewrite lives in an image. */
export interface StoreInImage {
  probe: VolumeProbe;
  fs: FileSystem;
  entry: FsEntry;
  /** Names of the .LOG files found beside it. */
  logs: string[];
}

export interface RepairPlan {
  mode: RepairMode['kind'];
  /** The store as it is (logs replayed if it was dirty). */
  before: BcdStore;
  after: BcdStore;
  changes: BcdEditResult['changes'];
  notes: string[];
  listing: BcdListingDiff;
  /** The new hive file, whole. */
  bytes: Uint8Array;
  /** Where it goes in an image; null for a store file repaired on its own. */
  target: StoreInImage | null;
}

/** The store a repair rewrites: the boot volume's, else one on another volume (a store pre-flight found stray). */
export async function locateStore(walk: DiskWalk): Promise<StoreInImage> {
  const at = walk.boot
    ? { probe: walk.boot.probe, path: walk.boot.bcdPath }
    : walk.strayStore
      ? { probe: walk.strayStore.probe, path: walk.strayStore.bcdPath }
      : null;
  if (!at?.probe.fs) {
    throw new BootprobeError('BCD_NOT_FOUND', 'no BCD store on any volume of this image to repair', {
      kind: 'usage',
      hint: 'pre-flight the image to see why; `--transplant DONOR` needs an existing \\Boot\\BCD or \\EFI\\Microsoft\\Boot\\BCD to replace (create one with bcdboot)',
    });
  }
  const entry = at.probe.bcd ?? (await at.probe.fs.lookup(at.path));
  return { probe: at.probe, fs: at.probe.fs, entry, logs: [] };
}

/** The partitions retarget points devices at: the boot volume, the Windows volume, a WinRE partition if any. */
export function targetRoles(walk: DiskWalk, system: VolumeProbe | null): { system: number; windows: number } {
  const windows = walk.volumes.find((v) => v.windows) ?? null;
  const sys = system ?? walk.boot?.probe ?? null;
  if (!sys || !windows) {
    throw new BootprobeError(
      'BCD_EDIT',
      `retarget needs ${!sys ? 'a boot volume' : 'a volume holding \\Windows\\System32'} on this disk`,
      { kind: 'usage', hint: 'pre-flight the image to see which volumes it has' },
    );
  }
  return { system: sys.volume.index, windows: windows.volume.index };
}

/** Applies the transform to `hive` (the current store; for transplant, replaced by the donor). */
export function planStoreRepair(
  hive: Hive,
  mode: RepairMode,
  walk: DiskWalk | null,
  target: StoreInImage | null,
  oldLogs: readonly Uint8Array[] = [],
): RepairPlan {
  if (mode.kind === 'generalize') return planGeneralize(hive, target, oldLogs);
  const source = mode.kind === 'transplant' ? mode.donor : hive;
  if (mode.kind === 'transplant' && !source.getKey('\\Objects'))
    throw new BootprobeError('BCD_INVALID', `${mode.donorName} is a registry hive but not a BCD store`, {
      kind: 'usage',
    });
  const editable = editableFromHive(source, { allowRecovered: true });
  let result: BcdEditResult;
  if (!walk) {
    if (mode.kind === 'retarget')
      throw new BootprobeError(
        'BCD_EDIT',
        'retarget needs the disk the store is to point at: give the image, not the store file',
        {
          kind: 'usage',
        },
      );
    result = { hive: editable, store: readBcdStore(editable.root), changes: [], notes: [] };
  } else {
    const roles = targetRoles(walk, target?.probe ?? null);
    result = retargetBcd(editable, targetDiskFromTable(walk.table, roles));
  }
  if (mode.kind === 'retarget') return finishPlan(mode.kind, hive, result, [], target, oldLogs);
  // The donor's sequence numbers count too, so nothing of either replays over the new file.
  return finishPlan(
    mode.kind,
    hive,
    { ...result, changes: [] },
    [`the store is ${mode.donorName}'s, ${walk ? 'retargeted to this disk' : 'as it is'}`],
    target,
    oldLogs,
    nextHiveSequence(mode.donor.bytes),
  );
}

/**
 * `planStoreRepair` for generalize alone (what the page and the library's generalizeStore use): kept apart so a
 * bundle that only generalizes does not carry the retarget code.
 */
export function planGeneralize(
  hive: Hive,
  target: StoreInImage | null,
  oldLogs: readonly Uint8Array[] = [],
): RepairPlan {
  return finishPlan(
    'generalize',
    hive,
    generalizeBcd(editableFromHive(hive, { allowRecovered: true })),
    [],
    target,
    oldLogs,
  );
}

/** The new hive bytes and the listing diff of an edit of `hive` (the store as it is). */
function finishPlan(
  mode: RepairMode['kind'],
  hive: Hive,
  result: BcdEditResult,
  notes: string[],
  target: StoreInImage | null,
  oldLogs: readonly Uint8Array[],
  otherSequence = 0,
): RepairPlan {
  const before = readBcdStore(hive.root);
  // The new file's sequence numbers are above the old file's and its logs', so no stale log replays over it.
  const sequence = Math.max(nextHiveSequence(hive.bytes, oldLogs), otherSequence);
  const bytes = encodeHive(result.hive, { sequence });
  return {
    mode,
    before,
    after: result.store,
    changes: result.changes,
    notes: [...notes, ...result.notes],
    listing: bcdListingDiff(before, result.store),
    bytes,
    target,
  };
}

/** Reads the store of an image for repair: the hive (logs replayed) and the bytes of the logs found beside it. */
export async function readStoreForRepair(at: StoreInImage): Promise<{ hive: Hive; logs: Uint8Array[] }> {
  const file = await readHiveFile(at.fs, at.entry);
  at.logs = file.logsFound;
  return { hive: file.hive, logs: file.logs };
}

export const describeTarget = (t: StoreInImage): string =>
  `${winPath(t.entry.path)} on partition ${t.probe.volume.index}`;

/** Plans and commits the store's rewrite on one volume of `disk` (a staging device or a writable image). */
export async function writeStore(
  disk: BlockDevice,
  partition: number,
  storePath: string,
  bytes: Uint8Array,
): Promise<string[]> {
  const table = await readPartitionTable(disk);
  const p = table.partitions.find((x) => x.index === partition);
  if (!p)
    throw new BootprobeError('PARTITION_CHOICE', `partition ${partition} vanished`, { kind: 'corrupt' });
  const fs: FileSystem = await openFileSystem(partitionDevice(disk, p), `partition ${partition}`);
  if (!fs.planReplaceFile)
    throw new BootprobeError(
      'UNSAFE_WRITE',
      `partition ${partition} (${fs.type}) cannot be written by bootprobe`,
      {
        kind: 'unsupported',
      },
    );
  const plan = await fs.planReplaceFile(storePath, bytes);
  await plan.commit();
  return [...plan.changes];
}
