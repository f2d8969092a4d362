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

/** What a new footer holds (§1.2); the checksum is computed by the encoder. */
export interface VhdFooterFields {
  /** 0x10: dynamic header offset; null for a fixed disk (stored as all ones). */
  dataOffset: number | null;
  /** 0x18: seconds since 2000-01-01 UTC. */
  timestamp: number;
  /** 0x1c: four characters. */
  creatorApp: string;
  creatorVersion: number;
  /** 0x24: four characters, e.g. "Wi2k". */
  creatorHostOs: string;
  originalSize: number;
  currentSize: number;
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
  diskType: number;
  /** 0x44: 16 bytes, big-endian UUID. */
  uniqueId: Uint8Array;
}

function putAscii(b: Uint8Array, at: number, s: string, n: number): void {
  for (let i = 0; i < n; i++) b[at + i] = i < s.length ? s.charCodeAt(i) & 0xff : 0;
}

/** A 512-byte footer: cookie, features 2 (reserved bit), version 1.0, the fields, then the §1.2 checksum. */
export function encodeVhdFooter(f: VhdFooterFields): Uint8Array {
  const b = new Uint8Array(VHD_FOOTER_SIZE);
  const v = new DataView(b.buffer);
  putAscii(b, 0, VHD_COOKIE, 8);
  v.setUint32(8, 2);
  v.setUint32(12, 0x00010000);
  v.setBigUint64(16, f.dataOffset === null ? 0xffffffffffffffffn : BigInt(f.dataOffset));
  v.setUint32(24, f.timestamp >>> 0);
  putAscii(b, 28, f.creatorApp, 4);
  v.setUint32(32, f.creatorVersion >>> 0);
  putAscii(b, 36, f.creatorHostOs, 4);
  v.setBigUint64(40, BigInt(f.originalSize));
  v.setBigUint64(48, BigInt(f.currentSize));
  v.setUint16(56, f.cylinders);
  b[58] = f.heads;
  b[59] = f.sectorsPerTrack;
  v.setUint32(60, f.diskType);
  b.set(f.uniqueId.subarray(0, 16), 68);
  v.setUint32(64, vhdChecksum(b, 64));
  return b;
}

/** Seconds since the VHD epoch (2000-01-01 UTC) for a JavaScript time in milliseconds. */
export function vhdTimestamp(ms: number): number {
  return Math.max(0, Math.floor(ms / 1000) - VHD_EPOCH_UNIX) >>> 0;
}
