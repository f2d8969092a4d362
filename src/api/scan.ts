// The `scan` table without the CLI (issue 10: "a folder of templates gives the scan table"): which files of a
// library are disk images, in the order `bootprobe scan DIR` visits them, and one row per image with the same
// columns and cause text (cli/commands/scan.ts).
import type { BootprobeError } from '../errors.js';
import type { PreflightReport } from '../windows/preflight.js';

/** File names scan treats as disk images (Hyper-V checkpoints included), as cli/commands/scan.ts does. */
export const IMAGE_NAME = /\.(vhdx?|avhdx?|raw|img)$/i;
/** The CLI's folder depth bound: a path with more folders than this is not visited. */
export const MAX_SCAN_DEPTH = 32;

export type ScanOutcome =
  | { image: string; report: PreflightReport }
  | { image: string; error: BootprobeError };

export interface ScanRow {
  image: string;
  verdict: 'PASS' | 'FAIL' | 'ERROR';
  boot: string;
  windows: string;
  generalized: string;
  cause: string;
}

const parts = (p: string) => p.split(/[\\/]+/).filter((s) => s !== '');

/**
 * The image paths among `paths` (relative to the chosen folder), in the order a depth-first walk with each folder's
 * entries sorted by name visits them: component by component, as `bootprobe scan` lists them.
 */
export function scanOrder(paths: readonly string[]): string[] {
  const keep = paths.filter((p) => {
    const c = parts(p);
    return c.length > 0 && c.length - 1 <= MAX_SCAN_DEPTH && IMAGE_NAME.test(c[c.length - 1]!);
  });
  return keep
    .map((p) => ({ p, c: parts(p) }))
    .sort((a, b) => {
      const n = Math.min(a.c.length, b.c.length);
      for (let i = 0; i < n; i++) {
        const x = a.c[i]!;
        const y = b.c[i]!;
        if (x !== y) return x < y ? -1 : 1;
      }
      return a.c.length - b.c.length;
    })
    .map((e) => e.p);
}

/** The first failing check's message, or the error: the cause column of the table. */
export function scanCause(o: ScanOutcome): string {
  if ('error' in o) return o.error.line;
  const fail = o.report.checks.find((c) => c.status === 'fail');
  if (fail) return `${fail.id}: ${fail.message}`;
  const warn = o.report.checks.find((c) => c.status === 'warn');
  return warn ? `(warn) ${warn.id}: ${warn.message}` : '';
}

export function scanRow(o: ScanOutcome): ScanRow {
  const r = 'report' in o ? o.report : null;
  return {
    image: o.image,
    verdict: r ? (r.verdict === 'pass' ? 'PASS' : 'FAIL') : 'ERROR',
    boot: r?.bootVolume ? `${r.bootVolume.partition}` : '-',
    windows: r?.windowsVolume ? `${r.windowsVolume.partition}` : '-',
    generalized: r ? (r.generalized === null ? '-' : r.generalized ? 'yes' : 'no') : '-',
    cause: scanCause(o),
  };
}

/** `N images: P pass, F fail, U unreadable`, the CLI's closing line. */
export function scanSummary(rows: readonly ScanRow[]): string {
  const pass = rows.filter((r) => r.verdict === 'PASS').length;
  const errors = rows.filter((r) => r.verdict === 'ERROR').length;
  return `${rows.length} images: ${pass} pass, ${rows.length - pass - errors} fail, ${errors} unreadable`;
}
