// A bounded window onto another device (a partition, an embedded volume). Reads outside the window are errors,
// so a file system opened on a partition can never read its neighbours.
import { type BlockDevice, checkRange, inRange, rangeError, readInto } from './block-device.js';

export class SliceDevice implements BlockDevice {
  readonly sectorSize: number;
  write?: (offset: number, data: Uint8Array) => Promise<void>;

  constructor(
    readonly parent: BlockDevice,
    /** Byte offset of the slice in the parent. */
    readonly start: number,
    readonly size: number,
    private readonly name = 'slice',
  ) {
    checkRange(`${name} of its container`, parent.size, start, size);
    this.sectorSize = parent.sectorSize;
    const pw = parent.write?.bind(parent);
    if (pw) {
      this.write = async (offset, data) => {
        checkRange(this.name, this.size, offset, data.length);
        await pw(this.start + offset, data);
      };
    }
  }

  // Not async: the parent's promise is handed back as it is (issue 7: one promise and its ticks fewer per read).
  read(offset: number, length: number): Promise<Uint8Array> {
    if (!inRange(this.size, offset, length))
      return Promise.reject(rangeError(this.name, this.size, offset, length));
    return this.parent.read(this.start + offset, length);
  }

  readInto(offset: number, target: Uint8Array): Promise<void> {
    if (!inRange(this.size, offset, target.length))
      return Promise.reject(rangeError(this.name, this.size, offset, target.length));
    return readInto(this.parent, this.start + offset, target);
  }

  async flush(): Promise<void> {
    await this.parent.flush?.();
  }

  /** Closing a slice does not close its parent: the parent's opener owns it. */
  async close(): Promise<void> {}
}
