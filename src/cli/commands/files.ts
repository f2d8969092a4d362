// `ls`, `cat`, `stat`, `extract`: the file commands of issue 3, over any FileSystem (NTFS, FAT).
// fs.promises is read when used: loading node:fs/promises at start-up costs every command ~0.8 ms (file-device.ts).
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { BootprobeError } from '../../errors.js';
import { openVolume } from '../../fs/disk-volumes.js';
import {
  FILE_ATTRIBUTE,
  type FileSystem,
  type FsEntry,
  fileReadInto,
  joinPath,
  nameEntry,
} from '../../fs/file-system.js';
import type { CliContext } from '../context.js';
import { Progress } from '../progress.js';
import { safeName } from '../safe-name.js';

const OUT_BATCH = 64 * 1024;
const utf8Decoder = new TextDecoder();
const NO_PREFIX = new Uint8Array(0);

export interface VolumeOptions {
  partition?: string;
}

/** Bounds a recursive walk (DESIGN.md: every tree walk has a depth bound); NTFS paths cannot nest deeper anyway. */
const MAX_DEPTH = 512;
/** Streaming piece for cat and extract. */
/**
 * Bytes per read of `cat` and `extract`, into buffers they reuse. 1 MiB: two such buffers stay in the CPU's caches
 * and fault in few pages; measured on the benchmark machine, a 38 MB file read cold in 4 MiB chunks took 7-10 ms of
 * pread, in 1 MiB chunks 4-6 ms, and a 1 GiB file the same (issue 7).
 */
const CHUNK = 1024 * 1024;

export function parsePartition(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new BootprobeError('USAGE', `-p takes a partition number (1, 2, ...), not '${value}'`);
  }
  return n;
}

export async function openFs(ctx: CliContext, imagePath: string, opts: VolumeOptions): Promise<FileSystem> {
  const image = await ctx.openImage(imagePath);
  const { fs } = await openVolume(image, parsePartition(opts.partition));
  for (const w of fs.warnings) ctx.warn(w.message);
  return fs;
}

/** Splits `dir/file:stream` into the path and the NTFS stream name ('' = unnamed). */
export function splitStream(p: string): { path: string; stream: string } {
  const slash = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  const colon = p.indexOf(':', slash + 1);
  if (colon < 0) return { path: p, stream: '' };
  return { path: p.slice(0, colon), stream: p.slice(colon + 1) };
}

function iso(d: Date | null): string | null {
  return d && !Number.isNaN(d.getTime()) ? d.toISOString() : null;
}

function entryJson(e: FsEntry) {
  return {
    name: e.name,
    path: e.path,
    type: e.isDirectory ? 'directory' : 'file',
    size: e.size,
    allocatedSize: e.allocatedSize,
    shortName: e.shortName,
    attributes: e.attributes,
    created: iso(e.created),
    modified: iso(e.modified),
    accessed: iso(e.accessed),
    changed: iso(e.changed),
    id: e.id,
    streams: e.streams,
  };
}

const ATTR_LETTERS: [number, string][] = [
  [FILE_ATTRIBUTE.DIRECTORY, 'd'],
  [FILE_ATTRIBUTE.READONLY, 'r'],
  [FILE_ATTRIBUTE.HIDDEN, 'h'],
  [FILE_ATTRIBUTE.SYSTEM, 's'],
  [FILE_ATTRIBUTE.ARCHIVE, 'a'],
  [FILE_ATTRIBUTE.COMPRESSED, 'c'],
  [FILE_ATTRIBUTE.SPARSE_FILE, 'p'],
  [FILE_ATTRIBUTE.REPARSE_POINT, 'l'],
];

function longLine(e: FsEntry, shown: string): string {
  const attrs = ATTR_LETTERS.map(([bit, ch]) =>
    (e.attributes & bit) !== 0 || (ch === 'd' && e.isDirectory) ? ch : '-',
  ).join('');
  const when =
    iso(e.modified)
      ?.replace('T', ' ')
      .replace(/\.\d+Z$/, '') ?? '-';
  return `${attrs} ${String(e.isDirectory ? 0 : e.size).padStart(12)} ${when.padEnd(19)} ${shown}${e.isDirectory ? '/' : ''}`;
}

export interface LsOptions extends VolumeOptions {
  recursive?: boolean;
  long?: boolean;
  json?: boolean;
}

