// FAT32 FSInfo sector: the cached free cluster count and the next-free hint.
// Layout: fatgen103 "FAT32 FSInfo Sector Structure"; docs/boot-sectors.md §4.2 ("RRaA" at 0, "rrAa" at 0x1E4).
import { BootprobeError, hex } from '../../errors.js';
import type { ByteView } from '../../io/index.js';

/** 0x000 u32: "RRaA". */
export const FSINFO_LEAD_SIGNATURE = 0x41615252;
/** 0x1E4 u32: "rrAa". */
export const FSINFO_STRUCT_SIGNATURE = 0x61417272;
/** 0x1FC u32: 00 00 55 AA. */
export const FSINFO_TRAIL_SIGNATURE = 0xaa550000;
/** fatgen103: 0xFFFFFFFF in either field means "unknown". */
const UNKNOWN = 0xffffffff;

export interface FatFsInfo {
  /** 0x1E8 u32: last known free cluster count; null when unknown. A hint, never trusted for allocation. */
  freeClusters: number | null;
  /** 0x1EC u32: where to start looking for a free cluster; null when unknown. */
  nextFree: number | null;
  /** The trail signature; fatgen103 requires it but some formatters leave it 0. */
  trailSignatureValid: boolean;
}

/** Decodes an FSInfo sector (512 bytes); FAT_BPB when its lead or structure signature is wrong. */
export function decodeFsInfo(v: ByteView): FatFsInfo {
  const lead = v.u32le(0);
  const mid = v.u32le(0x1e4);
  if (lead !== FSINFO_LEAD_SIGNATURE || mid !== FSINFO_STRUCT_SIGNATURE) {
    throw new BootprobeError(
      'FAT_BPB',
      `FAT32 FSInfo at ${hex(v.base)}: signatures ${hex(lead)}/${hex(mid)}, expected ${hex(FSINFO_LEAD_SIGNATURE)}/${hex(FSINFO_STRUCT_SIGNATURE)}`,
      {
        offset: lead !== FSINFO_LEAD_SIGNATURE ? v.base : v.base + 0x1e4,
        structure: 'fat.fsinfo',
        hint: 'the free-space hints are unavailable; files are still readable',
      },
    );
  }
  const free = v.u32le(0x1e8);
  const next = v.u32le(0x1ec);
  return {
    freeClusters: free === UNKNOWN ? null : free,
    nextFree: next === UNKNOWN ? null : next,
    trailSignatureValid: v.u32le(0x1fc) === FSINFO_TRAIL_SIGNATURE,
  };
}
