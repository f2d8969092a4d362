// Runlists (mapping pairs). Procedure: docs/ntfs.md §3.1.
import { BootprobeError, hex } from '../../errors.js';

export interface Run {
  vcn: number;
  length: number;
  /** null = sparse (reads as zeros). */
  lcn: number | null;
}

/** Decodes one extent's runlist starting at `lowestVcn`; every LCN range must lie inside `clusterCount`. */
export function decodeRunlist(b: Uint8Array, lowestVcn: number, clusterCount: number, where: number): Run[] {
  const runs: Run[] = [];
  let vcn = lowestVcn;
  let lcn = 0;
  let at = 0;
  const fail = (msg: string) =>
    new BootprobeError('NTFS_RUNLIST', `runlist at ${hex(where)}: ${msg}`, {
      offset: where + at,
      structure: 'ntfs.runlist',
      hint: 'the MFT record is damaged',
    });
  while (at < b.length) {
    const h = b[at]!;
    if (h === 0) return runs;
    const L = h & 0x0f;
    const O = h >> 4;
    if (L === 0 || L > 8 || O > 8 || at + 1 + L + O > b.length)
      throw fail(`bad header byte 0x${h.toString(16)}`);
    let len = 0;
    for (let i = L - 1; i >= 0; i--) len = len * 256 + b[at + 1 + i]!;
    if (len <= 0 || len >= 2 ** 52 || (b[at + L]! & 0x80) !== 0)
      throw fail(`run length ${len} is not positive`);
    let run: Run;
    if (O === 0) run = { vcn, length: len, lcn: null };
    else {
      let delta = 0;
      for (let i = O - 1; i >= 0; i--) delta = delta * 256 + b[at + 1 + L + i]!;
      if ((b[at + L + O]! & 0x80) !== 0) delta -= 2 ** (8 * O);
      lcn += delta;
      if (lcn < 0 || lcn + len > clusterCount)
        throw fail(`clusters ${lcn}..${lcn + len - 1} lie outside the ${clusterCount}-cluster volume`);
      run = { vcn, length: len, lcn };
    }
    runs.push(run);
    vcn += len;
    at += 1 + L + O;
  }
  throw fail('no terminating zero byte');
}
