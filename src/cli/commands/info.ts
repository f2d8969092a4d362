// `bootprobe info IMAGE [--json]`: container format, geometry, the parent chain (issue 2).
import type { DiskImage, ImageInfo } from '../../image/disk-image.js';
import type { CliContext } from '../context.js';
import { humanSize, keyValues } from '../format.js';

export interface InfoOptions {
  json?: boolean;
}

export async function infoCommand(ctx: CliContext, imagePath: string, opts: InfoOptions): Promise<number> {
  const image = await ctx.openImage(imagePath);
  const warnings = collectWarnings(image);
  if (opts.json) {
    ctx.json({ image: imagePath, ...infoToJson(image.info), warnings });
    return 0;
  }
  ctx.out(renderInfo(imagePath, image.info));
  for (const w of warnings) ctx.warn(w.message);
  return 0;
}

/** Findings of the image and of every parent in its chain. */
export function collectWarnings(image: DiskImage): { code: string; message: string }[] {
  const out: { code: string; message: string }[] = [];
  for (let cur: DiskImage | null = image; cur; cur = cur.parent) {
    out.push(...cur.warnings.map((w) => ({ code: w.code, message: w.message })));
  }
  return out;
}

export function infoToJson(info: ImageInfo): Record<string, unknown> {
  return {
    format: info.format,
    variant: info.variant,
    virtualSize: info.virtualSize,
    logicalSectorSize: info.logicalSectorSize,
    physicalSectorSize: info.physicalSectorSize,
    blockSize: info.blockSize,
    creator: info.creator,
    fileSize: info.fileSize,
    allocatedSize: info.allocatedSize,
    uniqueId: info.uniqueId,
    details: info.details,
    parent: info.parent
      ? {
          path: info.parent.path,
          expectedId: info.parent.expectedId,
          locators: info.parent.locators,
          ...infoToJson(info.parent.info),
        }
      : null,
  };
}

export function renderInfo(path: string, info: ImageInfo, indent = ''): string {
  const rows: [string, string | number | null][] = [
    ['image', path],
    ['format', info.variant ? `${info.format} (${info.variant})` : info.format],
    ['virtual size', humanSize(info.virtualSize)],
    [
      'sector size',
      info.physicalSectorSize !== info.logicalSectorSize
        ? `${info.logicalSectorSize} logical, ${info.physicalSectorSize} physical`
        : `${info.logicalSectorSize}`,
    ],
    ['block size', info.blockSize === null ? null : humanSize(info.blockSize)],
    ['creator', info.creator],
    ['file size', humanSize(info.fileSize)],
    ['allocated', info.allocatedSize === null ? null : humanSize(info.allocatedSize)],
    ['unique id', info.uniqueId],
  ];
  for (const [k, v] of Object.entries(info.details)) {
    if (v === null || v === undefined || typeof v === 'object') continue;
    rows.push([k, String(v)]);
  }
  let text = keyValues(rows, indent);
  if (info.parent) {
    const p = info.parent;
    text += `\n${indent}parent:`;
    text += `\n${keyValues(
      [['expected id', p.expectedId], ...p.locators.map((l): [string, string] => [`locator ${l.kind}`, l.value])],
      `${indent}  `,
    )}`;
    text += `\n${renderInfo(p.path, p.info, `${indent}  `)}`;
  }
  return text;
}
