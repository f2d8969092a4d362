// Retarget: point a store's stale partition= devices at the partitions of the disk it now lives on (issue 6
// "--retarget"), as a pure transform of an EditableHive. A partition device names a disk (MBR signature or GPT disk
// GUID) and a partition on it (MBR start byte offset or GPT partition GUID), bcd.md §7.3. After an image is copied or
// converted, the disk's signature/GUID (and on GPT the partition GUIDs) change while the store still names the old
// ones: Windows then cannot find winload (0xc000000e, bcd.md §9 [I]).
// Rules (each choice also explained in the notes a run returns):
// - Only devices whose disk id differs from the target's are touched; a device on the target disk is kept, even when
//   its partition is not there (reported).
// - A stale MBR device moves to the target partition starting at the same byte offset when there is one (a signature
//   change keeps the layout); otherwise — and always on GPT, whose partition GUIDs change with the disk — it moves to
//   the partition of its role: {bootmgr}, {memdiag}, legacy loaders and boot sectors live on the system partition
//   (active partition / ESP: bootmgr, \boot\memtest.exe); ramdisk parents and ramdisksdidevice (WinRE's Winre.wim and
//   boot.sdi) on the recovery partition when the target has one, else the Windows partition; everything else (OS
//   loaders, resume objects) on the Windows partition.
// - Devices nested in ramdisk/file/locate descriptors are retargeted too (WinRE's ramdisk=[partition]…, §7.6).
// - Firmware objects ({fwbootmgr}, 0x101fffff: cached NVRAM entries naming other disks, bcd.md §3) and vhd= devices
//   (the partition inside a VHD, §7.7) are left as they are.
import { BootprobeError } from '../errors.js';
import type { EditableHive } from '../hive/edit.js';
import { formatGuid, parseGuid } from '../io/index.js';
import type { PartitionTable } from '../volume/partition.js';
import {
  BCD_BLOCK_TYPE,
  BCD_PARTITION_STYLE,
  type BcdDevice,
  type BcdDeviceDescriptor,
  type BcdPartitionDescriptor,
  describePartition,
  gptPartitionDevice,
  mbrPartitionDevice,
} from './device.js';
import { type BcdEditResult, bcdChanges, bcdValue, setBcdElement } from './edit.js';
import { BCD_OBJECT_TYPE } from './object-types.js';
import type { RenderBcdOptions } from './render.js';
import { type BcdObject, readBcdStore } from './store.js';

export interface TargetPartition {
  /** 1.. as the partition table numbers it. */
  readonly index: number;
  /** Start in bytes from the start of the disk. */
  readonly start: number;
  /** GPT unique partition GUID ('{…}' or bare); null on MBR. */
  readonly guid?: string | null;
}

/** The disk a store should point at, and which partition plays which role. */
export interface TargetDisk {
  readonly scheme: 'mbr' | 'gpt';
  /** MBR disk signature (the u32 at MBR 0x1B8). */
  readonly diskSignature?: number | null;
  /** GPT disk GUID. */
  readonly diskGuid?: string | null;
  readonly partitions: readonly TargetPartition[];
  /** The partition holding bootmgr and the store: the active partition or the ESP. */
  readonly systemPartition: number;
  /** The Windows volume. */
  readonly windowsPartition: number;
  /** The partition holding \Recovery\WindowsRE\Winre.wim, when there is one. */
  readonly recoveryPartition?: number | null;
}

export type TargetRole = 'system' | 'windows' | 'recovery';

export interface RetargetOptions {
  readonly clock?: bigint | null;
  readonly render?: RenderBcdOptions;
}

function targetError(message: string, hint: string): never {
  throw new BootprobeError('BCD_EDIT', message, { structure: 'bcd.retarget', hint, kind: 'usage' });
}

