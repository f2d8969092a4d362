// $REPARSE_POINT (0xC0): tag and, for symbolic links and mount points, the target. Layout: docs/ntfs.md §3 (type
// 0xC0); the buffer layout (u32 tag, u16 data length, u16 reserved, data) is ntfs-3g layout.h REPARSE_POINT and
// reparse.c, which is how scripts/fixtures/ntfs.sh writes one.
import type { ByteView } from '../../io/index.js';

export const REPARSE_TAG = { MOUNT_POINT: 0xa0000003, SYMLINK: 0xa000000c } as const;

export interface ReparsePoint {
  tag: number;
  dataLength: number;
  /** Substitute and print names of a symbolic link or mount point; null for other tags or a short buffer. */
  target: string | null;
  printName: string | null;
}

export function decodeReparsePoint(v: ByteView): ReparsePoint {
  const tag = v.u32le(0);
  const dataLength = v.u16le(4);
  let target: string | null = null;
  let printName: string | null = null;
  // Symlink data: u16 substitute offset, length, print offset, length, u32 flags, then the path buffer; mount
  // points the same without the flags. Names that do not fit the value are left out rather than trusted.
  const pathAt = tag === REPARSE_TAG.SYMLINK ? 20 : tag === REPARSE_TAG.MOUNT_POINT ? 16 : -1;
  if (pathAt > 0 && v.length >= pathAt && 8 + dataLength <= v.length) {
    const name = (off: number, len: number) =>
      pathAt + off + len <= 8 + dataLength ? v.utf16le(pathAt + off, len) : null;
    target = name(v.u16le(8), v.u16le(10));
    printName = name(v.u16le(12), v.u16le(14));
  }
  return { tag, dataLength, target, printName };
}