export async function lsCommand(
  ctx: CliContext,
  imagePath: string,
  dirPath: string | undefined,
  opts: LsOptions,
) {
  if (opts.long) await ctx.io.treeWalk?.();
  const fs = await openFs(ctx, imagePath, opts);
  const start = await fs.lookup(dirPath ?? '/');
  const rows: { entry: FsEntry; shown: string }[] = [];
  // Text lines go out in batches of 64 KiB, not one write per entry (issue 7: a write per line cost ~100 ms of a
  // 50,000-entry `ls -R`), encoded as they come into the batch's bytes: a batch kept as a string held a thousand
  // concatenations alive through the young generation's collections (8 MB promoted by an `ls -R` of 52,000 entries).
  // A Node Buffer, written with buf.write(): no sub-view per line (a TextEncoder.encodeInto needs one). A batch the
  // stream is done with (its write callback) is filled again.
  let batch: Buffer = Buffer.allocUnsafe(OUT_BATCH);
  let used = 0;
  const spare: Buffer[] = [];
  const flush = () => {
    if (!used) return;
    const full = batch;
    writeThen(ctx, full.subarray(0, used), () => spare.push(full));
    batch = spare.pop() ?? Buffer.allocUnsafe(OUT_BATCH);
    used = 0;
  };
  const put = (line: string) => {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (used + 3 * line.length > batch.length) {
      flush();
      if (3 * line.length > batch.length) {
        ctx.io.stdout.write(line);
        return;
      }
    }
    used += batch.write(line, used);
  };
  /** `prefix` (a directory's shown path and '/', as bytes) + name + '/' for a directory + newline: no string per line. */
  const putName = (prefix: Uint8Array, name: string, isDirectory: boolean | number) => {
    if (used + prefix.length + 3 * name.length + 2 > batch.length) {
      flush();
      if (prefix.length + 3 * name.length + 2 > batch.length) {
        put(plain(utf8Decoder.decode(prefix) + name, isDirectory));
        return;
      }
    }
    batch.set(prefix, used);
    used += prefix.length;
    used += batch.write(name, used);
    if (isDirectory) batch[used++] = 0x2f;
    batch[used++] = 0x0a;
  };
  const plain = (shown: string, isDirectory: boolean | number) =>
    isDirectory ? `${shown}/\n` : `${shown}\n`;
  const emit = (entry: FsEntry, shown: string) => {
    if (opts.json) rows.push({ entry, shown });
    else put(opts.long ? `${longLine(entry, shown)}\n` : plain(shown, entry.isDirectory));
  };
  try {
    if (!start.isDirectory) {
      emit(start, start.path);
    } else {
      const visited = new Set<number>();
      const walk = async (dir: FsEntry, shownDir: string, depth: number): Promise<void> => {
        if (depth > MAX_DEPTH) {
          throw new BootprobeError(
            'FS_UNKNOWN',
            `${dir.path}: directories nest deeper than ${MAX_DEPTH} levels`,
            {
              hint: 'the directory tree is damaged (a loop)',
            },
          );
        }
        visited.add(dir.id);
        // Plain `ls` prints names only: where the file system can list them from its index alone, no file's own
        // record is read (issue 7: NTFS `ls -R` costs its index blocks, as ntfsls does, not its whole MFT).
        const show = (name: string) => (opts.recursive && shownDir ? `${shownDir}/${name}` : name);
        if (!opts.long && !opts.json && fs.listNames) {
          // Names only: a string and two numbers per pending entry while subdirectories are walked (NameList).
          const names = await fs.listNames(dir);
          const prefix = opts.recursive && shownDir ? Buffer.from(`${shownDir}/`) : NO_PREFIX;
          for (let i = 0; i < names.names.length; i++) {
            const name = names.names[i]!;
            putName(prefix, name, names.directory[i]!);
            if (opts.recursive && names.directory[i] && !visited.has(names.ids[i]!))
              await walk(nameEntry(dir, names, i), show(name), depth + 1);
          }
          return;
        }
        for (const e of await fs.list(dir)) {
          const shown = show(e.name);
          emit(e, shown);
          if (opts.recursive && e.isDirectory && !visited.has(e.id)) await walk(e, shown, depth + 1);
        }
      };
      await walk(start, '', 0);
    }
  } finally {
    flush();
  }
  if (opts.json)
    ctx.json({
      filesystem: fs.type,
      label: fs.label,
      entries: rows.map((r) => ({ ...entryJson(r.entry), listed: r.shown })),
    });
  return 0;
}

