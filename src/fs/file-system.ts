// What every file-system reader (fs/ntfs, fs/fat) offers the layers above: path lookup, directory listing,
// streamed file reads and a detailed stat. Readers extend FsEntry with their own fields (MFT reference, first
// cluster...) and recognise their own entries when handed back. A file system that can also write offers the
// optional planReplaceFile/replaceFile pair (DESIGN.md "Never modify what the user did not ask to modify": plan the
// byte ranges, let the caller save them, write data before metadata, re-open and verify).
import { BootprobeError, type Finding, hex } from '../errors.js';
import type { BlockDevice } from '../io/block-device.js';
import { bytesEqual } from '../io/byte-view.js';

export type FsType = 'ntfs' | 'fat12' | 'fat16' | 'fat32' | 'exfat';

/** Windows FILE_ATTRIBUTE_* bits, shared by NTFS ($STANDARD_INFORMATION) and FAT (directory entry byte 11). */
export const FILE_ATTRIBUTE = {
  READONLY: 0x1,
  HIDDEN: 0x2,
  SYSTEM: 0x4,
  DIRECTORY: 0x10,
  ARCHIVE: 0x20,
  SPARSE_FILE: 0x200,
  REPARSE_POINT: 0x400,
  COMPRESSED: 0x800,
  ENCRYPTED: 0x4000,
} as const;

export interface FsStreamInfo {
  /** '' for the unnamed (default) data stream. */
  name: string;
  size: number;
}

export interface FsEntry {
  /** Long name as Windows shows it (NTFS Win32 name, FAT long file name). '' for the root. */
  name: string;
  /** 8.3 name when one exists apart from `name`. */
  shortName: string | null;
  /** Full path from the root with '/' separators, as found (original case). '/' for the root. */
  path: string;
  isDirectory: boolean;
  /** Bytes in the unnamed data stream (0 for directories). */
  size: number;
  /** Bytes allocated on disk for it, when known. */
  allocatedSize: number | null;
  created: Date | null;
  modified: Date | null;
  accessed: Date | null;
  /** NTFS MFT-changed time; null on FAT. */
  changed: Date | null;
  /** FILE_ATTRIBUTE_* bits. */
  attributes: number;
  /** NTFS MFT record number; FAT first cluster (0 for the FAT12/16 root and empty files). */
  id: number;
  /** Named data streams (NTFS alternate data streams); empty on FAT. */
  streams: FsStreamInfo[];
}

/** Random-access reader over one file's data. */
export interface FileReader {
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Optional: `target.length` bytes at `offset` into the caller's reused buffer (see fileReadInto). */
  readInto?(offset: number, target: Uint8Array): Promise<void>;
}

/** Reads `target.length` bytes at `offset` of a file into `target`: the reader's readInto, else a read and a copy. */
export async function fileReadInto(reader: FileReader, offset: number, target: Uint8Array): Promise<void> {
  if (reader.readInto) return reader.readInto(offset, target);
  target.set(await reader.read(offset, target.length));
}

export interface FileSystem {
  readonly type: FsType;
  readonly label: string | null;
  /** Findings from opening (FAT copies differ, volume dirty...). */
  readonly warnings: Finding[];
  /** The root directory. */
  root(): Promise<FsEntry>;
  /**
   * Resolves a path: '/' or '\' separators, case-insensitive as Windows compares names (NTFS: $UpCase), a
   * leading separator optional, '' and '/' name the root. Throws PATH_NOT_FOUND or NOT_A_DIRECTORY.
   */
  lookup(path: string): Promise<FsEntry>;
  /** Entries of a directory, without '.' and '..', in on-disk (index) order. Throws NOT_A_DIRECTORY. */
  list(dir: FsEntry): Promise<FsEntry[]>;
  /**
   * Optional: names and types only, from the directory index alone, for listings that print nothing else (`ls`
   * without -l), in the order `list` gives. Absent where `list` is as cheap. `nameEntry` makes an entry of one of
   * them (to list it in turn).
   */
  listNames?(dir: FsEntry): Promise<NameList>;
  /** Opens the unnamed data stream, or a named stream (NTFS ADS). Throws NOT_A_FILE / PATH_NOT_FOUND. */
  openFile(entry: FsEntry, stream?: string): Promise<FileReader>;
  /** Everything `bootprobe stat` shows: every NTFS attribute, or the FAT directory entry fields, as plain JSON. */
  stat(entry: FsEntry): Promise<Record<string, unknown>>;
  /**
   * Plans replacing the whole content of an existing file (its unnamed data stream) with `data`: checks that the
   * volume may be written (else an error of kind 'unsafe'), lays out clusters and metadata, and returns the byte
   * ranges the write will touch. Nothing is written until the plan's commit(). Absent on a read-only file system.
   */
  planReplaceFile?(path: string, data: Uint8Array, options?: FsWriteOptions): Promise<FsWritePlan>;
  /** planReplaceFile then commit: for callers that keep no undo record. */
  replaceFile?(path: string, data: Uint8Array, options?: FsWriteOptions): Promise<FsWriteResult>;
}

