// `bootprobe reg HIVE|IMAGE [KEYPATH]` lists a key as `reg query` does; `bootprobe reg export HIVE|IMAGE [KEYPATH]`
// prints the .reg text `hivexregedit --export` prints, byte for byte, so the two can be diffed (issue 4).
// fs.promises is read when used: loading node:fs/promises at start-up costs every command ~0.8 ms (file-device.ts).
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { BootprobeError } from '../../errors.js';
import { openVolume } from '../../fs/disk-volumes.js';
import type { FileSystem } from '../../fs/file-system.js';
import { exportRegBytes, type Hive, logNamesFor, openHive } from '../../hive/index.js';
import { REG, type RegistryValue } from '../../hive/key.js';
import { decodeUtf16, toHex } from '../../io/byte-view.js';
import type { PartitionTable } from '../../volume/partition.js';
import { readPartitionTable } from '../../volume/partition-table.js';
import { findBcdStores } from '../../windows/find-bcd.js';
import { MAX_WHOLE_HIVE, readHiveFile } from '../../windows/hive-file.js';
import type { CliContext } from '../context.js';
import { parsePartition } from './files.js';

export interface RegOptions {
  partition?: string;
  file?: string;
  json?: boolean;
  prefix?: string;
}

export interface LoadedHive {
  hive: Hive;
  /** The partition table of the image the hive was read from; null for a hive file. */
  table: PartitionTable | null;
  /** Where it came from, for messages and the default export prefix. */
  where: string;
  fileName: string;
  isBcd: boolean;
}

/** Reads a hive file, or a hive inside an image (`--file PATH`, else its BCD store), with the logs beside it. */
export async function loadHive(ctx: CliContext, target: string, opts: RegOptions): Promise<LoadedHive> {
  const dev = await ctx.openFile(target);
  const head = dev.size >= 4 ? await dev.read(0, 4) : new Uint8Array(0);
  const strict = ctx.globals.strict === true;
  if (String.fromCharCode(...head) === 'regf') {
    if (dev.size > MAX_WHOLE_HIVE)
      throw new BootprobeError('HIVE_BASE_BLOCK', `${target}: ${dev.size} bytes is not a hive size`);
    const bytes = await dev.read(0, dev.size);
    const logs: Uint8Array[] = [];
    for (const name of logNamesFor(path.basename(target))) {
      const p = path.join(path.dirname(target), name);
      logs.push(
        await fsp.readFile(p).then(
          (b) => new Uint8Array(b),
          () => new Uint8Array(0),
        ),
      );
    }
    const fileName = path.basename(target);
    const hive = openHive(bytes, { logs, strict, name: fileName });
    return { hive, table: null, where: target, fileName, isBcd: hive.getKey('\\Objects') !== null };
  }
  const image = await ctx.openImage(target);
  let fs: FileSystem;
  let filePath: string;
  let where: string;
  if (opts.file) {
    const v = await openVolume(image, parsePartition(opts.partition));
    fs = v.fs;
    filePath = opts.file;
    where = `partition ${v.partition.index}`;
  } else {
    const found = (await findBcdStores(image, parsePartition(opts.partition))).find(
      (c) => 'entry' in c.found,
    );
    if (!found || !('entry' in found.found)) {
      throw new BootprobeError(
        'BCD_NOT_FOUND',
        `${target}: no BCD store on any volume (looked for \\Boot\\BCD and \\EFI\\Microsoft\\Boot\\BCD)`,
        {
          hint: 'name a hive inside the image with --file PATH',
        },
      );
    }
    fs = found.found.fs;
    filePath = found.found.entry.path;
    where = `partition ${found.partition.index}`;
  }
  const entry = await fs.lookup(filePath);
  // The hive with the .LOG files beside it, read as pre-flight reads a store (windows/hive-file.ts).
  const { hive } = await readHiveFile(fs, entry, { strict, limit: MAX_WHOLE_HIVE });
  return {
    hive,
    table: await readPartitionTable(image),
    where: `${target} ${where} ${entry.path}`,
    fileName: entry.name,
    isBcd: hive.getKey('\\Objects') !== null,
  };
}

