// The one interface every layer reads through (DESIGN.md "Layers"). An image is a BlockDevice, a partition is a
// slice of one, a file system is opened on one. Offsets are byte offsets; reads past the end are errors.
import { BootprobeError, hex } from '../errors.js';

export interface BlockDevice {
  /** Size in bytes. */
  readonly size: number;
  /** Logical sector size (512 or 4096). */
  readonly sectorSize: number;
  /** Reads exactly `length` bytes at `offset`; the result may be a view into a cache: do not modify it. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Optional: reads `target.length` bytes at `offset` into `target`, a buffer the caller reuses (issue 7: streaming a
   * large file through fresh buffers cost more in page faults than the reads; see readInto below for the fallback).
   */
  readInto?(offset: number, target: Uint8Array): Promise<void>;
  /** Absent = read-only. */
  write?(offset: number, data: Uint8Array): Promise<void>;
  flush?(): Promise<void>;
  close(): Promise<void>;
}

/** Reads `target.length` bytes at `offset` of `dev` into `target`: the device's readInto, else a read and a copy. */
export function readInto(dev: BlockDevice, offset: number, target: Uint8Array): Promise<void> {
  // Not async: each layer hands the next one's promise back as it is (issue 7: no promise per layer per read).
  if (dev.readInto) return dev.readInto(offset, target);
  return dev.read(offset, target.length).then((b) => {
    target.set(b);
  });
}

/** Bytes and requests that reached a backend: what `--stats` prints. */
export interface IoStats {
  bytesRead: number;
  reads: number;
  bytesWritten: number;
  writes: number;
}

export function newIoStats(): IoStats {
  return { bytesRead: 0, reads: 0, bytesWritten: 0, writes: 0 };
}

/** Whether a read of `length` bytes at `offset` lies inside `size` bytes (checkRange without the error). */
export function inRange(size: number, offset: number, length: number): boolean {
  return (
    Number.isSafeInteger(offset) &&
    Number.isSafeInteger(length) &&
    offset >= 0 &&
    length >= 0 &&
    offset + length <= size
  );
}

/** Throws READ_OUT_OF_RANGE unless [offset, offset+length) lies inside a device of `size` bytes. */
export function checkRange(what: string, size: number, offset: number, length: number): void {
  if (!inRange(size, offset, length)) throw rangeError(what, size, offset, length);
}

/** The READ_OUT_OF_RANGE error checkRange throws (a read that is not an async function rejects with it). */
export function rangeError(what: string, size: number, offset: number, length: number): BootprobeError {
  return new BootprobeError(
    'READ_OUT_OF_RANGE',
    `${what}: read of ${length} bytes at ${hex(offset)} is outside its ${size} bytes`,
    { offset, data: { size, length } },
  );
}

/** A device that can be written. */
export type WritableDevice = BlockDevice & { write(offset: number, data: Uint8Array): Promise<void> };

/** `dev` as a WritableDevice, or READ_ONLY (exit 4) naming `what`. */
export function requireWritable(dev: BlockDevice, what: string): WritableDevice {
  if (!dev.write) {
    throw new BootprobeError('READ_ONLY', `${what} was opened read-only; it cannot be written`, {
      hint: 'open the file writable to change it',
    });
  }
  return dev as WritableDevice;
}