export interface FsWriteOptions {
  /** The modification time to record (default: now). Tests pass a fixed time. */
  time?: Date;
}

/** A byte range of the volume device a write overwrites. */
export interface FsWriteRange {
  offset: number;
  length: number;
}

/** What a write puts where, in the order commit writes it. */
export interface FsPatch {
  /** Byte offset in the volume device. */
  offset: number;
  data: Uint8Array;
  /** 'data' patches (file content) are all written and flushed before any 'metadata' patch. */
  kind: 'data' | 'metadata';
  /** The structure written, e.g. 'MFT record 64', 'FAT copy 2 entries', '$I30 entry of /Boot/BCD in record 5'. */
  what: string;
}

export interface FsWritePlan {
  readonly path: string;
  readonly oldSize: number;
  readonly newSize: number;
  /** Data first, then metadata in a safe order (allocation marked before it is referenced, freed after). */
  readonly patches: readonly FsPatch[];
  /**
   * Every byte range of the volume device the commit overwrites, sorted and merged: what an undo record must save
   * before commit() (offsets are relative to the device the file system was opened on, e.g. a partition slice).
   */
  readonly ranges: readonly FsWriteRange[];
  /** One sentence per change, for the repair report. */
  readonly changes: readonly string[];
  /**
   * Writes the patches (data, flush, metadata, flush), then re-opens the volume and reads the file back. Throws
   * FS_WRITE_STALE (nothing written) when the ranges no longer hold what was planned against, FS_WRITE_VERIFY when
   * the file does not read back as `data`. A plan commits once.
   */
  commit(): Promise<FsWriteResult>;
}

export interface FsWriteResult {
  path: string;
  oldSize: number;
  newSize: number;
  bytesWritten: number;
  writes: number;
  changes: string[];
}

/** Sorted, merged byte ranges covered by `patches`. */
export function mergeRanges(patches: readonly { offset: number; data: Uint8Array }[]): FsWriteRange[] {
  const sorted = patches
    .filter((p) => p.data.length > 0)
    .map((p) => ({ offset: p.offset, length: p.data.length }))
    .sort((a, b) => a.offset - b.offset);
  const out: FsWriteRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.offset <= last.offset + last.length)
      last.length = Math.max(last.length, r.offset + r.length - last.offset);
    else out.push({ ...r });
  }
  return out;
}

/**
 * The one executor both writers use. Created after the writer read everything it patched, so the snapshot taken here
 * is what the plan was computed from; commit refuses to write over anything else.
 */
export class PatchPlan implements FsWritePlan {
  readonly ranges: readonly FsWriteRange[];
  private committed = false;

  private constructor(
    private readonly dev: BlockDevice,
    readonly path: string,
    readonly oldSize: number,
    readonly newSize: number,
    readonly patches: readonly FsPatch[],
    readonly changes: readonly string[],
    private readonly snapshot: readonly Uint8Array[],
    private readonly verify: () => Promise<void>,
  ) {
    this.ranges = mergeRanges(patches);
  }

  /**
   * `verify` re-opens the volume and checks the result; it runs after the last flush. Patches must all lie inside
   * the device (a writer bug otherwise: nothing is planned).
   */
  static async create(
    dev: BlockDevice,
    info: { path: string; oldSize: number; newSize: number; changes: string[] },
    patches: FsPatch[],
    verify: () => Promise<void>,
  ): Promise<PatchPlan> {
    // Data before metadata, stable otherwise.
    const ordered = [
      ...patches.filter((p) => p.kind === 'data'),
      ...patches.filter((p) => p.kind === 'metadata'),
    ];
    for (const p of ordered)
      if (!Number.isSafeInteger(p.offset) || p.offset < 0 || p.offset + p.data.length > dev.size)
        throw new BootprobeError(
          'FS_WRITE_REFUSED',
          `${info.path}: planned write of ${p.what} (${p.data.length} bytes at ${hex(p.offset)}) lies outside the ${dev.size}-byte volume`,
          { offset: p.offset, kind: 'unsafe', hint: 'the volume is truncated; nothing was written' },
        );
    const ranges = mergeRanges(ordered);
    const snapshot: Uint8Array[] = [];
    // Copies: a device may return a view of its memory (a Node Buffer's slice() is a view too).
    for (const r of ranges) snapshot.push(new Uint8Array(await dev.read(r.offset, r.length)));
    return new PatchPlan(dev, info.path, info.oldSize, info.newSize, ordered, info.changes, snapshot, verify);
  }

