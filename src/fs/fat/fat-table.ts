// The file allocation table: entry decoding, cluster chains as runs, and the comparison of the FAT copies.
// Layout: fatgen103 "FAT Data Structure" (12-bit entries packed 3 bytes per 2 clusters, 16-bit, and 28-bit entries
// in 32-bit slots whose high 4 bits are reserved), end-of-chain >= 0xFF8/0xFFF8/0x0FFFFFF8, bad = 0xFF7/0xFFF7/
// 0x0FFFFFF7, free = 0.
import { BootprobeError, type Finding, hex } from '../../errors.js';
import { type BlockDevice, bytesEqual } from '../../io/index.js';
import type { FatBpb, FatType } from './bpb.js';

/** What a FAT entry says about the cluster that follows. */
export type FatEntryKind = 'free' | 'reserved' | 'next' | 'bad' | 'end';

/** A run of contiguous clusters in a chain. */
export interface ClusterRun {
  cluster: number;
  count: number;
}

/** FAT pages are read and cached in this size (a multiple of every sector size). */
const PAGE = 4096;
/** At most this many FAT pages stay cached (1 MiB). */
const MAX_PAGES = 256;
/** FAT copies are compared up to this many bytes each: a 2 TB FAT32 volume has a 1 GB FAT. */
export const MAX_FAT_COMPARE = 16 * 1024 * 1024;
const COMPARE_CHUNK = 256 * 1024;

const BAD: Record<FatType, number> = { fat12: 0xff7, fat16: 0xfff7, fat32: 0x0ffffff7 };

/** Byte offset of cluster `c`'s entry inside the FAT. */
export function fatEntryOffset(type: FatType, c: number): number {
  return type === 'fat32' ? c * 4 : type === 'fat16' ? c * 2 : Math.floor((c * 3) / 2);
}

/** Bytes to read at fatEntryOffset for one entry (FAT12 entries straddle two bytes). */
export function fatEntryLength(type: FatType): number {
  return type === 'fat32' ? 4 : 2;
}

/** The value of cluster `c`'s entry from the fatEntryLength bytes at fatEntryOffset. */
export function decodeFatEntry(type: FatType, c: number, b: Uint8Array): number {
  if (type === 'fat32') return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) & 0x0fffffff;
  const w = b[0]! | (b[1]! << 8);
  if (type === 'fat16') return w;
  // FAT12: an even cluster takes the low 12 bits, an odd one the high 12 bits of the little-endian word.
  return c & 1 ? w >> 4 : w & 0x0fff;
}

/**
 * Stores `value` as cluster `c`'s entry into the fatEntryLength bytes `b` (read from fatEntryOffset), in place: the
 * inverse of decodeFatEntry. FAT12 keeps the neighbour's nibble; FAT32 keeps the reserved high 4 bits (fatgen103:
 * "the high 4 bits of a FAT32 FAT entry are reserved... must be preserved when writing").
 */
export function encodeFatEntry(type: FatType, c: number, b: Uint8Array, value: number): void {
  if (type === 'fat32') {
    const hi = b[3]! & 0xf0;
    b[0] = value & 0xff;
    b[1] = (value >>> 8) & 0xff;
    b[2] = (value >>> 16) & 0xff;
    b[3] = hi | ((value >>> 24) & 0x0f);
    return;
  }
  if (type === 'fat16') {
    b[0] = value & 0xff;
    b[1] = (value >>> 8) & 0xff;
    return;
  }
  const w = b[0]! | (b[1]! << 8);
  const next = c & 1 ? (w & 0x000f) | ((value & 0xfff) << 4) : (w & 0xf000) | (value & 0xfff);
  b[0] = next & 0xff;
  b[1] = next >> 8;
}

/** The end-of-chain marker written (fatgen103: any value ≥ 0x..FF8 ends a chain; Windows and mtools write all ones). */
export const END_OF_CHAIN: Record<FatType, number> = { fat12: 0xfff, fat16: 0xffff, fat32: 0x0fffffff };

/** Classifies an entry value for a volume with `clusterCount` data clusters. */
export function classifyFatEntry(type: FatType, value: number, clusterCount: number): FatEntryKind {
  const bad = BAD[type];
  if (value === 0) return 'free';
  if (value > bad) return 'end';
  if (value === bad) return 'bad';
  if (value >= 2 && value <= clusterCount + 1) return 'next';
  return 'reserved'; // 1, or a cluster number past the last cluster, or the reserved 0x..FF0-0x..FF6 range
}

/** One FAT copy, read lazily in cached pages. */
export class FatTable {
  private readonly pages = new Map<number, Uint8Array>();
  /** Absolute byte offset of this copy in the volume. */
  readonly base: number;

  constructor(
    private readonly dev: BlockDevice,
    readonly bpb: FatBpb,
    readonly copy = bpb.activeFat,
  ) {
    this.base = bpb.fatOffset + copy * bpb.fatBytes;
  }

  /** Forgets the cached pages (after the FAT was written). */
  clear(): void {
    this.pages.clear();
  }

  /** Absolute byte offset of cluster `c`'s entry in this copy. */
  entryAt(c: number): number {
    return this.base + fatEntryOffset(this.bpb.type, c);
  }

  private async page(n: number): Promise<Uint8Array> {
    let p = this.pages.get(n);
    if (p) return p;
    const start = n * PAGE;
    // The BPB check guarantees the whole FAT lies inside the volume.
    const len = Math.min(PAGE, this.bpb.fatBytes - start);
    p = (await this.dev.read(this.base + start, len)).slice();
    if (this.pages.size >= MAX_PAGES) this.pages.delete(this.pages.keys().next().value as number);
    this.pages.set(n, p);
    return p;
  }

