// Reading a PE file where it lies (ntoskrnl.exe is ~10 MB inside a 127 GB image) without reading all of it: the
// headers and section table (pe.md §1), then the resource section only (§3, where VS_VERSIONINFO lives). The
// bytes between stay zero in the buffer decodePe sees; decodePe reads nothing else.
import { decodePe, type PeInfo } from './pe-file.js';

export interface PeSource {
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** Headers of any real PE fit in the first 4 KiB (SizeOfHeaders is 0x400 or 0x1000 in practice, §1). */
const HEAD = 4096;
/** A resource section larger than this is not read (the version is then reported unknown). */
export const MAX_RESOURCE_READ = 2 * 1024 * 1024;

/** Largest file prefix the sparse buffer may span (real kernels are 8–12 MB). */
const MAX_SPARSE = 64 * 1024 * 1024;

/** decodePe over the headers and the resource section of `src`; reads at most HEAD + MAX_RESOURCE_READ bytes. */
export async function readPe(src: PeSource): Promise<PeInfo> {
  const head = await src.read(0, Math.min(src.size, HEAD));
  const first = decodePe(head);
  const rsrc = first.sections.find((s) => s.name === '.rsrc');
  if (!rsrc || rsrc.rawSize === 0 || rsrc.rawSize > MAX_RESOURCE_READ) return first;
  const end = rsrc.rawPointer + rsrc.rawSize;
  // The sparse buffer spans the file up to the section's end: bounded so a hostile header cannot make it huge.
  if (end > src.size || end > MAX_SPARSE || rsrc.rawPointer < head.length) return first;
  const sparse = new Uint8Array(end);
  sparse.set(head, 0);
  sparse.set(await src.read(rsrc.rawPointer, rsrc.rawSize), rsrc.rawPointer);
  return decodePe(sparse);
}
