// CHS geometry of a VHD (docs/vhd-vhdx.md §1.3): what the spec's algorithm gives for a size, and the size a
// geometry describes. qemu sizes `vpc `/`qemu`-made disks by CHS; we expose the footer's current size and report
// the CHS size beside it when they differ.

export interface Chs {
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
}

/** The VHD specification's geometry for a disk of `size` bytes (spec appendix; §1.3). */
export function chsForSize(size: number): Chs {
  const total = Math.min(Math.floor(size / 512), 65535 * 16 * 255);
  let spt: number;
  let heads: number;
  let cth: number;
  if (total >= 65535 * 16 * 63) {
    spt = 255;
    heads = 16;
    cth = Math.floor(total / spt);
  } else {
    spt = 17;
    cth = Math.floor(total / spt);
    heads = Math.max(Math.floor((cth + 1023) / 1024), 4);
    if (cth >= heads * 1024 || heads > 16) {
      spt = 31;
      heads = 16;
      cth = Math.floor(total / spt);
    }
    if (cth >= heads * 1024) {
      spt = 63;
      heads = 16;
      cth = Math.floor(total / spt);
    }
  }
  return { cylinders: Math.floor(cth / heads), heads, sectorsPerTrack: spt };
}

export function chsSize(g: Chs): number {
  return g.cylinders * g.heads * g.sectorsPerTrack * 512;
}
