// VHD dynamic disk header: 1024 bytes, big-endian, at footer.dataOffset. Layout: docs/vhd-vhdx.md §1.4.
import { type ByteView, formatUuidBe } from '../../io/index.js';
import { vhdChecksum } from './footer.js';

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
