// $FILE_NAME (also the key of $I30 index entries) and $STANDARD_INFORMATION. Layout: docs/ntfs.md §3.2, §3.3.
import type { ByteView } from '../../io/index.js';
import { splitReference } from './record.js';

export const NAMESPACE = { POSIX: 0, WIN32: 1, DOS: 2, WIN32_AND_DOS: 3 } as const;

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
  name: string;
  namespace: number;
}

export interface StandardInformation {
  created: Date | null;
  modified: Date | null;
  changed: Date | null;
  accessed: Date | null;
  attributes: number;
}

/** FILETIME (100 ns since 1601) as a Date; null for 0 or out of range. */
export function filetime(v: ByteView, at: number): Date | null {
  const ft = v.u64le(at);
  if (ft === 0n) return null;
  const ms = Number(ft / 10000n) - 11644473600000;
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function decodeFileName(v: ByteView): FileNameAttr {
  const parent = splitReference(v.u64le(0));
  const len = v.u8(0x40);
  return {
    parentRecord: parent.record,
    parentSequence: parent.sequence,
    created: filetime(v, 0x08),
    modified: filetime(v, 0x10),
    changed: filetime(v, 0x18),
    accessed: filetime(v, 0x20),
    allocatedSize: Number(v.u64le(0x28)),
    realSize: Number(v.u64le(0x30)),
    flags: v.u32le(0x38),
    namespace: v.u8(0x41),
    name: v.utf16le(0x42, 2 * len),
  };
}

export function decodeStandardInformation(v: ByteView): StandardInformation {
  return {
    created: filetime(v, 0x00),
    modified: filetime(v, 0x08),
    changed: filetime(v, 0x10),
    accessed: filetime(v, 0x18),
    attributes: v.u32le(0x20),
  };
}
