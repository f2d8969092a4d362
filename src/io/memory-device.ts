// A BlockDevice over bytes in memory: for tests, for the browser, and for small files read whole.
import { BootprobeError } from '../errors.js';
import { type BlockDevice, checkRange, type IoStats } from './block-device.js';

export class MemoryDevice implements BlockDevice {
  readonly sectorSize: number;
  private bytes: Uint8Array;
  private readonly writable: boolean;
  private readonly stats: IoStats | undefined;

  constructor(bytes: Uint8Array, options: { sectorSize?: number; writable?: boolean; stats?: IoStats } = {}) {
    this.bytes = bytes;
    this.sectorSize = options.sectorSize ?? 512;
    this.writable = options.writable ?? false;
    this.stats = options.stats;
    if (!this.writable) this.write = undefined;
  }

  get size(): number {
    return this.bytes.length;
  }

  /** The whole content (a live view, not a copy). */
  get data(): Uint8Array {
    return this.bytes;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange('memory device', this.bytes.length, offset, length);
    if (this.stats) {
      this.stats.bytesRead += length;
      this.stats.reads++;
    }
    return this.bytes.subarray(offset, offset + length);
  }

  write?: (offset: number, data: Uint8Array) => Promise<void> = async (offset, data) => {
    if (offset + data.length > this.bytes.length) {
      const grown = new Uint8Array(offset + data.length);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes.set(data, offset);
    if (this.stats) {
      this.stats.bytesWritten += data.length;
      this.stats.writes++;
    }
  };

  /** Sets the length (a writable device only): what restoring an undo record needs after a file grew. */
  async truncate(size: number): Promise<void> {
    if (!this.writable) throw new BootprobeError('READ_ONLY', 'memory device is read-only');
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, Math.min(size, this.bytes.length)));
    this.bytes = next;
  }

  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}
