// One call for what `bootprobe preflight --json` and `bootprobe bcd` print about a file, without the CLI (issue 10):
// the library's `inspect` and the web page run it on a path, a File or a BlockDevice. A registry hive (a BCD file on
// its own) gets the store checks (windows/preflight.ts preflightStore); anything else is opened as a disk image and
// pre-flighted, and its store is listed as bcdedit /enum all prints it, found where `bootprobe bcd` finds it.
import { readBcdStore, renderBcd } from '../bcd/index.js';
import { BootprobeError } from '../errors.js';
import { type Hive, logNamesFor, openHive } from '../hive/hive.js';
import type { DiskImage, ImageInfo } from '../image/disk-image.js';
import type { BlockDevice } from '../io/block-device.js';
import { anyBasename, type FileAccess } from '../io/file-access.js';
import type { PartitionTable } from '../volume/partition.js';
import { readPartitionTable } from '../volume/partition-table.js';
import { findBcdStores } from '../windows/find-bcd.js';
import { MAX_WHOLE_HIVE, readHiveFile } from '../windows/hive-file.js';
import {
  type PreflightOptions,
  type PreflightReport,
  preflight,
  preflightStore,
} from '../windows/preflight.js';
import { partitionResolver } from './partition-resolver.js';
import {
  borrowed,
  type OpenSourceOptions,
  openImage,
  openSource,
  type Source,
  sourceName,
} from './source.js';

export interface InspectOptions
  extends OpenSourceOptions,
    Pick<PreflightOptions, 'customization' | 'target'> {}

/** The store as `bootprobe bcd` prints it. */
export interface StoreListing {
  /** Where the store was found: the file name, or `NAME partition N /Boot/BCD`. */
  where: string;
  /** `bcdedit /enum all` text, ending with a newline. */
  text: string;
  /** Findings the CLI prints as warnings (a dirty hive read anyway...). */
  warnings: string[];
}

export interface Inspection {
  name: string;
  kind: 'image' | 'store';
  /** The container (format, variant, size, parent chain); null for a store file. */
  image: ImageInfo | null;
  /** Findings that did not stop the image from opening. */
  imageWarnings: string[];
  /** What `bootprobe preflight --json` prints, less its `image` key. */
  report: PreflightReport;
  listing: StoreListing | null;
  /** Why there is no listing (no store on any volume, a hive that is not a BCD): the error `bootprobe bcd` gives. */
  listingError: { code: string; message: string } | null;
}

/** A registry hive starts with "regf" (regf.md §3); anything else is opened as a disk image. */
export async function isHiveDevice(dev: BlockDevice): Promise<boolean> {
  if (dev.size < 4096) return false;
  const head = await dev.read(0, 4);
  return String.fromCharCode(...head) === 'regf';
}

export interface LoadedStore {
  hive: Hive;
  /** The store's logs as read (empty where absent), in logNamesFor order. */
  logs: Uint8Array[];
  where: string;
  /** The image's partition table; null for a store file. */
  table: PartitionTable | null;
}

/** A hive file read whole, with the .LOG/.LOG1/.LOG2 beside it when `files` can open them. */
export async function readHiveDevice(
  dev: BlockDevice,
  name: string,
  files: FileAccess | undefined,
  strict: boolean,
): Promise<LoadedStore> {
  if (dev.size > MAX_WHOLE_HIVE)
    throw new BootprobeError('HIVE_BASE_BLOCK', `${name}: ${dev.size} bytes is not a hive size`);
  const bytes = await dev.read(0, dev.size);
  const fileName = anyBasename(name);
  const logs: Uint8Array[] = [];
  for (const log of logNamesFor(fileName)) {
    const ld = files ? await files.open(files.resolveBeside(name, log)) : null;
    if (!ld) {
      logs.push(new Uint8Array(0));
      continue;
    }
    try {
      logs.push(ld.size > MAX_WHOLE_HIVE ? new Uint8Array(0) : (await ld.read(0, ld.size)).slice());
    } finally {
      await ld.close();
    }
  }
  return { hive: openHive(bytes, { logs, strict, name: fileName }), logs, where: name, table: null };
}

