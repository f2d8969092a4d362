// INDX records of $INDEX_ALLOCATION: fixups, own VCN, node header at 0x18. Layout: docs/ntfs.md §4 (step 4).
import { BootprobeError, hex } from '../../errors.js';
import { ByteView } from '../../io/index.js';
import { INDEX_DAMAGED } from './hints.js';
import { type IndexEntry, type IndexNodeView, indexEntries, scanIndexNode } from './index-node.js';
import { applyFixups } from './record.js';

export const INDX_SIGNATURE = 'INDX';
export const INDX_NODE_OFFSET = 0x18;

export interface IndexRecord {
  vcn: number;
  lsn: bigint;
  entries: IndexEntry[];
}

/**
 * Decodes one INDX record in place (`buf` is a private copy, fixed up here). `expectedVcn` is the VCN the parent
 * pointed to: the record must say the same, or the tree is damaged (a loop or a stale pointer).
 */
export function decodeIndexRecord(buf: Uint8Array, expectedVcn: number, base: number): IndexRecord {
  const { lsn, node } = scanIndexRecord(buf, expectedVcn, base);
  return { vcn: expectedVcn, lsn, entries: indexEntries(node) };
}

/** decodeIndexRecord with the node left as offsets (scanIndexNode): a whole-directory walk's form. */
export function scanIndexRecord(
  buf: Uint8Array,
  expectedVcn: number,
  base: number,
): { lsn: bigint; node: IndexNodeView } {
  applyFixups(buf, INDX_SIGNATURE, base);
  const v = new ByteView(buf, base, 'NTFS INDX record');
  const vcn = v.u64le(0x10);
  if (vcn !== BigInt(expectedVcn))
    throw new BootprobeError(
      'NTFS_INDEX',
      `INDX record at ${hex(base)} says it is VCN ${vcn}, expected ${expectedVcn}`,
      {
        offset: base + 0x10,
        structure: 'ntfs.indx',
        hint: INDEX_DAMAGED,
      },
    );
  return { lsn: v.u64le(0x08), node: scanIndexNode(v, INDX_NODE_OFFSET) };
}
