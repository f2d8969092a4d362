// FileAccess over the local file system (Node). Windows paths from inside images (`.\parent.vhd`,
// `C:\VMs\parent.vhdx`, `\\server\share\x.vhd`) are mapped through node:path so they work on Windows, where they
// are native, and on Linux/macOS, where only the relative forms can exist.
import { type Dir, opendir } from 'node:fs';
import path from 'node:path';
import { BootprobeError } from '../errors.js';
import type { BlockDevice, IoStats } from './block-device.js';
import { anyBasename, type FileAccess, isWindowsAbsolute } from './file-access.js';
import { FileDevice } from './file-device.js';

export class NodeFileAccess implements FileAccess {
  constructor(private readonly stats?: IoStats) {}

  async open(p: string): Promise<BlockDevice | null> {
    try {
      return await FileDevice.open(p, this.stats ? { stats: this.stats } : {});
    } catch (e) {
      if (e instanceof BootprobeError && (e.code === 'FILE_NOT_FOUND' || e.code === 'USAGE')) return null;
      throw e;
    }
  }

  resolveBeside(fromFile: string, relative: string): string {
    if (isWindowsAbsolute(relative)) {
      // `\\?\C:\x` is the Win32 long-path prefix: strip it so the path is usable as is.
      const stripped = relative.replace(/^\\\\\?\\(?=[a-zA-Z]:)/, '');
      return path.sep === '\\' ? stripped : stripped.replace(/\\/g, '/');
    }
    if (path.isAbsolute(relative)) return relative;
    const parts = relative.split(/[\\/]+/).filter((s) => s !== '' && s !== '.');
    return path.join(path.dirname(fromFile), ...parts);
  }

  basename(p: string): string {
    return anyBasename(p);
  }

  async siblings(file: string, limit: number): Promise<string[]> {
    const dir = path.dirname(path.resolve(file));
    const self = path.resolve(file);
    const out: string[] = [];
    try {
      // opendir streams the folder: a huge template library is read only up to `limit` entries.
      // node:fs's opendir, not fs/promises' (file-device.ts says why).
      const handle = await new Promise<Dir>((resolve, reject) =>
        opendir(dir, (err, d) => (err ? reject(err) : resolve(d))),
      );
      for await (const e of handle) {
        if (out.length >= limit) break;
        const p = path.join(dir, e.name);
        if ((e.isFile() || e.isSymbolicLink()) && p !== self) out.push(p);
      }
    } catch (e) {
      throw new BootprobeError('IO_ERROR', `cannot list ${dir}: ${(e as Error).message}`, { cause: e });
    }
    return out;
  }
}
