// VHD dynamic disk header: 1024 bytes, big-endian, at footer.dataOffset. Layout: docs/vhd-vhdx.md §1.4.
import { type ByteView, formatUuidBe } from '../../io/index.js';
import { vhdChecksum } from './footer.js';

/** §1.4: the dynamic header holds eight 24-byte locator entries from offset 576. */
export const VHD_LOCATOR_SLOTS = 8;
/** §1.4: the parent unicode name field is 512 bytes of UTF-16BE (256 code units). */
export const VHD_PARENT_NAME_BYTES = 512;

export const VHD_DYNAMIC_HEADER_SIZE = 1024;
export const VHD_SPARSE_COOKIE = 'cxsparse';

export interface VhdParentLocatorEntry {
  /** Four-character platform code: 'W2ru', 'W2ku', 'Wi2r', 'Wi2k', 'Mac ', 'MacX'. */
  code: string;
  /** Advisory (§1.4: stored as bytes by Virtual PC/Hyper-V, not sectors). */
  dataSpace: number;
  dataLength: number;
  dataOffset: number;
  /** Absolute offset of this 24-byte entry, for messages. */
  entryOffset: number;
}

export interface VhdDynamicHeader {
  cookie: string;
  tableOffset: number;
  headerVersion: number;
  maxTableEntries: number;
  blockSize: number;
  checksum: number;
  computedChecksum: number;
  parentUniqueId: string;
  parentTimestamp: number;
  /** 0x40: UTF-16 BIG-endian, NUL-padded (the locators are little-endian: §1.4). */
  parentName: string;
  locators: VhdParentLocatorEntry[];
  raw: Uint8Array;
}

export function decodeVhdDynamicHeader(v: ByteView): VhdDynamicHeader {
  v.need(0, VHD_DYNAMIC_HEADER_SIZE, 'VHD dynamic header');
  const locators: VhdParentLocatorEntry[] = [];
  for (let i = 0; i < 8; i++) {
    const at = 576 + 24 * i;
    const codeNum = v.u32be(at);
    if (codeNum === 0) continue;
    locators.push({
      code: v.ascii(at, 4),
      dataSpace: v.u32be(at + 4),
      dataLength: v.u32be(at + 8),
      dataOffset: v.u64beNum(at + 16, 'parent locator data offset', 'VHD_DYNAMIC_HEADER'),
      entryOffset: v.base + at,
    });
  }
  return {
    cookie: v.ascii(0, 8),
    tableOffset: v.u64beNum(16, 'table offset', 'VHD_DYNAMIC_HEADER'),
    headerVersion: v.u32be(24),
    maxTableEntries: v.u32be(28),
    blockSize: v.u32be(32),
    checksum: v.u32be(36),
    computedChecksum: vhdChecksum(v.slice(0, VHD_DYNAMIC_HEADER_SIZE), 36),
    parentUniqueId: formatUuidBe(v.slice(40, 16)),
    parentTimestamp: v.u32be(56),
    parentName: v.utf16be(64, 512, true),
    locators,
    raw: v.slice(0, VHD_DYNAMIC_HEADER_SIZE).slice(),
  };
}

/** What a new dynamic or differencing header holds (§1.4); the checksum is computed by the encoder. */
export interface VhdDynamicHeaderFields {
  tableOffset: number;
  maxTableEntries: number;
  blockSize: number;
  /** Differencing only: the parent footer's unique id (16 bytes, as stored), its name and timestamp. */
  parentUniqueId?: Uint8Array;
  parentTimestamp?: number;
  /** Stored UTF-16 BIG-endian, NUL-padded; at most 256 code units. */
  parentName?: string;
  locators?: Omit<VhdParentLocatorEntry, 'entryOffset'>[];
}

/** A 1024-byte dynamic header: "cxsparse", data offset all ones, version 1.0, the fields, the §1.2 checksum. */
export function encodeVhdDynamicHeader(h: VhdDynamicHeaderFields): Uint8Array {
  const b = new Uint8Array(VHD_DYNAMIC_HEADER_SIZE);
  const v = new DataView(b.buffer);
  for (let i = 0; i < 8; i++) b[i] = VHD_SPARSE_COOKIE.charCodeAt(i);
  v.setBigUint64(8, 0xffffffffffffffffn);
  v.setBigUint64(16, BigInt(h.tableOffset));
  v.setUint32(24, 0x00010000);
  v.setUint32(28, h.maxTableEntries);
  v.setUint32(32, h.blockSize);
  if (h.parentUniqueId) b.set(h.parentUniqueId.subarray(0, 16), 40);
  v.setUint32(56, (h.parentTimestamp ?? 0) >>> 0);
  const name = h.parentName ?? '';
  if (name.length > VHD_PARENT_NAME_BYTES / 2) throw new RangeError('VHD parent name longer than 256 units');
  for (let i = 0; i < name.length; i++) v.setUint16(64 + 2 * i, name.charCodeAt(i));
  const locs = h.locators ?? [];
  if (locs.length > VHD_LOCATOR_SLOTS) throw new RangeError('more than 8 VHD parent locators');
  locs.forEach((l, i) => {
    const at = 576 + 24 * i;
    for (let k = 0; k < 4; k++) b[at + k] = l.code.charCodeAt(k) & 0xff;
    v.setUint32(at + 4, l.dataSpace);
    v.setUint32(at + 8, l.dataLength);
    v.setBigUint64(at + 16, BigInt(l.dataOffset));
  });
  v.setUint32(36, vhdChecksum(b, 36));
  return b;
}
