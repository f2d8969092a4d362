// A new dynamic or differencing VHDX written from nothing: `convert` (dynamic, holding a copy of a disk) and
// `create-child` (differencing, empty). Layout (docs/vhd-vhdx.md §2.1; the same places Hyper-V uses in the corpus
// hyperv-*.vhdx files, with the BAT after the metadata as Hyper-V does):
//   0        file type identifier ("vhdxfile" + creator)
//   64 KiB   header 1, 128 KiB header 2 (4 KiB each)
//   192 KiB  region table 1, 256 KiB region table 2 (identical)
//   1 MiB    log (1 MiB, empty: LogGuid is zero)
//   2 MiB    metadata region (1 MiB): table, then the items
//   3 MiB    BAT (its length rounded up to 1 MiB); all zero = every block NOT_PRESENT
//   ...      payload blocks, 1 MiB aligned, FULLY_PRESENT, in block order
// A new file has no earlier state to protect, so its BAT is written directly, not through the log (the log is for
// changing a VHDX that exists, §2.7). The identification comes last: headers, then the file type identifier, so a
// file cut short by a crash is not taken for a VHDX.
import { parseGuid, type WritableDevice } from '../../io/index.js';
import { randomGuidBytes } from '../../io/random.js';
import type { BlockSource } from '../vhd/vhd-create.js';
import { batGeometry, encodeBatEntry, PAYLOAD_STATE } from './bat.js';
import { encodeVhdxHeader, HEADER_OFFSETS } from './header.js';
import {
  encodeFileParameters,
  encodeMetadataRegion,
  encodeSectorSize,
  encodeVirtualSize,
  MAX_VIRTUAL_SIZE,
  METADATA_ITEM,
  type MetadataItemSpec,
} from './metadata.js';
import { encodeParentLocator } from './parent-locator.js';
import { encodeRegionTable, REGION, REGION_TABLE_OFFSETS } from './region-table.js';

const MiB = 1024 * 1024;
const BAT_SECTOR = 4096;
const LOG_OFFSET = MiB;
const LOG_LENGTH = MiB;
const METADATA_OFFSET = 2 * MiB;
const METADATA_LENGTH = MiB;
const BAT_OFFSET = 3 * MiB;
/** Hyper-V's default for dynamic disks (§2.4 [I]); checkpoints (differencing) use 2 MiB in the corpus file. */
export const VHDX_DEFAULT_BLOCK_SIZE = 32 * MiB;
export const VHDX_CHILD_BLOCK_SIZE = 2 * MiB;
export const BOOTPROBE_VHDX_CREATOR = 'bootprobe';

export interface NewVhdxSpec {
  size: number;
  blockSize?: number;
  logicalSectorSize?: 512 | 4096;
  physicalSectorSize?: 512 | 4096;
  /** Virtual disk id (page 83), 16 bytes in GUID byte order; a child takes its parent's (IsVirtualDisk, §2.4). */
  page83?: Uint8Array;
  creator?: string;
  /** Differencing: the locator entries (parent_linkage first, then the paths: §2.4). */
  parent?: { entries: { key: string; value: string }[] };
}

export interface NewVhdxResult {
  dataWriteGuid: Uint8Array;
  page83: Uint8Array;
  fileSize: number;
  blocksAllocated: number;
}

