// Index node header and index entries, shared by $INDEX_ROOT and INDX records. Layout: docs/ntfs.md §4.
import { BootprobeError, hex } from '../../errors.js';
import type { ByteView } from '../../io/index.js';
import { decodeFileNameLazy, type FileNameAttr } from './file-name.js';

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

/** Entries of the node whose header starts at `at` in `v` (§4 "Index node header", "Index entry"). */
export function decodeIndexNode(v: ByteView, at: number): IndexEntry[] {
  const first = v.u32le(at);
  const used = v.u32le(at + 4);
  const fail = (msg: string, o: number) =>
    new BootprobeError('NTFS_INDEX', `index node at ${hex(v.base + at)}: ${msg}`, {
      offset: v.base + o,
      structure: 'ntfs.index',
      hint: 'the directory index is damaged',
    });
  if (at + used > v.length || first < 16 || first > used || used < 16)
    throw fail(`entries (${first}..${used}) lie outside the node`, at);
  const out: IndexEntry[] = [];
  let p = at + first;
  const end = at + used;
  while (p + 16 <= end) {
    const len = v.u16le(p + 8);
    const keyLen = v.u16le(p + 10);
    const flags = v.u16le(p + 12);
    if (
      len < 16 ||
      len % 8 !== 0 ||
      p + len > end ||
      ((flags & INDEX_ENTRY_FLAG.HAS_CHILD) !== 0 && len < 24)
    )
      throw fail(`entry at ${hex(v.base + p)} has length ${len}`, p + 8);
    // File reference (§2) read as two words: no BigInt per entry (issue 7).
    const record = v.u32le(p) + v.u16le(p + 4) * 2 ** 32;
    const last = (flags & INDEX_ENTRY_FLAG.LAST) !== 0;
    let key: FileNameAttr | null = null;
    if (!last) {
      const room = len - 16 - ((flags & INDEX_ENTRY_FLAG.HAS_CHILD) !== 0 ? 8 : 0);
      if (keyLen < 0x42 || keyLen > room)
        throw fail(`entry at ${hex(v.base + p)} has key length ${keyLen}`, p + 10);
      // Read in place, times on demand: a listing reads every key and none of their times (issue 7).
      key = decodeFileNameLazy(v, p + 16, keyLen);
    }
    const child =
      (flags & INDEX_ENTRY_FLAG.HAS_CHILD) !== 0 ? v.u64leNum(p + len - 8, 'child VCN', 'NTFS_INDEX') : null;
    out.push({ offset: v.base + p, record, sequence: v.u16le(p + 6), key, child });
    if (last) return out;
    p += len;
  }
  throw fail('no last entry', at);
}
