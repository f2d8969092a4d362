// VHDX metadata region: table and items (block size, virtual size, sector sizes, page 83 id, parent locator).
// Layout: docs/vhd-vhdx.md §2.4.
import { BootprobeError, hex } from '../../errors.js';
import { type BlockDevice, ByteView, isPowerOfTwo } from '../../io/index.js';
import type { RegionEntry } from './region-table.js';

const TABLE_SIZE = 64 * 1024;
const MAX_ENTRIES = 2047;
const MiB = 1024 * 1024;
/** §2.4: the virtual size is at most 64 TB. */
const MAX_VIRTUAL_SIZE = 64 * 1024 ** 4;

export const METADATA_ITEM = {
  FILE_PARAMETERS: 'caa16737-fa36-4d43-b3b6-33f0aa44e76b',
  VIRTUAL_DISK_SIZE: '2fa54224-cd1b-4876-b211-5dbed83bf4b8',
  PAGE83: 'beca12ab-b2e6-4523-93ef-c309e000c746',
  LOGICAL_SECTOR_SIZE: '8141bf1d-a96f-4709-ba47-f233a8faab5f',
  PHYSICAL_SECTOR_SIZE: 'cda348c7-445d-4471-9cc9-e9885251c556',
  PARENT_LOCATOR: 'a8d35f2d-b30b-454d-abf7-d3d84834ab0c',
} as const;

/** Locator type of a VHDX parent locator (§2.4 "Parent locator"). */
export const VHDX_PARENT_LOCATOR_TYPE = 'b04aefb7-d19e-4a81-b789-25b8e9445913';

export interface VhdxMetadata {
  blockSize: number;
  leaveBlocksAllocated: boolean;
  hasParent: boolean;
  virtualSize: number;
  logicalSectorSize: number;
  physicalSectorSize: number;
  page83: string | null;
  /** Parent locator key/value pairs, in stored order; null when the item is absent. */
  parentLocator: Map<string, string> | null;
}

interface ItemEntry {
  guid: string;
  offset: number;
  length: number;
  required: boolean;
  entryAt: number;
}

function fail(msg: string, offset: number, hint = 'the image is corrupt'): BootprobeError {
  return new BootprobeError('VHDX_METADATA', msg, { offset, structure: 'vhdx.metadata', hint });
}

/** Decodes the parent locator item: type GUID, count, then (key offset, value offset, key len, value len) entries. */
export function decodeParentLocator(v: ByteView): Map<string, string> {
  const type = v.guid(0);
  if (type !== VHDX_PARENT_LOCATOR_TYPE) {
    throw new BootprobeError(
      'VHDX_METADATA',
      `VHDX parent locator at ${hex(v.base)}: type {${type}} is not the VHDX locator type`,
      {
        offset: v.base,
        structure: 'vhdx.parent_locator',
        kind: 'unsupported',
        hint: 'this differencing disk uses an unknown parent locator',
      },
    );
  }
  const count = v.u16le(18);
  const out = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const at = 20 + 12 * i;
    const ko = v.u32le(at);
    const vo = v.u32le(at + 4);
    const kl = v.u16le(at + 8);
    const vl = v.u16le(at + 10);
    if (ko === 0 || vo === 0 || kl === 0 || vl === 0 || kl % 2 || vl % 2) {
      throw new BootprobeError(
        'VHDX_METADATA',
        `VHDX parent locator entry ${i} at ${hex(v.base + at)} has an empty or odd-length key or value`,
        {
          offset: v.base + at,
          structure: 'vhdx.parent_locator',
          hint: 'the parent locator is corrupt; pass --parent PATH',
        },
      );
    }
    out.set(v.utf16le(ko, kl), v.utf16le(vo, vl));
  }
  return out;
}

