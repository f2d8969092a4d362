// VHD parent locator data (docs/vhd-vhdx.md §1.4 "Parent locator entry"): the path a differencing disk's entry
// points at, decoded per platform code. The 24-byte entries themselves are decoded with the dynamic header.
import { BootprobeError, hex } from '../../errors.js';
import { type BlockDevice, decodeUtf16, encodeUtf16le } from '../../io/index.js';
import type { VhdParentLocatorEntry } from './dynamic-header.js';

/** A locator longer than this is not a path (Windows' longest path is 32,767 UTF-16 units = 65,534 bytes). */
export const MAX_LOCATOR_BYTES = 65536;

/**
 * Wi2r/Wi2k data (§1.4, [?]): the spec says an 8-bit code page, but Virtual PC "XP Mode" disks were reported with
 * UTF-16 copies. UTF-16LE ASCII paths have a zero in every odd byte, which an 8-bit path never has (a path holds no
 * NUL), so that is how the two are told apart; pinned by parent-locator.test.ts "Wi2r/Wi2k".
 */
export function decodeWi2(data: Uint8Array): string {
  let utf16 = data.length >= 2 && data.length % 2 === 0;
  for (let i = 1; utf16 && i < data.length; i += 2) if (data[i] !== 0) utf16 = false;
  if (utf16 && data[0] !== 0) return decodeUtf16(data, true, true);
  let s = '';
  for (const c of data) {
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

/**
 * The path a locator's data holds, or null for codes that hold none ('Mac ' is an alias record). W2ru/W2ku are
 * UTF-16 LITTLE-endian without terminator although the rest of VHD is big-endian [C]; MacX is a UTF-8 file URL.
 */
export function decodeVhdLocatorPath(code: string, data: Uint8Array): string | null {
  switch (code) {
    case 'W2ru':
    case 'W2ku':
      return decodeUtf16(data, true, true);
    case 'Wi2r':
    case 'Wi2k':
      return decodeWi2(data);
    case 'MacX': {
      const url = new TextDecoder().decode(data).replace(/\0.*$/, '');
      if (!url.startsWith('file://')) return url;
      const p = url.slice(7).replace(/^localhost/, '');
      try {
        return decodeURIComponent(p);
      } catch {
        return p; // a malformed %-escape: keep the path as stored
      }
    }
    default:
      return null;
  }
}

/**
 * Reads and decodes one locator's data. Only data length and data offset are used; data space is advisory
 * (Windows stores bytes where the spec says sectors, §1.4). Data outside the file is VHD_DYNAMIC_HEADER.
 */
export async function readVhdParentLocator(
  dev: BlockDevice,
  l: VhdParentLocatorEntry,
): Promise<string | null> {
  if (l.dataLength === 0 || l.dataLength > MAX_LOCATOR_BYTES || l.dataOffset + l.dataLength > dev.size) {
    throw new BootprobeError(
      'VHD_DYNAMIC_HEADER',
      `VHD parent locator '${l.code}' at ${hex(l.entryOffset)}: ${l.dataLength} bytes at ${hex(l.dataOffset)} are not a path inside the ${dev.size}-byte file`,
      {
        offset: l.entryOffset,
        structure: 'vhd.parent_locator',
        hint: 'the dynamic header is corrupt; pass --parent PATH to name the parent',
        data: { code: l.code, dataOffset: l.dataOffset, dataLength: l.dataLength },
      },
    );
  }
  return decodeVhdLocatorPath(l.code, await dev.read(l.dataOffset, l.dataLength));
}

/** Data of a W2ru/W2ku locator: UTF-16 LITTLE-endian, no terminator (§1.4). */
export function encodeVhdLocatorPath(path: string): Uint8Array {
  if (path.length === 0 || path.length * 2 > MAX_LOCATOR_BYTES) {
    throw new RangeError(`a VHD locator path must be 1 to ${MAX_LOCATOR_BYTES / 2} characters`);
  }
  return encodeUtf16le(path);
}
