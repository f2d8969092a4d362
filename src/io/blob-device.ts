// The browser's file backend: positional reads through Blob.slice() (a File the user chose or dropped), so a
// 127 GB template is read a few kilobytes at a time and never loaded whole (issue 10, "reads the image where it
// lies"). Counted like FileDevice, for the page's bytes-read figure (--stats). Pure web platform: Blob is a global in
// browsers and in Node 20 (fs.openAsBlob gives a file-backed one), so no import is needed.
import { BootprobeError, hex } from '../errors.js';
import { type BlockDevice, checkRange, type IoStats } from './block-device.js';

/** What BlobDevice needs of a Blob (a File is one; so is Node's fs.openAsBlob result). */
export interface BlobLike {
  readonly size: number;
  slice(start?: number, end?: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

export interface BlobDeviceOptions {
  /** Name for messages (the File's name). */
  name?: string;
  sectorSize?: number;
  /** Bytes and reads that reached the Blob are added here. */
  stats?: IoStats;
}

export class BlobDevice implements BlockDevice {
  readonly size: number;
  readonly sectorSize: number;
  readonly name: string;
  private readonly stats: IoStats | undefined;
  private closed = false;

  constructor(
    private readonly blob: BlobLike,
    options: BlobDeviceOptions = {},
  ) {
    this.size = blob.size;
    this.sectorSize = options.sectorSize ?? 512;
    this.name = options.name ?? ((blob as { name?: unknown }).name as string | undefined) ?? 'blob';
    this.stats = options.stats;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (this.closed) throw new BootprobeError('IO_ERROR', `${this.name}: read after close`);
    checkRange(this.name, this.size, offset, length);
    if (length === 0) return new Uint8Array(0);
    let buffer: ArrayBuffer;
    try {
      buffer = await this.blob.slice(offset, offset + length).arrayBuffer();
    } catch (e) {
      // A File whose underlying file changed or vanished after it was chosen fails here (NotReadableError).
      throw new BootprobeError('IO_ERROR', `${this.name}: read of ${length} bytes at ${hex(offset)} failed`, {
        offset,
        cause: e,
        hint: 'choose the file again; it may have been moved or changed since it was chosen',
      });
    }
    if (buffer.byteLength !== length) {
      throw new BootprobeError(
        'IO_ERROR',
        `${this.name}: read of ${length} bytes at ${hex(offset)} returned ${buffer.byteLength}`,
        { offset, hint: 'the file changed size since it was chosen; choose it again' },
      );
    }
    if (this.stats) {
      this.stats.bytesRead += length;
      this.stats.reads++;
    }
    return new Uint8Array(buffer);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
