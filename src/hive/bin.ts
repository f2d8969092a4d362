// Layout: docs/regf.md §3 (hive bin header, 32 bytes) and §1 (bins follow the base block and tile
// "hive bins data size" bytes exactly).
import { BootprobeError, hex } from '../errors.js';
import type { ByteView } from '../io/index.js';
import { BASE_BLOCK_SIZE } from './base-block.js';

export const HBIN_SIGNATURE = 'hbin';
export const HBIN_HEADER_SIZE = 32;
/** Bins are multiples of 4 KiB (regf.md §3). */
export const HBIN_ALIGNMENT = 4096;

export interface HiveBin {
  /** Offset relative to the start of the bins data (file offset − 4096). */
  readonly offset: number;
  readonly size: number;
  /** FILETIME at +20 (first bin only; a backup of the base-block timestamp). */
  readonly timestampRaw: bigint;
}

/**
 * Decodes the bin header whose first byte is at `view` offset 0; `expectedOffset` is its position relative to the
 * bins data, which the header's own offset field must repeat (regf.md §3).
 */
export function decodeHiveBin(view: ByteView, expectedOffset: number): HiveBin {
  const fail = (what: string): never => {
    throw new BootprobeError('HIVE_BIN', `hive bin at ${hex(view.base)}: ${what}`, {
      offset: view.base,
      structure: 'regf.hbin',
      hint: 'the hive is damaged (or a dirty hive whose logs were not given)',
    });
  };
  if (view.length < HBIN_HEADER_SIZE) fail('header runs past the end of the file');
  const sig = view.ascii(0, 4);
  if (sig !== HBIN_SIGNATURE) fail(`signature "${sig.replace(/[^\x20-\x7e]/g, '.')}", expected "hbin"`);
  const offset = view.u32le(4);
  if (offset !== expectedOffset) fail(`offset field ${hex(offset)}, expected ${hex(expectedOffset)}`);
  const size = view.u32le(8);
  if (size < HBIN_ALIGNMENT || size % HBIN_ALIGNMENT !== 0)
    fail(`size ${hex(size)} is not a multiple of 4096`);
  return { offset, size, timestampRaw: view.u64le(20) };
}

/**
 * Walks every bin header from the first to `binsSize` (each one checked, sizes must add up exactly).
 * The walk consumes ≥ 4096 bytes per step, so it ends.
 */
export function readHiveBins(file: ByteView, binsSize: number): HiveBin[] {
  const bins: HiveBin[] = [];
  let pos = 0;
  while (pos < binsSize) {
    const at = BASE_BLOCK_SIZE + pos;
    if (at + HBIN_HEADER_SIZE > file.length) {
      throw new BootprobeError(
        'HIVE_BIN',
        `hive bin at ${hex(at)}: the file ends at ${hex(file.length)} but the base block announces ${hex(binsSize)} bytes of bins`,
        { offset: at, structure: 'regf.hbin', hint: 'the hive file is truncated' },
      );
    }
    const bin = decodeHiveBin(file.sub(at, Math.min(HBIN_HEADER_SIZE, file.length - at), 'regf.hbin'), pos);
    if (pos + bin.size > binsSize || at + bin.size > file.length) {
      throw new BootprobeError(
        'HIVE_BIN',
        `hive bin at ${hex(at)}: size ${hex(bin.size)} runs past the end of the bins data (${hex(binsSize)} bytes, file ${hex(file.length)})`,
        {
          offset: at + 8,
          structure: 'regf.hbin',
          hint: 'the hive file is truncated or the bin header is damaged',
        },
      );
    }
    bins.push(bin);
    pos += bin.size;
  }
  return bins;
}
