// `bootprobe pe FILE | IMAGE PATH [--target-os VERSION]` (issue 5; docs/pe.md): machine, subsystem and versions of
// an executable, and whether the loader would start it on a target Windows (exit 1 when it would not).
import { BootprobeError } from '../../errors.js';
import { canRunOn, decodePe, WINDOWS_VERSIONS } from '../../pe/pe-file.js';
import type { CliContext } from '../context.js';
import { humanSize, keyValues } from '../format.js';
import { openFs } from './files.js';

export interface PeOptions {
  partition?: string;
  targetOs?: string;
  targetArch?: string;
  json?: boolean;
}

/** Executables are read whole; the largest Windows boot binaries are a few MB. */
const MAX_PE = 256 * 1024 * 1024;

export function target(
  opts: Pick<PeOptions, 'targetOs' | 'targetArch'>,
): { version: string; arch: 'x86' | 'x64' | 'arm64'; label: string } | null {
  if (!opts.targetOs) return null;
  const named = WINDOWS_VERSIONS[opts.targetOs.toLowerCase()];
  const version = named?.version ?? (/^\d+\.\d+$/.test(opts.targetOs) ? opts.targetOs : null);
  if (!version) {
    throw new BootprobeError(
      'USAGE',
      `--target-os ${opts.targetOs}: give a Windows name (${Object.keys(WINDOWS_VERSIONS).join(', ')}) or an NT version such as 5.1`,
    );
  }
  const arch = (opts.targetArch ?? named?.arch ?? (Number.parseFloat(version) <= 5.1 ? 'x86' : 'x64')) as
    | 'x86'
    | 'x64'
    | 'arm64';
  if (!['x86', 'x64', 'arm64'].includes(arch))
    throw new BootprobeError('USAGE', `--target-arch ${arch}: x86, x64 or arm64`);
  return { version, arch, label: `${opts.targetOs} (NT ${version}, ${arch})` };
}

export async function peCommand(ctx: CliContext, source: string, inner: string | undefined, opts: PeOptions) {
  let bytes: Uint8Array;
  let name = source;
  if (inner) {
    const fs = await openFs(ctx, source, opts);
    const e = await fs.lookup(inner);
    if (e.size > MAX_PE)
      throw new BootprobeError(
        'PE_INVALID',
        `${e.path} is ${humanSize(e.size)}, larger than any executable bootprobe reads`,
      );
    const r = await fs.openFile(e);
    bytes = await r.read(0, r.size);
    name = `${source}:${e.path}`;
  } else {
    const dev = await ctx.openFile(source);
    if (dev.size > MAX_PE)
      throw new BootprobeError(
        'PE_INVALID',
        `${source} is ${humanSize(dev.size)}, larger than any executable bootprobe reads`,
      );
    bytes = await dev.read(0, dev.size);
  }
  const pe = decodePe(bytes);
  const t = target(opts);
  const verdict = t ? canRunOn(pe, t.version, t.arch) : null;
  if (opts.json) {
    ctx.json({
      file: name,
      ...pe,
      sections: pe.sections,
      target: t ? { os: opts.targetOs, version: t.version, arch: t.arch, ...verdict } : null,
    });
  } else {
    ctx.out(
      keyValues([
        ['file', name],
        ['machine', pe.machineName],
        ['format', pe.magic === 0x20b ? 'PE32+' : 'PE32'],
        ['subsystem', pe.subsystemName],
        ['subsystem version', pe.subsystemVersion],
        ['OS version', pe.osVersion],
        ['image version', pe.imageVersion],
        ['file version', pe.fileVersion],
        ['product version', pe.productVersion],
        ...Object.entries(pe.strings).map(([k, v]): [string, string] => [k, v]),
        [
          'runs on',
          t && verdict
            ? verdict.ok
              ? `${t.label}: yes`
              : `${t.label}: NO — ${verdict.reasons.join('; ')}; CreateProcess fails with ${verdict.error}`
            : null,
        ],
      ]),
    );
  }
  return verdict && !verdict.ok ? 1 : 0;
}