export async function catCommand(ctx: CliContext, imagePath: string, filePath: string, opts: VolumeOptions) {
  const fs = await openFs(ctx, imagePath, opts);
  const { path: p, stream } = splitStream(filePath);
  const entry = await fs.lookup(p);
  const reader = await fs.openFile(entry, stream || undefined);
  // Two buffers in turn, each read into again only once stdout has written it (its write callback): at most two
  // chunks in flight, and no fresh memory per chunk (issue 7: the page faults of a new 4 MiB buffer per chunk cost
  // more than reading it; `cat` of a 38 MB hive 106 -> 91 ms, of 1 GiB 291 -> 174 ms).
  const size = reader.size;
  const bufs: Uint8Array[] = [];
  const written: Promise<void>[] = [];
  for (let at = 0, k = 0; at < size; at += CHUNK, k ^= 1) {
    await written[k];
    bufs[k] ??= new Uint8Array(Math.min(CHUNK, size));
    const chunk = bufs[k]!.subarray(0, Math.min(CHUNK, size - at));
    await fileReadInto(reader, at, chunk);
    written[k] = writeOut(ctx, chunk);
  }
  await Promise.all(written);
  return 0;
}

/** Writes a chunk to stdout; resolves once the stream is done with it (its buffer may then be reused). */
function writeOut(ctx: CliContext, data: Uint8Array): Promise<void> {
  return new Promise<void>((resolve) => writeThen(ctx, data, resolve));
}

/** Writes to stdout and calls `done` once the stream no longer needs `data` (OutStream). */
function writeThen(ctx: CliContext, data: Uint8Array, done: () => void): void {
  const out = ctx.io.stdout;
  if (out.write.length < 2) {
    out.write(data); // a sink without a callback: done with the bytes when write returns
    done();
  } else out.write(data, () => done()); // an error (EPIPE) is the stream's 'error' event, handled in bin.ts
}

export interface StatOptions extends VolumeOptions {
  json?: boolean;
}

export async function statCommand(ctx: CliContext, imagePath: string, filePath: string, opts: StatOptions) {
  const fs = await openFs(ctx, imagePath, opts);
  const entry = await fs.lookup(splitStream(filePath).path);
  const details = await fs.stat(entry);
  const record = { ...entryJson(entry), filesystem: fs.type, details };
  if (opts.json) ctx.json(record);
  else ctx.out(renderTree(record));
  return 0;
}

/** Indented `key: value` text of a JSON-like object (stat's text form). */
export function renderTree(value: unknown, indent = ''): string {
  const lines: string[] = [];
  const scalar = (v: unknown) => (v === null ? '-' : typeof v === 'string' ? v : JSON.stringify(v));
  const walk = (v: unknown, pad: string) => {
    if (Array.isArray(v)) {
      v.forEach((item, i) => {
        if (item !== null && typeof item === 'object') {
          lines.push(`${pad}[${i}]`);
          walk(item, `${pad}  `);
        } else lines.push(`${pad}- ${scalar(item)}`);
      });
      return;
    }
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (
        x !== null &&
        typeof x === 'object' &&
        !(Array.isArray(x) && x.every((y) => typeof y !== 'object'))
      ) {
        lines.push(`${pad}${k}:`);
        walk(x, `${pad}  `);
      } else if (Array.isArray(x)) lines.push(`${pad}${k}: ${x.map(scalar).join(', ') || '-'}`);
      else lines.push(`${pad}${k}: ${scalar(x)}`);
    }
  };
  walk(value, indent);
  return lines.join('\n');
}

export interface ExtractOptions extends VolumeOptions {
  recursive?: boolean;
}

