// Runlists (mapping pairs) of non-resident attributes. Procedure: docs/ntfs.md §3.1 (ntfs-3g runlist.c).
import { BootprobeError, hex } from '../../errors.js';
import { RECORD_DAMAGED } from './hints.js';

export interface Run {
  /** First virtual cluster of the run inside the attribute. */
  readonly vcn: number;
  /** Clusters in the run (> 0). */
  readonly length: number;
  /** First logical cluster on the volume; null = sparse (reads as zeros, no clusters). */
  readonly lcn: number | null;
}

/**
 * Decodes one attribute extent's runlist bytes (§3.1). The LCN restarts at 0 for every extent; every run must lie
 * inside `clusterCount` clusters and every sum stay a safe integer. When `highestVcn` is given (≥ 0), the runs must
 * end exactly there (step 7). `where` is the absolute volume offset of the runlist, for messages.
 */
export function decodeRunlist(
  b: Uint8Array,
  lowestVcn: number,
  clusterCount: number,
  where: number,
  highestVcn?: number,
): Run[] {
  const runs: Run[] = [];
  let vcn = lowestVcn;
  let lcn = 0;
  let at = 0;
  const fail = (msg: string) =>
    new BootprobeError('NTFS_RUNLIST', `runlist at ${hex(where)}: ${msg}`, {
      offset: where + at,
      structure: 'ntfs.runlist',
      hint: RECORD_DAMAGED,
    });
  // Each run takes at least 2 bytes, so the loop is bounded by the runlist length.
  while (at < b.length) {
    const h = b[at]!;
    if (h === 0) {
      if (highestVcn !== undefined && highestVcn >= -1 && vcn - 1 !== highestVcn)
        throw fail(`runs end at VCN ${vcn - 1}, the attribute says ${highestVcn}`);
      return runs;
    }
    const L = h & 0x0f;
    const O = h >> 4;
    if (L === 0 || L > 8 || O > 8 || at + 1 + L + O > b.length)
      throw fail(`bad header byte ${hex(h)} at +${at}`);
    // Little-endian length; a set top bit would be negative (ntfs-3g reads it signed and rejects it).
    if ((b[at + L]! & 0x80) !== 0) throw fail(`negative run length at +${at}`);
    let len = 0;
    for (let i = L - 1; i >= 0; i--) len = len * 256 + b[at + 1 + i]!;
    if (len <= 0 || !Number.isSafeInteger(len) || !Number.isSafeInteger(vcn + len))
      throw fail(`run length ${len} at +${at} is not a positive safe integer`);
    if (O === 0) {
      runs.push({ vcn, length: len, lcn: null });
    } else {
      let delta = 0;
      for (let i = O - 1; i >= 0; i--) delta = delta * 256 + b[at + 1 + L + i]!;
      if ((b[at + L + O]! & 0x80) !== 0) delta -= 2 ** (8 * O);
      lcn += delta;
      if (!Number.isSafeInteger(lcn) || lcn < 0 || lcn + len > clusterCount)
        throw fail(`clusters ${lcn}..${lcn + len - 1} lie outside the ${clusterCount}-cluster volume`);
      runs.push({ vcn, length: len, lcn });
    }
    vcn += len;
    at += 1 + L + O;
  }
  throw fail('no terminating zero byte before the end of the attribute');
}

/** Bytes a two's-complement little-endian field needs for `v` (1..8), so that decoding sign-extends it back (§3.1). */
function signedWidth(v: bigint): number {
  for (let n = 1; n <= 8; n++) {
    const half = 1n << BigInt(8 * n - 1);
    if (v >= -half && v < half) return n;
  }
  return 9;
}

/**
 * Encodes runs (sorted by VCN, contiguous from the first) as mapping pairs (§3.1), terminated by a zero byte: the
 * inverse of decodeRunlist. Lengths take the fewest bytes that keep the top bit clear (ntfs-3g reads them signed);
 * LCNs are deltas from the previous run that had one; a sparse run has no offset field; a delta of 0 still takes one
 * byte (an empty field would mean sparse).
 */
export function encodeRunlist(runs: readonly Run[]): Uint8Array {
  const out: number[] = [];
  let prev = 0n;
  for (const r of runs) {
    const len = BigInt(r.length);
    const L = signedWidth(len);
    if (r.length <= 0 || L > 8)
      throw new BootprobeError('NTFS_RUNLIST', `run length ${r.length} cannot be encoded`);
    let O = 0;
    let delta = 0n;
    if (r.lcn !== null) {
      delta = BigInt(r.lcn) - prev;
      prev = BigInt(r.lcn);
      O = signedWidth(delta);
    }
    out.push(L | (O << 4));
    for (let i = 0; i < L; i++) out.push(Number((len >> BigInt(8 * i)) & 0xffn));
    for (let i = 0; i < O; i++) out.push(Number((BigInt.asUintN(64, delta) >> BigInt(8 * i)) & 0xffn));
  }
  out.push(0);
  return Uint8Array.from(out);
}

/** Merges runs that follow each other on disk as well as in the file, so reads across them are one request. */
export function coalesceRuns(runs: readonly Run[]): Run[] {
  const out: Run[] = [];
  for (const r of runs) {
    const p = out[out.length - 1];
    if (
      p &&
      p.vcn + p.length === r.vcn &&
      ((p.lcn === null && r.lcn === null) || (p.lcn !== null && r.lcn !== null && p.lcn + p.length === r.lcn))
    ) {
      out[out.length - 1] = { vcn: p.vcn, lcn: p.lcn, length: p.length + r.length };
    } else out.push(r);
  }
  return out;
}

/** Index of the run holding `vcn` (binary search; runs sorted by VCN), or the insertion point. */
export function findRun(runs: readonly Run[], vcn: number): number {
  let lo = 0;
  let hi = runs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = runs[mid]!;
    if (vcn < r.vcn) hi = mid - 1;
    else if (vcn >= r.vcn + r.length) lo = mid + 1;
    else return mid;
  }
  return lo;
}

/** A byte range on the volume. */
export interface DevicePiece {
  /** Absolute volume offset. */
  offset: number;
  length: number;
}

/**
 * The volume ranges holding bytes [offset, offset+length) of an attribute mapped by `runs`, in order (a record or an
 * index block may straddle two runs). NTFS_RUNLIST when a byte is unmapped or sparse: a writer cannot place it.
 */
export function runPieces(
  runs: readonly Run[],
  offset: number,
  length: number,
  clusterSize: number,
  where: string,
): DevicePiece[] {
  const out: DevicePiece[] = [];
  let pos = offset;
  const end = offset + length;
  let i = findRun(runs, Math.floor(pos / clusterSize));
  while (pos < end) {
    const vcn = Math.floor(pos / clusterSize);
    while (i < runs.length && runs[i]!.vcn + runs[i]!.length <= vcn) i++;
    const r = runs[i];
    if (!r || r.vcn > vcn || r.lcn === null)
      throw new BootprobeError('NTFS_RUNLIST', `${where}: byte ${pos} (VCN ${vcn}) has no clusters`, {
        structure: 'ntfs.runlist',
        hint: RECORD_DAMAGED,
      });
    const n = Math.min(end, (r.vcn + r.length) * clusterSize) - pos;
    const at = r.lcn * clusterSize + (pos - r.vcn * clusterSize);
    const last = out[out.length - 1];
    if (last && last.offset + last.length === at) last.length += n;
    else out.push({ offset: at, length: n });
    pos += n;
  }
  return out;
}
