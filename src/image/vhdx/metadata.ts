// VHDX metadata region: the table and every known item (file parameters, virtual size, page 83 id, sector sizes,
// parent locator). Layout: docs/vhd-vhdx.md §2.4.
import { BootprobeError, hex } from '../../errors.js';
import { type BlockDevice, ByteView, isPowerOfTwo, parseGuid } from '../../io/index.js';
import { decodeParentLocator, type ParentLocator } from './parent-locator.js';
import type { RegionEntry } from './region-table.js';

/** §2.4: the table is the first 64 KiB of the region; items lie after it. */
export const METADATA_TABLE_SIZE = 64 * 1024;
const HEADER_SIZE = 32;
const ENTRY_SIZE = 32;
/** §2.4: at most 2047 entries fit in the 64 KiB table. */
const MAX_ENTRIES = 2047;
const MiB = 1024 * 1024;
/** §2.4: an item is at most 1 MiB. */
const MAX_ITEM = MiB;
/** §2.4: the virtual size is at most 64 TB. */
export const MAX_VIRTUAL_SIZE = 64 * 1024 ** 4;

export const METADATA_ITEM = {
  FILE_PARAMETERS: 'caa16737-fa36-4d43-b3b6-33f0aa44e76b',
  VIRTUAL_DISK_SIZE: '2fa54224-cd1b-4876-b211-5dbed83bf4b8',
  PAGE83: 'beca12ab-b2e6-4523-93ef-c309e000c746',
  LOGICAL_SECTOR_SIZE: '8141bf1d-a96f-4709-ba47-f233a8faab5f',
  PHYSICAL_SECTOR_SIZE: 'cda348c7-445d-4471-9cc9-e9885251c556',
  PARENT_LOCATOR: 'a8d35f2d-b30b-454d-abf7-d3d84834ab0c',
} as const;

const KNOWN_ITEMS: ReadonlySet<string> = new Set(Object.values(METADATA_ITEM));

export interface MetadataItemEntry {
  guid: string;
  /** Offset from the start of the region. */
  offset: number;
  length: number;
  isUser: boolean;
  isVirtualDisk: boolean;
  isRequired: boolean;
  /** Absolute offset of the table entry, for errors. */
  entryAt: number;
}

export interface VhdxMetadata {
  blockSize: number;
  leaveBlocksAllocated: boolean;
  hasParent: boolean;
  virtualSize: number;
  logicalSectorSize: number;
  physicalSectorSize: number;
  /** Virtual disk id (page 83 data); null when the item is absent. */
  page83: string | null;
  /** null when the disk has no parent. */
  parentLocator: ParentLocator | null;
  items: readonly MetadataItemEntry[];
}

function fail(msg: string, offset: number, hint = 'the image is corrupt'): BootprobeError {
  return new BootprobeError('VHDX_METADATA', msg, { offset, structure: 'vhdx.metadata', hint });
}

/** Entry count from the 32-byte table header: "metadata", u16 0, u16 count, 20 zero bytes (§2.4). */
export function decodeMetadataTableHeader(v: ByteView): number {
  if (v.ascii(0, 8) !== 'metadata')
    throw fail(`no VHDX metadata table ("metadata") at ${hex(v.base)}`, v.base);
  const count = v.u16le(10);
  if (count > MAX_ENTRIES)
    throw fail(
      `VHDX metadata table at ${hex(v.base)}: ${count} entries, at most ${MAX_ENTRIES}`,
      v.base + 10,
    );
  return count;
}

/**
 * Decodes the table (header and `count` entries) and checks each entry: an item lies after the table and inside a
 * region of `regionLength` bytes, is at most 1 MiB, appears once; an unknown item marked IsRequired is refused.
 */
