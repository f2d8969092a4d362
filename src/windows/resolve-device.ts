// Resolving a BCD device element against the image it was read from, as Windows Boot Manager resolves it at boot
// (bcd.md §7): partition= by MBR disk signature + partition byte offset, or by GPT disk GUID + partition GUID;
// locate= by searching the volumes for the path the referenced element names (§7.5; known-answers.md §2 shows
// sysprep writing these); boot = the volume the boot manager was started from (§7.4); ramdisk= through the device
// that holds its image file (§7.6). Anything else (network, unknown block devices) does not resolve offline.

import { elementText } from '../bcd/element.js';
import type { BcdDeviceDescriptor, BcdObject, BcdPartitionDescriptor } from '../bcd/index.js';
import { describePartition, hex8 } from '../bcd/index.js';
import type { Partition, PartitionTable } from '../volume/partition.js';
import { SYSTEM32_PATH, type VolumeProbe, winPath } from './boot-volume.js';

/** Element types a locate device names (bcd.md §4): `path` for device, `systemroot` for osdevice. */
export const ELEMENT_PATH = 0x12000002;
export const ELEMENT_SYSTEMROOT = 0x22000002;

export interface Resolution {
  /** The device's form: 'partition', 'locate', 'boot', 'ramdisk', 'file', 'vhd', 'unknown'. */
  form: string;
  /** The volume it lands on, or null. */
  volume: VolumeProbe | null;
  /** One sentence: what the device names and where (or why not) it was found. */
  detail: string;
}

export interface ResolveContext {
  table: PartitionTable;
  volumes: readonly VolumeProbe[];
  /** The boot volume, for `boot` and `[boot]` devices. */
  boot: VolumeProbe | null;
  /** True when `path` exists on the volume (file or directory). */
  exists(volume: VolumeProbe, path: string): Promise<boolean>;
}

const bare = (g: string) => g.replace(/^\{|\}$/g, '').toLowerCase();

/** The partition of this disk a partition= device names (bcd.md §7.3), or why none matches. */
export function findPartition(
  d: BcdPartitionDescriptor,
  table: PartitionTable,
): { partition: Partition | null; detail: string } {
  const what = describePartition(d);
  if (d.diskSignature !== null && d.partitionOffset !== null) {
    if (table.scheme !== 'mbr' || table.diskSignature === null)
      return {
        partition: null,
        detail: `partition= ${what} names an MBR disk, this image is ${table.scheme.toUpperCase()}`,
      };
    const own = Number.parseInt(table.diskSignature, 16);
    if (d.diskSignature !== own)
      return {
        partition: null,
        detail: `partition= names disk signature 0x${hex8(d.diskSignature)} (offset ${d.partitionOffset}), this disk's signature is 0x${hex8(own)}`,
      };
    const p = table.partitions.find((x) => BigInt(x.start) === d.partitionOffset) ?? null;
    return p
      ? {
          partition: p,
          detail: `partition= disk signature 0x${hex8(own)}, offset ${d.partitionOffset}: partition ${p.index}`,
        }
      : {
          partition: null,
          detail: `partition= disk signature 0x${hex8(own)}: no partition starts at offset ${d.partitionOffset}`,
        };
  }
  if (d.diskGuid !== null && d.partitionGuid !== null) {
    if (table.scheme !== 'gpt' || table.diskGuid === null)
      return {
        partition: null,
        detail: `partition= ${what} names a GPT disk, this image is ${table.scheme.toUpperCase()}`,
      };
    if (bare(d.diskGuid) !== bare(table.diskGuid))
      return {
        partition: null,
        detail: `partition= names GPT disk ${d.diskGuid}, this disk is {${bare(table.diskGuid)}}`,
      };
    const want = bare(d.partitionGuid);
    const p = table.partitions.find((x) => x.guid !== null && bare(x.guid) === want) ?? null;
    return p
      ? { partition: p, detail: `partition= GPT partition ${d.partitionGuid}: partition ${p.index}` }
      : { partition: null, detail: `partition= disk ${d.diskGuid}: no partition ${d.partitionGuid} on it` };
  }
  return { partition: null, detail: `partition= ${what}: neither an MBR nor a GPT partition` };
}

