// Runlists (mapping pairs) of non-resident attributes. Procedure: docs/ntfs.md §3.1 (ntfs-3g runlist.c).
import { BootprobeError, hex } from '../../errors.js';

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
      hint: 'the MFT record is damaged; run chkdsk on the volume',
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
