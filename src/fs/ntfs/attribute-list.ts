// $ATTRIBUTE_LIST (0x20): where each attribute extent of a file lives. Layout and procedure: docs/ntfs.md §5.
import { BootprobeError, hex } from '../../errors.js';
import type { ByteView } from '../../io/index.js';
import { RECORD_DAMAGED } from './hints.js';
import { splitReference } from './record.js';

/** Fixed part of an entry before its name (§5: name offset 0x1A when unnamed). */
export const ATTRIBUTE_LIST_ENTRY_MIN = 0x1a;
/**
 * Largest attribute list we read. Windows caps an attribute list at 256 KiB ([I]: the Windows limit is from
 * experience, not verified here; ntfs-3g's own files stay far below). It also bounds the memory a lying size costs.
 */
export const MAX_ATTRIBUTE_LIST_SIZE = 256 * 1024;

export interface AttributeListEntry {
  type: number;
  name: string;
  lowestVcn: number;
  /** Record holding the attribute extent, and the sequence number it must have. */
  record: number;
  sequence: number;
  attributeId: number;
}

export function decodeAttributeList(v: ByteView): AttributeListEntry[] {
  const out: AttributeListEntry[] = [];
  let at = 0;
  // Every entry is at least 0x1A bytes and must consume input, so the walk ends.
  while (at + ATTRIBUTE_LIST_ENTRY_MIN <= v.length) {
    const type = v.u32le(at);
    const len = v.u16le(at + 4);
    const nameLen = v.u8(at + 6);
    const nameOfs = v.u8(at + 7);
    if (len < ATTRIBUTE_LIST_ENTRY_MIN || at + len > v.length || (nameLen && nameOfs + 2 * nameLen > len))
      throw new BootprobeError(
        'NTFS_ATTRIBUTE',
        `attribute list entry at ${hex(v.base + at)} has length ${len} (name ${nameLen} at +${nameOfs}) in a ${v.length}-byte list`,
        { offset: v.base + at + 4, structure: 'ntfs.attribute_list', hint: RECORD_DAMAGED },
      );
    const ref = splitReference(v.u64le(at + 0x10));
    out.push({
      type,
      name: nameLen ? v.utf16le(at + nameOfs, 2 * nameLen) : '',
      lowestVcn: v.u64leNum(at + 8, 'lowest VCN', 'NTFS_ATTRIBUTE'),
      record: ref.record,
      sequence: ref.sequence,
      attributeId: v.u16le(at + 0x18),
    });
    at += len;
  }
  return out;
}
