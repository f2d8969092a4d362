// Repair from the page (issue 10): the store of an image or a BCD file generalized as sysprep /generalize leaves it
// (known-answers.md §2), planned by windows/repair-plan.ts exactly as `bootprobe repair --generalize` plans it, and
// handed back as bytes — the store alone, or a small differencing child of the template that holds the repaired
// store (its parent locator names the template's file, so it works placed beside it). The template is only read:
// the file system write is staged in memory over it, the child is made holding the blocks that write touched
// (image/create-image.ts createChild), and it is re-read through the whole stack before it is returned.
import { readBcdStore } from '../bcd/index.js';
import { BootprobeError } from '../errors.js';
import { openFileSystem } from '../fs/open-fs.js';
import { openHive } from '../hive/hive.js';
import { createChild, type DynamicFormat } from '../image/create-image.js';
import type { DiskImage } from '../image/disk-image.js';
import { type BlockDevice, requireWritable } from '../io/block-device.js';
import { bytesEqual } from '../io/byte-view.js';
import { anyBasename, type FileAccess } from '../io/file-access.js';
import { MemoryDevice } from '../io/memory-device.js';
import { StagingDevice } from '../io/staging-device.js';
import { partitionDevice, readPartitionTable } from '../volume/partition-table.js';
import { walkDisk, winPath } from '../windows/boot-volume.js';
import { type PreflightReport, preflight, preflightStore } from '../windows/preflight.js';
import {
  describeTarget,
  locateStore,
  planGeneralize,
  type RepairPlan,
  readStoreForRepair,
  writeStore,
} from '../windows/repair-plan.js';
import { isHiveDevice, readHiveDevice } from './inspect.js';
import {
  borrowed,
  type OpenSourceOptions,
  openImage,
  openSource,
  type Source,
  sourceName,
} from './source.js';

export interface RepairedStore {
  /** Where the store lives: the file name, or `\Boot\BCD on partition 1`. */
  where: string;
  /** The file name to save it as (a store in an image is always named BCD). */
  fileName: string;
  plan: RepairPlan;
  /** The new store's own checks (the store-only pre-flight of the bytes produced). */
  after: PreflightReport;
}

/** The generalized store of `source` (an image or a BCD file). */
export async function generalizeStore(
  source: Source,
  options: OpenSourceOptions & { customization?: boolean } = {},
): Promise<RepairedStore> {
  const name = sourceName(source, options);
  const dev =
    typeof source === 'object' && 'read' in source ? borrowed(source) : await openSource(source, options);
  let image: DiskImage | null = null;
  try {
    let plan: RepairPlan;
    let where: string;
    let fileName: string;
    if (await isHiveDevice(dev)) {
      const loaded = await readHiveDevice(dev, name, options.files, options.strict === true);
      plan = planGeneralize(loaded.hive, null);
      where = name;
      fileName = loaded.hive.name;
    } else {
      image = await openImage(dev, { ...options, name });
      const walk = await walkDisk(image);
      const at = await locateStore(walk);
      const { hive, logs } = await readStoreForRepair(at);
      plan = planGeneralize(hive, at, logs);
      where = describeTarget(at);
      fileName = at.entry.name;
    }
    // The bytes produced must read back as a clean store; check them as a store file would be checked.
    const back = openHive(plan.bytes, { strict: true, name: fileName });
    if (!back.getKey('\\Objects'))
      throw new BootprobeError('BCD_INVALID', `${where}: the generalized store has no \\Objects key`);
    const after = preflightStore(
      { store: readBcdStore(back.root), name: fileName, recovered: false, dirty: null },
      { customization: options.customization !== false },
    );
    return { where, fileName, plan, after };
  } finally {
    if (image) await image.close();
    else await dev.close();
  }
}

export interface ChildOptions extends OpenSourceOptions {
  customization?: boolean;
  /** The child's file name; default `NAME-generalized.vhdx` (or `.vhd` for a VHD template). */
  childName?: string;
  /**
   * The template's absolute path for the child's absolute locator (W2ku, absolute_win32_path); default its file
   * name, which a page cannot know more of. The relative locator (`.\NAME`) is what finds it beside the child.
   */
  parentPath?: string;
}

