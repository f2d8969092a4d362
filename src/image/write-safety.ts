// When writing an image is refused (DESIGN.md "Never modify what the user did not ask to modify"): a damaged
// container, a VHD in a saved state, a VHDX with a pending log (vhdx-image.ts), and a disk that a differencing disk
// beside it names as its parent (writing it would silently change, or for VHDX orphan, that child). Every refusal
// is kind 'unsafe' (exit 4) with a sentence saying why.
import { BootprobeError, type Finding } from '../errors.js';
import { type BlockDevice, ByteView, type FileAccess } from '../io/index.js';
import { OverlayDevice } from '../io/overlay-device.js';
import type { DiskImage } from './disk-image.js';
import { sniffFormat } from './open-image.js';
import { decodeVhdDynamicHeader, VHD_DYNAMIC_HEADER_SIZE } from './vhd/dynamic-header.js';
import { decodeVhdFooter, VHD_COOKIE, VHD_DISK_TYPE, VHD_FOOTER_SIZE } from './vhd/footer.js';
import { hasLog, readCurrentHeader } from './vhdx/header.js';
import { replayLog } from './vhdx/log.js';
import { readMetadata } from './vhdx/metadata.js';
import { acceptedLinkages } from './vhdx/parent-locator.js';
import { REGION, readRegionTable } from './vhdx/region-table.js';

/** Sibling files examined for children; a folder larger than this is checked only this far (the refusal is best effort). */
export const MAX_SIBLINGS = 4096;
const DISK_EXTENSIONS = /\.(vhd|vhdx|avhd|avhdx)$/i;

export function unsafe(message: string, hint: string, data?: Record<string, unknown>): BootprobeError {
  return new BootprobeError('UNSAFE_WRITE', message, { kind: 'unsafe', hint, data });
}

/** What a differencing disk names as its parent, read without opening the parent. */
export type ParentReference =
  | { format: 'vhd'; parentUniqueId: string }
  | { format: 'vhdx'; linkages: string[] }
  | null;

/**
 * Reads which parent a disk names, if it is a differencing disk (VHD: the dynamic header's parent unique id,
 * §1.4; VHDX: parent_linkage and parent_linkage2, §2.4, read through a replayed log when one is pending). Returns
 * null for any other file, including one that does not parse.
 */
export async function readParentReference(dev: BlockDevice): Promise<ParentReference> {
  try {
    const format = await sniffFormat(dev);
    if (format === 'vhd') {
      const at = dev.size - VHD_FOOTER_SIZE;
      const raw = await dev.read(at, VHD_FOOTER_SIZE);
      if (String.fromCharCode(...raw.subarray(0, 8)) !== VHD_COOKIE) return null;
      const f = decodeVhdFooter(new ByteView(raw, at, 'VHD footer'));
      if (f.diskType !== VHD_DISK_TYPE.DIFFERENCING || f.dataOffset === null) return null;
      const h = decodeVhdDynamicHeader(
        new ByteView(
          await dev.read(f.dataOffset, VHD_DYNAMIC_HEADER_SIZE),
          f.dataOffset,
          'VHD dynamic header',
        ),
      );
      return { format: 'vhd', parentUniqueId: h.parentUniqueId };
    }
    if (format === 'vhdx') {
      const findings: Finding[] = [];
      const header = await readCurrentHeader(dev, findings);
      const view = new OverlayDevice(dev);
      if (hasLog(header)) await replayLog(dev, header, view);
      const regions = await readRegionTable(view, findings);
      const meta = await readMetadata(view, regions.get(REGION.METADATA)!);
      if (!meta.hasParent || !meta.parentLocator) return null;
      return { format: 'vhdx', linkages: acceptedLinkages(meta.parentLocator) };
    }
  } catch (e) {
    if (e instanceof BootprobeError) return null;
    throw e;
  }
  return null;
}

/**
 * Refuses to write `image` when a differencing disk in the same folder names it as its parent: a VHD child by the
 * parent's unique id, a VHDX child by its DataWriteGuid (which the first write would change, orphaning it).
 * Children elsewhere cannot be found; the hint says so. Needs `files.siblings`; without it nothing is checked.
 */
export async function assertNotAParent(image: DiskImage, path: string, files: FileAccess): Promise<void> {
  if (!files.siblings) return;
  const id =
    image.info.format === 'vhd'
      ? image.info.uniqueId
      : image.info.format === 'vhdx'
        ? String(image.info.details.dataWriteGuid ?? '').toLowerCase()
        : null;
  if (!id) return;
  const candidates = (await files.siblings(path, MAX_SIBLINGS)).filter((p) => DISK_EXTENSIONS.test(p));
  for (const p of candidates) {
    const dev = await files.open(p).catch(() => null);
    if (!dev) continue;
    let ref: ParentReference;
    try {
      ref = await readParentReference(dev);
    } finally {
      await dev.close();
    }
    const isChild =
      (ref?.format === 'vhd' && image.info.format === 'vhd' && ref.parentUniqueId === id) ||
      (ref?.format === 'vhdx' && image.info.format === 'vhdx' && ref.linkages.includes(id));
    if (isChild) {
      throw unsafe(
        `${path} is the parent of the differencing disk ${p}: writing it would corrupt that child`,
        'write into a new differencing child instead (create-child, or repair --child), or merge the chain first',
        { child: p },
      );
    }
  }
}