/** Reads the metadata table and every known item; an unknown item marked required is refused. */
export async function readMetadata(dev: BlockDevice, region: RegionEntry): Promise<VhdxMetadata> {
  const base = region.fileOffset;
  const t = new ByteView(await dev.read(base, TABLE_SIZE), base, 'VHDX metadata table');
  if (t.ascii(0, 8) !== 'metadata') throw fail(`no VHDX metadata table ("metadata") at ${hex(base)}`, base);
  const count = t.u16le(10);
  if (count > MAX_ENTRIES)
    throw fail(`VHDX metadata table at ${hex(base)}: ${count} entries, at most ${MAX_ENTRIES}`, base + 10);
  const items = new Map<string, ItemEntry>();
  for (let i = 0; i < count; i++) {
    const at = 32 + 32 * i;
    const e: ItemEntry = {
      guid: t.guid(at),
      offset: t.u32le(at + 16),
      length: t.u32le(at + 20),
      required: (t.u32le(at + 24) & 4) !== 0,
      entryAt: base + at,
    };
    if (e.length > MiB || (e.length > 0 && (e.offset < TABLE_SIZE || e.offset + e.length > region.length))) {
      throw fail(
        `VHDX metadata item {${e.guid}}: ${e.length} bytes at +${hex(e.offset)} lie outside the metadata region`,
        e.entryAt,
      );
    }
    const known = Object.values(METADATA_ITEM).includes(e.guid as never);
    if (!known && e.required) {
      throw new BootprobeError('VHDX_METADATA', `VHDX metadata item {${e.guid}} is required but unknown`, {
        offset: e.entryAt,
        structure: 'vhdx.metadata',
        kind: 'unsupported',
        hint: 'this VHDX uses a feature bootprobe does not know',
      });
    }
    items.set(e.guid, e);
  }
  const item = async (
    guid: string,
    name: string,
    minLength: number,
    optional = false,
  ): Promise<ByteView | null> => {
    const e = items.get(guid);
    if (!e) {
      if (optional) return null;
      throw fail(`VHDX metadata at ${hex(base)} has no ${name} item`, base);
    }
    if (e.length < minLength)
      throw fail(`VHDX metadata item ${name}: ${e.length} bytes, at least ${minLength} needed`, e.entryAt);
    return new ByteView(await dev.read(base + e.offset, e.length), base + e.offset, `VHDX ${name}`);
  };

  const fp = (await item(METADATA_ITEM.FILE_PARAMETERS, 'file parameters', 8))!;
  const blockSize = fp.u32le(0);
  const flags = fp.u32le(4);
  if (!isPowerOfTwo(blockSize) || blockSize < MiB || blockSize > 256 * MiB) {
    throw fail(
      `VHDX block size ${blockSize} at ${hex(fp.base)} is not a power of two from 1 MiB to 256 MiB`,
      fp.base,
    );
  }
  const ls = (await item(METADATA_ITEM.LOGICAL_SECTOR_SIZE, 'logical sector size', 4))!;
  const logicalSectorSize = ls.u32le(0);
  const ps = (await item(METADATA_ITEM.PHYSICAL_SECTOR_SIZE, 'physical sector size', 4))!;
  const physicalSectorSize = ps.u32le(0);
  for (const [name, v, view] of [
    ['logical', logicalSectorSize, ls],
    ['physical', physicalSectorSize, ps],
  ] as const) {
    if (v !== 512 && v !== 4096)
      throw fail(`VHDX ${name} sector size ${v} at ${hex(view.base)} is not 512 or 4096`, view.base);
  }
  const vs = (await item(METADATA_ITEM.VIRTUAL_DISK_SIZE, 'virtual disk size', 8))!;
  const virtualSize = vs.u64leNum(0, 'virtual disk size', 'VHDX_METADATA');
  if (virtualSize === 0 || virtualSize > MAX_VIRTUAL_SIZE || virtualSize % logicalSectorSize !== 0) {
    throw fail(
      `VHDX virtual size ${virtualSize} at ${hex(vs.base)} is 0, over 64 TB or not a multiple of the ${logicalSectorSize}-byte sector`,
      vs.base,
    );
  }
  const p83 = await item(METADATA_ITEM.PAGE83, 'virtual disk id', 16, true);
  const hasParent = (flags & 2) !== 0;
  const pl = hasParent ? await item(METADATA_ITEM.PARENT_LOCATOR, 'parent locator', 20) : null;
  return {
    blockSize,
    leaveBlocksAllocated: (flags & 1) !== 0,
    hasParent,
    virtualSize,
    logicalSectorSize,
    physicalSectorSize,
    page83: p83 ? p83.guid(0) : null,
    parentLocator: pl ? decodeParentLocator(pl) : null,
  };
}
