// $INDEX_ROOT (0x90, resident, named "$I30" for directories). Layout: docs/ntfs.md §4.
import { BootprobeError, hex } from '../../errors.js';
import type { ByteView } from '../../io/index.js';
import { MAX_INDEX_RECORD_SIZE, MIN_INDEX_RECORD_SIZE } from './boot-sector.js';
import { INDEX_DAMAGED } from './hints.js';

/** §4: collation rule 1 = COLLATION_FILE_NAME, the only one a $I30 index uses. */
export const COLLATION_FILE_NAME = 1;
/** The index node header starts 0x10 bytes into the $INDEX_ROOT value. */
export const INDEX_ROOT_NODE_OFFSET = 0x10;

export interface IndexRoot {
  /** Attribute type the index is keyed by (0x30 for $I30). */
  indexedType: number;
  collation: number;
  /** Bytes per INDX record of this index. */
  recordSize: number;
  /** Clusters per index record, or 512-byte blocks when the record is smaller than a cluster (§4). */
  clustersPerRecord: number;
}

export function decodeIndexRoot(v: ByteView): IndexRoot {
  const r: IndexRoot = {
    indexedType: v.u32le(0),
    collation: v.u32le(4),
    recordSize: v.u32le(8),
    clustersPerRecord: v.u8(12),
  };
  if (
    r.recordSize < MIN_INDEX_RECORD_SIZE ||
    r.recordSize > MAX_INDEX_RECORD_SIZE ||
    r.recordSize % 512 !== 0
  )
    throw new BootprobeError(
      'NTFS_INDEX',
      `$INDEX_ROOT at ${hex(v.base)}: index record size ${r.recordSize} is not a multiple of 512 up to 64 KiB`,
      { offset: v.base + 8, structure: 'ntfs.index_root', hint: INDEX_DAMAGED },
    );
  return r;
}

/** §4 "Sub-node VCN → byte offset": VCNs count clusters when records are at least a cluster, else 512-byte blocks. */
export function indexVcnToOffset(vcn: number, recordSize: number, clusterSize: number): number {
  const unit = recordSize >= clusterSize ? clusterSize : 512;
  const at = vcn * unit;
  if (!Number.isSafeInteger(at))
    throw new BootprobeError('NTFS_INDEX', `index VCN ${vcn} does not fit a safe byte offset`, {
      structure: 'ntfs.index',
    });
  return at;
}