/** A TargetDisk from a partition table read by volume/ (the roles are the caller's to decide). */
export function targetDiskFromTable(
  table: PartitionTable,
  roles: { system: number; windows: number; recovery?: number | null },
): TargetDisk {
  if (table.scheme === 'none')
    targetError('the disk has no partition table', 'retarget needs an MBR or GPT disk');
  return {
    scheme: table.scheme,
    diskSignature: table.diskSignature === null ? null : Number.parseInt(table.diskSignature, 16),
    diskGuid: table.diskGuid,
    partitions: table.partitions.map((p) => ({ index: p.index, start: p.start, guid: p.guid })),
    systemPartition: roles.system,
    windowsPartition: roles.windows,
    recoveryPartition: roles.recovery ?? null,
  };
}

/** The partition= device of one target partition (bcd.md §7.3 layouts). */
function deviceFor(target: TargetDisk, index: number): BcdPartitionDescriptor {
  const p = target.partitions.find((x) => x.index === index);
  if (!p) targetError(`the target disk has no partition ${index}`, 'name a partition of the target disk');
  if (target.scheme === 'mbr') {
    return mbrPartitionDevice(target.diskSignature!, BigInt(p.start)).descriptor as BcdPartitionDescriptor;
  }
  if (!p.guid) targetError(`GPT partition ${index} has no unique GUID`, 'read the partition table again');
  return gptPartitionDevice(target.diskGuid!, p.guid).descriptor as BcdPartitionDescriptor;
}

function checkTarget(target: TargetDisk): void {
  if (target.scheme === 'mbr' && (target.diskSignature === null || target.diskSignature === undefined)) {
    targetError('an MBR target needs its disk signature', 'read it from MBR offset 0x1B8');
  }
  if (target.scheme === 'gpt' && !parseGuid(target.diskGuid ?? '')) {
    targetError('a GPT target needs its disk GUID', 'read it from the GPT header');
  }
  for (const [role, index] of [
    ['system', target.systemPartition],
    ['Windows', target.windowsPartition],
  ] as const) {
    if (!target.partitions.some((p) => p.index === index)) {
      targetError(
        `the ${role} partition ${index} is not on the target disk`,
        'choose partitions the disk has',
      );
    }
  }
  if (
    target.recoveryPartition != null &&
    !target.partitions.some((p) => p.index === target.recoveryPartition)
  ) {
    targetError(
      `the recovery partition ${target.recoveryPartition} is not on the target disk`,
      'choose one it has',
    );
  }
}

const sameGuid = (a: Uint8Array, b: string | null | undefined): boolean => {
  const g = parseGuid(b ?? '');
  return g !== null && formatGuid(g) === formatGuid(a);
};

/** True when a plain partition device names the target disk (§7.3: MBR signature or GPT disk GUID). */
export function onTargetDisk(d: BcdPartitionDescriptor, target: TargetDisk): boolean {
  if (d.style === BCD_PARTITION_STYLE.MBR)
    return target.scheme === 'mbr' && d.diskSignature === target.diskSignature;
  if (d.style === BCD_PARTITION_STYLE.GPT)
    return target.scheme === 'gpt' && sameGuid(d.diskId, target.diskGuid);
  return true; // RAW style: no disk id to compare; never touched
}

/** The target partition a plain partition device names, or null. */
function targetPartitionOf(d: BcdPartitionDescriptor, target: TargetDisk): TargetPartition | null {
  if (d.style === BCD_PARTITION_STYLE.MBR) {
    return (
      target.partitions.find((p) => d.partitionOffset !== null && BigInt(p.start) === d.partitionOffset) ??
      null
    );
  }
  return target.partitions.find((p) => sameGuid(d.partitionId, p.guid)) ?? null;
}

/** Which role an object's devices play (file comment). */
function objectRole(o: BcdObject): TargetRole {
  switch (o.type) {
    case BCD_OBJECT_TYPE.BOOTMGR:
    case BCD_OBJECT_TYPE.MEMDIAG:
    case BCD_OBJECT_TYPE.NTLDR:
    case BCD_OBJECT_TYPE.BOOTSECTOR:
      return 'system';
    case BCD_OBJECT_TYPE.DEVICE:
      return 'recovery';
    default:
      return 'windows';
  }
}

