// Opening an image for writing: the one entrance of the image write path (DESIGN.md write rules). It opens the
// image as the reader does (parents read-only), refuses what is unsafe to write (exit 4), attaches the format's
// writer, serializes writes, and reads every write back through the whole image stack (BAT, bitmaps, parent chain)
// before reporting success. Put an UndoRecorder (io/undo-record.ts) between the file and this to keep an undo record.
import { BootprobeError, hex } from '../errors.js';
import { type BlockDevice, bytesEqual, checkRange } from '../io/index.js';
import type { DiskImage, OpenImageOptions } from './disk-image.js';
import { openImage } from './open-image.js';
import { RawImage } from './raw.js';
import { VhdImage } from './vhd/vhd-image.js';
import { VhdWriter } from './vhd/vhd-writer.js';
import { VhdxImage } from './vhdx/vhdx-image.js';
import { VhdxWriter } from './vhdx/vhdx-writer.js';
import { assertNotAParent, unsafe } from './write-safety.js';

export interface WritableImage extends DiskImage {
  write(offset: number, data: Uint8Array): Promise<void>;
  flush(): Promise<void>;
}

export interface OpenForWriteOptions extends Omit<OpenImageOptions, 'writable'> {
  /** Read every write back through the image and compare (default true). */
  verify?: boolean;
  /**
   * Refuse when a differencing disk beside the image names it as its parent (default true; needs `path` and
   * `files.siblings`).
   */
  checkChildren?: boolean;
}

/** Findings on the file itself that make writing unsafe: its structures are damaged (§1.1 step 4 policy). */
const DAMAGE_CODES = new Set([
  'VHD_FOOTER',
  'VHD_FOOTER_CHECKSUM',
  'VHD_HEADER_CHECKSUM',
  'VHD_BAT',
  'VHD_DYNAMIC_HEADER',
  'VHDX_REGION_TABLE',
]);

/**
 * Opens `dev` (the container file, writable) as an image to write into. Refuses with kind 'unsafe': a read-only
 * device (READ_ONLY), a damaged footer/header/BAT (a VHD whose checksum is wrong, whose footer is missing or is the
 * old 511-byte form), a VHD in a saved state, a VHDX with a pending log unless `replayLog` (VHDX_LOG_PENDING),
 * and the parent of a differencing disk found beside it.
 */
export async function openImageForWrite(
  dev: BlockDevice,
  options: OpenForWriteOptions = {},
): Promise<WritableImage> {
  if (!dev.write) {
    throw new BootprobeError('READ_ONLY', `${options.path ?? 'the image'} was opened read-only`, {
      hint: 'open the file writable to change it',
    });
  }
  const image = await openImage(dev, { ...options, writable: true });
  try {
    const raw = makeWriter(image, options.path ?? 'image');
    if (options.checkChildren !== false && options.path && options.files) {
      await assertNotAParent(image, options.path, options.files);
    }
    return attach(image, raw, options.verify !== false);
  } catch (e) {
    await image.parent?.close();
    throw e;
  }
}

type RawWrite = (offset: number, data: Uint8Array) => Promise<void>;

function makeWriter(image: DiskImage, path: string): RawWrite {
  const damage = image.warnings.filter((w) => DAMAGE_CODES.has(w.code));
  if (damage.length > 0) {
    throw unsafe(
      `${path}: refusing to write a damaged image (${damage[0]!.message})`,
      'bootprobe writes only into images whose structures are intact; repair or re-create the container first',
      { findings: damage },
    );
  }
  if (image instanceof RawImage) {
    const file = image.write;
    if (!file) throw new BootprobeError('READ_ONLY', `${path} was opened read-only`);
    return async (offset, data) => {
      checkRange('raw image', image.size, offset, data.length);
      await file(offset, data);
    };
  }
  if (image instanceof VhdImage) {
    if (image.footerAt !== image.file.size - 512) {
      throw unsafe(
        `${path}: the VHD footer is not in the last 512 bytes (found at ${hex(image.footerAt)})`,
        'the file is truncated or an old 511-byte footer; bootprobe does not write it',
      );
    }
    if (image.footer.savedState !== 0) {
      throw unsafe(
        `${path}: the VHD is marked as holding a saved virtual machine state`,
        'discard or resume the saved state in its virtualization software first',
      );
    }
    const w = new VhdWriter(image);
    return (offset, data) => w.write(offset, data);
  }
  if (image instanceof VhdxImage) {
    const w = new VhdxWriter(image);
    return (offset, data) => w.write(offset, data);
  }
  throw new BootprobeError('UNSAFE_WRITE', `${path}: this image kind cannot be written`, {
    kind: 'unsupported',
  });
}

/** Serializes writes and verifies each by reading it back through the image before it resolves. */
function attach(image: DiskImage, raw: RawWrite, verify: boolean): WritableImage {
  let queue: Promise<void> = Promise.resolve();
  const w = image as WritableImage;
  w.write = (offset, data) => {
    const run = queue.then(async () => {
      await raw(offset, data);
      if (!verify) return;
      const back = await image.read(offset, data.length);
      if (!bytesEqual(back, data)) {
        throw new BootprobeError(
          'IO_ERROR',
          `${data.length} bytes written at virtual offset ${hex(offset)} read back different`,
          { offset, hint: 'the image did not keep what was written; restore it from the undo record' },
        );
      }
    });
    queue = run.catch(() => {});
    return run;
  };
  if (typeof w.flush !== 'function') {
    throw new BootprobeError('UNSAFE_WRITE', 'the image cannot flush its writes', { kind: 'unsupported' });
  }
  return w;
}
