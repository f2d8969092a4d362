// What every image reader returns: the virtual disk as a BlockDevice, plus what `info` reports about the container.
import type { Finding } from '../errors.js';
import type { BlockDevice, FileAccess } from '../io/index.js';

export type ImageFormat = 'raw' | 'vhd' | 'vhdx';
export type ImageVariant = 'fixed' | 'dynamic' | 'differencing';

export interface ParentLocatorEntry {
  /** 'W2ru', 'W2ku', 'relative_path', 'absolute_win32_path', 'parent-name', ... as stored. */
  kind: string;
  value: string;
}

export interface ParentInfo {
  /** Path the parent was opened from (host syntax). */
  path: string;
  /** What the child expects: VHD parent unique id, VHDX parent_linkage. */
  expectedId: string | null;
  /** Every locator the child carries, in the order they were tried. */
  locators: ParentLocatorEntry[];
  /** The parent's own info (its parent chain continues there). */
  info: ImageInfo;
}

export interface ImageInfo {
  format: ImageFormat;
  /** null for raw. */
  variant: ImageVariant | null;
  /** Bytes of virtual disk exposed. */
  virtualSize: number;
  logicalSectorSize: number;
  physicalSectorSize: number;
  /** Allocation unit of dynamic/differencing formats; null for raw and fixed VHD. */
  blockSize: number | null;
  /** Writer that made the file, e.g. "qemu 5.3 (Wi2k)" or "Microsoft Windows 10.0.18363.0". */
  creator: string | null;
  /** Size of the image file itself. */
  fileSize: number;
  /** Bytes of virtual disk backed by data in this file, when known (filled in by `info` from allocatedSize()). */
  allocatedSize: number | null;
  /** VHD footer unique id or VHDX virtual disk id (page 83 data). */
  uniqueId: string | null;
  parent: ParentInfo | null;
  /** Format-specific fields for `info` (geometry, header sequence numbers, log state...). */
  details: Record<string, unknown>;
}

/** A run of the virtual disk: 'data' must be read, 'zero' reads as zeros through the whole parent chain. */
export interface Extent {
  offset: number;
  length: number;
  kind: 'data' | 'zero';
}

export interface DiskImage extends BlockDevice {
  readonly info: ImageInfo;
  /** Findings that did not stop the open (a bad checksum tolerated, a log replayed in memory...). */
  readonly warnings: Finding[];
  readonly parent: DiskImage | null;
  /** Extents covering exactly [offset, offset+length), in order, adjacent extents of one kind merged. */
  mapRange(offset: number, length: number): Promise<Extent[]>;
  /**
   * Bytes of virtual disk backed by data in this file. May read the whole allocation table, so it is a method
   * called by `info`, not work done at open (a 64 TB sparse VHDX must open in milliseconds).
   */
  allocatedSize(): Promise<number | null>;
}

export interface OpenImageOptions {
  /** Path of the image (host syntax): used to find parents beside it and in messages. */
  path?: string;
  /** How to open parent files; without it a differencing disk cannot be read. */
  files?: FileAccess;
  /**
   * Parent paths that override the locators, nearest parent first (`--parent`). A differencing parent deeper in
   * the chain uses the next entry, then its own locators.
   */
  parentPaths?: string[];
  /** Turn tolerated findings (bad VHD checksum, dirty log without --replay...) into errors. */
  strict?: boolean;
  /**
   * Open for writing (the write layer, open-writable.ts, sets this; parents are always opened read-only). A VHDX
   * with a pending log is then refused (VHDX_LOG_PENDING, exit 4) unless `replayLog` is set.
   */
  writable?: boolean;
  /** With `writable`: replay a pending VHDX log into the file before anything else (§2.6, writable open). */
  replayLog?: boolean;
  /** Depth of this image in a chain (0 = the image the user named). Internal. */
  depth?: number;
  /** Paths already open in this chain (loop guard). Internal. */
  chain?: string[];
}

/** Bounds the parent chain (DESIGN.md: every chain walk has a depth bound). Hyper-V checkpoint trees rarely pass 50. */
export const MAX_CHAIN_DEPTH = 64;

/** Merges adjacent extents of the same kind (readers append block by block). */
export function pushExtent(out: Extent[], offset: number, length: number, kind: Extent['kind']): void {
  if (length <= 0) return;
  const last = out[out.length - 1];
  if (last && last.kind === kind && last.offset + last.length === offset) last.length += length;
  else out.push({ offset, length, kind });
}
