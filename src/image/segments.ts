// A read of a block-mapped virtual disk, split into where each piece comes from: this file, the parent, or zeros.
// VHD and VHDX readers build the segments their own way (BAT, bitmaps, block states) and share how they are read
// and how they become extents.
import { type BlockDevice, readInto } from '../io/index.js';
import { type DiskImage, type Extent, pushExtent } from './disk-image.js';

export interface Segment {
  kind: 'file' | 'parent' | 'zero';
  /** File offset ('file') or virtual-disk offset in the parent ('parent'); unused for 'zero'. */
  at: number;
  n: number;
  /** Offset in the requested range. */
  outAt: number;
}

/** Appends a segment, merging it into the previous one when both are contiguous (so contiguous data is one read). */
export function pushSegment(segs: Segment[], s: Segment): void {
  const last = segs[segs.length - 1];
  if (
    last &&
    last.kind === s.kind &&
    last.outAt + last.n === s.outAt &&
    (s.kind === 'zero' || last.at + last.n === s.at)
  ) {
    last.n += s.n;
  } else segs.push(s);
}

/** Reads the bytes the segments describe. A parent smaller than the child reads as zeros past its end. */
export async function readSegments(
  file: BlockDevice,
  parent: DiskImage | null,
  segs: Segment[],
  length: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  await readSegmentsInto(file, parent, segs, out);
  return out;
}

/** readSegments into the caller's buffer (`target.length` is the segments' total length). */
export async function readSegmentsInto(
  file: BlockDevice,
  parent: DiskImage | null,
  segs: Segment[],
  target: Uint8Array,
): Promise<void> {
  for (const s of segs) {
    const part = target.subarray(s.outAt, s.outAt + s.n);
    if (s.kind === 'file') await readInto(file, s.at, part);
    else if (s.kind === 'parent' && parent) {
      const n = Math.max(0, Math.min(s.n, parent.size - s.at));
      if (n > 0) await readInto(parent, s.at, part.subarray(0, n));
      part.fill(0, n);
    } else part.fill(0);
  }
}

/** The extents of a range starting at `offset`: file data, zeros, and the parent's own extents where it shows through. */
export async function segmentsToExtents(
  parent: DiskImage | null,
  offset: number,
  segs: Segment[],
): Promise<Extent[]> {
  const out: Extent[] = [];
  for (const s of segs) {
    const v = offset + s.outAt;
    if (s.kind === 'file') pushExtent(out, v, s.n, 'data');
    else if (s.kind === 'zero' || !parent) pushExtent(out, v, s.n, 'zero');
    else {
      const n = Math.max(0, Math.min(s.n, parent.size - s.at));
      if (n > 0) for (const x of await parent.mapRange(s.at, n)) pushExtent(out, x.offset, x.length, x.kind);
      pushExtent(out, v + n, s.n - n, 'zero');
    }
  }
  return out;
}
