// $FILE_NAME (0x30, resident; also the key of $I30 index entries). Layout: docs/ntfs.md §3.3.
import { BootprobeError, hex } from '../../errors.js';
import type { ByteView } from '../../io/index.js';

/** §3.3 0x41. POSIX names are case-sensitive; DOS names are the 8.3 alias of a Win32 name. */
export const NAMESPACE = { POSIX: 0, WIN32: 1, DOS: 2, WIN32_AND_DOS: 3 } as const;
export const NAMESPACE_NAMES = ['POSIX', 'Win32', 'DOS', 'Win32+DOS'] as const;
/** §3.3 0x38: flag of a directory's name. */
export const FILE_NAME_DIRECTORY = 0x10000000;
/** Fixed part before the name. */
export const FILE_NAME_HEADER_SIZE = 0x42;

/**
 * A $FILE_NAME without its four times: what a directory walk needs from every index key and every name of a record.
 * Decoding the times costs four Dates per name, so listings use this and only `stat` asks for the full value
 * (issue 7: no per-entry allocations that nothing reads).
 */
export interface FileNameKey {
  parentRecord: number;
  parentSequence: number;
  allocatedSize: number;
  realSize: number;
  flags: number;
  /** 0x3C: extended-attribute size, or the reparse tag when the file is a reparse point. */
  eaSizeOrReparseTag: number;
  name: string;
  namespace: number;
}

export interface FileNameAttr extends FileNameKey {
  created: Date | null;
  modified: Date | null;
  changed: Date | null;
  accessed: Date | null;
}

/** FILETIME (100 ns since 1601) as a Date; null for 0 or out of Date's range. */
export function filetime(v: ByteView, at: number): Date | null {
  const lo = v.u32le(at);
  const hi = v.u32le(at + 4);
  if (lo === 0 && hi === 0) return null;
  // floor(ft / 10000) without BigInt (a hot path, issue 7): 2^32 = 429496 × 10000 + 7296, and hi × 7296 + lo < 2^53,
  // so every step is exact.
  const ms = hi * 429496 + Math.floor((hi * 7296 + lo) / 10000) - 11644473600000;
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

/** The $FILE_NAME value without its times (§3.3); the same checks as decodeFileName. */
export function decodeFileNameKey(v: ByteView): FileNameKey {
  return new LazyFileName(v, 0, v.length);
}

export function decodeFileName(v: ByteView): FileNameAttr {
  const k = decodeFileNameKey(v);
  // Spelled out, not spread: one object of a fixed shape, times decoded now (`stat`, record names in full).
  return {
    parentRecord: k.parentRecord,
    parentSequence: k.parentSequence,
    created: filetime(v, 0x08),
    modified: filetime(v, 0x10),
    changed: filetime(v, 0x18),
    accessed: filetime(v, 0x20),
    allocatedSize: k.allocatedSize,
    realSize: k.realSize,
    flags: k.flags,
    eaSizeOrReparseTag: k.eaSizeOrReparseTag,
    name: k.name,
    namespace: k.namespace,
  };
}

/**
 * A $FILE_NAME of `length` bytes at `at` in a view (an $I30 index key, or a record's name): the name fields decoded
 * at once, the four times only when read. A listing decodes every key of a directory but never reads their times:
 * four Dates per key were most of its garbage, and a sub-view plus an intermediate object per key most of the rest
 * (issue 7). Reads like a FileNameAttr; JSON.stringify gives every field.
 */
class LazyFileName implements FileNameAttr {
  readonly parentRecord: number;
  readonly parentSequence: number;
  readonly allocatedSize: number;
  readonly realSize: number;
  readonly flags: number;
  readonly eaSizeOrReparseTag: number;
  readonly name: string;
  readonly namespace: number;
  readonly #v: ByteView;
  readonly #at: number;

  constructor(v: ByteView, at: number, length: number) {
    const len = v.u8(at + 0x40);
    if (FILE_NAME_HEADER_SIZE + 2 * len > length)
      throw new BootprobeError(
        'NTFS_ATTRIBUTE',
        `$FILE_NAME at ${hex(v.base + at)}: a name of ${len} characters does not fit its ${length} bytes`,
        {
          offset: v.base + at + 0x40,
          structure: 'ntfs.file_name',
          hint: 'the MFT record or index is damaged',
        },
      );
    // The file reference (§2) as two 32-bit reads: low 48 bits record, high 16 bits sequence.
    this.parentRecord = v.u32le(at) + v.u16le(at + 4) * 2 ** 32;
    this.parentSequence = v.u16le(at + 6);
    // Sizes here are informational (§3.3: often stale); an absurd value is kept out of the safe range as -1.
    this.allocatedSize = safe(v, at + 0x28);
    this.realSize = safe(v, at + 0x30);
    this.flags = v.u32le(at + 0x38);
    this.eaSizeOrReparseTag = v.u32le(at + 0x3c);
    this.namespace = v.u8(at + 0x41);
    this.name = v.utf16le(at + 0x42, 2 * len);
    this.#v = v;
    this.#at = at;
  }

  get created(): Date | null {
    return filetime(this.#v, this.#at + 0x08);
  }
  get modified(): Date | null {
    return filetime(this.#v, this.#at + 0x10);
  }
  get changed(): Date | null {
    return filetime(this.#v, this.#at + 0x18);
  }
  get accessed(): Date | null {
    return filetime(this.#v, this.#at + 0x20);
  }

  toJSON(): FileNameAttr {
    return {
      parentRecord: this.parentRecord,
      parentSequence: this.parentSequence,
      created: this.created,
      modified: this.modified,
      changed: this.changed,
      accessed: this.accessed,
      allocatedSize: this.allocatedSize,
      realSize: this.realSize,
      flags: this.flags,
      eaSizeOrReparseTag: this.eaSizeOrReparseTag,
      name: this.name,
      namespace: this.namespace,
    };
  }
}

/** The key of `length` bytes at `at` in an index node's view: the same checks now, the times when read. */
export function decodeFileNameLazy(v: ByteView, at: number, length: number): FileNameAttr {
  return new LazyFileName(v, at, length);
}

function safe(v: ByteView, at: number): number {
  const hi = v.u32le(at + 4);
  // Above 2^53 - 1 exactly when the high word reaches 2^21.
  return hi < 0x200000 ? hi * 2 ** 32 + v.u32le(at) : -1;
}
