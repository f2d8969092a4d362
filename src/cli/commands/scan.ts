// `bootprobe scan DIR [--jobs N] [--json]` (issue 5): pre-flight every disk image under DIR (a template library,
// a UNC share), a table and a summary. One unreadable image is a row of the table, never the end of the scan.
import { type Dirent, promises as fsp } from 'node:fs';
import path from 'node:path';
import { scanCause as cause, IMAGE_NAME } from '../../api/scan.js';
import { BootprobeError } from '../../errors.js';
import { CliContext } from '../context.js';
import { outcomeJson, type PreflightCliOptions, type PreflightOutcome, preflightImage } from './preflight.js';

export interface ScanOptions extends PreflightCliOptions {
  jobs?: string;
}

/** A library is a few levels deep; the bound stops a pathological tree. Symlinked folders are not followed. */
const MAX_DEPTH = 32;

export async function findImages(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, depth: number) => {
    let entries: Dirent[];
    try {
      entries = await fsp.readdir(d, { withFileTypes: true });
    } catch (e) {
      if (depth === 0) {
        throw new BootprobeError('FILE_NOT_FOUND', `${dir}: ${(e as Error).message}`, {
          kind: 'usage',
          hint: 'give a folder that holds disk images',
        });
      }
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory() && depth < MAX_DEPTH) await walk(p, depth + 1);
      else if (e.isFile() && IMAGE_NAME.test(e.name)) out.push(p);
    }
  };
  await walk(dir, 0);
  return out;
}

export async function scanCommand(ctx: CliContext, dir: string, opts: ScanOptions): Promise<number> {
  const jobs = opts.jobs === undefined ? 2 : Number(opts.jobs);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64)
    throw new BootprobeError('USAGE', `--jobs ${opts.jobs}: give a whole number from 1 to 64`);
  const images = await findImages(dir);
  const outcomes: PreflightOutcome[] = new Array(images.length);
  let next = 0;
  // Each worker has its own context (open files, caches); the byte counters are summed for --stats.
  const worker = async () => {
    while (next < images.length) {
      const i = next++;
      const own = new CliContext(ctx.io, ctx.globals);
      try {
        outcomes[i] = await preflightImage(own, images[i]!, opts);
      } finally {
        await own.closeAll();
        ctx.stats.bytesRead += own.stats.bytesRead;
        ctx.stats.reads += own.stats.reads;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, Math.max(1, images.length)) }, worker));
  const pass = outcomes.filter((o) => 'report' in o && o.report.verdict === 'pass').length;
  const errors = outcomes.filter((o) => 'error' in o).length;
  const fail = outcomes.length - pass - errors;
  if (opts.json) {
    ctx.json({
      directory: dir,
      images: outcomes.map((o) => ({ ...outcomeJson(o), path: path.relative(dir, o.image) })),
      summary: { images: outcomes.length, pass, fail, unreadable: errors },
    });
  } else {
    const rows = outcomes.map((o) => {
      const r = 'report' in o ? o.report : null;
      return [
        path.relative(dir, o.image),
        r ? r.verdict.toUpperCase() : 'ERROR',
        r?.bootVolume ? `${r.bootVolume.partition}` : '-',
        r?.windowsVolume ? `${r.windowsVolume.partition}` : '-',
        r ? (r.generalized === null ? '-' : r.generalized ? 'yes' : 'no') : '-',
        cause(o),
      ];
    });
    const head = ['IMAGE', 'VERDICT', 'BOOT', 'WINDOWS', 'GENERALIZED', 'CAUSE'];
    const widths = head.map((h, i) =>
      i === head.length - 1 ? 0 : Math.max(h.length, ...rows.map((r) => r[i]!.length)),
    );
    const line = (r: string[]) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2)))
        .join('')
        .trimEnd();
    ctx.out(
      [
        line(head),
        ...rows.map(line),
        '',
        `${outcomes.length} images: ${pass} pass, ${fail} fail, ${errors} unreadable`,
      ].join('\n'),
    );
  }
  return pass === outcomes.length ? 0 : 1;
}