export interface RepairedChild {
  /** The child's file name, and the child itself (a dynamic VHD/VHDX holding only the changed blocks). */
  fileName: string;
  bytes: Uint8Array;
  /** Where the store is: `\Boot\BCD on partition 1`. */
  where: string;
  plan: RepairPlan;
  /** What the file system write changed, one sentence each. */
  written: string[];
  /** The pre-flight of the child (through its parent): what SCVMM would now see. */
  after: PreflightReport;
}

/** `NAME.vhdx` → `NAME-generalized.vhdx`. */
const childNameFor = (parent: string, format: DynamicFormat) =>
  `${anyBasename(parent).replace(/\.[^.]*$/, '')}-generalized.${format}`;

/**
 * A differencing child of the template `source` that holds its generalized store (`bootprobe repair --generalize
 * --child NEW`, in memory). Placed beside the template, it is the repaired template; the template is never written.
 */
export async function generalizeIntoChild(
  source: Source,
  options: ChildOptions = {},
): Promise<RepairedChild> {
  const name = sourceName(source, options);
  const dev =
    typeof source === 'object' && 'read' in source ? borrowed(source) : await openSource(source, options);
  let image: DiskImage | null = null;
  try {
    if (await isHiveDevice(dev))
      throw new BootprobeError('USAGE', `${name} is a store file: a differencing child needs a disk image`, {
        kind: 'usage',
        hint: 'download the generalized store instead',
      });
    image = await openImage(dev, { ...options, name });
    const format = image.info.format;
    if (format === 'raw')
      throw new BootprobeError(
        'UNSAFE_WRITE',
        `${name} is a raw disk: only a VHD or VHDX can have a differencing child`,
        {
          kind: 'unsupported',
          hint: 'download the generalized store and put it in place, or convert the disk to VHDX first',
        },
      );
    const walk = await walkDisk(image);
    const at = await locateStore(walk);
    const { hive, logs } = await readStoreForRepair(at);
    const plan = planGeneralize(hive, at, logs);
    const base = anyBasename(name);
    const fileName = options.childName ?? childNameFor(name, format);

    // The write is staged in memory over the template, then the child is made holding the blocks it touched.
    const staging = new StagingDevice(image);
    const written = await writeStore(staging, at.probe.volume.index, at.entry.path, plan.bytes);
    const out = new MemoryDevice(new Uint8Array(0), { writable: true });
    await createChild(
      image,
      requireWritable(out, fileName),
      format,
      { relative: `.\\${base}`, absolute: options.parentPath ?? base },
      { device: staging, ranges: staging.pending },
    );
    // The child finds its parent by the locator just written: the template's own (already open) device.
    const files = parentAccess(base, dev, options.files);
    const bytes = out.data.slice();

    // Read back through the whole stack, read-only: the store is there byte for byte, then pre-flight it.
    const back = await openImage(new MemoryDevice(bytes), { name: fileName, files });
    try {
      const bp = (await readPartitionTable(back)).partitions.find((x) => x.index === at.probe.volume.index)!;
      const bfs = await openFileSystem(partitionDevice(back, bp), 'repaired volume');
      const entry = await bfs.lookup(at.entry.path);
      const stored = await (await bfs.openFile(entry)).read(0, entry.size);
      if (!bytesEqual(stored, plan.bytes))
        throw new BootprobeError(
          'FS_WRITE_VERIFY',
          `${fileName}: ${winPath(at.entry.path)} does not read back as written`,
        );
      const after = await preflight(back, { customization: options.customization !== false, format });
      return { fileName, bytes, where: describeTarget(at), plan, written, after };
    } finally {
      await back.close();
    }
  } finally {
    if (image) await image.close();
    else await dev.close();
  }
}

/** Files for the child: the template's name opens its device (borrowed: the template stays open); the rest as given. */
function parentAccess(base: string, dev: BlockDevice, files: FileAccess | undefined): FileAccess {
  const key = base.toLowerCase();
  return {
    open: async (p) => (anyBasename(p).toLowerCase() === key ? borrowed(dev) : (files?.open(p) ?? null)),
    resolveBeside: (f, r) => files?.resolveBeside(f, r) ?? r,
    basename: anyBasename,
  };
}
