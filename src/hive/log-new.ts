// Layout: docs/regf.md §7.2 (new-format transaction log, file type 6): a 512-byte base-block copy, then "HvLE"
// entries, each 512-aligned, carrying dirty pages and two Marvin32 hashes.
import { hex } from '../errors.js';
import type { ByteView } from '../io/index.js';

export const HVLE_SIGNATURE = 'HvLE';
export const LOG_ENTRY_HEADER_SIZE = 40;
/** Marvin32 seed 0x82EF4D887A4E55C5 as a number, i.e. lo = 0x7A4E55C5, hi = 0x82EF4D88 (regf.md §7.2). */
export const MARVIN32_SEED_LO = 0x7a4e55c5;
export const MARVIN32_SEED_HI = 0x82ef4d88;

const rotl = (x: number, n: number): number => ((x << n) | (x >>> (32 - n))) >>> 0;

/** Marvin32 of `data` (regf.md §7.2), returned as [lo, hi] (the u64 is hi·2³² + lo). */
export function marvin32(
  data: Uint8Array,
  seedLo = MARVIN32_SEED_LO,
  seedHi = MARVIN32_SEED_HI,
): [number, number] {
  let lo = seedLo >>> 0;
  let hi = seedHi >>> 0;
  const mix = (w: number) => {
    lo = (lo + w) >>> 0;
    hi = (hi ^ lo) >>> 0;
    lo = (rotl(lo, 20) + hi) >>> 0;
    hi = (rotl(hi, 9) ^ lo) >>> 0;
    lo = (rotl(lo, 27) + hi) >>> 0;
    hi = rotl(hi, 19);
  };
  const full = data.length & ~3;
  for (let i = 0; i < full; i += 4) {
    mix((data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) >>> 0);
  }
  // Final word: the 0–3 leftover bytes, then 0x80 right after them.
  let last = 0x80;
  for (let i = data.length - 1; i >= full; i--) last = ((last << 8) | data[i]!) >>> 0;
  mix(last >>> 0);
  mix(0);
  return [lo, hi];
}

export interface LogPageRef {
  /** Offset relative to the hive bins data. */
  readonly offset: number;
  readonly size: number;
  /** Where the page's bytes start, relative to the log file. */
  readonly dataAt: number;
}

export interface LogEntry {
  /** Offset of the entry in the log file. */
  readonly at: number;
  readonly size: number;
  readonly flags: number;
  readonly sequence: number;
  readonly hiveBinsDataSize: number;
  readonly pages: readonly LogPageRef[];
}

/**
 * Decodes and validates the entry at `at` (regf.md §7.5 step 3). Returns the reason as a string when it is not a
 * valid entry with sequence `expected`: the end of a log is found that way, it is not an error.
 */
export function decodeLogEntry(log: ByteView, at: number, expected: number): LogEntry | string {
  if (at + LOG_ENTRY_HEADER_SIZE > log.length) return `no entry header at ${hex(at)} (end of log)`;
  if (log.ascii(at, 4) !== HVLE_SIGNATURE) return `no "HvLE" at ${hex(at)}`;
  const size = log.u32le(at + 4);
  if (size < 512 || size % 512 !== 0 || at + size > log.length) {
    return `entry at ${hex(at)}: size ${hex(size)} is not a multiple of 512 inside the log`;
  }
  const flags = log.u32le(at + 8);
  const sequence = log.u32le(at + 12);
  const hiveBinsDataSize = log.u32le(at + 16);
  const pageCount = log.u32le(at + 20);
  if (hiveBinsDataSize < 4096 || hiveBinsDataSize % 4096 !== 0) {
    return `entry at ${hex(at)}: hive bins data size ${hex(hiveBinsDataSize)} is not a multiple of 4096`;
  }
  if (pageCount < 1) return `entry at ${hex(at)}: no dirty pages`;
  const [h2lo, h2hi] = marvin32(log.slice(at, 32));
  if (h2lo !== log.u32le(at + 32) || h2hi !== log.u32le(at + 36))
    return `entry at ${hex(at)}: header hash mismatch`;
  const [h1lo, h1hi] = marvin32(log.slice(at + LOG_ENTRY_HEADER_SIZE, size - LOG_ENTRY_HEADER_SIZE));
  if (h1lo !== log.u32le(at + 24) || h1hi !== log.u32le(at + 28))
    return `entry at ${hex(at)}: data hash mismatch`;
  if (sequence !== expected >>> 0)
    return `entry at ${hex(at)}: sequence ${sequence}, expected ${expected >>> 0}`;
  // The page refs and pages must fit inside the entry (checked before anything is built from the count).
  if (LOG_ENTRY_HEADER_SIZE + pageCount * 8 > size) {
    return `entry at ${hex(at)}: ${pageCount} page refs do not fit in ${size} bytes`;
  }
  const pages: LogPageRef[] = [];
  let dataAt = at + LOG_ENTRY_HEADER_SIZE + pageCount * 8;
  for (let i = 0; i < pageCount; i++) {
    const offset = log.u32le(at + LOG_ENTRY_HEADER_SIZE + i * 8);
    const pageSize = log.u32le(at + LOG_ENTRY_HEADER_SIZE + i * 8 + 4);
    if (pageSize === 0 || dataAt + pageSize > at + size || offset + pageSize > hiveBinsDataSize) {
      return `entry at ${hex(at)}: page ${i} (${hex(offset)}, ${hex(pageSize)}) does not fit`;
    }
    pages.push({ offset, size: pageSize, dataAt });
    dataAt += pageSize;
  }
  return { at, size, flags, sequence, hiveBinsDataSize, pages };
}