/** Retargets a copy of `source` at `target`; `source` is left untouched. */
export function retargetBcd(
  source: EditableHive,
  target: TargetDisk,
  options: RetargetOptions = {},
): BcdEditResult {
  checkTarget(target);
  const hive = source.clone();
  if (options.clock !== undefined) hive.clock = options.clock;
  const before = readBcdStore(hive.root);
  const notes: string[] = [];
  const roleIndex = (role: TargetRole): number =>
    role === 'system'
      ? target.systemPartition
      : role === 'recovery'
        ? (target.recoveryPartition ?? target.windowsPartition)
        : target.windowsPartition;

  for (const o of before.objects) {
    const name = o.alias ?? o.id;
    const firmware = o.type === BCD_OBJECT_TYPE.FWBOOTMGR || o.type === BCD_OBJECT_TYPE.FIRMWARE_APPLICATION;
    for (const e of o.elements) {
      if (e.value.format !== 'device') continue;
      const where = `${name} ${e.name}`;
      if (firmware) {
        if (hasStalePartition(e.value.device.descriptor, target)) {
          notes.push(`${where} names another disk; firmware entries are left as they are`);
        }
        continue;
      }
      const replace = (d: BcdPartitionDescriptor, role: TargetRole): BcdDeviceDescriptor => {
        if (d.vhdFile !== null || d.blockType !== BCD_BLOCK_TYPE.HARD_DISK) {
          notes.push(`${where} is a vhd= device; left as it is`);
          return d;
        }
        if (onTargetDisk(d, target)) {
          if (d.style !== BCD_PARTITION_STYLE.RAW && !targetPartitionOf(d, target)) {
            notes.push(
              `${where} names this disk but no partition of it (${describePartition(d)}); left as it is`,
            );
          }
          return d;
        }
        const sameStart =
          d.style === BCD_PARTITION_STYLE.MBR && target.scheme === 'mbr'
            ? targetPartitionOf(d, target)
            : null;
        return deviceFor(target, sameStart ? sameStart.index : roleIndex(role));
      };
      const device = e.value.device;
      const descriptor = retargetDescriptor(
        device.descriptor,
        objectRole(o),
        e.type === 0x31000003,
        replace,
        0,
      );
      if (descriptor === device.descriptor) continue;
      const next: BcdDevice = { ...device, descriptor };
      setBcdElement(hive.root, o.id, e.type, bcdValue.device(next));
    }
  }
  const after = readBcdStore(hive.root);
  return { hive, store: after, changes: bcdChanges(before, after, options.render), notes };
}

/**
 * A descriptor with its partition devices replaced (the same object when nothing changed). Ramdisk parents and
 * ramdisksdidevice take the recovery role; depth is bounded by the decoder (MAX_DEVICE_DEPTH).
 */
function retargetDescriptor(
  d: BcdDeviceDescriptor,
  role: TargetRole,
  sdiDevice: boolean,
  replace: (d: BcdPartitionDescriptor, role: TargetRole) => BcdDeviceDescriptor,
  depth: number,
): BcdDeviceDescriptor {
  if (depth > 8) return d;
  switch (d.kind) {
    case 'partition':
      return replace(d, sdiDevice ? 'recovery' : role);
    case 'locate': {
      if (!d.parent) return d;
      const parent = retargetDescriptor(d.parent, role, sdiDevice, replace, depth + 1);
      return parent === d.parent ? d : { ...d, parent };
    }
    case 'ramdisk': {
      const parent = retargetDescriptor(d.parent, 'recovery', sdiDevice, replace, depth + 1);
      return parent === d.parent ? d : { ...d, parent };
    }
    case 'file': {
      const parent = retargetDescriptor(d.parent, role, sdiDevice, replace, depth + 1);
      return parent === d.parent ? d : { ...d, parent };
    }
    default:
      return d;
  }
}

function hasStalePartition(d: BcdDeviceDescriptor, target: TargetDisk, depth = 0): boolean {
  if (depth > 8) return false;
  switch (d.kind) {
    case 'partition':
      return d.vhdFile === null && !onTargetDisk(d, target);
    case 'locate':
      return d.parent !== null && hasStalePartition(d.parent, target, depth + 1);
    case 'ramdisk':
    case 'file':
      return hasStalePartition(d.parent, target, depth + 1);
    default:
      return false;
  }
}
