// Layout: docs/regf.md §4 (cells). A cell offset counts from the first bin (file offset = 4096 + offset); the
// cell's i32 size is negative when allocated, includes the 4 size bytes, and the cell never crosses its bin.
import { BootprobeError, hex } from '../errors.js';
import { ByteView } from '../io/index.js';
import { BASE_BLOCK_SIZE } from './base-block.js';
import { HBIN_HEADER_SIZE, type HiveBin } from './bin.js';

/** A pointer into the bins data (regf.md §1). Branded so it is not mixed up with a file offset. */
export type CellOffset = number & { readonly __unit: 'CellOffset' };
/** "No target" in every offset field (regf.md §1). */
export const NO_CELL = 0xffffffff;

export const cellToFileOffset = (off: CellOffset): number => BASE_BLOCK_SIZE + off;

export interface Cell {
  readonly offset: CellOffset;
  /** Absolute cell size including the 4 size bytes. */
  readonly size: number;
  /** The record bytes after the size field (size − 4 bytes), with absolute file offsets. */
  readonly data: ByteView;
}

/** The bins of one hive image, able to hand out checked cells. */
export class CellSpace {
  private readonly starts: number[];

  constructor(
    private readonly file: ByteView,
    readonly bins: readonly HiveBin[],
    readonly binsSize: number,
  ) {
    this.starts = bins.map((b) => b.offset);
  }

  /** The bin holding bins-relative offset `off`, or null (binary search over the sorted bin starts). */
  binAt(off: number): HiveBin | null {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const b = this.bins[mid]!;
      if (off < b.offset) hi = mid - 1;
      else if (off >= b.offset + b.size) lo = mid + 1;
      else return b;
    }
    return null;
  }

  /**
   * The allocated cell at `off`, checked: inside a bin and past its header, size ≥ 8, inside that bin, allocated.
   * `what` names the pointer for the message ("value list of key X").
   */
  cell(off: number, what: string): Cell {
    const fileOff = BASE_BLOCK_SIZE + off;
    const fail = (msg: string, at = fileOff): never => {
      throw new BootprobeError('HIVE_CELL', `${what}: cell ${hex(off)} (file offset ${hex(at)}) ${msg}`, {
        offset: at,
        structure: 'regf.cell',
        hint: 'the hive is damaged; a reader that ignores this cell would show wrong data',
      });
    };
    if (!Number.isInteger(off) || off < 0 || off >= this.binsSize) fail('lies outside the hive bins');
    if (off % 4 !== 0) fail('is not 4-byte aligned');
    const bin = this.binAt(off);
    if (!bin) return fail('lies outside the hive bins');
    if (off < bin.offset + HBIN_HEADER_SIZE) fail('points into a hive bin header');
    const raw = this.file.i32le(fileOff);
    if (raw >= 0) fail(`is free (size ${raw}), not allocated`);
    const size = -raw;
    if (size < 8) fail(`has size ${size}, below the 8-byte minimum`);
    if (off + size > bin.offset + bin.size) {
      fail(`size ${hex(size)} crosses the end of its bin at ${hex(BASE_BLOCK_SIZE + bin.offset + bin.size)}`);
    }
    return {
      offset: off as CellOffset,
      size,
      data: this.file.sub(fileOff + 4, size - 4, 'regf.cell'),
    };
  }
}

/** A view over a whole hive file with base 0 (cells' absolute offsets are file offsets). */
export function fileView(bytes: Uint8Array): ByteView {
  return new ByteView(bytes, 0, 'regf');
}
