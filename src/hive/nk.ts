// Layout: docs/regf.md §5.1 (nk, key node). Offsets are relative to the cell data (after the size field).
import { BootprobeError, hex } from '../errors.js';
import type { ByteView } from '../io/index.js';
import { filetimeToDate } from './base-block.js';
import { HIVE_DAMAGED } from './hints.js';
import { decodeName } from './name.js';

export const NK_SIGNATURE = 'nk';
/** Fixed part before the name. */
export const NK_FIXED_SIZE = 76;

export const NK_FLAGS = {
  VOLATILE: 0x0001,
  HIVE_EXIT: 0x0002,
  HIVE_ENTRY: 0x0004,
  NO_DELETE: 0x0008,
  SYM_LINK: 0x0010,
  COMP_NAME: 0x0020,
} as const;

export interface NkRecord {
  readonly flags: number;
  readonly lastWrittenRaw: bigint;
  readonly lastWritten: Date | null;
  readonly accessBits: number;
  readonly parentOffset: number;
  readonly subkeyCount: number;
  readonly volatileSubkeyCount: number;
  readonly subkeyListOffset: number;
  readonly valueCount: number;
  readonly valueListOffset: number;
  readonly securityOffset: number;
  readonly classNameOffset: number;
  /** Low 16 bits of offset 52 (the upper bits hold Vista+ flags, regf.md §5.1). */
  readonly largestSubkeyNameLength: number;
  readonly largestSubkeyClassLength: number;
  readonly largestValueNameLength: number;
  readonly largestValueDataSize: number;
  readonly classNameLength: number;
  readonly name: string;
}

export function decodeNk(view: ByteView): NkRecord {
  const fail = (what: string, at = 0): never => {
    throw new BootprobeError('HIVE_CELL', `key node (nk) at ${hex(view.base)}: ${what}`, {
      offset: view.base + at,
      structure: 'regf.nk',
      hint: HIVE_DAMAGED,
    });
  };
  if (view.length < NK_FIXED_SIZE) fail(`cell holds ${view.length} bytes, an nk needs ${NK_FIXED_SIZE}`);
  const sig = view.ascii(0, 2);
  if (sig !== NK_SIGNATURE) fail(`signature "${sig.replace(/[^\x20-\x7e]/g, '.')}", expected "nk"`);
  const flags = view.u16le(2);
  const nameLength = view.u16le(72);
  if (NK_FIXED_SIZE + nameLength > view.length) {
    fail(`name length ${nameLength} runs past the ${view.length}-byte cell`, 72);
  }
  const lastWrittenRaw = view.u64le(4);
  return {
    flags,
    lastWrittenRaw,
    lastWritten: filetimeToDate(lastWrittenRaw),
    accessBits: view.u32le(12),
    parentOffset: view.u32le(16),
    subkeyCount: view.u32le(20),
    volatileSubkeyCount: view.u32le(24),
    subkeyListOffset: view.u32le(28),
    valueCount: view.u32le(36),
    valueListOffset: view.u32le(40),
    securityOffset: view.u32le(44),
    classNameOffset: view.u32le(48),
    largestSubkeyNameLength: view.u16le(52),
    largestSubkeyClassLength: view.u32le(56),
    largestValueNameLength: view.u32le(60),
    largestValueDataSize: view.u32le(64),
    classNameLength: view.u16le(74),
    name: decodeName(view, NK_FIXED_SIZE, nameLength, (flags & NK_FLAGS.COMP_NAME) !== 0),
  };
}
