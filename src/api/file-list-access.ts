// FileAccess over files the user chose in a browser (issue 10: "for a differencing disk, its parents"). A page cannot
// open paths: it has the File objects of a file picker, a drop, or a directory picker (with their paths relative to
// the chosen folder). A parent is looked up by the path its child's locator resolves to, then, as Hyper-V would
// find a template's file placed beside the child, by its file name alone (case-insensitive, as on Windows). A file
// of the same name that is not the parent is refused by the parent-id check (image/open-image.ts openParent).
import type { BlobLike } from '../io/blob-device.js';
import { BlobDevice } from '../io/blob-device.js';
import type { BlockDevice, IoStats } from '../io/block-device.js';
import { CachedDevice } from '../io/cache.js';
import { anyBasename, type FileAccess, isWindowsAbsolute } from '../io/file-access.js';

/** A chosen file and the path it goes by ('template.vhdx', or 'library/2019/template.vhdx' from a folder). */
export interface NamedBlob {
  path: string;
  blob: BlobLike;
}

/** '/'-separated, no '.', '..' applied (never above the root): how chosen files' paths are compared. */
export function normalizeRelative(p: string): string {
  const out: string[] = [];
  for (const part of p.split(/[\\/]+/)) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}

export class FileListAccess implements FileAccess {
  private readonly byPath = new Map<string, BlobLike>();
  private readonly byName = new Map<string, BlobLike[]>();

  constructor(
    files: Iterable<NamedBlob>,
    private readonly stats?: IoStats,
  ) {
    for (const f of files) {
      const key = normalizeRelative(f.path).toLowerCase();
      this.byPath.set(key, f.blob);
      const name = anyBasename(key);
      const list = this.byName.get(name) ?? [];
      list.push(f.blob);
      this.byName.set(name, list);
    }
  }

  /** The path a locator resolved to, else the one chosen file of that name; null when there is none or several. */
  find(path: string): BlobLike | null {
    const exact = this.byPath.get(normalizeRelative(path).toLowerCase());
    if (exact) return exact;
    const same = this.byName.get(anyBasename(path).toLowerCase()) ?? [];
    return same.length === 1 ? same[0]! : null;
  }

  async open(path: string): Promise<BlockDevice | null> {
    const blob = this.find(path);
    if (!blob) return null;
    return new CachedDevice(
      new BlobDevice(blob, { name: path, ...(this.stats ? { stats: this.stats } : {}) }),
    );
  }

  resolveBeside(fromFile: string, relative: string): string {
    // An absolute Windows path names a folder the page cannot see: keep it, open() falls back to its file name.
    if (isWindowsAbsolute(relative) || relative.startsWith('/')) return relative;
    const dir = normalizeRelative(fromFile).split('/').slice(0, -1).join('/');
    return normalizeRelative(dir ? `${dir}/${relative}` : relative);
  }

  basename(path: string): string {
    return anyBasename(path);
  }
}
