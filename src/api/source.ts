// Where the library's bytes come from (issue 10 "Library"): a BlockDevice the caller made, a Blob/File (browser, or
// Node's fs.openAsBlob), or a path opened through an injected FileAccess (Node's is in node.ts). Whatever the source,
// the device is cached and counted the way the CLI's is (cli/context.ts), so bytes read mean the same in both.
import { BootprobeError } from '../errors.js';
import type { DiskImage, OpenImageOptions } from '../image/disk-image.js';
import { openImage as openImageDevice } from '../image/open-image.js';
import { BlobDevice, type BlobLike } from '../io/blob-device.js';
import type { BlockDevice, IoStats } from '../io/block-device.js';
import { CachedDevice } from '../io/cache.js';
import { anyBasename, type FileAccess } from '../io/file-access.js';

/** Anything the library can read a disk image or a store file from. */
export type Source = string | BlobLike | BlockDevice;

export interface SourceOptions {
  /** Opens a path source and a differencing disk's parents (Node: NodeFileAccess; browser: FileListAccess). */
  files?: FileAccess;
  /** Name for messages and for finding parents beside it; default: the path, or the File's name. */
  name?: string;
  /** Bytes and reads that reach the backend are added here (what `--stats` prints). */
  stats?: IoStats;
}

export interface OpenSourceOptions extends SourceOptions, Pick<OpenImageOptions, 'parentPaths' | 'strict'> {}

const isDevice = (s: Source): s is BlockDevice =>
  typeof s === 'object' && s !== null && typeof (s as BlockDevice).read === 'function';

/** The name a source goes by: the path, the File's name, or 'image'. */
export function sourceName(source: Source, options: SourceOptions = {}): string {
  if (options.name) return options.name;
  if (typeof source === 'string') return source;
  const n = (source as { name?: unknown }).name;
  return typeof n === 'string' && n !== '' ? n : 'image';
}

/** A cached, counted BlockDevice over `source`; the caller closes it. */
export async function openSource(source: Source, options: SourceOptions = {}): Promise<BlockDevice> {
  if (isDevice(source)) return source;
  if (typeof source === 'string') {
    if (!options.files) {
      throw new BootprobeError('USAGE', `${source}: a path needs a way to open files`, {
        kind: 'usage',
        hint: "import from 'bootprobe' in Node (paths are opened there), or pass a File/Blob or a BlockDevice",
      });
    }
    const dev = await options.files.open(source);
    if (!dev)
      throw new BootprobeError('FILE_NOT_FOUND', `${source}: no such file`, { hint: 'check the path' });
    return dev instanceof CachedDevice ? dev : new CachedDevice(dev);
  }
  if (typeof source === 'object' && source !== null && typeof source.slice === 'function') {
    const name = sourceName(source, options);
    return new CachedDevice(
      new BlobDevice(source, { name, ...(options.stats ? { stats: options.stats } : {}) }),
    );
  }
  throw new BootprobeError('USAGE', 'openImage: give a path, a Blob/File or a BlockDevice', {
    kind: 'usage',
  });
}

/**
 * Opens a disk image (raw, VHD, VHDX; format by content) from any source. A differencing disk finds its parents
 * through `files`. The image owns the device: closing it closes everything opened here.
 */
export async function openImage(source: Source, options: OpenSourceOptions = {}): Promise<DiskImage> {
  const dev = await openSource(source, options);
  // A device the caller passed in stays theirs when the open fails; one opened here is closed.
  const owned = dev !== source;
  const name = sourceName(source, options);
  let image: DiskImage;
  try {
    image = await openImageDevice(dev, {
      path: name,
      ...(options.files ? { files: options.files } : {}),
      ...(options.parentPaths ? { parentPaths: options.parentPaths } : {}),
      strict: options.strict === true,
    });
  } catch (e) {
    if (owned) await dev.close();
    throw e;
  }
  try {
    refuseMisnamed(name, image);
  } catch (e) {
    if (owned) await image.close();
    throw e;
  }
  return image;
}

/** `dev` with a close() that leaves it open: for reading a caller's device without taking it over. */
export function borrowed(dev: BlockDevice): BlockDevice {
  return {
    get size() {
      return dev.size;
    },
    sectorSize: dev.sectorSize,
    read: (offset, length) => dev.read(offset, length),
    close: async () => {},
  };
}

/**
 * A file named .vhd/.vhdx that holds neither container is a damaged template, not a raw disk: reading it as one
 * would only mislead (the same rule as cli/context.ts, so the page's scan agrees with `bootprobe scan`).
 */
export function refuseMisnamed(name: string, image: DiskImage): void {
  const claimed = /\.(a?vhdx?)$/i.exec(anyBasename(name))?.[1]?.toLowerCase().replace(/^a/, '');
  if (claimed && image.info.format === 'raw') {
    throw new BootprobeError(
      'IMAGE_UNKNOWN',
      `${name} is named .${claimed} but holds no ${claimed === 'vhdx' ? 'VHDX file identifier at offset 0' : 'VHD footer (conectix) at its end or start'}`,
      {
        offset: 0,
        hint: 'the file is damaged or truncated; restore it, or rename it if it really is a raw disk',
      },
    );
  }
}
