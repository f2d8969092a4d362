// FAT directory entries (32 bytes) and long-file-name entries with their checksum (fatgen103 "Directory structure",
// "Long file names").
import type { ByteView } from '../../io/index.js';

export const ATTR_LFN = 0x0f;
export const ATTR_VOLUME_ID = 0x08;
export const ATTR_DIRECTORY = 0x10;

export interface FatDirEntry {
  shortName: string;
  /** Long name when a valid LFN sequence precedes the entry. */
  longName: string | null;
  attributes: number;
  firstCluster: number;
  size: number;
  created: Date | null;
  modified: Date | null;
  accessed: Date | null;
  /** Absolute offset of the 32-byte short entry. */
  offset: number;
}

/** The 8.3 name with the NT lower-case flags applied (byte 12: 0x08 base, 0x10 extension). */
export function shortName(v: ByteView, at: number): string {
  const raw = v.slice(at, 11);
  const cp = (b: Uint8Array) => String.fromCharCode(...b).replace(/ +$/, '');
  let base = cp(raw.subarray(0, 8));
  let ext = cp(raw.subarray(8, 11));
  if (raw[0] === 0x05) base = `\u00e5${base.slice(1)}`; // 0x05 stands for a leading 0xE5 byte
  const nt = v.u8(at + 12);
  if (nt & 0x08) base = base.toLowerCase();
  if (nt & 0x10) ext = ext.toLowerCase();
  return ext ? `${base}.${ext}` : base;
}

/** fatgen103 ChkSum over the 11 name bytes of the short entry. */
export function lfnChecksum(name11: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < 11; i++) sum = (((sum & 1) << 7) + (sum >> 1) + name11[i]!) & 0xff;
  return sum;
}

function dosDate(date: number, time: number, tenths = 0): Date | null {
  if (date === 0) return null;
  const d = new Date(
    Date.UTC(
      1980 + (date >> 9),
      ((date >> 5) & 0x0f) - 1,
      date & 0x1f,
      time >> 11,
      (time >> 5) & 0x3f,
      (time & 0x1f) * 2,
      tenths * 10,
    ),
  );
  return Number.isNaN(d.getTime()) ? null : d;
}

/** The characters of one LFN entry (13 UTF-16 units, stopping at NUL / 0xFFFF padding). */
export function lfnPart(v: ByteView, at: number): string {
  const units: number[] = [];
  for (const [o, n] of [
    [1, 5],
    [14, 6],
    [28, 2],
  ] as const) {
    for (let i = 0; i < n; i++) units.push(v.u16le(at + o + 2 * i));
  }
  let s = '';
  for (const u of units) {
    if (u === 0 || u === 0xffff) break;
    s += String.fromCharCode(u);
  }
  return s;
}

export function decodeShortEntry(
  v: ByteView,
  at: number,
  longName: string | null,
  fat32: boolean,
): FatDirEntry {
  const hi = fat32 ? v.u16le(at + 20) : 0;
  return {
    shortName: shortName(v, at),
    longName,
    attributes: v.u8(at + 11),
    firstCluster: (hi << 16) | v.u16le(at + 26),
    size: v.u32le(at + 28),
    created: dosDate(v.u16le(at + 16), v.u16le(at + 14), v.u8(at + 13)),
    modified: dosDate(v.u16le(at + 24), v.u16le(at + 22)),
    accessed: dosDate(v.u16le(at + 18), 0),
    offset: v.base + at,
  };
}
