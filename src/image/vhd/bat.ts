// VHD block allocation table: u32 big-endian sector numbers of each block's bitmap, 0xFFFFFFFF = unallocated
// (docs/vhd-vhdx.md §1.5). Read in 4 KiB pages on demand so a large disk opens without reading its whole BAT.
import type { BlockDevice } from '../../io/index.js';

export const VHD_BAT_UNUSED = 0xffffffff;
const PAGE_BYTES = 4096;
const PAGES_KEPT = 256;

export class VhdBat {
  private readonly pages = new Map<number, Uint8Array>();

  constructor(
    private readonly dev: BlockDevice,
    readonly offset: number,
    readonly entries: number,
  ) {}

  /** Sector number of block `index`'s bitmap, or VHD_BAT_UNUSED. The caller bounds `index` by `entries`. */
  async entry(index: number): Promise<number> {
    const byte = index * 4;
    const page = Math.floor(byte / PAGE_BYTES);
    let data = this.pages.get(page);
    if (!data) {
      const start = this.offset + page * PAGE_BYTES;
      const len = Math.min(PAGE_BYTES, this.offset + this.entries * 4 - start);
      data = (await this.dev.read(start, len)).slice();
      if (this.pages.size >= PAGES_KEPT) this.pages.delete(this.pages.keys().next().value!);
      this.pages.set(page, data);
    }
    const at = byte - page * PAGE_BYTES;
    return ((data[at]! << 24) | (data[at + 1]! << 16) | (data[at + 2]! << 8) | data[at + 3]!) >>> 0;
  }

  /** Drops the cached page holding entry `index` (after the write layer changed it in the file). */
  forget(index: number): void {
    this.pages.delete(Math.floor((index * 4) / PAGE_BYTES));
  }

  /** Counts allocated entries (reads the whole BAT: for `info`, bounded by the file size checked at open). */
  async countAllocated(): Promise<number> {
    let n = 0;
    for (let i = 0; i < this.entries; i++) if ((await this.entry(i)) !== VHD_BAT_UNUSED) n++;
    return n;
  }
}
