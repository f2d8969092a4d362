/**
 * The browser entry (what `import … from 'bootprobe'` resolves to in a browser bundle): everything in the core
 * entry, plus helpers for the File objects a page gets from a file picker, a drop or a directory picker. Imports
 * nothing from Node (the browser-bundle test builds it with esbuild's browser platform).
 *
 * ```ts
 * import { filesAccess, inspect } from 'bootprobe';
 * const files = [...input.files];                       // the image and, for a differencing disk, its parents
 * const result = await inspect(files[0], { files: filesAccess(files) });
 * ```
 * @packageDocumentation
 */
import { FileListAccess, type NamedBlob } from './api/file-list-access.js';
import type { IoStats } from './io/block-device.js';

export * from './index.js';

/** What a chosen File offers: its name and, from a directory picker, its path inside the chosen folder. */
export interface ChosenFile {
  readonly name: string;
  readonly size: number;
  readonly webkitRelativePath?: string;
  slice(start?: number, end?: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

/** The path a chosen file goes by: its path inside a chosen folder, else its name. */
export const chosenPath = (f: ChosenFile): string => f.webkitRelativePath || f.name;

/** Named blobs for chosen files (`relativePaths` overrides, e.g. paths gathered from a dropped folder). */
export function namedFiles(
  files: Iterable<ChosenFile>,
  relativePaths?: ReadonlyMap<ChosenFile, string>,
): NamedBlob[] {
  return [...files].map((f) => ({ path: relativePaths?.get(f) ?? chosenPath(f), blob: f }));
}

/** A FileAccess over chosen files: a differencing disk finds its parents among them. */
export function filesAccess(
  files: Iterable<ChosenFile>,
  stats?: IoStats,
  relativePaths?: ReadonlyMap<ChosenFile, string>,
): FileListAccess {
  return new FileListAccess(namedFiles(files, relativePaths), stats);
}
