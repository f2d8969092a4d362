// $STANDARD_INFORMATION (0x10, resident). Layout: docs/ntfs.md §3.2 (ntfs-3g layout.h STANDARD_INFORMATION).
import { BootprobeError, hex } from '../../errors.js';
import type { ByteView } from '../../io/index.js';
import { filetime } from './file-name.js';
import { RECORD_DAMAGED } from './hints.js';

/** NTFS 1.x (and every mkntfs/ntfs-3g file) stores 48 bytes; NTFS 3.x adds six fields up to 72 (§3.2). */
export const STANDARD_INFORMATION_V1_SIZE = 48;
export const STANDARD_INFORMATION_V3_SIZE = 72;

export interface StandardInformation {
  created: Date | null;
  modified: Date | null;
  /** MFT-modified ("changed") time. */
  changed: Date | null;
  accessed: Date | null;
  /** 0x20 FILE_ATTRIBUTE_* bits. */
  attributes: number;
  maxVersions: number;
  version: number;
  classId: number;
  /** The NTFS 3.x fields, null in a 48-byte value. */
  ownerId: number | null;
  securityId: number | null;
  quotaCharged: bigint | null;
  usn: bigint | null;
}

export function decodeStandardInformation(v: ByteView): StandardInformation {
  if (v.length < STANDARD_INFORMATION_V1_SIZE)
    throw new BootprobeError(
      'NTFS_ATTRIBUTE',
      `$STANDARD_INFORMATION at ${hex(v.base)} is ${v.length} bytes, at least 48 expected`,
      { offset: v.base, structure: 'ntfs.standard_information', hint: RECORD_DAMAGED },
    );
  const v3 = v.length >= STANDARD_INFORMATION_V3_SIZE;
  return {
    created: filetime(v, 0x00),
    modified: filetime(v, 0x08),
    changed: filetime(v, 0x10),
    accessed: filetime(v, 0x18),
    attributes: v.u32le(0x20),
    maxVersions: v.u32le(0x24),
    version: v.u32le(0x28),
    classId: v.u32le(0x2c),
    ownerId: v3 ? v.u32le(0x30) : null,
    securityId: v3 ? v.u32le(0x34) : null,
    quotaCharged: v3 ? v.u64le(0x38) : null,
    usn: v3 ? v.u64le(0x40) : null,
  };
}
