// New images made from existing ones: a differencing child over a parent (`create-child`), and a dynamic copy of a
// whole disk, chain flattened (`convert`). The parent is only read. Paths are given by the caller (the CLI knows the
// host's path rules); this module decides what goes in the locators (vhd-vhdx.md §1.4, §2.4).
import { BootprobeError, hex } from '../errors.js';
import {
  type BlockDevice,
  bytesEqual,
  isAllZero,
  parseGuid,
  type StagedRange,
  type WritableDevice,
} from '../io/index.js';
import type { DiskImage } from './disk-image.js';
import { type BlockSource, VHD_DEFAULT_BLOCK_SIZE, VHD_MAX_SIZE, writeNewVhd } from './vhd/vhd-create.js';
import { VhdImage } from './vhd/vhd-image.js';
import { hasLog } from './vhdx/header.js';
import { VHDX_CHILD_BLOCK_SIZE, VHDX_DEFAULT_BLOCK_SIZE, writeNewVhdx } from './vhdx/vhdx-create.js';
import { VhdxImage } from './vhdx/vhdx-image.js';

export type DynamicFormat = 'vhd' | 'vhdx';

export interface ParentPaths {
  /** The parent relative to the child's folder, Windows syntax (`.\p.vhdx`, `..\base\p.vhdx`). */
  relative: string;
  /** The parent's absolute path in the host's syntax (`C:\VMs\p.vhdx`, or `/vm/p.vhdx` on Linux). */
  absolute: string;
}

export interface CreateChildResult {
  format: DynamicFormat;
  /** What the child names as its parent: VHD unique id or VHDX parent_linkage. */
  parentId: string;
  locators: { kind: string; value: string }[];
  fileSize: number;
  /** Blocks the child holds (0 for an empty child). */
  blocksAllocated: number;
}

/**
 * What a new child holds instead of nothing: the blocks of `device` (the parent seen through staged writes, same size)
 * that `ranges` touch, each copied whole and marked entirely present in the child (VHD bitmap all set, VHDX
 * PAYLOAD_BLOCK_FULLY_PRESENT: §1.5, §2.5), so no sector bitmap has to be merged with the parent's. A repair of a
 * few sectors costs one child block (2 MiB by default) per block it touches, which is what the image writer's copy-on-write
 * allocates too.
 */
export interface ChildContent {
  device: BlockDevice;
  /** The written ranges (a StagingDevice's `pending`). */
  ranges: readonly StagedRange[];
}

/** The block source for `content` in blocks of `blockSize`. */
function touchedBlocks(content: ChildContent, blockSize: number): BlockSource {
  const blocks = new Set<number>();
  for (const r of content.ranges) {
    if (r.data.length === 0) continue;
    const last = Math.floor((r.offset + r.data.length - 1) / blockSize);
    for (let b = Math.floor(r.offset / blockSize); b <= last; b++) blocks.add(b);
  }
  return async (b, put) => {
    if (!blocks.has(b)) return;
    const start = b * blockSize;
    await put(0, await content.device.read(start, Math.min(blockSize, content.device.size - start)));
  };
}

/** §1.4: the parent unicode name field holds 256 UTF-16 units. */
const VHD_NAME_UNITS = 256;

/**
 * Writes a differencing disk of `format` over `parent` into `out`, empty or holding `content`. VHD: W2ru (relative)
 * and W2ku (absolute) locators and the parent's name; VHDX: parent_linkage (the parent's DataWriteGuid),
 * relative_path and absolute_win32_path, block size 2 MiB and the parent's sector sizes and virtual disk id (§2.4).
 */
