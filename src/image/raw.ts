// A raw image: the file is the disk (any size; a size that is not a sector multiple is exposed as it is).
import { type BlockDevice, readInto } from '../io/index.js';
import type { DiskImage, Extent, ImageInfo } from './disk-image.js';

export class RawImage implements DiskImage {
  readonly info: ImageInfo;
  readonly warnings = [];
  readonly parent = null;
  readonly size: number;
  readonly sectorSize: number;
  write?: (offset: number, data: Uint8Array) => Promise<void>;

  constructor(private readonly dev: BlockDevice) {
    this.size = dev.size;
    this.sectorSize = dev.sectorSize;
    if (dev.write) this.write = dev.write.bind(dev);
    this.info = {
      format: 'raw',
      variant: null,
      virtualSize: dev.size,
      logicalSectorSize: dev.sectorSize,
      physicalSectorSize: dev.sectorSize,
      blockSize: null,
      creator: null,
      fileSize: dev.size,
      allocatedSize: null,
      uniqueId: null,
      parent: null,
      details: {},
    };
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    return this.dev.read(offset, length);
  }

  readInto(offset: number, target: Uint8Array): Promise<void> {
    return readInto(this.dev, offset, target);
  }

  async mapRange(offset: number, length: number): Promise<Extent[]> {
    // A raw file has no allocation map we can see portably: all of it is data.
    return length > 0 ? [{ offset, length, kind: 'data' }] : [];
  }

  async allocatedSize(): Promise<number | null> {
    return null;
  }

  async flush(): Promise<void> {
    await this.dev.flush?.();
  }

  close(): Promise<void> {
    return this.dev.close();
  }
}