  async commit(): Promise<FsWriteResult> {
    const write = this.dev.write?.bind(this.dev);
    if (!write)
      throw new BootprobeError('READ_ONLY', `${this.path}: the volume was opened read-only`, {
        hint: 'open the image for writing',
      });
    if (this.committed)
      throw new BootprobeError('FS_WRITE_STALE', `${this.path}: this write plan was already committed`, {
        hint: 'plan the write again',
      });
    this.committed = true;
    for (let i = 0; i < this.ranges.length; i++) {
      const r = this.ranges[i]!;
      if (!bytesEqual(await this.dev.read(r.offset, r.length), this.snapshot[i]!))
        throw new BootprobeError(
          'FS_WRITE_STALE',
          `${this.path}: ${r.length} bytes at ${hex(r.offset)} changed after the write was planned; nothing was written`,
          { offset: r.offset, hint: 'plan the write again' },
        );
    }
    let bytes = 0;
    let flushedData = false;
    for (const p of this.patches) {
      if (p.kind === 'metadata' && !flushedData) {
        // The file's new content must be on disk before anything points at it.
        await this.dev.flush?.();
        flushedData = true;
      }
      await write(p.offset, p.data);
      bytes += p.data.length;
    }
    await this.dev.flush?.();
    await this.verify();
    return {
      path: this.path,
      oldSize: this.oldSize,
      newSize: this.newSize,
      bytesWritten: bytes,
      writes: this.patches.length,
      changes: [...this.changes],
    };
  }
}

/** Reads a file back whole after a write and compares it with what was written (FS_WRITE_VERIFY otherwise). */
export async function verifyFileContent(fs: FileSystem, path: string, data: Uint8Array): Promise<void> {
  const entry = await fs.lookup(path);
  const r = await fs.openFile(entry);
  const back = r.size === data.length ? await r.read(0, r.size) : null;
  if (entry.size !== data.length || !back || !bytesEqual(back, data)) {
    let at = 0;
    if (back) while (at < back.length && back[at] === data[at]) at++;
    throw new BootprobeError(
      'FS_WRITE_VERIFY',
      back
        ? `${path}: re-read after the write differs from what was written at byte ${at}`
        : `${path}: re-read after the write gives ${r.size} bytes, ${data.length} were written`,
      { data: { expected: data.length, actual: r.size }, hint: 'restore the undo record and run chkdsk' },
    );
  }
}

/** The components of a path inside a volume: `/` or `\` separated, empty and `.` components dropped. */
export function splitPath(path: string): string[] {
  return path.split(/[\\/]+/).filter((p) => p !== '' && p !== '.');
}

/**
 * A directory's names and types as parallel arrays (listNames): no object per entry, so a recursive listing of
 * 50,000 files keeps a string and two numbers per pending entry instead of an FsEntry, an index entry and their
 * buffers (issue 7: `ls -R` had been spending as long promoting those through the young generation as listing).
 */
export interface NameList {
  names: string[];
  /** The entries' ids (FsEntry.id). */
  ids: number[];
  /** 1 where the entry is a directory. */
  directory: Uint8Array;
}

/**
 * Entry `i` of `list` (a listing of `dir`) as an FsEntry: name, path, isDirectory and id; sizes, times and
 * attributes 0/null. Enough to list it in turn (list/listNames) and to print it.
 */
export function nameEntry(dir: FsEntry, list: NameList, i: number): FsEntry {
  const name = list.names[i]!;
  const isDirectory = list.directory[i] === 1;
  return {
    name,
    shortName: null,
    path: joinPath(dir.path, name),
    isDirectory,
    size: 0,
    allocatedSize: null,
    created: null,
    modified: null,
    accessed: null,
    changed: null,
    attributes: isDirectory ? FILE_ATTRIBUTE.DIRECTORY : 0,
    id: list.ids[i]!,
    streams: [],
  };
}

/** Joins a directory path as FsEntry.path spells it ('/' for the root) and a name. */
export function joinPath(dir: string, name: string): string {
  return dir === '/' || dir === '' ? `/${name}` : `${dir}/${name}`;
}
