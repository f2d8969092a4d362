// A new dynamic or differencing VHD written from nothing: `convert` (dynamic, holding a copy of a disk) and
// `create-child` (differencing, empty). Layout (docs/vhd-vhdx.md §1.1, §1.4, §1.5), the one qemu and Windows
// readers both accept:
//   0     footer copy (512)
//   512   dynamic header (1024)
//   1536  BAT: max table entries × u32 BE, the rest of its last sector 0xFF
//   ...   each parent locator's data in its own 512-byte-aligned space (differencing only)
//   ...   blocks in block order: bitmap (all bits set: every sector of a dynamic block is in the file, and sectors
//         the source did not have are zeros) then the data, the data on a 4 KiB boundary as Windows places it
//   end   footer (512)
// Metadata is written after the data and the file identification (the footer at the end, then its copy at 0)
// last, so a file cut short by a crash is not taken for a valid VHD.
import type { WritableDevice } from '../../io/index.js';
import { randomUuidBytes } from '../../io/random.js';
import {
  encodeVhdDynamicHeader,
  VHD_DYNAMIC_HEADER_SIZE,
  type VhdDynamicHeaderFields,
} from './dynamic-header.js';
import { encodeVhdFooter, VHD_DISK_TYPE, VHD_FOOTER_SIZE, vhdTimestamp } from './footer.js';
import { type Chs, chsForSize, chsSize } from './geometry.js';
import { encodeVhdLocatorPath } from './parent-locator.js';

const SECTOR = 512;
const DATA_ALIGN = 4096;
export const VHD_DEFAULT_BLOCK_SIZE = 2 * 1024 * 1024;
/** The largest VHD Windows creates (2040 GiB): past it Hyper-V refuses the file. */
export const VHD_MAX_SIZE = 2040 * 1024 * 1024 * 1024;
/** qemu reads the footer's current size, not CHS, when the geometry is this maximum (§1.2; qemu block/vpc.c). */
export const VHD_MAX_GEOMETRY: Chs = { cylinders: 65535, heads: 16, sectorsPerTrack: 255 };
/** Creator application and version written by bootprobe (§1.2 offsets 28-36). */
export const BOOTPROBE_VHD_CREATOR = { app: 'bprb', version: 0x00000001, hostOs: 'Wi2k' } as const;

/**
 * Hands block `b`'s data to `put` as pieces (offset in the block, bytes), in increasing order, leaving out what
 * reads as zeros; a block that gets no piece stays unallocated. Pieces keep memory bounded by their size, not the
 * block's (a VHDX block may be 256 MiB).
 */
export type BlockSource = (
  block: number,
  put: (at: number, data: Uint8Array) => Promise<void>,
) => Promise<void>;

export interface NewVhdSpec {
  /** Virtual size in bytes, a multiple of 512. */
  size: number;
  blockSize?: number;
  /** Geometry: by default the spec's for the size (§1.3), or the maximum when that does not give the exact size. */
  geometry?: Chs;
  uniqueId?: Uint8Array;
  /** Creation time (JavaScript ms). */
  now?: number;
  /** Differencing: the parent footer's unique id (16 bytes as stored), its name, and W2ru/W2ku locator paths. */
  parent?: { uniqueId: Uint8Array; name: string; locators: { code: 'W2ru' | 'W2ku'; path: string }[] };
}

export interface NewVhdResult {
  uniqueId: Uint8Array;
  fileSize: number;
  blocksAllocated: number;
}

/** Default geometry: the spec's (§1.3) when it spans the size exactly, else the maximum (so qemu uses current size). */
export function geometryFor(size: number): Chs {
  const g = chsForSize(size);
  return chsSize(g) === size ? g : VHD_MAX_GEOMETRY;
}

