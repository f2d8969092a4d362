// $Bitmap (record 6): one bit per cluster, bit (lcn % 8) of byte (lcn / 8), 1 = in use; bits past the last cluster
// are 1 (docs/ntfs.md §8). Read in pages as the search needs them; a change of bits becomes patches of the bytes
// that hold them, mapped through $Bitmap's own runlist.
import { BootprobeError, hex } from '../../errors.js';
import type { BlockDevice } from '../../io/index.js';
import type { FsPatch } from '../file-system.js';
import { type Run, runPieces } from './runlist.js';

/** Bitmap bytes read per request: 64 KiB maps 512 Ki clusters (2 GiB of 4 KiB clusters). */
const PAGE = 65536;
/** A new allocation may take at most this many extents: more would not fit the runlist in one MFT record. */
export const MAX_NEW_EXTENTS = 64;

/** §2 well-known records: $Bitmap is record 6. */
export const BITMAP_RECORD = 6;

export interface ClusterExtent {
  lcn: number;
  length: number;
}

export class ClusterBitmap {
  private readonly pages = new Map<number, Uint8Array>();

  constructor(
    private readonly dev: BlockDevice,
    /** $Bitmap's $DATA runs and size. */
    private readonly runs: readonly Run[],
    private readonly byteSize: number,
    private readonly clusterSize: number,
    /** Clusters of the volume: lcn 0 .. clusterCount-1. */
    readonly clusterCount: number,
  ) {
    if (byteSize * 8 < clusterCount)
      throw new BootprobeError(
        'NTFS_ATTRIBUTE',
        `$Bitmap has ${byteSize} bytes, too few for the ${clusterCount} clusters of the volume`,
        { structure: 'ntfs.bitmap', hint: 'the volume is damaged; run chkdsk' },
      );
  }

  private async page(n: number): Promise<Uint8Array> {
    let p = this.pages.get(n);
    if (p) return p;
    const start = n * PAGE;
    const len = Math.min(PAGE, this.byteSize - start);
    p = new Uint8Array(len);
    let at = 0;
    for (const piece of runPieces(this.runs, start, len, this.clusterSize, '$Bitmap')) {
      p.set(await this.dev.read(piece.offset, piece.length), at);
      at += piece.length;
    }
    // Pages are kept: an allocation touches few, and a changed page must stay changed for the patches.
    this.pages.set(n, p);
    return p;
  }

  async inUse(lcn: number): Promise<boolean> {
    const byte = lcn >> 3;
    const p = await this.page(Math.floor(byte / PAGE));
    return (p[byte % PAGE]! & (1 << (lcn & 7))) !== 0;
  }

  /** Free extents in [from, to), in order, each cut at `to`; stops when `visit` returns true. */
  private async scan(from: number, to: number, visit: (e: ClusterExtent) => boolean): Promise<boolean> {
    let start = -1;
    let lcn = from;
    while (lcn < to) {
      const byte = lcn >> 3;
      const p = await this.page(Math.floor(byte / PAGE));
      const b = p[byte % PAGE]!;
      if ((lcn & 7) === 0 && (b === 0xff || b === 0) && lcn + 8 <= to) {
        // Whole byte used or free: step 8 clusters at once.
        if (b === 0 && start < 0) start = lcn;
        if (b === 0xff && start >= 0) {
          if (visit({ lcn: start, length: lcn - start })) return true;
          start = -1;
        }
        lcn += 8;
        continue;
      }
      const used = (b & (1 << (lcn & 7))) !== 0;
      if (!used && start < 0) start = lcn;
      if (used && start >= 0) {
        if (visit({ lcn: start, length: lcn - start })) return true;
        start = -1;
      }
      lcn++;
    }
    return start >= 0 ? visit({ lcn: start, length: to - start }) : false;
  }

  /**
   * Chooses `count` free clusters: one extent if any is long enough (searching from `goal`, then from 0), else the
   * first free extents from `goal` on, at most MAX_NEW_EXTENTS of them. FS_NO_SPACE when the volume has too few.
   * Nothing is marked: mark() does that.
   */
  async findFree(count: number, goal: number): Promise<ClusterExtent[]> {
    const g = Math.min(Math.max(0, goal), this.clusterCount);
    const hit: { e: ClusterExtent | null } = { e: null };
    const whole = (e: ClusterExtent) => {
      if (e.length >= count) hit.e = { lcn: e.lcn, length: count };
      return hit.e !== null;
    };
    await this.scan(g, this.clusterCount, whole);
    if (!hit.e) await this.scan(0, g, whole);
    if (hit.e) return [hit.e];
    const out: ClusterExtent[] = [];
    let need = count;
    let free = 0;
    const gather = (e: ClusterExtent) => {
      free += e.length;
      if (out.length < MAX_NEW_EXTENTS && need > 0) {
        const take = Math.min(need, e.length);
        out.push({ lcn: e.lcn, length: take });
        need -= take;
      }
      return false; // count all free space for the message
    };
    await this.scan(g, this.clusterCount, gather);
    await this.scan(0, g, gather);
    if (need > 0)
      throw new BootprobeError(
        'FS_NO_SPACE',
        free < count
          ? `the volume has ${free} free clusters, ${count} are needed`
          : `the ${free} free clusters are split into more than ${MAX_NEW_EXTENTS} pieces, too many for one runlist`,
        {
          kind: 'unsafe',
          structure: 'ntfs.bitmap',
          hint: 'free space on the volume (or defragment it) and try again',
        },
      );
    return out;
  }

  /**
   * Sets (`used`) or clears the bits of an extent and returns the patches of the bytes holding them. Every bit must
   * have the opposite value first: else $Bitmap disagrees with the runlists and nothing should be written.
   */
  async mark(e: ClusterExtent, used: boolean, what: string): Promise<FsPatch[]> {
    if (e.lcn < 0 || e.length <= 0 || e.lcn + e.length > this.clusterCount)
      throw new BootprobeError(
        'NTFS_RUNLIST',
        `clusters ${e.lcn}..${e.lcn + e.length - 1} lie outside the volume`,
        {
          structure: 'ntfs.bitmap',
        },
      );
    for (let c = e.lcn; c < e.lcn + e.length; c++) {
      const byte = c >> 3;
      const p = await this.page(Math.floor(byte / PAGE));
      const bit = 1 << (c & 7);
      if (((p[byte % PAGE]! & bit) !== 0) === used)
        throw new BootprobeError(
          'NTFS_ATTRIBUTE',
          `$Bitmap marks cluster ${c} ${used ? 'in use' : 'free'} already, while the file's runlist says otherwise`,
          {
            structure: 'ntfs.bitmap',
            hint: 'the volume is inconsistent; run chkdsk /f before writing to it',
          },
        );
      p[byte % PAGE] = used ? p[byte % PAGE]! | bit : p[byte % PAGE]! & ~bit;
    }
    const first = e.lcn >> 3;
    const last = (e.lcn + e.length - 1) >> 3;
    const bytes = new Uint8Array(last - first + 1);
    for (let b = first; b <= last; b++) bytes[b - first] = (await this.page(Math.floor(b / PAGE)))[b % PAGE]!;
    const out: FsPatch[] = [];
    let at = 0;
    for (const piece of runPieces(this.runs, first, bytes.length, this.clusterSize, '$Bitmap')) {
      out.push({
        offset: piece.offset,
        data: bytes.slice(at, at + piece.length),
        kind: 'metadata',
        what: `$Bitmap bytes ${hex(first + at)}.. (${what} clusters ${e.lcn}..${e.lcn + e.length - 1})`,
      });
      at += piece.length;
    }
    return out;
  }
}
