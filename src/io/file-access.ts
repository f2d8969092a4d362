// How a format reader opens companion files (a differencing disk's parent, a hive's .LOG1) without importing
// node:fs: the caller injects a FileAccess. The Node implementation is in node-file-access.ts; a browser page
// implements it over the File objects the user chose.
import type { BlockDevice } from './block-device.js';

export interface FileAccess {
  /** Opens a file read-only; null when it does not exist. Other failures throw IO_ERROR. */
  open(path: string): Promise<BlockDevice | null>;
  /**
   * Resolves `relative` (Windows `.\a\b.vhd` or POSIX syntax) against the folder holding `fromFile`.
   * Absolute paths (`C:\x`, `\\server\share\x`, `/x`) come back unchanged.
   */
  resolveBeside(fromFile: string, relative: string): string;
  /** Last component of a Windows or POSIX path. */
  basename(path: string): string;
  /**
   * Optional: the other files in the folder holding `file` (full paths, at most `limit`). The write layer uses it
   * to refuse writing a disk that a differencing disk beside it names as its parent (DESIGN.md write rules).
   */
  siblings?(file: string, limit: number): Promise<string[]>;
}

/** Last component of a path in either syntax (pure: used by FileAccess implementations and messages). */
export function anyBasename(p: string): string {
  const parts = p.split(/[\\/]/);
  return parts[parts.length - 1] ?? p;
}

/** True for Windows absolute forms: `C:\`, `\\server\share`, `\\?\C:\`. */
export function isWindowsAbsolute(p: string): boolean {
  return /^[a-zA-Z]:[\\/]/.test(p) || p.startsWith('\\\\');
}