export function decodeMetadataTable(v: ByteView, regionLength: number): MetadataItemEntry[] {
  const count = decodeMetadataTableHeader(v);
  const items: MetadataItemEntry[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) {
    const at = HEADER_SIZE + ENTRY_SIZE * i;
    const flags = v.u32le(at + 24);
    const e: MetadataItemEntry = {
      guid: v.guid(at),
      offset: v.u32le(at + 16),
      length: v.u32le(at + 20),
      isUser: (flags & 1) !== 0,
      isVirtualDisk: (flags & 2) !== 0,
      isRequired: (flags & 4) !== 0,
      entryAt: v.base + at,
    };
    // Length 0 means present but empty, offset then 0 (§2.4).
    if (
      e.length > MAX_ITEM ||
      (e.length > 0 && (e.offset < METADATA_TABLE_SIZE || e.offset + e.length > regionLength))
    ) {
      throw fail(
        `VHDX metadata item {${e.guid}}: ${e.length} bytes at +${hex(e.offset)} lie outside the ${regionLength}-byte metadata region (after its 64 KiB table)`,
        e.entryAt,
      );
    }
    if (seen.has(e.guid)) throw fail(`VHDX metadata table lists item {${e.guid}} twice`, e.entryAt);
    seen.add(e.guid);
    if (!KNOWN_ITEMS.has(e.guid) && e.isRequired) {
      throw new BootprobeError('VHDX_METADATA', `VHDX metadata item {${e.guid}} is required but unknown`, {
        offset: e.entryAt,
        structure: 'vhdx.metadata',
        kind: 'unsupported',
        hint: 'this VHDX uses a feature bootprobe does not know',
      });
    }
    items.push(e);
  }
  return items;
}

/** File parameters: u32 BlockSize (power of two, 1..256 MiB), u32 flags bit0 LeaveBlocksAllocated, bit1 HasParent. */
export function decodeFileParameters(v: ByteView): {
  blockSize: number;
  leaveBlocksAllocated: boolean;
  hasParent: boolean;
} {
  const blockSize = v.u32le(0);
  const flags = v.u32le(4);
  if (!isPowerOfTwo(blockSize) || blockSize < MiB || blockSize > 256 * MiB) {
    throw fail(
      `VHDX block size ${blockSize} at ${hex(v.base)} is not a power of two from 1 MiB to 256 MiB`,
      v.base,
    );
  }
  return { blockSize, leaveBlocksAllocated: (flags & 1) !== 0, hasParent: (flags & 2) !== 0 };
}

/** Logical or physical sector size: u32, 512 or 4096. */
export function decodeSectorSize(v: ByteView, which: 'logical' | 'physical'): number {
  const n = v.u32le(0);
  if (n !== 512 && n !== 4096)
    throw fail(`VHDX ${which} sector size ${n} at ${hex(v.base)} is not 512 or 4096`, v.base);
  return n;
}

/** Virtual disk size: u64, non-zero, a multiple of the logical sector size, at most 64 TB. */
export function decodeVirtualSize(v: ByteView, logicalSectorSize: number): number {
  const n = v.u64le(0);
  if (n === 0n || n > BigInt(MAX_VIRTUAL_SIZE) || n % BigInt(logicalSectorSize) !== 0n) {
    throw fail(
      `VHDX virtual size ${n} at ${hex(v.base)} is 0, over 64 TB or not a multiple of the ${logicalSectorSize}-byte sector`,
      v.base,
    );
  }
  return Number(n);
}

/**
 * Reads the metadata table and every known item. Only the table's header, its entries and the items themselves are
 * read (a few hundred bytes), not the whole 64 KiB table: opening stays cheap.
 */
