// Registry hives stored as files on a volume (\Boot\BCD, \Windows\System32\config\SYSTEM), with the .LOG/.LOG1/.LOG2
// files beside them (regf.md §7). Two ways in: whole (a BCD store, a few KiB: every key is decoded, logs replayed)
// and lazily (SYSTEM and SOFTWARE, tens of MB: only the cells on the paths asked for, hive/lazy-hive.ts). A dirty
// hive cannot be read lazily, its logs must be replayed over the whole image, so it is read whole then.
import { BootprobeError, type Finding } from '../errors.js';
import type { FileSystem, FsEntry } from '../fs/file-system.js';
import { type Hive, type HiveKey, logNamesFor, openHive } from '../hive/hive.js';
import type { RegistryValue } from '../hive/key.js';
import { type LazyHive, type LazyKey, openLazyHive } from '../hive/lazy-hive.js';
import { readSmallFile } from './find-bcd.js';

/** Hives are parsed in memory when read whole; this bounds what a damaged size field can make us allocate. */
export const MAX_WHOLE_HIVE = 1024 * 1024 * 1024;

export interface HiveFile {
  hive: Hive;
  entry: FsEntry;
  /** Log files that were found beside the hive (names), whether or not they were needed. */
  logsFound: string[];
  /** The bytes of those logs, in logsFound order. */
  logs: Uint8Array[];
}

/** The directory part of an FsEntry path ('/' for the root). */
const dirOf = (p: string): string => p.slice(0, p.lastIndexOf('/')) || '/';

/** Reads a hive file whole, with whichever of its logs exist beside it. */
export async function readHiveFile(
  fs: FileSystem,
  entry: FsEntry,
  options: { strict?: boolean; limit?: number } = {},
): Promise<HiveFile> {
  const limit = options.limit ?? MAX_WHOLE_HIVE;
  const bytes = await readSmallFile(fs, entry, limit);
  const logs: Uint8Array[] = [];
  const logsFound: string[] = [];
  const found: Uint8Array[] = [];
  for (const name of logNamesFor(entry.name)) {
    try {
      const log = await fs.lookup(`${dirOf(entry.path)}/${name}`);
      const data = await readSmallFile(fs, log, limit);
      logs.push(data);
      logsFound.push(name);
      found.push(data);
    } catch (e) {
      if (!(e instanceof BootprobeError)) throw e;
      logs.push(new Uint8Array(0));
    }
  }
  const hive = openHive(bytes, { logs, strict: options.strict === true, name: entry.path });
  return { hive, entry, logsFound, logs: found };
}

export interface OpenedHive {
  hive: LazyHive;
  /** 'lazy' when read cell by cell; 'whole' when it was dirty and read whole to replay its logs. */
  mode: 'lazy' | 'whole';
  /** Findings of a whole read (dirty, recovered…). */
  warnings: Finding[];
  recovered: boolean;
}

/** Opens a hive file for a few lookups: lazily when clean, whole with its logs when dirty. */
export async function openHiveFile(fs: FileSystem, entry: FsEntry): Promise<OpenedHive> {
  const file = await fs.openFile(entry);
  const lazy = await openLazyHive(file, entry.path);
  if ('hive' in lazy) return { hive: lazy.hive, mode: 'lazy', warnings: [], recovered: false };
  const whole = await readHiveFile(fs, entry);
  return {
    hive: lazyView(whole.hive),
    mode: 'whole',
    warnings: [...whole.hive.warnings],
    recovered: whole.hive.recovered,
  };
}

/** A hive read whole, seen through the lazy interface so callers need one code path. */
export function lazyView(hive: Hive): LazyHive {
  const wrap = (k: HiveKey): LazyKey => ({
    name: k.name,
    path: k.path,
    nk: k.nk,
    lastWritten: k.lastWritten,
    subkey: async (name: string) => {
      const s = k.subkey(name);
      return s ? wrap(s) : null;
    },
    subkeyNames: async () => k.subkeys().map((s) => s.name),
    values: async (): Promise<RegistryValue[]> => k.values(),
    value: async (name: string) => k.value(name),
  });
  const root = wrap(hive.root);
  return {
    name: hive.name,
    baseBlock: hive.baseBlock,
    root,
    getKey: async (path: string) => {
      const k = hive.getKey(path);
      return k ? wrap(k) : null;
    },
  };
}