export async function createChild(
  parent: DiskImage,
  out: WritableDevice,
  format: DynamicFormat,
  paths: ParentPaths,
  content?: ChildContent,
): Promise<CreateChildResult> {
  if (content && content.device.size !== parent.size)
    throw new RangeError(`child content is ${content.device.size} bytes; the parent is ${parent.size}`);
  if (format === 'vhd') {
    if (!(parent instanceof VhdImage)) {
      throw new BootprobeError(
        'UNSAFE_WRITE',
        `a VHD differencing disk needs a VHD parent; this parent is ${parent.info.format}`,
        { kind: 'unsupported', hint: 'name the child *.vhdx for a VHDX parent (or convert the parent)' },
      );
    }
    const f = parent.footer;
    const name = paths.absolute.length <= VHD_NAME_UNITS ? paths.absolute : basename(paths.absolute);
    const locators = [
      { code: 'W2ru' as const, path: paths.relative },
      { code: 'W2ku' as const, path: paths.absolute },
    ];
    const bs = parent.header?.blockSize ?? VHD_DEFAULT_BLOCK_SIZE;
    const r = await writeNewVhd(
      out,
      {
        size: f.currentSize,
        blockSize: bs,
        // The child's geometry is its parent's, so every reader sizes both alike (§1.2 "Virtual size").
        geometry: { cylinders: f.cylinders, heads: f.heads, sectorsPerTrack: f.sectorsPerTrack },
        parent: { uniqueId: f.uniqueIdBytes, name, locators },
      },
      content && touchedBlocks(content, bs),
    );
    return {
      format,
      parentId: f.uniqueId,
      locators: [
        ...locators.map((l) => ({ kind: l.code, value: l.path })),
        { kind: 'parent name', value: name },
      ],
      fileSize: r.fileSize,
      blocksAllocated: r.blocksAllocated,
    };
  }
  if (!(parent instanceof VhdxImage)) {
    throw new BootprobeError(
      'UNSAFE_WRITE',
      `a VHDX differencing disk needs a VHDX parent; this parent is ${parent.info.format}`,
      { kind: 'unsupported', hint: 'name the child *.vhd for a VHD parent (or convert the parent)' },
    );
  }
  if (hasLog(parent.header)) {
    // Replaying the parent's log later gives it a new DataWriteGuid (§2.6), which would orphan the child.
    throw new BootprobeError(
      'VHDX_LOG_PENDING',
      `the parent's log {${parent.header.logGuid}} has not been replayed: a child linked to it now would be orphaned by the replay`,
      { kind: 'unsafe', hint: 'replay the parent first (open it in Hyper-V, or `qemu-img check -r all`)' },
    );
  }
  const m = parent.metadata;
  const linkage = `{${parent.header.dataWriteGuid}}`;
  const entries = [
    { key: 'parent_linkage', value: linkage },
    { key: 'relative_path', value: paths.relative },
    { key: 'absolute_win32_path', value: paths.absolute },
  ];
  const page83 = m.page83 ? (parseGuid(m.page83) ?? undefined) : undefined;
  const r = await writeNewVhdx(
    out,
    {
      size: m.virtualSize,
      blockSize: VHDX_CHILD_BLOCK_SIZE,
      logicalSectorSize: m.logicalSectorSize as 512 | 4096,
      physicalSectorSize: m.physicalSectorSize as 512 | 4096,
      ...(page83 ? { page83 } : {}),
      parent: { entries },
    },
    content && touchedBlocks(content, VHDX_CHILD_BLOCK_SIZE),
  );
  return {
    format,
    parentId: parent.header.dataWriteGuid,
    locators: entries.map((e) => ({ kind: e.key, value: e.value })),
    fileSize: r.fileSize,
    blocksAllocated: r.blocksAllocated,
  };
}

function basename(p: string): string {
  const parts = p.split(/[\\/]/);
  return parts[parts.length - 1] ?? p;
}

export interface ConvertOptions {
  blockSize?: number;
  /** Called after each block with (blocks done, blocks in all). */
  onBlock?: (done: number, total: number) => void;
}

export interface ConvertResult {
  format: DynamicFormat;
  virtualSize: number;
  blockSize: number;
  blocksAllocated: number;
  fileSize: number;
}

/** Pieces a block is read in: a 256 MiB VHDX block is never read at once. */
const READ_PIECE = 4 * 1024 * 1024;

