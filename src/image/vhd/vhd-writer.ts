// Writes into a VHD: fixed in place; dynamic and differencing by block allocation (docs/vhd-vhdx.md §1.5
// "Allocating a block and writing into it").
//
// Allocation order (§1.5 steps 2-5), each step flushed before the next:
//   1. the (unchanged) footer is written at the new end E = P + bitmap + block, so the file ends with a footer;
//   2. zeros over the old footer and any alignment padding, the bitmap at P, the data after it;
//   3. BAT[b] = P / 512 in place: only now is the block visible.
// A crash before 3 leaves the new area unreferenced and the file still ending with a valid footer; after 3 the
// block is complete. The footer copy at offset 0 does not change when a block is added.
//
// Bitmaps: a new dynamic block gets every bit set (what qemu does, §1.5), which is right because every sector not
// written reads as zeros from the freshly extended file. A new differencing block gets bits only for the sectors
// written, so the rest still comes from the parent. In an allocated block, data is written and flushed before its
// bits are set (§1.5 step 7), so a bit is never 1 over data that is not there. The parent is never written.
import { BootprobeError, hex } from '../../errors.js';
import { bytesEqual, checkRange, requireWritable, type WritableDevice } from '../../io/index.js';
import { VHD_BAT_UNUSED } from './bat.js';
import { VHD_FOOTER_SIZE } from './footer.js';
import type { VhdImage } from './vhd-image.js';

const SECTOR = 512;
/** Sectors of one bitmap byte (§1.5: MSB-first, one bit per sector). */
const GROUP = 8 * SECTOR;
/** New blocks put their data on a 4 KiB boundary, as the corpus Windows file does (§1.5 [C]). */
const DATA_ALIGN = 4096;
/** A BAT entry is a sector number in a u32; 0xFFFFFFFF means unallocated (§1.5). */
const MAX_BAT_SECTOR = 0xfffffffe;

export class VhdWriter {
  private readonly file: WritableDevice;

  constructor(private readonly img: VhdImage) {
    this.file = requireWritable(img.file, 'VHD file');
  }

  /** Writes `data` at virtual offset `offset`. Callers serialize (open-writable.ts does). */
  async write(offset: number, data: Uint8Array): Promise<void> {
    const img = this.img;
    checkRange('VHD virtual disk', img.size, offset, data.length);
    if (data.length === 0) return;
    if (!img.header) {
      // §1.1 fixed: the data is the file up to the footer.
      await this.file.write(offset, data);
      return;
    }
    // Whole sectors: a sector whose bitmap bit is 0 must be written whole (its other bytes are zeros or the
    // parent's), so the edges are merged with what the disk reads there now. A differencing disk is written in
    // whole groups of 8 sectors, one bitmap byte each: libvhdi (20210425) reads a bitmap byte with any bit set as 8
    // sectors of the child, so a partly set byte would show it zeros where the parent's data belongs. Copying the
    // parent's sectors into the rest of the group keeps the spec's bit-level readers and libvhdi in agreement.
    const unit = img.differencing ? GROUP : SECTOR;
    const end = offset + data.length;
    const s0 = Math.floor(offset / unit) * unit;
    const s1 = Math.min(Math.ceil(end / unit) * unit, img.size);
    let buf = data;
    if (s0 !== offset || s1 !== end) {
      buf = new Uint8Array(s1 - s0);
      if (offset > s0) buf.set(await img.read(s0, offset - s0), 0);
      if (s1 > end) buf.set(await img.read(end, s1 - end), end - s0);
      buf.set(data, offset - s0);
    }
    const bs = img.blockSize;
    for (let pos = s0; pos < s1; ) {
      const b = Math.floor(pos / bs);
      const inBlock = pos - b * bs;
      const n = Math.min(bs - inBlock, s1 - pos);
      const piece = buf.subarray(pos - s0, pos - s0 + n);
      const at = await img.blockOffset(b);
      if (at === null) await this.allocate(b, inBlock, piece);
      else await this.writeIntoBlock(b, at, inBlock, piece);
      pos += n;
    }
  }