/** Writes a new VHD into the empty device `out`; blocks come from `source` (none for an empty child). */
export async function writeNewVhd(
  out: WritableDevice,
  spec: NewVhdSpec,
  source?: BlockSource,
  onBlock?: (done: number, total: number) => void,
): Promise<NewVhdResult> {
  const bs = spec.blockSize ?? VHD_DEFAULT_BLOCK_SIZE;
  if (spec.size <= 0 || spec.size % SECTOR || spec.size > VHD_MAX_SIZE) {
    throw new RangeError(`a VHD holds 512-byte multiples up to 2040 GiB, not ${spec.size} bytes`);
  }
  const entries = Math.ceil(spec.size / bs);
  const bitmapSize = Math.ceil(bs / SECTOR / 8 / SECTOR) * SECTOR;
  const batAt = SECTOR + VHD_DYNAMIC_HEADER_SIZE;
  const batBytes = Math.ceil((entries * 4) / SECTOR) * SECTOR;
  let at = batAt + batBytes;
  const locators: VhdDynamicHeaderFields['locators'] = [];
  const locatorData: [number, Uint8Array][] = [];
  for (const l of spec.parent?.locators ?? []) {
    const data = encodeVhdLocatorPath(l.path);
    const space = Math.ceil(data.length / SECTOR) * SECTOR;
    // Data space in bytes, as Virtual PC and Hyper-V store it (§1.4: readers use only length and offset).
    locators.push({ code: l.code, dataSpace: space, dataLength: data.length, dataOffset: at });
    locatorData.push([at, data]);
    at += space;
  }
  const bat = new Uint8Array(batBytes).fill(0xff);
  const batView = new DataView(bat.buffer);
  // Each block: bitmap at p, data at p + bitmapSize on a 4 KiB boundary.
  let p = Math.ceil((at + bitmapSize) / DATA_ALIGN) * DATA_ALIGN - bitmapSize;
  let allocated = 0;
  // Where the footer goes: right after the last block (§1.5: a block ends where the next footer sits), or after
  // the metadata when there is no block.
  let end = at;
  const bitmap = new Uint8Array(bitmapSize).fill(0xff);
  if (source) {
    for (let b = 0; b < entries; b++) {
      let used = false;
      await source(b, async (offset, data) => {
        if (!used) await out.write(p, bitmap);
        used = true;
        await out.write(p + bitmapSize + offset, data);
      });
      if (used) {
        batView.setUint32(4 * b, p / SECTOR);
        allocated++;
        end = p + bitmapSize + bs;
        p = Math.ceil((end + bitmapSize) / DATA_ALIGN) * DATA_ALIGN - bitmapSize;
      }
      onBlock?.(b + 1, entries);
    }
  }
  await out.write(batAt, bat);
  for (const [o, d] of locatorData) await out.write(o, d);
  const parent = spec.parent;
  const header = encodeVhdDynamicHeader({
    tableOffset: batAt,
    maxTableEntries: entries,
    blockSize: bs,
    ...(parent
      ? { parentUniqueId: parent.uniqueId, parentTimestamp: 0, parentName: parent.name, locators }
      : {}),
  });
  await out.write(SECTOR, header);
  const geometry = spec.geometry ?? geometryFor(spec.size);
  const uniqueId = spec.uniqueId ?? randomUuidBytes();
  const footer = encodeVhdFooter({
    dataOffset: SECTOR,
    timestamp: vhdTimestamp(spec.now ?? Date.now()),
    creatorApp: BOOTPROBE_VHD_CREATOR.app,
    creatorVersion: BOOTPROBE_VHD_CREATOR.version,
    creatorHostOs: BOOTPROBE_VHD_CREATOR.hostOs,
    originalSize: spec.size,
    currentSize: spec.size,
    ...geometry,
    diskType: parent ? VHD_DISK_TYPE.DIFFERENCING : VHD_DISK_TYPE.DYNAMIC,
    uniqueId,
  });
  await out.flush?.();
  await out.write(end, footer);
  await out.write(0, footer);
  await out.flush?.();
  return { uniqueId, fileSize: end + VHD_FOOTER_SIZE, blocksAllocated: allocated };
}