/** The probed volume a partition= device names, or why none matches. */
export function matchPartition(
  d: BcdPartitionDescriptor,
  table: PartitionTable,
  volumes: readonly VolumeProbe[],
): { volume: VolumeProbe | null; detail: string } {
  const { partition, detail } = findPartition(d, table);
  const volume = partition ? (volumes.find((v) => v.volume.index === partition.index) ?? null) : null;
  return { volume, detail };
}

/** Resolves one device descriptor of `object` (see the file comment). */
export async function resolveDevice(
  d: BcdDeviceDescriptor,
  object: BcdObject,
  ctx: ResolveContext,
  depth = 0,
): Promise<Resolution> {
  switch (d.kind) {
    case 'partition': {
      if (d.vhdFile)
        return {
          form: 'vhd',
          volume: null,
          detail: 'a partition inside a VHD file (native VHD boot) is not followed offline',
        };
      const m = matchPartition(d, ctx.table, ctx.volumes);
      return { form: 'partition', ...m };
    }
    case 'boot':
      return ctx.boot
        ? {
            form: 'boot',
            volume: ctx.boot,
            detail: `boot: the boot volume, partition ${ctx.boot.volume.index}`,
          }
        : { form: 'boot', volume: null, detail: 'boot: no boot volume was found' };
    case 'locate': {
      const el = d.locateType === 1 ? null : object.element(d.elementType);
      const path = d.locateType === 1 ? d.path : el && el.value.format === 'string' ? el.value.text : null;
      if (path === null || path === '')
        return {
          form: 'locate',
          volume: null,
          detail: `locate= refers to element 0x${hex8(d.elementType)}, which ${object.alias ?? object.id} does not have`,
        };
      const where = d.parent && depth < 4 ? await resolveDevice(d.parent, object, ctx, depth + 1) : null;
      const pool = where ? (where.volume ? [where.volume] : []) : ctx.volumes;
      for (const v of pool) {
        if (v.fs && (await ctx.exists(v, path)))
          return {
            form: 'locate',
            volume: v,
            detail: `locate=${path}: found on partition ${v.volume.index}`,
          };
      }
      return { form: 'locate', volume: null, detail: `locate=${path}: no volume of this image holds it` };
    }
    case 'ramdisk':
    case 'file': {
      const parent = depth < 4 ? await resolveDevice(d.parent, object, ctx, depth + 1) : null;
      if (!parent?.volume)
        return {
          form: d.kind,
          volume: null,
          detail: `${d.kind}=[…]${d.path}: its parent device does not resolve (${parent?.detail ?? 'nested too deep'})`,
        };
      const found = await ctx.exists(parent.volume, d.path);
      return found
        ? {
            form: d.kind,
            volume: parent.volume,
            detail: `${d.kind}=${d.path} on partition ${parent.volume.volume.index}`,
          }
        : {
            form: d.kind,
            volume: null,
            detail: `${d.kind}=${d.path}: no such file on partition ${parent.volume.volume.index}`,
          };
    }
    case 'virtualDisk':
      return {
        form: 'vhd',
        volume: null,
        detail: 'a VHD file device (native VHD boot) is not followed offline',
      };
    default:
      return {
        form: 'unknown',
        volume: null,
        detail: 'a device of a kind that does not name a disk volume (network, unknown block device)',
      };
  }
}

/** The text an element holds, for messages ('\Windows'); null when absent or not text. */
export function elementString(object: BcdObject, type: number): string | null {
  const el = object.element(type);
  if (!el) return null;
  if (el.value.format === 'string') return el.value.text;
  return el.regType === 1 ? elementText(el.raw) : null;
}

/** Whether a volume holds a Windows installation at `systemroot` (\Windows\System32 below it). */
export async function holdsWindows(
  v: VolumeProbe,
  systemroot: string | null,
  ctx: ResolveContext,
): Promise<boolean> {
  if (!v.fs) return false;
  const root = systemroot ?? winPath(SYSTEM32_PATH).replace(/\\System32$/i, '');
  return ctx.exists(v, `${root.replace(/\\+$/, '')}\\System32`);
}