  /** The entry of data cluster `c` (2 .. clusterCount + 1). */
  async entry(c: number): Promise<number> {
    const type = this.bpb.type;
    const off = fatEntryOffset(type, c);
    const len = fatEntryLength(type);
    const b = new Uint8Array(len);
    for (let i = 0; i < len; i++) {
      const p = await this.page(Math.floor((off + i) / PAGE));
      b[i] = p[(off + i) % PAGE]!;
    }
    return decodeFatEntry(type, c, b);
  }

  private inRange(c: number): boolean {
    return c >= 2 && c <= this.bpb.clusterCount + 1;
  }

  private fail(msg: string, offset: number, hint = 'the FAT is damaged; run chkdsk'): BootprobeError {
    return new BootprobeError('FAT_CHAIN', msg, { offset, structure: 'fat.chain', hint });
  }

  /**
   * Follows the chain from `start` for at most `maxClusters` clusters, as runs of contiguous clusters.
   * `more` says the chain goes on past that bound. A free, bad or reserved entry inside the chain, a cluster
   * number out of range, or a cluster met twice (a loop) is FAT_CHAIN. `origin` is where `start` was read from
   * (the directory entry) for the error offset.
   */
  async chain(
    start: number,
    maxClusters: number,
    where: string,
    origin?: number,
  ): Promise<{ runs: ClusterRun[]; clusters: number; more: boolean }> {
    const type = this.bpb.type;
    if (!this.inRange(start))
      throw this.fail(
        `${where}: first cluster ${start} is outside 2..${this.bpb.clusterCount + 1}`,
        origin ?? this.base,
        'the directory entry is damaged; run chkdsk',
      );
    const runs: ClusterRun[] = [];
    let c = start;
    let clusters = 0;
    let more = false;
    // A chain cannot hold more clusters than the volume has: reaching that many means a loop (found below).
    const bound = Math.max(1, Math.min(maxClusters, this.bpb.clusterCount));
    for (;;) {
      const last = runs[runs.length - 1];
      if (last && last.cluster + last.count === c) last.count++;
      else runs.push({ cluster: c, count: 1 });
      clusters++;
      const value = await this.entry(c);
      const kind = classifyFatEntry(type, value, this.bpb.clusterCount);
      if (kind === 'end') break;
      if (kind !== 'next') {
        const what =
          kind === 'free'
            ? 'a free cluster'
            : kind === 'bad'
              ? 'the bad-cluster marker'
              : `${hex(value)}, which is no cluster of this volume`;
        throw this.fail(
          `${where}: the FAT entry of cluster ${c} (in the chain from cluster ${start}) is ${what}`,
          this.entryAt(c),
          kind === 'bad' ? 'the chain runs into a cluster marked bad; run chkdsk' : undefined,
        );
      }
      // Bounded walk: the caller's bound is below the cluster count, so a loop cannot run forever here;
      // loops inside the bound are found below.
      if (clusters >= bound) {
        more = true;
        break;
      }
      c = value;
    }
    const again = firstOverlap(runs);
    if (again !== null)
      throw this.fail(
        `${where}: cluster chain longer than ${clusters} clusters (a loop): cluster ${again} comes back in it`,
        this.entryAt(again),
      );
    return { runs, clusters, more };
  }
}

/** A cluster that lies in two runs, or null. Sorting the runs finds it in O(r log r) without a visited set. */
export function firstOverlap(runs: readonly ClusterRun[]): number | null {
  const s = [...runs].sort((a, b) => a.cluster - b.cluster);
  for (let i = 1; i < s.length; i++) {
    const prev = s[i - 1]!;
    if (s[i]!.cluster < prev.cluster + prev.count) return s[i]!.cluster;
  }
  return null;
}

/**
 * Compares every FAT copy with the active one (up to MAX_FAT_COMPARE bytes each). A difference is a
 * FAT_COPIES_DIFFER finding naming the first differing byte; the active copy is the one read.
 */
export async function compareFatCopies(dev: BlockDevice, bpb: FatBpb): Promise<Finding[]> {
  // fatgen103 BPB_ExtFlags: with mirroring disabled only the active FAT is maintained; the others may differ.
  if (bpb.fatCount < 2 || bpb.mirroringDisabled) return [];
  const size = Math.min(bpb.fatBytes, MAX_FAT_COMPARE);
  const activeBase = bpb.fatOffset + bpb.activeFat * bpb.fatBytes;
  const out: Finding[] = [];
  const differs = new Set<number>();
  for (let at = 0; at < size; at += COMPARE_CHUNK) {
    const n = Math.min(COMPARE_CHUNK, size - at);
    const first = (await dev.read(activeBase + at, n)).slice();
    for (let k = 0; k < bpb.fatCount; k++) {
      if (k === bpb.activeFat || differs.has(k)) continue;
      const otherBase = bpb.fatOffset + k * bpb.fatBytes;
      const other = await dev.read(otherBase + at, n);
      if (bytesEqual(first, other)) continue;
      let i = 0;
      while (first[i] === other[i]) i++;
      differs.add(k);
      const byte = at + i;
      const cluster =
        bpb.type === 'fat32' ? byte >> 2 : bpb.type === 'fat16' ? byte >> 1 : Math.floor((byte * 2) / 3);
      out.push({
        code: 'FAT_COPIES_DIFFER',
        message: `FAT copy ${k + 1} differs from copy ${bpb.activeFat + 1} first at byte ${hex(byte)} of the FAT (cluster ${cluster}'s entry); copy ${bpb.activeFat + 1} is read`,
        offset: otherBase + byte,
      });
    }
  }
  return out;
}