  /** Data first, flushed; then the bits of the sectors written, if any was clear (§1.5 step 7). */
  private async writeIntoBlock(b: number, at: number, inBlock: number, piece: Uint8Array): Promise<void> {
    const bm = this.img.bitmapSize;
    await this.file.write(at + bm + inBlock, piece);
    const first = inBlock / SECTOR;
    const last = (inBlock + piece.length) / SECTOR - 1;
    const byte0 = first >> 3;
    const byte1 = last >> 3;
    const cur = (await this.file.read(at + byte0, byte1 - byte0 + 1)).slice();
    const next = cur.slice();
    setBits(next, first - byte0 * 8, last - byte0 * 8);
    if (!bytesEqual(cur, next)) {
      await this.file.flush?.();
      await this.file.write(at + byte0, next);
      await this.file.flush?.();
      this.img.noteWrite(b);
    }
  }

  private async allocate(b: number, inBlock: number, piece: Uint8Array): Promise<void> {
    const img = this.img;
    const bat = img.bat!;
    const footerAt = img.dataAreaEnd;
    if (this.file.size !== footerAt + VHD_FOOTER_SIZE) {
      throw new BootprobeError(
        'UNSAFE_WRITE',
        `VHD file is ${this.file.size} bytes but its footer is at ${hex(footerAt)}: something else changed it`,
        { offset: footerAt, structure: 'vhd.footer', hint: 'close other programs using the image and retry' },
      );
    }
    const bm = img.bitmapSize;
    // P at or after the old footer, so that the data (P + bitmap) starts on a 4 KiB boundary (§1.5 step 2).
    const p = Math.ceil((footerAt + bm) / DATA_ALIGN) * DATA_ALIGN - bm;
    const end = p + bm + img.blockSize;
    if (p / SECTOR > MAX_BAT_SECTOR) {
      throw new BootprobeError('UNSAFE_WRITE', `VHD file is full: a block at ${hex(p)} cannot be addressed`, {
        kind: 'unsupported',
        hint: 'VHD BAT entries are 32-bit sector numbers; convert the image to VHDX',
      });
    }
    const footer = (await this.file.read(footerAt, VHD_FOOTER_SIZE)).slice();
    // 1. The unchanged footer at the new end: the file again ends with a valid footer.
    await this.file.write(end, footer);
    await this.file.flush?.();
    // 2. Zeros over the old footer and the padding, the bitmap, the data.
    if (p > footerAt) await this.file.write(footerAt, new Uint8Array(p - footerAt));
    const bitmap = new Uint8Array(bm);
    if (img.differencing) {
      setBits(bitmap, inBlock / SECTOR, (inBlock + piece.length) / SECTOR - 1);
    } else bitmap.fill(0xff);
    await this.file.write(p, bitmap);
    await this.file.write(p + bm + inBlock, piece);
    await this.file.flush?.();
    // 3. The BAT entry, big-endian, in place: the block becomes visible.
    const entry = new Uint8Array(4);
    new DataView(entry.buffer).setUint32(0, p / SECTOR);
    if ((await bat.entry(b)) !== VHD_BAT_UNUSED) {
      throw new BootprobeError('UNSAFE_WRITE', `VHD BAT entry ${b} changed while a block was being added`, {
        offset: bat.offset + 4 * b,
        hint: 'close other programs using the image and retry',
      });
    }
    await this.file.write(bat.offset + 4 * b, entry);
    await this.file.flush?.();
    img.noteWrite(b, end);
  }
}

/** Sets bits [first, last] of an MSB-first bitmap (bit 7 of byte 0 = sector 0, §1.5). */
function setBits(bm: Uint8Array, first: number, last: number): void {
  for (let s = first; s <= last; s++) bm[s >> 3]! |= 0x80 >> (s & 7);
}
