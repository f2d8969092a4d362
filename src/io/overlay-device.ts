// A read-only view of a device with patches laid over it, for replaying a log in memory without touching the file
// (vhd-vhdx.md §2.6 "Replaying", read-only open). Patches apply in order; the view may be larger than the base
// (a log may extend the file), and bytes past the base read as zeros.
import { type BlockDevice, checkRange } from './block-device.js';

interface Patch {
  offset: number;
  length: number;
  /** null = zeros. */
  data: Uint8Array | null;
}

export class OverlayDevice implements BlockDevice {
  readonly sectorSize: number;
  private readonly patches: Patch[] = [];
  private extent: number;

  constructor(private readonly base: BlockDevice) {
    this.sectorSize = base.sectorSize;
    this.extent = base.size;
  }

  get size(): number {
    return this.extent;
  }

  get patchCount(): number {
    return this.patches.length;
  }

  writePatch(offset: number, data: Uint8Array): void {
    this.patches.push({ offset, length: data.length, data: data.slice() });
    this.extent = Math.max(this.extent, offset + data.length);
  }

  zeroPatch(offset: number, length: number): void {
    this.patches.push({ offset, length, data: null });
    this.extent = Math.max(this.extent, offset + length);
  }

  extendTo(size: number): void {
    this.extent = Math.max(this.extent, size);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange('overlay', this.extent, offset, length);
    // Nearly always: nothing was replayed, and every read goes straight through (no per-read array).
    if (this.patches.length === 0 && offset + length <= this.base.size) return this.base.read(offset, length);
    const end = offset + length;
    const touching = this.patches.filter((p) => p.offset < end && p.offset + p.length > offset);
    const inBase = Math.max(0, Math.min(end, this.base.size) - offset);
    if (touching.length === 0 && inBase === length) return this.base.read(offset, length);
    const out = new Uint8Array(length);
    if (inBase > 0) out.set(await this.base.read(offset, inBase));
    for (const p of touching) {
      const from = Math.max(offset, p.offset);
      const to = Math.min(end, p.offset + p.length);
      if (p.data) out.set(p.data.subarray(from - p.offset, to - p.offset), from - offset);
      else out.fill(0, from - offset, to - offset);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.base.close();
  }
}
