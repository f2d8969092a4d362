// A write path that stages every write in memory over a base device, then commits them together (the write-side
// sibling of OverlayDevice). Upper layers write a whole change (an NTFS file rewrite, a hive) into a StagingDevice,
// read it back through their own parsers to check it, and only then commit it to the real device, or discard it
// (a dry run). Reads see the staged bytes over the base.
import { BootprobeError, hex } from '../errors.js';
import { type BlockDevice, checkRange } from './block-device.js';
import { bytesEqual } from './byte-view.js';

/** Staged bytes kept in memory at most (a BCD store or an NTFS record is kilobytes; this bounds a runaway caller). */
export const DEFAULT_STAGING_LIMIT = 256 * 1024 * 1024;

export interface StagedRange {
  offset: number;
  data: Uint8Array;
}

export interface StagingOptions {
  /** Most bytes staged at once; a write past it is refused. Default DEFAULT_STAGING_LIMIT. */
  limit?: number;
}

export class StagingDevice implements BlockDevice {
  readonly size: number;
  readonly sectorSize: number;
  /** Non-overlapping staged ranges, sorted by offset; adjacent writes are merged. */
  private ranges: StagedRange[] = [];
  private staged = 0;
  private readonly limit: number;

  constructor(
    private readonly base: BlockDevice,
    options: StagingOptions = {},
  ) {
    this.size = base.size;
    this.sectorSize = base.sectorSize;
    this.limit = options.limit ?? DEFAULT_STAGING_LIMIT;
  }

  /** Staged bytes (a snapshot, sorted by offset). */
  get pending(): readonly StagedRange[] {
    return this.ranges.map((r) => ({ offset: r.offset, data: r.data }));
  }

  get stagedBytes(): number {
    return this.staged;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange('staging device', this.size, offset, length);
    const end = offset + length;
    const touching = this.ranges.filter((r) => r.offset < end && r.offset + r.data.length > offset);
    if (touching.length === 0) return this.base.read(offset, length);
    const out = (await this.base.read(offset, length)).slice();
    for (const r of touching) {
      const from = Math.max(offset, r.offset);
      const to = Math.min(end, r.offset + r.data.length);
      out.set(r.data.subarray(from - r.offset, to - r.offset), from - offset);
    }
    return out;
  }

  /** Stages a write (never touches the base). Writes stay inside the device: a staged change cannot grow it. */
  write = async (offset: number, data: Uint8Array): Promise<void> => {
    checkRange('staging device', this.size, offset, data.length);
    if (data.length === 0) return;
    const end = offset + data.length;
    // Merge with every range that overlaps or touches [offset, end).
    const keep: StagedRange[] = [];
    let start = offset;
    let stop = end;
    const merged: StagedRange[] = [];
    for (const r of this.ranges) {
      const rEnd = r.offset + r.data.length;
      if (rEnd < offset || r.offset > end) keep.push(r);
      else {
        merged.push(r);
        start = Math.min(start, r.offset);
        stop = Math.max(stop, rEnd);
      }
    }
    const grown = this.staged - merged.reduce((n, r) => n + r.data.length, 0) + (stop - start);
    if (grown > this.limit) {
      throw new BootprobeError(
        'UNSAFE_WRITE',
        `staging ${data.length} bytes at ${hex(offset)} would hold ${grown} bytes in memory, over the ${this.limit}-byte limit`,
        { hint: 'the change is far larger than a repair should be; nothing was written' },
      );
    }
    const buf = new Uint8Array(stop - start);
    for (const r of merged) buf.set(r.data, r.offset - start);
    buf.set(data, offset - start);
    keep.push({ offset: start, data: buf });
    keep.sort((a, b) => a.offset - b.offset);
    this.ranges = keep;
    this.staged = grown;
  };

  /**
   * Writes every staged range to the base in offset order, flushes, reads each back through the base and compares.
   * The staged set is cleared only when all of it is on the base and verified.
   */
  async commit(): Promise<{ ranges: number; bytes: number }> {
    if (this.ranges.length === 0) return { ranges: 0, bytes: 0 };
    if (!this.base.write) {
      throw new BootprobeError(
        'READ_ONLY',
        'cannot commit staged writes: the underlying device is read-only',
        {
          hint: 'open the image writable',
        },
      );
    }
    for (const r of this.ranges) await this.base.write(r.offset, r.data);
    await this.base.flush?.();
    for (const r of this.ranges) {
      const back = await this.base.read(r.offset, r.data.length);
      if (!bytesEqual(back, r.data)) {
        throw new BootprobeError(
          'IO_ERROR',
          `committed ${r.data.length} bytes at ${hex(r.offset)} read back different`,
          {
            offset: r.offset,
            hint: 'the device did not keep what was written; restore from the undo record',
          },
        );
      }
    }
    const done = { ranges: this.ranges.length, bytes: this.staged };
    this.discard();
    return done;
  }

  /** Drops every staged write. */
  discard(): void {
    this.ranges = [];
    this.staged = 0;
  }

  async flush(): Promise<void> {}

  /** Closing discards what was not committed; the base belongs to its opener. */
  async close(): Promise<void> {
    this.discard();
  }
}
