// Index node header and index entries, shared by $INDEX_ROOT and INDX records. Layout: docs/ntfs.md §4.
import { BootprobeError, hex } from '../../errors.js';
import type { ByteView } from '../../io/index.js';
import { decodeFileNameLazy, FILE_NAME_HEADER_SIZE, type FileNameAttr } from './file-name.js';
import { INDEX_DAMAGED } from './hints.js';

/** §4 index entry flags. */
export const INDEX_ENTRY_FLAG = { HAS_CHILD: 0x01, LAST: 0x02 } as const;
/** §4 node header flag: entries have children. */
export const INDEX_NODE_FLAG_LARGE = 0x01;

export interface IndexEntry {
  /** Absolute volume offset of the entry. */
  offset: number;
  record: number;
  sequence: number;
  /** null for the last entry (no key). */
  key: FileNameAttr | null;
  /** VCN of the child node, or null. */
  child: number | null;
}

/**
 * One index node as its view and the offsets in it of its entries, the last (keyless) one included: what a
 * whole-directory walk reads names from in place, no object per entry (issue 7). Made by scanIndexNode, which has
 * checked every entry; read with the indexEntry* functions.
 */
export interface IndexNodeView {
  v: ByteView;
  offsets: number[];
}

/** §4 index entry: the key ($FILE_NAME, §3.3) follows the 16-byte entry header. */
const ENTRY_KEY = 16;

/**
 * The entries of the node whose header starts at `at` in `v` (§4 "Index node header", "Index entry"), checked: each
 * entry inside the node, a key long enough for its $FILE_NAME and its name, a child VCN in the safe range, and a last
 * entry at the end.
 */
export function scanIndexNode(v: ByteView, at: number): IndexNodeView {
  const first = v.u32le(at);
  const used = v.u32le(at + 4);
  const fail = (msg: string, o: number) =>
    new BootprobeError('NTFS_INDEX', `index node at ${hex(v.base + at)}: ${msg}`, {
      offset: v.base + o,
      structure: 'ntfs.index',
      hint: INDEX_DAMAGED,
    });
  if (at + used > v.length || first < 16 || first > used || used < 16)
    throw fail(`entries (${first}..${used}) lie outside the node`, at);
  const offsets: number[] = [];
  let p = at + first;
  const end = at + used;
  while (p + 16 <= end) {
    const len = v.u16le(p + 8);
    const keyLen = v.u16le(p + 10);
    const flags = v.u16le(p + 12);
    const hasChild = (flags & INDEX_ENTRY_FLAG.HAS_CHILD) !== 0;
    if (len < 16 || len % 8 !== 0 || p + len > end || (hasChild && len < 24))
      throw fail(`entry at ${hex(v.base + p)} has length ${len}`, p + 8);
    const last = (flags & INDEX_ENTRY_FLAG.LAST) !== 0;
    if (!last) {
      const room = len - ENTRY_KEY - (hasChild ? 8 : 0);
      if (keyLen < FILE_NAME_HEADER_SIZE || keyLen > room)
        throw fail(`entry at ${hex(v.base + p)} has key length ${keyLen}`, p + 10);
      const nameLen = v.u8(p + ENTRY_KEY + 0x40);
      if (FILE_NAME_HEADER_SIZE + 2 * nameLen > keyLen)
        throw fail(
          `entry at ${hex(v.base + p)}: a name of ${nameLen} characters does not fit its ${keyLen}-byte key`,
          p + ENTRY_KEY + 0x40,
        );
    }
    if (hasChild) v.u64leNum(p + len - 8, 'child VCN', 'NTFS_INDEX');
    offsets.push(p);
    if (last) return { v, offsets };
    p += len;
  }
  throw fail('no last entry', at);
}

/** Whether the entry at `p` (an offset from scanIndexNode) is the node's last: no key. */
export function indexEntryIsLast(v: ByteView, p: number): boolean {
  return (v.u16le(p + 12) & INDEX_ENTRY_FLAG.LAST) !== 0;
}

/** The child node's VCN of the entry at `p`, or null. */
export function indexEntryChild(v: ByteView, p: number): number | null {
  return (v.u16le(p + 12) & INDEX_ENTRY_FLAG.HAS_CHILD) !== 0
    ? v.u64leNum(p + v.u16le(p + 8) - 8, 'child VCN', 'NTFS_INDEX')
    : null;
}

/** The MFT record the entry at `p` names (the file reference's low 48 bits, §2, read as two words: no BigInt). */
export function indexEntryRecord(v: ByteView, p: number): number {
  return v.u32le(p) + v.u16le(p + 4) * 2 ** 32;
}

/** Its key's namespace (§3.3 0x41); only for an entry that is not the last. */
export function indexEntryNamespace(v: ByteView, p: number): number {
  return v.u8(p + ENTRY_KEY + 0x41);
}

/** Its key's $FILE_NAME flags (§3.3 0x38). */
export function indexEntryNameFlags(v: ByteView, p: number): number {
  return v.u32le(p + ENTRY_KEY + 0x38);
}

/** Its key's name (§3.3 0x42). */
export function indexEntryName(v: ByteView, p: number): string {
  return v.utf16le(p + ENTRY_KEY + FILE_NAME_HEADER_SIZE, 2 * v.u8(p + ENTRY_KEY + 0x40));
}

/** Entries of the node whose header starts at `at` in `v` as objects (lookups; a walk reads scanIndexNode's view). */
export function decodeIndexNode(v: ByteView, at: number): IndexEntry[] {
  return indexEntries(scanIndexNode(v, at));
}

/** Every entry of a scanned node as an object. */
export function indexEntries(node: IndexNodeView): IndexEntry[] {
  const out: IndexEntry[] = [];
  for (const p of node.offsets) out.push(indexEntryAt(node.v, p));
  return out;
}

/** The entry at `p` of a scanned node as an object. */
export function indexEntryAt(v: ByteView, p: number): IndexEntry {
  // The key is read in place, its times on demand: a lookup reads keys' names and none of their times (issue 7).
  const key = indexEntryIsLast(v, p) ? null : decodeFileNameLazy(v, p + ENTRY_KEY, v.u16le(p + 10));
  return {
    offset: v.base + p,
    record: indexEntryRecord(v, p),
    sequence: v.u16le(p + 6),
    key,
    child: indexEntryChild(v, p),
  };
}
