/**
 * The Node entry (what `import … from 'bootprobe'` resolves to under Node): everything in the core entry, with paths
 * as sources. `openImage('D:\\VMs\\template.vhdx')`, `inspect('\\\\server\\share\\t.vhdx')`: the file is read where it
 * lies, a differencing disk's parents are found beside it or through their absolute Windows locators, as the CLI
 * finds them. One of the few modules allowed to import Node (DESIGN.md "Layers"): only through io/'s file backends.
 * @packageDocumentation
 */

import path from 'node:path';
import { type Inspection, type InspectOptions, inspect as inspectCore } from './api/inspect.js';
import {
  type ChildOptions,
  generalizeIntoChild as childCore,
  generalizeStore as generalizeCore,
  type RepairedChild,
  type RepairedStore,
} from './api/repair.js';
import { type OpenSourceOptions, openImage as openCore, type Source } from './api/source.js';
import type { DiskImage } from './image/disk-image.js';
import type { BlockDevice, IoStats } from './io/block-device.js';
import { CachedDevice } from './io/cache.js';
import type { FileAccess } from './io/file-access.js';
import { NodeFileAccess } from './io/node-file-access.js';

export * from './index.js';
export { FileDevice, type FileDeviceOptions } from './io/file-device.js';
export { NodeFileAccess } from './io/node-file-access.js';

/** Files opened by path, cached and counted as the CLI opens them (cli/context.ts): parents included. */
export function nodeFiles(stats?: IoStats): FileAccess {
  const node = new NodeFileAccess(stats);
  return {
    open: async (p: string): Promise<BlockDevice | null> => {
      const dev = await node.open(p);
      return dev ? new CachedDevice(dev) : null;
    },
    resolveBeside: (f, r) => node.resolveBeside(f, r),
    basename: (p) => node.basename(p),
    siblings: (f, limit) => node.siblings(f, limit),
  };
}

const withFiles = <T extends { files?: FileAccess; stats?: IoStats }>(options: T): T =>
  options.files ? options : { ...options, files: nodeFiles(options.stats) };

/** Opens a disk image from a path, a Blob/File or a BlockDevice; paths and parents through the local file system. */
export function openImage(source: Source, options: OpenSourceOptions = {}): Promise<DiskImage> {
  return openCore(source, withFiles(options));
}

/** Pre-flights an image or a BCD file and lists its store (see the core `inspect`), paths allowed. */
export function inspect(source: Source, options: InspectOptions = {}): Promise<Inspection> {
  return inspectCore(source, withFiles(options));
}

/** The generalized store of an image or a BCD file (see the core `generalizeStore`), paths allowed. */
export function generalizeStore(
  source: Source,
  options: OpenSourceOptions & { customization?: boolean } = {},
): Promise<RepairedStore> {
  return generalizeCore(source, withFiles(options));
}

/**
 * A differencing child of the template at `source` holding its generalized store (see the core
 * `generalizeIntoChild`); its absolute locator names the template's full path.
 */
export function generalizeIntoChild(source: Source, options: ChildOptions = {}): Promise<RepairedChild> {
  const parentPath = options.parentPath ?? (typeof source === 'string' ? path.resolve(source) : undefined);
  return childCore(source, withFiles({ ...options, ...(parentPath ? { parentPath } : {}) }));
}
