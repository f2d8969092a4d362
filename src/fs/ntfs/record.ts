// MFT records and index records: update-sequence fixups (docs/ntfs.md §2.1) and the FILE record header (§2).
import { BootprobeError, hex } from '../../errors.js';
import { ByteView } from '../../io/index.js';
import { MFT_DAMAGED, RECORD_DAMAGED } from './hints.js';

const STRIDE = 512;

/**
 * Checks and applies the update sequence of a multi-sector structure in place (§2.1 "Read"). `buf` is a private copy.
 * Throws NTFS_BAD_FIXUP (torn write or corruption) without modifying anything when a check fails.
 */
export function applyFixups(buf: Uint8Array, magic: string, base: number): void {
  const v = new ByteView(buf, base, `NTFS ${magic} record`);
  if (!hasMagic(buf, magic)) {
    const found = v.ascii(0, 4);
    throw new BootprobeError(
      'NTFS_RECORD',
      found === 'BAAD'
        ? `${magic} record at ${hex(base)} is marked "BAAD": chkdsk found a torn multi-sector write there`
        : `no "${magic}" signature at ${hex(base)} (found "${found.replace(/[^ -~]/g, '.')}")`,
      {
        offset: base,
        structure: `ntfs.${magic.toLowerCase()}`,
        hint: 'the MFT or index is damaged',
      },
    );
  }
  const usaOfs = v.u16le(4);
  const usaCount = v.u16le(6);
  if (
    buf.length % STRIDE !== 0 ||
    usaOfs % 2 !== 0 ||
    usaCount !== buf.length / STRIDE + 1 ||
    usaOfs + 2 * usaCount > 510
  ) {
    throw new BootprobeError(
      'NTFS_BAD_FIXUP',
      `${magic} record at ${hex(base)}: update sequence array (offset ${usaOfs}, count ${usaCount}) does not fit a ${buf.length}-byte record`,
      {
        offset: base + 4,
        structure: `ntfs.${magic.toLowerCase()}`,
        hint: RECORD_DAMAGED,
      },
    );
  }
  const usn = v.u16le(usaOfs);
  for (let i = 1; i < usaCount; i++) {
    if (v.u16le(i * STRIDE - 2) !== usn) {
      throw new BootprobeError(
        'NTFS_BAD_FIXUP',
        `${magic} record at ${hex(base)}: sector ${i - 1} was not written with the rest (update sequence mismatch)`,
        {
          offset: base + i * STRIDE - 2,
          structure: `ntfs.${magic.toLowerCase()}`,
          hint: 'a torn write; run chkdsk on the volume',
        },
      );
    }
  }
  for (let i = 1; i < usaCount; i++) {
    buf[i * STRIDE - 2] = buf[usaOfs + 2 * i]!;
    buf[i * STRIDE - 1] = buf[usaOfs + 2 * i + 1]!;
  }
}

/**
 * Protects a modified record held in its plain (fixed-up) form, in place (§2.1 "Write"): a new update sequence number
 * (old + 1, skipping 0 and 0xFFFF), each stride's last two bytes saved in the array and replaced by it. The header's
 * array offset and count were checked by applyFixups when the record was read.
 */
export function protectFixups(buf: Uint8Array): void {
  const usaOfs = buf[4]! | (buf[5]! << 8);
  const usaCount = buf[6]! | (buf[7]! << 8);
  let usn = ((buf[usaOfs]! | (buf[usaOfs + 1]! << 8)) + 1) & 0xffff;
  if (usn === 0 || usn === 0xffff) usn = 1;
  buf[usaOfs] = usn & 0xff;
  buf[usaOfs + 1] = usn >> 8;
  for (let i = 1; i < usaCount; i++) {
    buf[usaOfs + 2 * i] = buf[i * STRIDE - 2]!;
    buf[usaOfs + 2 * i + 1] = buf[i * STRIDE - 1]!;
    buf[i * STRIDE - 2] = usn & 0xff;
    buf[i * STRIDE - 1] = usn >> 8;
  }
}

/** Whether `buf` starts with the 4-character signature (compared as bytes: no string per record). */
function hasMagic(buf: Uint8Array, magic: string): boolean {
  return (
    buf.length >= 4 &&
    buf[0] === magic.charCodeAt(0) &&
    buf[1] === magic.charCodeAt(1) &&
    buf[2] === magic.charCodeAt(2) &&
    buf[3] === magic.charCodeAt(3)
  );
}

/** §2 0x16 record flags (ntfs-3g layout.h). */
export const RECORD_FLAG = { IN_USE: 0x01, DIRECTORY: 0x02, EXTEND: 0x04, VIEW_INDEX: 0x08 } as const;

export interface MftRecordHeader {
  /** 0x04 / 0x06: update sequence array offset and count. */
  usaOffset: number;
  usaCount: number;
  /** 0x08 $LogFile sequence number. */
  lsn: bigint;
  sequence: number;
  linkCount: number;
  firstAttribute: number;
  /** RECORD_FLAG bits. */
  flags: number;
  usedSize: number;
  allocatedSize: number;
  /** Base record number for an extension record; 0 for a base record. */
  baseRecord: number;
  baseSequence: number;
  nextAttributeId: number;
  /** 0x2C, NTFS 3.1 only (null when the header ends at 0x2A, NTFS ≤ 3.0). */
  recordNumber: number | null;
}

/** The FILE record header of a fixed-up record (§2). The first attribute and used size must lie inside the record. */
export function decodeMftRecordHeader(v: ByteView): MftRecordHeader {
  const usaOffset = v.u16le(4);
  const h: MftRecordHeader = {
    usaOffset,
    usaCount: v.u16le(6),
    lsn: v.u64le(0x08),
    sequence: v.u16le(0x10),
    linkCount: v.u16le(0x12),
    firstAttribute: v.u16le(0x14),
    flags: v.u16le(0x16),
    usedSize: v.u32le(0x18),
    allocatedSize: v.u32le(0x1c),
    // The base file reference (§2) as two words: low 48 bits record, high 16 bits sequence.
    baseRecord: v.u32le(0x20) + v.u16le(0x24) * 0x100000000,
    baseSequence: v.u16le(0x26),
    nextAttributeId: v.u16le(0x28),
    recordNumber: usaOffset >= 0x30 ? v.u32le(0x2c) : null,
  };
  if (
    h.usedSize > v.length ||
    h.firstAttribute < 0x2a ||
    h.firstAttribute + 4 > h.usedSize ||
    h.firstAttribute % 8
  ) {
    throw new BootprobeError(
      'NTFS_RECORD',
      `MFT record at ${hex(v.base)}: first attribute ${h.firstAttribute} / used size ${h.usedSize} do not fit its ${v.length} bytes`,
      {
        offset: v.base + 0x14,
        structure: 'ntfs.file',
        hint: MFT_DAMAGED,
      },
    );
  }
  return h;
}

/** A file reference: low 48 bits record number, high 16 bits sequence (§2). */
export function splitReference(ref: bigint): { record: number; sequence: number } {
  return { record: Number(ref & 0xffffffffffffn), sequence: Number(ref >> 48n) };
}
