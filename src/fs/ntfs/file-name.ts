// $FILE_NAME (0x30, resident; also the key of $I30 index entries). Layout: docs/ntfs.md §3.3.
import { BootprobeError, hex } from '../../errors.js';
import type { ByteView } from '../../io/index.js';
import { splitReference } from './record.js';

/** §3.3 0x41. POSIX names are case-sensitive; DOS names are the 8.3 alias of a Win32 name. */
export const NAMESPACE = { POSIX: 0, WIN32: 1, DOS: 2, WIN32_AND_DOS: 3 } as const;
export const NAMESPACE_NAMES = ['POSIX', 'Win32', 'DOS', 'Win32+DOS'] as const;
/** §3.3 0x38: flag of a directory's name. */
export const FILE_NAME_DIRECTORY = 0x10000000;
/** Fixed part before the name. */
export const FILE_NAME_HEADER_SIZE = 0x42;

export interface FileNameAttr {
  parentRecord: number;
  parentSequence: number;
  created: Date | null;
  modified: Date | null;
  changed: Date | null;
  accessed: Date | null;
  allocatedSize: number;
  realSize: number;
  flags: number;
  /** 0x3C: extended-attribute size, or the reparse tag when the file is a reparse point. */
  eaSizeOrReparseTag: number;
  name: string;
  namespace: number;
}

/** FILETIME (100 ns since 1601) as a Date; null for 0 or out of Date's range. */
export function filetime(v: ByteView, at: number): Date | null {
  const ft = v.u64le(at);
  if (ft === 0n) return null;
  const ms = Number(ft / 10000n) - 11644473600000;
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** A Date as FILETIME (100 ns units since 1601-01-01 UTC), the inverse of filetime() to the millisecond. */
export function encodeFiletime(d: Date): bigint {
  return (BigInt(d.getTime()) + 11644473600000n) * 10000n;
}

/** §3.3 offsets of the fields a data write updates in a $FILE_NAME value (also an $I30 key). */
export const FILE_NAME_FIELD = {
  MODIFIED: 0x10,
  CHANGED: 0x18,
  ALLOCATED_SIZE: 0x28,
  REAL_SIZE: 0x30,
} as const;

export function decodeFileName(v: ByteView): FileNameAttr {
  const len = v.u8(0x40);
  if (FILE_NAME_HEADER_SIZE + 2 * len > v.length)
    throw new BootprobeError(
      'NTFS_ATTRIBUTE',
      `$FILE_NAME at ${hex(v.base)}: a name of ${len} characters does not fit its ${v.length} bytes`,
      { offset: v.base + 0x40, structure: 'ntfs.file_name', hint: 'the MFT record or index is damaged' },
    );
  const parent = splitReference(v.u64le(0));
  return {
    parentRecord: parent.record,
    parentSequence: parent.sequence,
    created: filetime(v, 0x08),
    modified: filetime(v, 0x10),
    changed: filetime(v, 0x18),
    accessed: filetime(v, 0x20),
    // Sizes here are informational (§3.3: often stale); an absurd value is kept out of the safe range as -1.
    allocatedSize: safe(v.u64le(0x28)),
    realSize: safe(v.u64le(0x30)),
    flags: v.u32le(0x38),
    eaSizeOrReparseTag: v.u32le(0x3c),
    namespace: v.u8(0x41),
    name: v.utf16le(0x42, 2 * len),
  };
}

function safe(n: bigint): number {
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : -1;
}
