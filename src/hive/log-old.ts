// Layout: docs/regf.md §7.1 (old-format transaction log, file type 1/2): a 512-byte base-block copy, "DIRT" and a
// bitmap with one bit per 512-byte page of the bins data (LSB first), then the dirty pages in bitmap order.
import { BootprobeError, hex } from '../errors.js';
import { ByteView } from '../io/index.js';
import { type BaseBlock, HIVE_FILE_TYPE, tryDecodeBaseBlock } from './base-block.js';

export const DIRT_SIGNATURE = 'DIRT';
export const LOG_PAGE_SIZE = 512;

export interface OldLog {
  readonly baseBlock: BaseBlock;
  /** Indices k of the dirty pages (page k goes to file offset 4096 + 512·k), in log order. */
  readonly dirtyPages: readonly number[];
  /** Offset in the log of the first page. */
  readonly pagesAt: number;
}

/** Decodes and checks an old-format log (regf.md §7.3 "Old format" step 1); throws HIVE_LOG when unusable. */
export function decodeOldLog(bytes: Uint8Array): OldLog {
  const fail = (what: string, at: number): never => {
    throw new BootprobeError('HIVE_LOG', `old-format transaction log: ${what}`, {
      offset: at,
      structure: 'regf.log-old',
      hint: 'this log cannot be replayed; the hive stays dirty',
    });
  };
  const bb = tryDecodeBaseBlock(bytes);
  if (!bb) return fail('no valid base block', 0);
  if (!bb.checksumValid) fail(`base block checksum ${hex(bb.checksum)} ≠ ${hex(bb.computedChecksum)}`, 508);
  if (bb.fileType !== HIVE_FILE_TYPE.LOG_OLD && bb.fileType !== HIVE_FILE_TYPE.LOG_OLD_NT) {
    fail(`file type ${bb.fileType}, not an old-format log`, 28);
  }
  if (bb.primarySequence !== bb.secondarySequence) {
    fail(`sequence numbers ${bb.primarySequence} ≠ ${bb.secondarySequence}`, 4);
  }
  if (bb.hiveBinsDataSize === 0 || bb.hiveBinsDataSize % 4096 !== 0) {
    fail(`hive bins data size ${hex(bb.hiveBinsDataSize)} is not a multiple of 4096`, 40);
  }
  const view = new ByteView(bytes, 0, 'regf.log-old');
  if (bytes.length < 516 || view.ascii(512, 4) !== DIRT_SIGNATURE) fail('no "DIRT" signature at 0x200', 512);
  const bitmapBytes = bb.hiveBinsDataSize / 4096;
  if (516 + bitmapBytes > bytes.length) fail(`bitmap of ${bitmapBytes} bytes runs past the log`, 516);
  const pagesAt = Math.ceil((516 + bitmapBytes) / LOG_PAGE_SIZE) * LOG_PAGE_SIZE;
  const dirtyPages: number[] = [];
  for (let i = 0; i < bitmapBytes; i++) {
    const b = bytes[516 + i]!;
    for (let bit = 0; bit < 8; bit++) if (b & (1 << bit)) dirtyPages.push(i * 8 + bit);
  }
  if (pagesAt + dirtyPages.length * LOG_PAGE_SIZE > bytes.length) {
    fail(`bitmap announces ${dirtyPages.length} pages, the log holds fewer`, pagesAt);
  }
  return { baseBlock: bb, dirtyPages, pagesAt };
}
