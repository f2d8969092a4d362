// VHD footer: 512 bytes, big-endian. Layout: docs/vhd-vhdx.md §1.2; finding it: §1.1.
import { type ByteView, formatUuidBe } from '../../io/index.js';

export const VHD_FOOTER_SIZE = 512;
export const VHD_COOKIE = 'conectix';

export const VHD_DISK_TYPE = { FIXED: 2, DYNAMIC: 3, DIFFERENCING: 4 } as const;

/** Seconds from 1970-01-01 to 2000-01-01, the VHD timestamp epoch (§1.2 offset 24). */
export const VHD_EPOCH_UNIX = 946684800;

export interface VhdFooter {
  cookie: string;
  /** 0x8 features (bit 1 reserved = 1, bit 0 temporary). */
  features: number;
  formatVersion: number;
  /** 0x10: offset of the dynamic header; null for fixed disks (all ones). */
  dataOffset: number | null;
  /** 0x18: seconds since 2000-01-01 UTC. */
  timestamp: number;
  creatorApp: string;
  creatorVersion: number;
  creatorHostOs: string;
  originalSize: number;
  currentSize: number;
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
  diskType: number;
  checksum: number;
  /** What the checksum should be (§1.2 rule). */
  computedChecksum: number;
  uniqueId: string;
  uniqueIdBytes: Uint8Array;
  savedState: number;
  raw: Uint8Array;
}

/**
 * One's complement of the byte sum with the checksum field taken as zero: the rule for the footer and the
 * dynamic header alike (§1.2 "Checksum").
 */
export function vhdChecksum(bytes: Uint8Array, fieldAt: number): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (i >= fieldAt && i < fieldAt + 4) continue;
    sum = (sum + bytes[i]!) >>> 0;
  }
  return ~sum >>> 0;
}

function fourCc(v: ByteView, at: number): string {
  return v.ascii(at, 4).replace(/\0/g, '\\0');
}

/** Decodes a footer; the caller has checked the cookie. */
export function decodeVhdFooter(v: ByteView): VhdFooter {
  v.need(0, VHD_FOOTER_SIZE, 'VHD footer');
  const dataOffsetRaw = v.u64be(16);
  return {
    cookie: v.ascii(0, 8),
    features: v.u32be(8),
    formatVersion: v.u32be(12),
    dataOffset: dataOffsetRaw === 0xffffffffffffffffn ? null : v.u64beNum(16, 'data offset', 'VHD_FOOTER'),
    timestamp: v.u32be(24),
    creatorApp: fourCc(v, 28),
    creatorVersion: v.u32be(32),
    creatorHostOs: fourCc(v, 36),
    originalSize: v.u64beNum(40, 'original size', 'VHD_FOOTER'),
    currentSize: v.u64beNum(48, 'current size', 'VHD_FOOTER'),
    cylinders: v.u16be(56),
    heads: v.u8(58),
    sectorsPerTrack: v.u8(59),
    diskType: v.u32be(60),
    checksum: v.u32be(64),
    computedChecksum: vhdChecksum(v.slice(0, VHD_FOOTER_SIZE), 64),
    uniqueId: formatUuidBe(v.slice(68, 16)),
    uniqueIdBytes: v.slice(68, 16).slice(),
    savedState: v.u8(84),
    raw: v.slice(0, VHD_FOOTER_SIZE).slice(),
  };
}

/** "qemu 5.3 (Wi2k)": creator application, version major.minor, host OS (§1.2 offsets 28-36). */
export function describeCreator(f: VhdFooter): string {
  const app = f.creatorApp.replace(/(\\0)+$/, '').trim() || '?';
  const host = f.creatorHostOs.replace(/(\\0)+$/, '').trim();
  return `${app} ${f.creatorVersion >>> 16}.${f.creatorVersion & 0xffff}${host ? ` (${host})` : ''}`;
}