export async function extractCommand(
  ctx: CliContext,
  imagePath: string,
  srcPath: string,
  dest: string,
  opts: ExtractOptions,
) {
  const fs = await openFs(ctx, imagePath, opts);
  const { path: p, stream } = splitStream(srcPath);
  const entry = await fs.lookup(p);
  const destRoot = path.resolve(dest);
  const destIsDir = await fsp.stat(destRoot).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (entry.isDirectory) {
    if (!opts.recursive) {
      throw new BootprobeError('NOT_A_FILE', `${entry.path} is a directory`, {
        hint: 'pass -R to extract a directory tree',
      });
    }
    await ctx.io.treeWalk?.();
    await fsp.mkdir(destRoot, { recursive: true });
    const top = entry.path === '/' ? destRoot : path.join(destRoot, safe(ctx, entry.name, entry.path));
    let count = 0;
    const visited = new Set<number>();
    const walk = async (dir: FsEntry, target: string, depth: number): Promise<void> => {
      if (depth > MAX_DEPTH) throw new BootprobeError('FS_UNKNOWN', `${dir.path}: directories nest too deep`);
      visited.add(dir.id);
      inside(destRoot, target);
      await fsp.mkdir(target, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
        throw new BootprobeError(
          'IO_ERROR',
          `cannot create the folder ${target} for ${dir.path}: ${err.code ?? err.message}`,
          {
            kind: err.code === 'EEXIST' || err.code === 'ENOTDIR' ? 'unsafe' : 'io',
            hint: 'a file of that name is in the way in DEST; extract into an empty folder',
            cause: err,
          },
        );
      });
      // Names that become equal once made safe (or differ only in case, on Windows and macOS) get a ~N suffix
      // rather than overwriting each other.
      const used = new Set<string>();
      for (const e of await fs.list(dir)) {
        const where = joinPath(dir.path, e.name);
        let name = safe(ctx, e.name, where);
        for (let k = 2; used.has(name.toLowerCase()); k++) {
          const dot = name.lastIndexOf('.');
          const candidate = dot > 0 ? `${name.slice(0, dot)}~${k}${name.slice(dot)}` : `${name}~${k}`;
          if (!used.has(candidate.toLowerCase())) {
            ctx.warn(`${where}: written as '${candidate}' (another entry has the same name once made safe)`);
            name = candidate;
          }
        }
        used.add(name.toLowerCase());
        const t = path.join(target, name);
        if (e.isDirectory) {
          if (!visited.has(e.id)) await walk(e, t, depth + 1);
        } else {
          try {
            await writeFile(ctx, fs, e, '', inside(destRoot, t));
            count++;
          } catch (err) {
            // NTFS metafiles such as $Extend\$ObjId hold no unnamed data stream: skip them, as fls/tsk_recover do.
            if (!(err instanceof BootprobeError) || err.code !== 'PATH_NOT_FOUND') throw err;
            ctx.warn(`${where}: skipped (${err.message})`);
          }
        }
      }
      await setTimes(target, dir);
    };
    await walk(entry, top, 0);
    ctx.io.stderr.write(`extracted ${count} files to ${top}\n`);
    return 0;
  }
  const target = destIsDir
    ? path.join(destRoot, safe(ctx, stream ? `${entry.name}_${stream}` : entry.name, entry.path))
    : destRoot;
  await writeFile(ctx, fs, entry, stream, destIsDir ? inside(destRoot, target) : target);
  return 0;
}

function safe(ctx: CliContext, name: string, where: string): string {
  const r = safeName(name);
  if (r !== name) ctx.warn(`${where}: name written as '${r}' (unsafe on this system)`);
  return r;
}

/** Refuses any target outside DEST, whatever the names said. */
function inside(root: string, target: string): string {
  const rel = path.relative(root, path.resolve(target));
  if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
    throw new BootprobeError('UNSAFE_WRITE', `refusing to write ${target}: outside ${root}`);
  }
  return target;
}

async function writeFile(ctx: CliContext, fs: FileSystem, e: FsEntry, stream: string, target: string) {
  const reader = await fs.openFile(e, stream || undefined);
  let fh: Awaited<ReturnType<typeof fsp.open>>;
  try {
    fh = await fsp.open(target, 'w');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BootprobeError(
      'IO_ERROR',
      `cannot create ${target} for ${e.path}: ${code ?? (err as Error).message}`,
      {
        kind: code === 'EISDIR' || code === 'ENOTDIR' || code === 'EEXIST' ? 'unsafe' : 'io',
        hint: 'a file or folder of that name is in the way in DEST; extract into an empty folder',
        cause: err,
      },
    );
  }
  const progress = new Progress(ctx.io.stderr, reader.size > 64 * 1024 * 1024 ? reader.size : 0, e.name);
  try {
    // One buffer, read into again once its bytes are written (see catCommand).
    const buf = new Uint8Array(Math.min(CHUNK, reader.size));
    for (let at = 0; at < reader.size; at += CHUNK) {
      const data = buf.subarray(0, Math.min(CHUNK, reader.size - at));
      await fileReadInto(reader, at, data);
      await fh.write(data, 0, data.length, at);
      progress.update(at + data.length);
    }
  } finally {
    progress.done();
    await fh.close();
  }
  await setTimes(target, e);
}

async function setTimes(target: string, e: FsEntry) {
  const m = e.modified && !Number.isNaN(e.modified.getTime()) ? e.modified : null;
  if (!m) return;
  const a = e.accessed && !Number.isNaN(e.accessed.getTime()) ? e.accessed : m;
  await fsp.utimes(target, a, m).catch(() => undefined);
}
