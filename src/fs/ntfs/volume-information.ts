// $Volume (record 3): $VOLUME_NAME (0x60) and $VOLUME_INFORMATION (0x70). Layout: docs/ntfs.md §7.1.
import { BootprobeError, hex } from '../../errors.js';
import type { ByteView } from '../../io/index.js';

/** §7.1 flags (ntfs-3g layout.h VOLUME_FLAGS). */
export const VOLUME_FLAG = {
  DIRTY: 0x0001,
  RESIZE_LOG_FILE: 0x0002,
  UPGRADE_ON_MOUNT: 0x0004,
  MOUNTED_ON_NT4: 0x0008,
  DELETE_USN_UNDERWAY: 0x0010,
  REPAIR_OBJECT_ID: 0x0020,
  CHKDSK_UNDERWAY: 0x4000,
  MODIFIED_BY_CHKDSK: 0x8000,
} as const;

export const VOLUME_INFORMATION_SIZE = 12;

export interface VolumeInformation {
  major: number;
  minor: number;
  flags: number;
  /** Dirty (chkdsk at the next Windows boot) or chkdsk underway: §7.1 refuses writes on these two. */
  dirty: boolean;
}

export function decodeVolumeInformation(v: ByteView): VolumeInformation {
  if (v.length < VOLUME_INFORMATION_SIZE)
    throw new BootprobeError(
      'NTFS_ATTRIBUTE',
      `$VOLUME_INFORMATION at ${hex(v.base)} is ${v.length} bytes, ${VOLUME_INFORMATION_SIZE} expected`,
      { offset: v.base, structure: 'ntfs.volume_information', hint: 'the $Volume system file is damaged' },
    );
  const flags = v.u16le(10);
  return {
    major: v.u8(8),
    minor: v.u8(9),
    flags,
    dirty: (flags & (VOLUME_FLAG.DIRTY | VOLUME_FLAG.CHKDSK_UNDERWAY)) !== 0,
  };
}

/** $VOLUME_NAME: the label, UTF-16LE without terminator. */
export function decodeVolumeName(v: ByteView): string {
  return v.utf16le(0, v.length & ~1);
}