export async function readMetadata(dev: BlockDevice, region: RegionEntry): Promise<VhdxMetadata> {
  const base = region.fileOffset;
  const count = decodeMetadataTableHeader(
    new ByteView(await dev.read(base, HEADER_SIZE), base, 'vhdx.metadata'),
  );
  const table = new ByteView(await dev.read(base, HEADER_SIZE + ENTRY_SIZE * count), base, 'vhdx.metadata');
  const items = decodeMetadataTable(table, region.length);
  const byGuid = new Map(items.map((e) => [e.guid, e]));
  const item = async (guid: string, name: string, minLength: number): Promise<ByteView | null> => {
    const e = byGuid.get(guid);
    if (!e) return null;
    if (e.length < minLength)
      throw fail(`VHDX metadata item ${name}: ${e.length} bytes, at least ${minLength} needed`, e.entryAt);
    return new ByteView(await dev.read(base + e.offset, e.length), base + e.offset, `vhdx.metadata.${name}`);
  };
  const required = async (guid: string, name: string, minLength: number): Promise<ByteView> => {
    const v = await item(guid, name, minLength);
    if (!v) throw fail(`VHDX metadata at ${hex(base)} has no ${name} item`, base);
    return v;
  };

  const fp = decodeFileParameters(await required(METADATA_ITEM.FILE_PARAMETERS, 'file_parameters', 8));
  const logicalSectorSize = decodeSectorSize(
    await required(METADATA_ITEM.LOGICAL_SECTOR_SIZE, 'logical_sector_size', 4),
    'logical',
  );
  const physicalSectorSize = decodeSectorSize(
    await required(METADATA_ITEM.PHYSICAL_SECTOR_SIZE, 'physical_sector_size', 4),
    'physical',
  );
  const virtualSize = decodeVirtualSize(
    await required(METADATA_ITEM.VIRTUAL_DISK_SIZE, 'virtual_disk_size', 8),
    logicalSectorSize,
  );
  // The page 83 id is required by the spec, but a disk without it is still readable: report null.
  const p83 = await item(METADATA_ITEM.PAGE83, 'page83', 16);
  const pl = fp.hasParent ? await required(METADATA_ITEM.PARENT_LOCATOR, 'parent_locator', 20) : null;
  return {
    ...fp,
    virtualSize,
    logicalSectorSize,
    physicalSectorSize,
    page83: p83 ? p83.guid(0) : null,
    parentLocator: pl ? decodeParentLocator(pl) : null,
    items,
  };
}

/** One item of a new metadata region: its GUID, flags (§2.4) and bytes. */
export interface MetadataItemSpec {
  guid: string;
  isUser?: boolean;
  isVirtualDisk?: boolean;
  isRequired?: boolean;
  data: Uint8Array;
}

/**
 * A metadata region of `regionLength` bytes: the 64 KiB table ("metadata", count, 32-byte entries), then the items
 * packed one after the other from 64 KiB, as Hyper-V places them (corpus hyperv-*.vhdx) (§2.4).
 */
export function encodeMetadataRegion(items: readonly MetadataItemSpec[], regionLength = MiB): Uint8Array {
  if (items.length > MAX_ENTRIES) throw new RangeError('too many VHDX metadata items');
  const b = new Uint8Array(regionLength);
  const v = new DataView(b.buffer);
  b.set(
    Uint8Array.from('metadata', (c) => c.charCodeAt(0)),
    0,
  );
  v.setUint16(10, items.length, true);
  let at = METADATA_TABLE_SIZE;
  items.forEach((it, i) => {
    if (it.data.length > MAX_ITEM || at + it.data.length > regionLength) {
      throw new RangeError('VHDX metadata items do not fit in the region');
    }
    const e = HEADER_SIZE + ENTRY_SIZE * i;
    b.set(parseGuid(it.guid)!, e);
    v.setUint32(e + 16, it.data.length ? at : 0, true);
    v.setUint32(e + 20, it.data.length, true);
    v.setUint32(e + 24, (it.isUser ? 1 : 0) | (it.isVirtualDisk ? 2 : 0) | (it.isRequired ? 4 : 0), true);
    b.set(it.data, at);
    at += it.data.length;
  });
  return b;
}

/** File parameters item: u32 block size, u32 flags (bit0 LeaveBlocksAllocated, bit1 HasParent). */
export function encodeFileParameters(
  blockSize: number,
  leaveBlocksAllocated: boolean,
  hasParent: boolean,
): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint32(0, blockSize, true);
  v.setUint32(4, (leaveBlocksAllocated ? 1 : 0) | (hasParent ? 2 : 0), true);
  return b;
}

export function encodeVirtualSize(size: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(size), true);
  return b;
}

export function encodeSectorSize(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}
