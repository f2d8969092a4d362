// What every file-system reader (fs/ntfs, fs/fat) offers the layers above: path lookup, directory listing,
// streamed file reads and a detailed stat. Readers extend FsEntry with their own fields (MFT reference, first
// cluster...) and recognise their own entries when handed back.
import type { Finding } from '../errors.js';

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
  /** Opens the unnamed data stream, or a named stream (NTFS ADS). Throws NOT_A_FILE / PATH_NOT_FOUND. */
  openFile(entry: FsEntry, stream?: string): Promise<FileReader>;
  /** Everything `bootprobe stat` shows: every NTFS attribute, or the FAT directory entry fields, as plain JSON. */
  stat(entry: FsEntry): Promise<Record<string, unknown>>;
}

/** The components of a path inside a volume: `/` or `\` separated, empty and `.` components dropped. */
export function splitPath(path: string): string[] {
  return path.split(/[\\/]+/).filter((p) => p !== '' && p !== '.');
}

/** Joins a directory path as FsEntry.path spells it ('/' for the root) and a name. */
export function joinPath(dir: string, name: string): string {
  return dir === '/' || dir === '' ? `/${name}` : `${dir}/${name}`;
}
