// Attributes of an MFT record: common header, resident and non-resident forms. Layout: docs/ntfs.md §3.
import { BootprobeError, hex } from '../../errors.js';
import type { ByteView } from '../../io/index.js';
import { RECORD_DAMAGED } from './hints.js';

export const ATTR = {
  STANDARD_INFORMATION: 0x10,
  ATTRIBUTE_LIST: 0x20,
  FILE_NAME: 0x30,
  OBJECT_ID: 0x40,
  SECURITY_DESCRIPTOR: 0x50,
  VOLUME_NAME: 0x60,
  VOLUME_INFORMATION: 0x70,
  DATA: 0x80,
  INDEX_ROOT: 0x90,
  INDEX_ALLOCATION: 0xa0,
  BITMAP: 0xb0,
  REPARSE_POINT: 0xc0,
  EA_INFORMATION: 0xd0,
  EA: 0xe0,
  LOGGED_UTILITY_STREAM: 0x100,
} as const;

export type NtfsAttributeType = (typeof ATTR)[keyof typeof ATTR];

/** §3 0x0C attribute flags. */
export const ATTR_FLAG = {
  COMPRESSION_MASK: 0x00ff,
  LZNT1: 0x0001,
  ENCRYPTED: 0x4000,
  SPARSE: 0x8000,
} as const;

export const ATTR_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(ATTR).map(([k, v]) => [v, `$${k}`]),
);

export interface NtfsAttribute {
  type: number;
  name: string;
  flags: number;
  id: number;
  nonResident: boolean;
  /** Resident value bytes (a view into the record copy). */
  value: Uint8Array | null;
  lowestVcn: number;
  highestVcn: number;
  compressionUnit: number;
  allocatedSize: number;
  dataSize: number;
  initializedSize: number;
  /** 0x40, present only when compressed or sparse (§3); null otherwise. */
  compressedSize: number | null;
  /** Resident: absolute offset of the value. */
  valueOffset: number;
  /** Resident: 0x16 flags (0x01 = indexed). */
  residentFlags: number;
  /** Runlist bytes (non-resident). */
  runlist: Uint8Array | null;
  /** Absolute offset of the attribute header. */
  offset: number;
  /** Record number holding it. */
  record: number;
}

/** Compression is decided by the flags, never by the compression unit (§3: sparse files carry unit 4 too). */
export const isCompressed = (a: { flags: number }): boolean => (a.flags & ATTR_FLAG.COMPRESSION_MASK) !== 0;
export const isSparse = (a: { flags: number }): boolean => (a.flags & ATTR_FLAG.SPARSE) !== 0;
export const isEncrypted = (a: { flags: number }): boolean => (a.flags & ATTR_FLAG.ENCRYPTED) !== 0;

function bad(msg: string, at: number): BootprobeError {
  return new BootprobeError('NTFS_ATTRIBUTE', msg, {
    offset: at,
    structure: 'ntfs.attribute',
    hint: RECORD_DAMAGED,
  });
}

/** Non-resident header sizes (§3): 0x40, or 0x48 with the compressed-size field. */
const NON_RESIDENT_HEADER = 0x40;
const NON_RESIDENT_HEADER_COMPRESSED = 0x48;