/** Writes a new VHDX into the empty device `out`; payload blocks come from `source` (none for an empty child). */
export async function writeNewVhdx(
  out: WritableDevice,
  spec: NewVhdxSpec,
  source?: BlockSource,
  onBlock?: (done: number, total: number) => void,
): Promise<NewVhdxResult> {
  const bs = spec.blockSize ?? (spec.parent ? VHDX_CHILD_BLOCK_SIZE : VHDX_DEFAULT_BLOCK_SIZE);
  const ss = spec.logicalSectorSize ?? 512;
  const ps = spec.physicalSectorSize ?? 4096;
  if (!(bs >= MiB && bs <= 256 * MiB && Number.isInteger(Math.log2(bs)))) {
    throw new RangeError(`VHDX block size ${bs} is not a power of two from 1 MiB to 256 MiB`);
  }
  if (spec.size <= 0 || spec.size % ss || spec.size > MAX_VIRTUAL_SIZE) {
    throw new RangeError(`a VHDX holds ${ss}-byte multiples up to 64 TB, not ${spec.size} bytes`);
  }
  const diff = !!spec.parent;
  const geometry = batGeometry(spec.size, bs, ss, diff);
  const batLength = Math.ceil((geometry.totalEntries * 8) / MiB) * MiB;
  let next = BAT_OFFSET + batLength;
  // The file reaches the end of the BAT region even when nothing else is written past it.
  await out.write(next - BAT_SECTOR, new Uint8Array(BAT_SECTOR));

  // Payload blocks, then the BAT sectors they changed (only those: a 64 TB BAT is never held in memory).
  const batSectors = new Map<number, Uint8Array>();
  let allocated = 0;
  if (source) {
    for (let b = 0; b < geometry.dataBlocks; b++) {
      let reached = 0;
      await source(b, async (offset, data) => {
        await out.write(next + offset, data);
        reached = offset + data.length;
      });
      if (reached > 0) {
        // The block owns all of its bytes in the file: extend over what the source left as zeros at its end.
        if (reached < bs) await out.write(next + bs - BAT_SECTOR, new Uint8Array(BAT_SECTOR));
        const index = b + Math.floor(b / geometry.chunkRatio);
        const sector = Math.floor((index * 8) / BAT_SECTOR);
        let s = batSectors.get(sector);
        if (!s) {
          s = new Uint8Array(BAT_SECTOR);
          batSectors.set(sector, s);
        }
        s.set(encodeBatEntry(PAYLOAD_STATE.FULLY_PRESENT, next), index * 8 - sector * BAT_SECTOR);
        next += bs;
        allocated++;
      }
      onBlock?.(b + 1, geometry.dataBlocks);
    }
  }
  for (const [sector, bytes] of batSectors) await out.write(BAT_OFFSET + sector * BAT_SECTOR, bytes);

  const page83 = spec.page83 ?? randomGuidBytes();
  const items: MetadataItemSpec[] = [
    { guid: METADATA_ITEM.FILE_PARAMETERS, isRequired: true, data: encodeFileParameters(bs, false, diff) },
    {
      guid: METADATA_ITEM.VIRTUAL_DISK_SIZE,
      isVirtualDisk: true,
      isRequired: true,
      data: encodeVirtualSize(spec.size),
    },
    {
      guid: METADATA_ITEM.LOGICAL_SECTOR_SIZE,
      isVirtualDisk: true,
      isRequired: true,
      data: encodeSectorSize(ss),
    },
    {
      guid: METADATA_ITEM.PHYSICAL_SECTOR_SIZE,
      isVirtualDisk: true,
      isRequired: true,
      data: encodeSectorSize(ps),
    },
    { guid: METADATA_ITEM.PAGE83, isVirtualDisk: true, isRequired: true, data: page83.slice(0, 16) },
  ];
  if (spec.parent) {
    items.push({
      guid: METADATA_ITEM.PARENT_LOCATOR,
      isRequired: true,
      data: encodeParentLocator(spec.parent.entries),
    });
  }
  await out.write(METADATA_OFFSET, encodeMetadataRegion(items, METADATA_LENGTH));
  await out.write(LOG_OFFSET, new Uint8Array(LOG_LENGTH));
  const regions = encodeRegionTable([
    { guid: REGION.BAT, fileOffset: BAT_OFFSET, length: batLength, required: true },
    { guid: REGION.METADATA, fileOffset: METADATA_OFFSET, length: METADATA_LENGTH, required: true },
  ]);
  for (const at of REGION_TABLE_OFFSETS) await out.write(at, regions);
  await out.flush?.();

  const dataWriteGuid = randomGuidBytes();
  const fileWriteGuid = randomGuidBytes();
  for (const [i, at] of HEADER_OFFSETS.entries()) {
    await out.write(
      at,
      encodeVhdxHeader({
        sequenceNumber: BigInt(i + 1),
        fileWriteGuid,
        dataWriteGuid,
        logGuid: new Uint8Array(16),
        logLength: LOG_LENGTH,
        logOffset: LOG_OFFSET,
      }),
    );
  }
  await out.flush?.();
  const ident = new Uint8Array(64 * 1024);
  ident.set(
    Uint8Array.from('vhdxfile', (c) => c.charCodeAt(0)),
    0,
  );
  const creator = (spec.creator ?? BOOTPROBE_VHDX_CREATOR).slice(0, 255);
  for (let i = 0; i < creator.length; i++)
    new DataView(ident.buffer).setUint16(8 + 2 * i, creator.charCodeAt(i), true);
  await out.write(0, ident);
  await out.flush?.();
  return { dataWriteGuid, page83, fileSize: next, blocksAllocated: allocated };
}

/** GUID text (braced or not) to the 16 bytes VHDX stores; throws on a malformed GUID. */
export function guidToBytes(text: string): Uint8Array {
  const b = parseGuid(text);
  if (!b) throw new RangeError(`not a GUID: ${text}`);
  return b;
}