export const REG_TYPE_NAMES: Record<number, string> = {
  [REG.NONE]: 'REG_NONE',
  [REG.SZ]: 'REG_SZ',
  [REG.EXPAND_SZ]: 'REG_EXPAND_SZ',
  [REG.BINARY]: 'REG_BINARY',
  [REG.DWORD]: 'REG_DWORD',
  [REG.DWORD_BIG_ENDIAN]: 'REG_DWORD_BIG_ENDIAN',
  [REG.LINK]: 'REG_LINK',
  [REG.MULTI_SZ]: 'REG_MULTI_SZ',
  [REG.RESOURCE_LIST]: 'REG_RESOURCE_LIST',
  [REG.FULL_RESOURCE_DESCRIPTOR]: 'REG_FULL_RESOURCE_DESCRIPTOR',
  [REG.RESOURCE_REQUIREMENTS_LIST]: 'REG_RESOURCE_REQUIREMENTS_LIST',
  [REG.QWORD]: 'REG_QWORD',
};

/** A value's data as `reg query` shows it: strings as text, numbers in hex, the rest as hex bytes. */
export function formatValue(v: RegistryValue): string | string[] | number | bigint {
  const d = v.data;
  const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
  switch (v.type) {
    case REG.SZ:
    case REG.EXPAND_SZ:
    case REG.LINK:
      return decodeUtf16(d, true, true);
    case REG.MULTI_SZ:
      return decodeUtf16(d, true)
        .split('\0')
        .filter((s, i, all) => s !== '' || i < all.length - 2);
    case REG.DWORD:
      return d.length >= 4 ? dv.getUint32(0, true) : toHex(d);
    case REG.DWORD_BIG_ENDIAN:
      return d.length >= 4 ? dv.getUint32(0, false) : toHex(d);
    case REG.QWORD:
      return d.length >= 8 ? dv.getBigUint64(0, true) : toHex(d);
    default:
      return toHex(d);
  }
}

function valueText(v: RegistryValue): string {
  const f = formatValue(v);
  if (typeof f === 'number' || typeof f === 'bigint') return `0x${f.toString(16)}`;
  if (Array.isArray(f)) return f.join('\\0');
  return f;
}

/** Loads the hive, reports its findings, and finds the key both reg commands start from. */
async function openKey(ctx: CliContext, target: string, keyPath: string | undefined, opts: RegOptions) {
  const loaded = await loadHive(ctx, target, opts);
  for (const w of loaded.hive.warnings) ctx.warn(w.message);
  const key = loaded.hive.getKey(keyPath ?? '\\');
  if (!key) {
    throw new BootprobeError('KEY_NOT_FOUND', `no key ${keyPath} in ${loaded.fileName}`, {
      hint: 'list the parent key with `bootprobe reg`',
    });
  }
  return { ...loaded, key };
}

export async function regCommand(
  ctx: CliContext,
  target: string,
  keyPath: string | undefined,
  opts: RegOptions,
) {
  const { key, isBcd, fileName } = await openKey(ctx, target, keyPath, opts);
  const prefix = opts.prefix ?? defaultPrefix(fileName, isBcd);
  const full = key.path === '\\' ? prefix : `${prefix}${key.path}`;
  if (opts.json) {
    ctx.json({
      key: key.path,
      lastWritten: key.lastWritten?.toISOString() ?? null,
      className: key.className,
      values: key.values().map((v) => {
        const f = formatValue(v);
        return {
          name: v.name,
          type: v.type,
          typeName: REG_TYPE_NAMES[v.type] ?? `0x${v.type.toString(16)}`,
          data: typeof f === 'bigint' ? f.toString() : f,
          raw: toHex(v.data),
        };
      }),
      subkeys: key.subkeys().map((k) => k.name),
    });
    return 0;
  }
  const lines = [full];
  for (const v of key.values()) {
    lines.push(
      `    ${v.name === '' ? '(Default)' : v.name}    ${REG_TYPE_NAMES[v.type] ?? `0x${v.type.toString(16)}`}    ${valueText(v)}`,
    );
  }
  lines.push('');
  for (const k of key.subkeys()) lines.push(`${full}\\${k.name}`);
  ctx.out(lines.join('\n'));
  return 0;
}

/** hivexregedit needs a prefix; ours defaults to where Windows mounts the hive: BCD00000000 for a store. */
function defaultPrefix(fileName: string, isBcd: boolean): string {
  return isBcd ? 'HKEY_LOCAL_MACHINE\\BCD00000000' : `HKEY_LOCAL_MACHINE\\${fileName.toUpperCase()}`;
}

export async function regExportCommand(
  ctx: CliContext,
  target: string,
  keyPath: string | undefined,
  opts: RegOptions,
) {
  const { hive, isBcd, fileName } = await openKey(ctx, target, keyPath, opts);
  const bytes = exportRegBytes(hive, {
    prefix: opts.prefix ?? defaultPrefix(fileName, isBcd),
    keyPath: keyPath ?? '\\',
  });
  ctx.io.stdout.write(bytes);
  return 0;
}
