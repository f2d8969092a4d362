// VHDX block allocation table: u64 entries, payload entries interleaved with one sector-bitmap entry per chunk.
// Layout: docs/vhd-vhdx.md §2.5. Read in 4 KiB pages on demand: a 64 TB sparse disk opens without reading its BAT.
import { BootprobeError, hex } from '../../errors.js';
import type { BlockDevice } from '../../io/index.js';

export const PAYLOAD_STATE = {
  NOT_PRESENT: 0,
  UNDEFINED: 1,
  ZERO: 2,
  UNMAPPED: 3,
  /** Reserved; qemu reads 5 as UNMAPPED from a pre-1.0 draft (§2.5). */
  UNMAPPED_V095: 5,
  FULLY_PRESENT: 6,
  PARTIALLY_PRESENT: 7,
} as const;

export const SB_STATE = { NOT_PRESENT: 0, PRESENT: 6 } as const;

const PAGE_BYTES = 4096;
const PAGES_KEPT = 256;
const MiB = 1024 * 1024;

export interface BatEntry {
  state: number;
  /** Byte offset in the file (FileOffsetMB × 1 MiB). */
  fileOffset: number;
}

/** A BAT entry's 8 bytes: state in bits 0-2, FileOffsetMB in bits 20-63 (§2.5); offset 0 for states 0-3. */
export function encodeBatEntry(state: number, fileOffset: number): Uint8Array {
  if (fileOffset % MiB !== 0 || !Number.isSafeInteger(fileOffset) || fileOffset < 0) {
    throw new RangeError(`VHDX BAT entry offset ${fileOffset} is not a multiple of 1 MiB`);
  }
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(state & 7) | (BigInt(fileOffset / MiB) << 20n), true);
  return b;
}

/** Splits a BAT entry: bits 0-2 state, 20-63 file offset in MiB (§2.5). Pure. */
export function decodeBatEntry(lo: number, hi: number): BatEntry {
  return { state: lo & 7, fileOffset: (hi * 4096 + (lo >>> 20)) * MiB };
}

export interface BatGeometry {
  chunkRatio: number;
  dataBlocks: number;
  totalEntries: number;
}

/** chunkRatio, data blocks and total entries (§2.5; qemu vhdx_calc_bat_entries). */
export function batGeometry(
  virtualSize: number,
  blockSize: number,
  logicalSectorSize: number,
  differencing: boolean,
): BatGeometry {
  const chunkRatio = (2 ** 23 * logicalSectorSize) / blockSize;
  const dataBlocks = Math.ceil(virtualSize / blockSize);
  const bitmapBlocks = Math.ceil(dataBlocks / chunkRatio);
  const totalEntries = differencing
    ? bitmapBlocks * (chunkRatio + 1)
    : dataBlocks + Math.floor((dataBlocks - 1) / chunkRatio);
  return { chunkRatio, dataBlocks, totalEntries };
}

/** The little-endian 32-bit word at `at`. */
function u32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

export class VhdxBat {
  private readonly pages = new Map<number, Uint8Array>();

  constructor(
    private readonly dev: BlockDevice,
    readonly offset: number,
    readonly geometry: BatGeometry,
  ) {}

  private async raw(index: number): Promise<BatEntry> {
    const byte = index * 8;
    const page = Math.floor(byte / PAGE_BYTES);
    let data = this.pages.get(page);
    if (!data) {
      const start = this.offset + page * PAGE_BYTES;
      const len = Math.min(PAGE_BYTES, this.offset + this.geometry.totalEntries * 8 - start);
      data = (await this.dev.read(start, len)).slice();
      if (this.pages.size >= PAGES_KEPT) this.pages.delete(this.pages.keys().next().value!);
      this.pages.set(page, data);
    }
    const at = byte - page * PAGE_BYTES;
    const e = decodeBatEntry(u32(data, at), u32(data, at + 4));
    if (!Number.isSafeInteger(e.fileOffset)) {
      throw new BootprobeError(
        'VHDX_BAT',
        `VHDX BAT entry ${index} at ${hex(this.offset + byte)}: file offset is too large`,
        {
          offset: this.offset + byte,
          structure: 'vhdx.bat',
          hint: 'the BAT is corrupt',
        },
      );
    }
    return e;
  }

  /** BAT index of payload block `i`: i + floor(i / chunkRatio) (§2.5 "Interleaving"). */
  payloadIndex(i: number): number {
    return i + Math.floor(i / this.geometry.chunkRatio);
  }

  /** BAT index of chunk `k`'s sector bitmap: k·(chunkRatio+1) + chunkRatio. */
  bitmapIndex(k: number): number {
    return k * (this.geometry.chunkRatio + 1) + this.geometry.chunkRatio;
  }

  /** Entry of payload block `i`. */
  payload(i: number): Promise<BatEntry> {
    return this.raw(this.payloadIndex(i));
  }

  /**
   * File offset of payload block `i` when it is FULLY_PRESENT and its BAT page is already loaded; -1 otherwise (the
   * caller then takes the general path, payload()). Synchronous, no object: the read path's shortcut for the common
   * case, a read inside one present block (issue 7: a listing makes thousands of 4 KiB reads).
   */
  presentOffset(i: number): number {
    const byte = this.payloadIndex(i) * 8;
    const page = Math.floor(byte / PAGE_BYTES);
    const data = this.pages.get(page);
    if (!data) return -1;
    const at = byte - page * PAGE_BYTES;
    const lo = u32(data, at);
    if ((lo & 7) !== PAYLOAD_STATE.FULLY_PRESENT) return -1;
    const { fileOffset } = decodeBatEntry(lo, u32(data, at + 4));
    return Number.isSafeInteger(fileOffset) ? fileOffset : -1;
  }

  /** Sector-bitmap entry of chunk `k`. */
  bitmap(k: number): Promise<BatEntry> {
    return this.raw(this.bitmapIndex(k));
  }

  /** Drops every cached page (after the write layer changed the BAT in the file). */
  forgetAll(): void {
    this.pages.clear();
  }

  /**
   * Bytes of a `virtualSize`-byte disk in FULLY_PRESENT or PARTIALLY_PRESENT blocks (the last block counts only up
   * to the end of the disk). Streams the BAT in 1 MiB reads that bypass the page
   * cache: done only when `info` asks (DiskImage.allocatedSize), never at open, so a 64 TB image still opens cheaply;
   * for such an image this reads its whole BAT (16 MiB with 32 MiB blocks).
   */
  async allocatedBytes(virtualSize: number, blockSize: number): Promise<number> {
    const { chunkRatio, dataBlocks, totalEntries } = this.geometry;
    const perRead = MiB / 8;
    let n = 0;
    for (let first = 0; first < totalEntries; first += perRead) {
      const count = Math.min(perRead, totalEntries - first);
      const bytes = await this.dev.read(this.offset + first * 8, count * 8);
      for (let j = 0; j < count; j++) {
        const index = first + j;
        // Skip sector-bitmap entries (every (chunkRatio+1)th) and the padding entries of a differencing BAT.
        if (index % (chunkRatio + 1) === chunkRatio) continue;
        const block = index - Math.floor(index / (chunkRatio + 1));
        if (block >= dataBlocks) continue;
        const state = bytes[j * 8]! & 7;
        if (state === PAYLOAD_STATE.FULLY_PRESENT || state === PAYLOAD_STATE.PARTIALLY_PRESENT)
          n += Math.min(blockSize, virtualSize - block * blockSize);
      }
    }
    return n;
  }

  entryOffset(i: number): number {
    return this.offset + 8 * (i + Math.floor(i / this.geometry.chunkRatio));
  }
}
