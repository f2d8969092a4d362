// `bootprobe preflight IMAGE... [--json] [--trace] [--no-customization] [--target-os V]` (issue 5): SCVMM's walk
// over each template and every check with its status, cause and fix. Exit 0 when every image passes, 1 when one
// fails, 3 when one cannot be read (the others are still checked and printed).

import { isHiveDevice } from '../../api/inspect.js';
import { readBcdStore } from '../../bcd/index.js';
import { BootprobeError } from '../../errors.js';
import type { DiskImage } from '../../image/disk-image.js';
import { type PreflightReport, preflight, preflightStore } from '../../windows/preflight.js';
import type { CliContext } from '../context.js';
import { target } from './pe.js';
import { loadHive } from './reg.js';

export interface PreflightCliOptions {
  json?: boolean;
  trace?: boolean;
  customization?: boolean;
  targetOs?: string;
  targetArch?: string;
}

export type PreflightOutcome =
  | { image: string; report: PreflightReport }
  | { image: string; error: BootprobeError };

/** Opens and pre-flights one image; an unreadable image is returned as its error, never thrown. */
export async function preflightImage(
  ctx: CliContext,
  path: string,
  opts: PreflightCliOptions,
): Promise<PreflightOutcome> {
  let image: DiskImage | null = null;
  try {
    const file = await ctx.openFile(path);
    if (await isHiveDevice(file)) {
      // A BCD file on its own (bcdedit /export, a store copied off a template): the store checks only.
      const loaded = await loadHive(ctx, path, {});
      if (!loaded.isBcd)
        throw new BootprobeError(
          'BCD_INVALID',
          `${path} is a registry hive but not a BCD store (no \\Objects key)`,
        );
      const dirty = loaded.hive.warnings.find((w) => w.code === 'HIVE_DIRTY');
      const report = preflightStore(
        {
          store: readBcdStore(loaded.hive.root),
          name: path,
          recovered: loaded.hive.recovered,
          dirty: dirty ? dirty.message : null,
        },
        { customization: opts.customization !== false },
      );
      return { image: path, report };
    }
    image = await ctx.openImage(path, file);
    const report = await preflight(image, {
      customization: opts.customization !== false,
      format: image.info.format,
      target: target(opts),
    });
    return { image: path, report };
  } catch (e) {
    if (!(e instanceof BootprobeError) || e.kind === 'usage') throw e;
    return { image: path, error: e };
  } finally {
    await image?.close();
  }
}

const STATUS_WIDTH = 6;
const ID_WIDTH = 16;

/** The text report of one image: verdict, every check (with its fix), where the boot and Windows volumes are. */
export function renderPreflight(o: PreflightOutcome, trace: boolean): string {
  if ('error' in o) return `${o.image}: UNREADABLE\n  ${o.error.line}`;
  const r = o.report;
  const lines = [`${o.image}: ${r.verdict.toUpperCase()}`];
  if (trace) for (const t of r.trace) lines.push(`  trace: ${t}`);
  for (const c of r.checks) {
    lines.push(`  ${c.status.padEnd(STATUS_WIDTH)}${c.id.padEnd(ID_WIDTH)}${c.message}`);
    if (c.fix) lines.push(`  ${''.padEnd(STATUS_WIDTH + ID_WIDTH)}fix: ${c.fix}`);
  }
  const w = r.windows;
  if (r.disk === null) {
    lines.push(
      `  store checked on its own (no image); generalized: ${r.generalized === null ? 'unknown' : r.generalized ? 'yes' : 'no'}`,
    );
    return lines.join('\n');
  }
  const summary = [
    `boot volume: ${r.bootVolume ? `partition ${r.bootVolume.partition} ${r.bootVolume.bcdPath}` : 'none'}`,
    `Windows volume: ${r.windowsVolume ? `partition ${r.windowsVolume.partition}` : 'none'}`,
    `store generalized: ${r.generalized === null ? 'unknown' : r.generalized ? 'yes' : 'no'}`,
  ];
  lines.push(`  ${summary.join('; ')}`);
  if (w) {
    const product = [
      w.productName,
      w.editionId,
      w.version,
      w.currentBuild && `build ${w.currentBuild}${w.ubr !== null ? `.${w.ubr}` : ''}`,
      w.architecture,
    ]
      .filter(Boolean)
      .join(', ');
    lines.push(
      `  Windows: ${product || 'version unknown'}; ImageState ${w.imageState ?? w.imageStateRegistry ?? 'unknown'}`,
    );
    for (const warning of w.warnings) lines.push(`  note: ${warning}`);
  }
  return lines.join('\n');
}

export const outcomeJson = (o: PreflightOutcome) =>
  'error' in o
    ? { image: o.image, verdict: 'error', error: { code: o.error.code, message: o.error.line } }
    : { image: o.image, ...o.report };

export async function preflightCommand(
  ctx: CliContext,
  images: string[],
  opts: PreflightCliOptions,
): Promise<number> {
  const outcomes: PreflightOutcome[] = [];
  for (const path of images) outcomes.push(await preflightImage(ctx, path, opts));
  if (opts.json) {
    const out = outcomes.map(outcomeJson);
    ctx.json(out.length === 1 ? out[0] : out);
  } else {
    ctx.out(outcomes.map((o) => renderPreflight(o, opts.trace === true)).join('\n\n'));
  }
  // The first unreadable image decides exit 3; else any failing verdict gives 1.
  const error = outcomes.find((o): o is Extract<PreflightOutcome, { error: BootprobeError }> => 'error' in o);
  if (error) {
    if (!opts.json) ctx.io.stderr.write(`bootprobe: error: ${error.error.line}\n`);
    return 3;
  }
  return outcomes.some((o) => 'report' in o && o.report.verdict === 'fail') ? 1 : 0;
}