/**
 * A block source over a disk: pieces of at most 4 MiB that are not all zeros, read through the whole parent chain,
 * so a sparse image stays sparse (inside blocks too) and a chain comes out flattened.
 */
export function blocksOf(src: DiskImage, blockSize: number): BlockSource {
  return async (b, put) => {
    const start = b * blockSize;
    const len = Math.min(blockSize, src.size - start);
    for (const x of await src.mapRange(start, len)) {
      if (x.kind === 'zero') continue;
      for (let at = x.offset; at < x.offset + x.length; at += READ_PIECE) {
        const n = Math.min(READ_PIECE, x.offset + x.length - at);
        const piece = await src.read(at, n);
        if (!isAllZero(piece)) await put(at - start, piece);
      }
    }
  };
}

/** Writes a dynamic `format` image holding `src`'s whole virtual disk (its parent chain flattened) into `out`. */
export async function convertToDynamic(
  src: DiskImage,
  out: WritableDevice,
  format: DynamicFormat,
  options: ConvertOptions = {},
): Promise<ConvertResult> {
  if (format === 'vhd') {
    if (src.size % 512 || src.size > VHD_MAX_SIZE) {
      throw new BootprobeError(
        'UNSAFE_WRITE',
        `a VHD cannot hold this ${src.size}-byte disk (512-byte multiples up to 2040 GiB)`,
        { kind: 'unsupported', hint: 'convert it to VHDX instead' },
      );
    }
    const bs = options.blockSize ?? VHD_DEFAULT_BLOCK_SIZE;
    const r = await writeNewVhd(out, { size: src.size, blockSize: bs }, blocksOf(src, bs), options.onBlock);
    return {
      format,
      virtualSize: src.size,
      blockSize: bs,
      blocksAllocated: r.blocksAllocated,
      fileSize: r.fileSize,
    };
  }
  const ss = src.info.logicalSectorSize === 4096 ? 4096 : 512;
  if (src.size % ss) {
    throw new BootprobeError(
      'UNSAFE_WRITE',
      `a VHDX holds whole ${ss}-byte sectors; this disk is ${src.size} bytes`,
      { kind: 'unsupported', hint: 'the source disk size is not a sector multiple' },
    );
  }
  const bs = options.blockSize ?? VHDX_DEFAULT_BLOCK_SIZE;
  const r = await writeNewVhdx(
    out,
    {
      size: src.size,
      blockSize: bs,
      logicalSectorSize: ss,
      physicalSectorSize: src.info.physicalSectorSize === 512 ? 512 : 4096,
    },
    blocksOf(src, bs),
    options.onBlock,
  );
  return {
    format,
    virtualSize: src.size,
    blockSize: bs,
    blocksAllocated: r.blocksAllocated,
    fileSize: r.fileSize,
  };
}

/**
 * Reads two disks side by side and returns the first offset where they differ, or -1 when they are equal: how a
 * written image is checked through the whole reader stack.
 */
export async function firstDifference(
  a: DiskImage,
  b: DiskImage,
  onProgress?: (done: number) => void,
): Promise<number> {
  if (a.size !== b.size) return Math.min(a.size, b.size);
  for (let at = 0; at < a.size; at += READ_PIECE) {
    const n = Math.min(READ_PIECE, a.size - at);
    const [ea, eb] = [await a.mapRange(at, n), await b.mapRange(at, n)];
    const zero = (e: typeof ea) => e.every((x) => x.kind === 'zero');
    if (!(zero(ea) && zero(eb))) {
      const x = await a.read(at, n);
      const y = await b.read(at, n);
      if (!bytesEqual(x, y)) {
        for (let i = 0; i < n; i++) if (x[i] !== y[i]) return at + i;
      }
    }
    onProgress?.(at + n);
  }
  return -1;
}

/** Message for a copy that does not read back equal. */
export function copyMismatch(what: string, at: number): BootprobeError {
  return new BootprobeError('IO_ERROR', `${what}: the written image differs from the source at ${hex(at)}`, {
    offset: at,
    hint: 'the output is not a faithful copy; it was removed',
  });
}
