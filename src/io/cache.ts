// A small LRU block cache in front of a device. Format readers ask for many small structures (a 512-byte footer,
// one 8-byte BAT entry, a 1 KiB MFT record): the cache turns them into few aligned reads of `blockSize` bytes and
// keeps the most recent `maxBlocks` of them. Reads larger than a few blocks bypass it (streaming file data would
// only evict the metadata that is worth keeping).
import { type BlockDevice, checkRange } from './block-device.js';

export interface CacheOptions {
  /** Bytes per cached block; a power of two. Default 16 KiB: an MFT record or index block costs 16 KiB, not more. */
  blockSize?: number;
  /** Blocks kept. Default 256 (4 MiB with the default block size). */
  maxBlocks?: number;
}

export class CachedDevice implements BlockDevice {
  readonly sectorSize: number;
  readonly blockSize: number;
  private readonly maxBlocks: number;
  private readonly blocks = new Map<number, Uint8Array>();
  write?: (offset: number, data: Uint8Array) => Promise<void>;

  constructor(
    private readonly inner: BlockDevice,
    options: CacheOptions = {},
  ) {
    this.sectorSize = inner.sectorSize;
    this.blockSize = options.blockSize ?? 16384;
    this.maxBlocks = options.maxBlocks ?? 256;
    const iw = inner.write?.bind(inner);
    if (iw) {
      this.write = async (offset, data) => {
        // A write past the end grows the device: the cached last block is short, so drop it too.
        const size = this.inner.size;
        if (offset + data.length > size && size > 0) this.invalidate(size - 1, 1);
        this.invalidate(offset, data.length);
        await iw(offset, data);
      };
    }
  }

  /** The inner device's size: it follows a file that a writer grows. */
  get size(): number {
    return this.inner.size;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange('cached device', this.size, offset, length);
    if (length === 0) return new Uint8Array(0);
    const bs = this.blockSize;
    const first = Math.floor(offset / bs);
    const last = Math.floor((offset + length - 1) / bs);
    if (last - first >= 8) return this.inner.read(offset, length);
    if (first === last) {
      const block = await this.block(first);
      const at = offset - first * bs;
      return block.subarray(at, at + length);
    }
    const out = new Uint8Array(length);
    for (let b = first; b <= last; b++) {
      const block = await this.block(b);
      const blockStart = b * bs;
      const from = Math.max(offset, blockStart);
      const to = Math.min(offset + length, blockStart + block.length);
      out.set(block.subarray(from - blockStart, to - blockStart), from - offset);
    }
    return out;
  }

  private async block(index: number): Promise<Uint8Array> {
    const hit = this.blocks.get(index);
    if (hit) {
      // Map iteration order is insertion order: re-insert to mark as most recently used.
      this.blocks.delete(index);
      this.blocks.set(index, hit);
      return hit;
    }
    const start = index * this.blockSize;
    const len = Math.min(this.blockSize, this.size - start);
    // Copy: the inner device may hand back a view it will reuse.
    const data = (await this.inner.read(start, len)).slice();
    this.blocks.set(index, data);
    if (this.blocks.size > this.maxBlocks) {
      const oldest = this.blocks.keys().next().value;
      if (oldest !== undefined) this.blocks.delete(oldest);
    }
    return data;
  }

  /** Drops cached blocks overlapping a range (after a write through another path). */
  invalidate(offset: number, length: number): void {
    const first = Math.floor(offset / this.blockSize);
    const last = Math.floor((offset + Math.max(length, 1) - 1) / this.blockSize);
    for (let b = first; b <= last; b++) this.blocks.delete(b);
  }

  async flush(): Promise<void> {
    await this.inner.flush?.();
  }

  async close(): Promise<void> {
    this.blocks.clear();
    await this.inner.close();
  }
}