/** The store `bootprobe bcd IMAGE` lists: the first place Windows Boot Manager would find one (find-bcd.ts). */
export async function readImageStore(image: DiskImage, name: string, strict: boolean): Promise<LoadedStore> {
  const found = (await findBcdStores(image)).find((c) => 'entry' in c.found);
  if (!found || !('entry' in found.found)) {
    throw new BootprobeError(
      'BCD_NOT_FOUND',
      `${name}: no BCD store on any volume (looked for \\Boot\\BCD and \\EFI\\Microsoft\\Boot\\BCD)`,
      { hint: 'name a hive inside the image with --file PATH' },
    );
  }
  const { fs, entry } = found.found;
  const file = await readHiveFile(fs, entry, { strict, limit: MAX_WHOLE_HIVE });
  return {
    hive: file.hive,
    logs: [],
    where: `${name} partition ${found.partition.index} ${entry.path}`,
    table: await readPartitionTable(image),
  };
}

function listingOf(loaded: LoadedStore): StoreListing {
  if (!loaded.hive.getKey('\\Objects')) {
    throw new BootprobeError(
      'BCD_INVALID',
      `${loaded.where} is a registry hive but not a BCD store (it has no \\Objects key)`,
      { kind: 'unsupported', hint: 'use `bootprobe reg` to read other hives' },
    );
  }
  const store = readBcdStore(loaded.hive.root);
  const text = renderBcd(store, {
    verbose: false,
    ...(loaded.table ? { resolvePartition: partitionResolver(loaded.table) } : {}),
  });
  return { where: loaded.where, text, warnings: loaded.hive.warnings.map((w) => w.message) };
}

const errorOf = (e: unknown): { code: string; message: string } => {
  if (e instanceof BootprobeError) return { code: e.code, message: e.line };
  throw e;
};

/**
 * Pre-flights a disk image or a BCD file and lists its store. Throws (BootprobeError) only when the input cannot be
 * read at all, as `bootprobe preflight` then reports it unreadable (exit 3).
 */
export async function inspect(source: Source, options: InspectOptions = {}): Promise<Inspection> {
  const name = sourceName(source, options);
  const strict = options.strict === true;
  const pre: PreflightOptions = {
    customization: options.customization !== false,
    ...(options.target !== undefined ? { target: options.target } : {}),
  };
  // A BlockDevice the caller passed stays open (borrowed); one opened here from a path or a File is closed.
  const dev =
    typeof source === 'object' && 'read' in source ? borrowed(source) : await openSource(source, options);
  let image: DiskImage | null = null;
  try {
    if (await isHiveDevice(dev)) {
      // A BCD file on its own (bcdedit /export, a store copied off a template): the store checks only.
      const loaded = await readHiveDevice(dev, name, options.files, strict);
      if (!loaded.hive.getKey('\\Objects'))
        throw new BootprobeError(
          'BCD_INVALID',
          `${name} is a registry hive but not a BCD store (no \\Objects key)`,
        );
      const dirty = loaded.hive.warnings.find((w) => w.code === 'HIVE_DIRTY');
      const report = preflightStore(
        {
          store: readBcdStore(loaded.hive.root),
          name,
          recovered: loaded.hive.recovered,
          dirty: dirty ? dirty.message : null,
        },
        pre,
      );
      return {
        name,
        kind: 'store',
        image: null,
        imageWarnings: [],
        report,
        listing: listingOf(loaded),
        listingError: null,
      };
    }
    image = await openImage(dev, { ...options, name });
    const report = await preflight(image, { ...pre, format: image.info.format });
    let listing: StoreListing | null = null;
    let listingError: Inspection['listingError'] = null;
    try {
      listing = listingOf(await readImageStore(image, name, strict));
    } catch (e) {
      listingError = errorOf(e);
    }
    return {
      name,
      kind: 'image',
      image: image.info,
      imageWarnings: image.warnings.map((w) => w.message),
      report,
      listing,
      listingError,
    };
  } finally {
    // The image owns the device; without one (a store file, or an open that failed) close the device itself.
    if (image) await image.close();
    else await dev.close();
  }
}
