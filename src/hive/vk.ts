// Layout: docs/regf.md §5.2 (vk, value). Offsets are relative to the cell data (after the size field).
import { BootprobeError, hex } from '../errors.js';
import type { ByteView } from '../io/index.js';
import { HIVE_DAMAGED } from './hints.js';
import { decodeName } from './name.js';

export const VK_SIGNATURE = 'vk';
export const VK_FIXED_SIZE = 20;
/** Bit 31 of the data size: data (≤ 4 bytes) sits in the data-offset field itself (regf.md §5.2). */
export const VK_DATA_INLINE = 0x80000000;
export const VK_FLAGS = { COMP_NAME: 0x0001, TOMBSTONE: 0x0002 } as const;

export interface VkRecord {
  readonly name: string;
  /** Data size as stored, bit 31 included. */
  readonly dataSizeRaw: number;
  /** Data size without bit 31. */
  readonly dataSize: number;
  readonly inline: boolean;
  /** Cell offset of the data (meaningless when inline). */
  readonly dataOffset: number;
  /** The 4 bytes of the data-offset field, lowest address first (the data when inline). */
  readonly inlineBytes: Uint8Array;
  readonly type: number;
  readonly flags: number;
}

export function decodeVk(view: ByteView): VkRecord {
  const fail = (what: string, at = 0): never => {
    throw new BootprobeError('HIVE_CELL', `value (vk) at ${hex(view.base)}: ${what}`, {
      offset: view.base + at,
      structure: 'regf.vk',
      hint: HIVE_DAMAGED,
    });
  };
  if (view.length < VK_FIXED_SIZE) fail(`cell holds ${view.length} bytes, a vk needs ${VK_FIXED_SIZE}`);
  const sig = view.ascii(0, 2);
  if (sig !== VK_SIGNATURE) fail(`signature "${sig.replace(/[^\x20-\x7e]/g, '.')}", expected "vk"`);
  const nameLength = view.u16le(2);
  if (VK_FIXED_SIZE + nameLength > view.length) {
    fail(`name length ${nameLength} runs past the ${view.length}-byte cell`, 2);
  }
  const dataSizeRaw = view.u32le(4);
  const flags = view.u16le(16);
  return {
    name: decodeName(view, VK_FIXED_SIZE, nameLength, (flags & VK_FLAGS.COMP_NAME) !== 0),
    dataSizeRaw,
    dataSize: (dataSizeRaw & 0x7fffffff) >>> 0,
    inline: (dataSizeRaw & VK_DATA_INLINE) !== 0,
    dataOffset: view.u32le(8),
    inlineBytes: view.slice(8, 4),
    type: view.u32le(12),
    flags,
  };
}
