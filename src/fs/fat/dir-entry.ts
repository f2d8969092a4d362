// FAT short (8.3) directory entries: 32 bytes each.
// Layout: fatgen103 "FAT Directory Structure" and "Date and Time Formats"; the NT case flags (byte 12 bits 3 and 4)
// are Windows NT's extension, as Linux vfat and mtools read them.
import type { ByteView } from '../../io/index.js';
import { decodeOem, type OemCodePage } from './code-page.js';

export const DIR_ENTRY_SIZE = 32;
/** Byte 0 of a free entry that ends the directory (nothing valid follows). */
export const DIR_END = 0x00;
/** Byte 0 of a deleted entry. */
export const DIR_DELETED = 0xe5;
/** Byte 0 value standing for a real leading 0xE5 (a KANJI lead byte). */
export const DIR_E5_ESCAPE = 0x05;

/** DIR_Attr bits. */
export const FAT_ATTR = {
  READ_ONLY: 0x01,
  HIDDEN: 0x02,
  SYSTEM: 0x04,
  VOLUME_ID: 0x08,
  DIRECTORY: 0x10,
  ARCHIVE: 0x20,
  /** READ_ONLY | HIDDEN | SYSTEM | VOLUME_ID under mask 0x3F marks a long-name entry. */
  LONG_NAME: 0x0f,
} as const;

/** DIR_NTRes bits: the base name / the extension is shown in lower case. */
export const NT_LOWER_BASE = 0x08;
export const NT_LOWER_EXT = 0x10;

const ATTR_NAMES = ['readOnly', 'hidden', 'system', 'volumeId', 'directory', 'archive'] as const;

export interface FatShortEntry {
  /** 0x00, 11 bytes: the stored name, space padded, upper case. */
  name11: Uint8Array;
  /** The 8.3 name as shown: "BASE.EXT", NT case flags applied, OEM bytes decoded. */
  shortName: string;
  /** 0x0B. */
  attributes: number;
  /** 0x0C: NT case flags. */
  ntFlags: number;
  /** 0x0D, 0x0E, 0x10: creation time (tenths of 10 ms, time, date). */
  created: Date | null;
  /** 0x12: last access date (no time). */
  accessed: Date | null;
  /** 0x16, 0x18: last write time and date. */
  modified: Date | null;
  /** 0x14 (FAT32 only) high and 0x1A low words of the first cluster. */
  firstCluster: number;
  /** 0x1C u32. */
  size: number;
  /** Absolute offset of the entry. */
  offset: number;
}

/** The names of the set DIR_Attr bits. */
export function attributeNames(attributes: number): string[] {
  return ATTR_NAMES.filter((_, i) => attributes & (1 << i));
}

/**
 * A DOS date and time (local time of the writer; shown as UTC, the zone is not recorded). Null when the date is 0
 * or any field is out of range (month 0, day 0, hour 24, second 60...), never a rolled-over date.
 */
export function decodeDosDateTime(date: number, time = 0, hundredths = 0): Date | null {
  if (date === 0) return null;
  const year = 1980 + (date >> 9);
  const month = (date >> 5) & 0x0f;
  const day = date & 0x1f;
  const hour = time >> 11;
  const minute = (time >> 5) & 0x3f;
  const second = (time & 0x1f) * 2;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  // The creation "tenth" byte counts 10 ms units, 0..199 (fatgen103); a larger value is ignored.
  const d = new Date(
    Date.UTC(year, month - 1, day, hour, minute, second, hundredths > 199 ? 0 : hundredths * 10),
  );
  return d.getUTCDate() === day ? d : null; // 31 February and the like
}

/**
 * A Date as DOS date and time words, from its UTC fields (the reader shows DOS times as UTC: the zone is not
 * recorded). Seconds are stored halved; dates outside 1980..2107 are clamped to the range's ends.
 */
export function encodeDosDateTime(d: Date): { date: number; time: number } {
  const y = d.getUTCFullYear();
  if (y < 1980) return { date: (1 << 5) | 1, time: 0 };
  if (y > 2107) return { date: (127 << 9) | (12 << 5) | 31, time: (23 << 11) | (59 << 5) | 29 };
  return {
    date: ((y - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
  };
}

/** Offsets inside a short entry that a data write changes (fatgen103 "FAT Directory Structure"). */
export const DIR_FIELD = {
  ACCESS_DATE: 0x12,
  CLUSTER_HIGH: 0x14,
  WRITE_TIME: 0x16,
  WRITE_DATE: 0x18,
  CLUSTER_LOW: 0x1a,
  SIZE: 0x1c,
} as const;

/** The 8.3 name as shown, from the 11 stored bytes and the NT case flags. */
export function decodeShortName(name11: Uint8Array, ntFlags: number, cp: OemCodePage): string {
  const raw = name11.slice();
  if (raw[0] === DIR_E5_ESCAPE) raw[0] = DIR_DELETED;
  let base = decodeOem(raw.subarray(0, 8), cp).replace(/ +$/, '');
  let ext = decodeOem(raw.subarray(8, 11), cp).replace(/ +$/, '');
  if (ntFlags & NT_LOWER_BASE) base = base.toLowerCase();
  if (ntFlags & NT_LOWER_EXT) ext = ext.toLowerCase();
  return ext ? `${base}.${ext}` : base;
}

/** Decodes the short entry at `at` in `v`. `fat32` decides whether the high cluster word counts. */
export function decodeShortEntry(v: ByteView, at: number, fat32: boolean, cp: OemCodePage): FatShortEntry {
  const name11 = v.slice(at, 11);
  const ntFlags = v.u8(at + 0x0c);
  // FAT12/16 keep the EA handle (OS/2) in the high word; only FAT32 uses it for the cluster.
  const hi = fat32 ? v.u16le(at + 0x14) : 0;
  return {
    name11,
    shortName: decodeShortName(name11, ntFlags, cp),
    attributes: v.u8(at + 0x0b),
    ntFlags,
    created: decodeDosDateTime(v.u16le(at + 0x10), v.u16le(at + 0x0e), v.u8(at + 0x0d)),
    accessed: decodeDosDateTime(v.u16le(at + 0x12)),
    modified: decodeDosDateTime(v.u16le(at + 0x18), v.u16le(at + 0x16)),
    firstCluster: hi * 0x10000 + v.u16le(at + 0x1a),
    size: v.u32le(at + 0x1c),
    offset: v.base + at,
  };
}

/** True for the '.' and '..' entries of a subdirectory. */
export function isDotEntry(name11: Uint8Array): boolean {
  return (
    name11[0] === 0x2e &&
    (name11[1] === 0x20 || name11[1] === 0x2e) &&
    name11.subarray(2).every((b) => b === 0x20)
  );
}
