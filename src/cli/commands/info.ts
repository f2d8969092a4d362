// `bootprobe info IMAGE [--json]`: container format, geometry, the parent chain (issue 2).
import { BootprobeError } from '../../errors.js';
import { openFileSystem } from '../../fs/open-fs.js';
import type { DiskImage, ImageInfo } from '../../image/disk-image.js';
import { partitionDevice } from '../../volume/partition-table.js';
import { type DiskVolumes, describeVolumes } from '../../volume/volumes.js';
import type { CliContext } from '../context.js';
import { humanSize, keyValues } from '../format.js';

export interface InfoOptions {
  json?: boolean;
}

export async function infoCommand(ctx: CliContext, imagePath: string, opts: InfoOptions): Promise<number> {
  const image = await ctx.openImage(imagePath);
  await fillAllocatedSizes(image);
  const warnings = collectWarnings(image);
  // The container is readable: a damaged partition table is reported, not fatal, so `info` still shows the image.
  let disk: DiskVolumes | null = null;
  const labels = new Map<number, string | null>();
  try {
    disk = await describeVolumes(image);
    warnings.push(...disk.table.warnings.map((w) => ({ code: w.code, message: w.message })));
    for (const v of disk.volumes) {
      if (!v.filesystem || v.filesystem === 'exfat') continue;
      try {
        const fs = await openFileSystem(partitionDevice(image, v), `partition ${v.index}`);
        labels.set(v.index, fs.label);
        warnings.push(
          ...fs.warnings.map((w) => ({ code: w.code, message: `partition ${v.index}: ${w.message}` })),
        );
      } catch (e) {
        if (!(e instanceof BootprobeError)) throw e;
        warnings.push({ code: e.code, message: `partition ${v.index}: ${e.line}` });
      }
    }
  } catch (e) {
    if (!(e instanceof BootprobeError)) throw e;
    warnings.push({ code: e.code, message: `partition table unreadable: ${e.line}` });
  }
  if (opts.json) {
    ctx.json({ image: imagePath, ...infoToJson(image.info), ...volumesToJson(disk, labels), warnings });
    return 0;
  }
  ctx.out(renderInfo(imagePath, image.info));
  if (disk) ctx.out(renderVolumes(disk, labels));
  for (const w of warnings) ctx.warn(w.message);
  return 0;
}

export function volumesToJson(
  disk: DiskVolumes | null,
  labels = new Map<number, string | null>(),
): Record<string, unknown> {
  if (!disk) return { scheme: null, partitions: null };
  const t = disk.table;
  return {
    scheme: t.scheme,
    tableSectorSize: t.sectorSize,
    ...(t.scheme === 'mbr' ? { diskSignature: t.diskSignature } : {}),
    ...(t.scheme === 'gpt' ? { diskGuid: t.diskGuid } : {}),
    mbrBootCode: disk.mbrCode ? { kind: disk.mbrCode.kind, description: disk.mbrCode.description } : null,
    partitions: disk.volumes.map((v) => ({
      index: v.index,
      start: v.start,
      size: v.size,
      type: v.type,
      typeName: v.typeName,
      active: v.active,
      guid: v.guid,
      name: v.name,
      kind: v.kind,
      filesystem: v.filesystem,
      label: labels.get(v.index) ?? null,
      bootCode: v.bootCode,
    })),
  };
}

/** A partition table in the shape of `mmls`/`sfdisk -l`: one line a partition. */
export function renderVolumes(disk: DiskVolumes, labels = new Map<number, string | null>()): string {
  const t = disk.table;
  const id =
    t.scheme === 'mbr'
      ? `, disk signature ${t.diskSignature}`
      : t.scheme === 'gpt'
        ? `, disk ${t.diskGuid}`
        : '';
  const lines = [`partitions: ${t.scheme}${id}, ${t.sectorSize}-byte sectors`];
  if (disk.mbrCode) lines.push(`MBR boot code: ${disk.mbrCode.description}`);
  if (disk.volumes.length === 0) lines.push('  (none)');
  else {
    lines.push(
      `  ${'#'.padEnd(3)} ${'boot'.padEnd(4)} ${'start'.padStart(14)} ${'size'.padStart(14)}  ${'type'.padEnd(28)} fs      loader    label`,
    );
    for (const v of disk.volumes) {
      const type = `${v.typeName}${v.name ? ` "${v.name}"` : ''}`;
      lines.push(
        `  ${String(v.index).padEnd(3)} ${(v.active ? '*' : '').padEnd(4)} ${String(v.start).padStart(14)} ${String(v.size).padStart(14)}  ${type.padEnd(28)} ${(v.filesystem ?? '-').padEnd(7)} ${(v.bootCode?.loader ?? '-').padEnd(9)} ${labels.get(v.index) ?? ''}`.trimEnd(),
      );
    }
  }
  return lines.join('\n');
}

/** Asks each image of the chain for its allocated size (work deferred from open). */
async function fillAllocatedSizes(image: DiskImage): Promise<void> {
  for (let cur: DiskImage | null = image; cur; cur = cur.parent)
    cur.info.allocatedSize = await cur.allocatedSize();
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
    rows.push([k.replace(/([A-Z])/g, ' $1').toLowerCase(), String(v)]);
  }
  let text = keyValues(rows, indent);
  if (info.parent) {
    const p = info.parent;
    text += `\n${indent}parent:`;
    text += `\n${keyValues(
      [
        ['expected id', p.expectedId],
        ...p.locators.map((l): [string, string] => [`locator ${l.kind}`, l.value]),
      ],
      `${indent}  `,
    )}`;
    text += `\n${renderInfo(p.path, p.info, `${indent}  `)}`;
  }
  return text;
}
