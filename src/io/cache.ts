// A small LRU block cache in front of a device. Format readers ask for many small structures (a 512-byte footer,
// one 8-byte BAT entry, a 1 KiB MFT record): the cache turns them into few aligned reads of `blockSize` bytes and
// keeps the most recently used of them. A request that spans several missing blocks costs one read of exactly those
// blocks (coalesced), never one read per block. Reads larger than BYPASS_BYTES bypass it: streaming file data would
// only evict the metadata that is worth keeping, and the larger structures that are read again (NTFS index nodes,
// hive bins) are kept decoded by their own readers.
import { type BlockDevice, checkRange, inRange, readInto } from './block-device.js';

export interface CacheOptions {
  /**
   * Bytes per cached block; a power of two. Default: the device's sector size (512 or 4096), so a 512-byte header
   * costs 512 bytes and a 1 KiB MFT record 1 KiB, while a request over several blocks is still one read (issue 7:
   * reading \Boot\BCD close to its ~46 KB floor).
   */
  blockSize?: number;
  /** Bytes kept. Default 8 MiB: the sectors, BAT entries and MFT records of path walks and listings. */
  maxBytes?: number;
  /** Blocks kept (instead of maxBytes). */
  maxBlocks?: number;
}

/**
 * Requests larger than this go straight to the inner device. A 512-byte sector or a BAT entry is cached; a 1 KiB MFT
 * record or a 4 KiB index block is not: NTFS keeps the decoded records and nodes it reads again, and a recursive
 * listing reads each directory's record and index blocks once (issue 7: filing them as cached sectors cost `ls -R`
 * of 52,000 entries ~40 ms in all; the bytes pre-flight and `cat` read are unchanged to 8 bytes).
 */
const BYPASS_BYTES = 512;

export class CachedDevice implements BlockDevice {
  readonly sectorSize: number;
  readonly blockSize: number;
  /** Blocks per generation: half the budget. */
  private readonly half: number;
  /**
   * Least-recently-used by generations (issue 7: no per-hit reordering): a hit in `old` re-files the block in `young`;
   * when `young` holds half the budget it becomes `old` and the previous `old` is dropped. Every operation is O(1). An
   * ordered Map kept by delete + re-insert leaves tombstones that keys().next() walks past on every eviction, which
   * made large listings slower than the reads they saved.
   */
  private young = new Map<number, Uint8Array>();
  private old = new Map<number, Uint8Array>();
  write?: (offset: number, data: Uint8Array) => Promise<void>;
  /** The inner device returns a new buffer per read (FileDevice.freshReads): blocks are kept without a copy. */
  private readonly innerFresh: boolean;

  constructor(
    private readonly inner: BlockDevice,
    options: CacheOptions = {},
  ) {
    this.sectorSize = inner.sectorSize;
    this.blockSize = options.blockSize ?? Math.max(512, inner.sectorSize);
    const maxBlocks = options.maxBlocks ?? Math.floor((options.maxBytes ?? 8 * 1024 * 1024) / this.blockSize);
    this.half = Math.max(1, Math.floor(maxBlocks / 2));
    this.innerFresh = (inner as { freshReads?: boolean }).freshReads === true;
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

  read(offset: number, length: number): Promise<Uint8Array> {
    // A bypassing read hands back the inner device's promise as it is (not async: no promise of its own).
    if (length > BYPASS_BYTES && inRange(this.size, offset, length)) return this.inner.read(offset, length);
    return this.readCached(offset, length);
  }

  /** Into the caller's buffer: a read over a sector goes to the inner device as read() sends it (uncached). */
  readInto(offset: number, target: Uint8Array): Promise<void> {
    if (target.length > BYPASS_BYTES && inRange(this.size, offset, target.length))
      return readInto(this.inner, offset, target);
    return this.readCached(offset, target.length).then((b) => {
      target.set(b);
    });
  }

  private async readCached(offset: number, length: number): Promise<Uint8Array> {
    checkRange('cached device', this.size, offset, length);
    if (length === 0) return new Uint8Array(0);
    const bs = this.blockSize;
    const first = Math.floor(offset / bs);
    const last = Math.floor((offset + length - 1) / bs);
    if (first === last) {
      const block = this.get(first) ?? (await this.fill(first, first));
      const at = offset - first * bs;
      return block.subarray(at, at + length);
    }
    // Read every run of missing blocks with one request, then copy the pieces out.
    for (let b = first; b <= last; b++) {
      if (this.has(b)) continue;
      let end = b;
      while (end < last && !this.has(end + 1)) end++;
      await this.fill(b, end);
      b = end;
    }
    const out = new Uint8Array(length);
    for (let b = first; b <= last; b++) {
      // A block evicted by the fill of a later run (only with a cache smaller than one request) is read again.
      const block = this.get(b) ?? (await this.fill(b, b));
      const blockStart = b * bs;
      const from = Math.max(offset, blockStart);
      const to = Math.min(offset + length, blockStart + block.length);
      out.set(block.subarray(from - blockStart, to - blockStart), from - offset);
    }
    return out;
  }

  private has(index: number): boolean {
    return this.young.has(index) || this.old.has(index);
  }

  /** A cached block, marked recently used. */
  private get(index: number): Uint8Array | undefined {
    const y = this.young.get(index);
    if (y) return y;
    const o = this.old.get(index);
    if (o) this.put(index, o);
    return o;
  }

  private put(index: number, block: Uint8Array): void {
    if (this.young.size >= this.half) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(index, block);
  }

  /** Reads blocks [from, to] in one request and caches them; returns block `from`. */
  private async fill(from: number, to: number): Promise<Uint8Array> {
    const bs = this.blockSize;
    const start = from * bs;
    const len = Math.min((to + 1) * bs, this.size) - start;
    // The inner device may hand back a view it will reuse: keep a copy (new Uint8Array, not slice(), which is a view
    // on a Node Buffer), unless it promises fresh buffers.
    const got = await this.inner.read(start, len);
    const data = this.innerFresh ? got : new Uint8Array(got);
    for (let b = from; b <= to; b++) {
      const at = (b - from) * bs;
      this.put(b, data.subarray(at, Math.min(at + bs, len)));
    }
    return data.subarray(0, Math.min(bs, len));
  }

  /** Drops cached blocks overlapping a range (after a write through another path). */
  invalidate(offset: number, length: number): void {
    const first = Math.floor(offset / this.blockSize);
    const last = Math.floor((offset + Math.max(length, 1) - 1) / this.blockSize);
    for (let b = first; b <= last; b++) {
      this.young.delete(b);
      this.old.delete(b);
    }
  }

  async flush(): Promise<void> {
    await this.inner.flush?.();
  }

  async close(): Promise<void> {
    this.young.clear();
    this.old.clear();
    await this.inner.close();
  }
}
