// Layout: docs/regf.md §5.3 (db, big data): minor ≥ 4, data > 16344 bytes split in segments of ≤ 16344 bytes.
import { BootprobeError, hex } from '../errors.js';
import type { ByteView } from '../io/index.js';
import { HIVE_DAMAGED } from './hints.js';

export const DB_SIGNATURE = 'db';
/** Data bytes per segment; all but the last are full (regf.md §5.3). */
export const DB_SEGMENT_DATA_SIZE = 16344;

export interface DbRecord {
  readonly segmentCount: number;
  readonly segmentListOffset: number;
}

/** True when the cell data starts with "db" (the caller decides whether a db is expected here). */
export function isDb(view: ByteView): boolean {
  return view.length >= 8 && view.u8(0) === 0x64 && view.u8(1) === 0x62;
}

export function decodeDb(view: ByteView): DbRecord {
  if (!isDb(view)) {
    throw new BootprobeError('HIVE_CELL', `big data (db) at ${hex(view.base)}: no "db" record here`, {
      offset: view.base,
      structure: 'regf.db',
      hint: HIVE_DAMAGED,
    });
  }
  return { segmentCount: view.u16le(2), segmentListOffset: view.u32le(4) };
}