/** Every attribute of a fixed-up record, bounded by its used size; each header checked against what is left. */
export function decodeAttributes(
  v: ByteView,
  firstAttribute: number,
  usedSize: number,
  record: number,
): NtfsAttribute[] {
  const out: NtfsAttribute[] = [];
  let at = firstAttribute;
  // Each attribute is at least 16 bytes, so a record cannot hold more than usedSize/16 of them.
  for (let n = 0; n < usedSize / 16; n++) {
    if (at + 4 > usedSize)
      throw bad(
        `MFT record ${record}: attribute list runs past the used size at ${hex(v.base + at)}`,
        v.base + at,
      );
    const type = v.u32le(at);
    if (type === 0xffffffff) return out;
    const len = v.u32le(at + 4);
    if (len < 16 || len % 8 !== 0 || at + len > usedSize)
      throw bad(
        `MFT record ${record}: attribute 0x${type.toString(16)} at ${hex(v.base + at)} has length ${len}`,
        v.base + at + 4,
      );
    const a = v.sub(at, len, 'NTFS attribute');
    const nonResident = a.u8(8) !== 0;
    const nameLen = a.u8(9);
    const nameOfs = a.u16le(10);
    if (nameLen && (nameOfs < 16 || nameOfs + 2 * nameLen > len))
      throw bad(
        `MFT record ${record}: attribute name at ${hex(a.base + nameOfs)} runs past the attribute`,
        a.base + 10,
      );
    const attr: NtfsAttribute = {
      type,
      name: nameLen ? a.utf16le(nameOfs, 2 * nameLen) : '',
      flags: a.u16le(12),
      id: a.u16le(14),
      nonResident,
      value: null,
      lowestVcn: 0,
      highestVcn: -1,
      compressionUnit: 0,
      allocatedSize: 0,
      dataSize: 0,
      initializedSize: 0,
      compressedSize: null,
      valueOffset: 0,
      residentFlags: 0,
      runlist: null,
      offset: a.base,
      record,
    };
    if (!nonResident) {
      const vlen = a.u32le(16);
      const vofs = a.u16le(20);
      if (vofs + vlen > len)
        throw bad(
          `MFT record ${record}: resident value (${vlen} bytes at +${vofs}) runs past the attribute`,
          a.base + 16,
        );
      attr.value = a.slice(vofs, vlen);
      attr.residentFlags = a.u8(22);
      attr.valueOffset = a.base + vofs;
      attr.dataSize = attr.allocatedSize = attr.initializedSize = vlen;
    } else {
      const withCompressedSize = (attr.flags & (ATTR_FLAG.COMPRESSION_MASK | ATTR_FLAG.SPARSE)) !== 0;
      const headerSize = withCompressedSize ? NON_RESIDENT_HEADER_COMPRESSED : NON_RESIDENT_HEADER;
      if (len < headerSize)
        throw bad(
          `MFT record ${record}: non-resident attribute at ${hex(a.base)} is only ${len} bytes`,
          a.base + 4,
        );
      attr.lowestVcn = a.u64leNum(16, 'lowest VCN', 'NTFS_ATTRIBUTE');
      // A negative highest VCN (-1: no clusters) has the sign bit set in the high word.
      attr.highestVcn = a.u32le(28) >= 0x80000000 ? -1 : a.u64leNum(24, 'highest VCN', 'NTFS_ATTRIBUTE');
      const rlOfs = a.u16le(32);
      attr.compressionUnit = a.u8(34);
      attr.allocatedSize = a.u64leNum(40, 'allocated size', 'NTFS_ATTRIBUTE');
      attr.dataSize = a.u64leNum(48, 'data size', 'NTFS_ATTRIBUTE');
      attr.initializedSize = a.u64leNum(56, 'initialized size', 'NTFS_ATTRIBUTE');
      if (withCompressedSize) attr.compressedSize = a.u64leNum(64, 'compressed size', 'NTFS_ATTRIBUTE');
      if (attr.highestVcn < attr.lowestVcn - 1)
        throw bad(
          `MFT record ${record}: attribute at ${hex(a.base)} has highest VCN ${attr.highestVcn} below lowest VCN ${attr.lowestVcn}`,
          a.base + 16,
        );
      if (
        attr.lowestVcn === 0 &&
        (attr.initializedSize > attr.dataSize || attr.dataSize > attr.allocatedSize)
      )
        throw bad(
          `MFT record ${record}: attribute at ${hex(a.base)} has initialized ${attr.initializedSize} > data ${attr.dataSize} or data > allocated ${attr.allocatedSize} bytes`,
          a.base + 40,
        );
      if (rlOfs < headerSize || rlOfs > len)
        throw bad(`MFT record ${record}: runlist offset ${rlOfs} is outside the attribute`, a.base + 32);
      attr.runlist = a.slice(rlOfs, len - rlOfs);
    }
    out.push(attr);
    at += len;
  }
  throw bad(`MFT record ${record}: no end marker`, v.base + at);
}
