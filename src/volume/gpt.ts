// GUID partition table: header and entry array, with CRCs. Layout and validation: docs/boot-sectors.md §2.
import { BootprobeError, hex } from '../errors.js';
import { type ByteView, crc32, isAllZero } from '../io/index.js';

export const GPT_SIGNATURE = 'EFI PART';
/** Entry arrays larger than this are refused: 128 entries × 128 bytes is the norm; 1 MiB leaves room (§2 step 3). */
export const MAX_ENTRY_ARRAY = 1024 * 1024;

export interface GptHeader {
  revision: number;
  headerSize: number;
  headerCrc: number;
  myLba: number;
  alternateLba: number;
  firstUsableLba: number;
  lastUsableLba: number;
  diskGuid: string;
  entriesLba: number;
  entryCount: number;
  entrySize: number;
  entriesCrc: number;
  /** Absolute byte offset of the header. */
  offset: number;
}

export interface GptEntry {
  /** 0-based slot in the array. */
  slot: number;
  typeGuid: string;
  uniqueGuid: string;
  firstLba: number;
  lastLba: number;
  attributes: bigint;
  name: string;
  entryOffset: number;
}

function bad(msg: string, offset: number, code: 'GPT_HEADER' | 'GPT_ENTRIES' = 'GPT_HEADER'): BootprobeError {
  return new BootprobeError(code, msg, { offset, structure: 'gpt', hint: 'the GPT is damaged' });
}

/** Decodes and checks a header read from `lba` (§2 steps 1-2). Throws GPT_HEADER when it is not valid. */
export function decodeGptHeader(v: ByteView, lba: number): GptHeader {
  v.need(0, 92, 'GPT header');
  if (v.ascii(0, 8) !== GPT_SIGNATURE) throw bad(`no "EFI PART" GPT header at ${hex(v.base)}`, v.base);
  const headerSize = v.u32le(12);
  if (headerSize < 92 || headerSize > v.length)
    throw bad(
      `GPT header at ${hex(v.base)}: header size ${headerSize} is outside 92..${v.length}`,
      v.base + 12,
    );
  const raw = v.slice(0, headerSize).slice();
  const stored = v.u32le(16);
  raw.fill(0, 16, 20);
  const computed = crc32(raw);
  if (computed !== stored)
    throw bad(`GPT header at ${hex(v.base)}: CRC32 ${hex(stored)}, expected ${hex(computed)}`, v.base + 16);
  const h: GptHeader = {
    revision: v.u32le(8),
    headerSize,
    headerCrc: stored,
    myLba: v.u64leNum(24, 'MyLBA', 'GPT_HEADER'),
    alternateLba: v.u64leNum(32, 'AlternateLBA', 'GPT_HEADER'),
    firstUsableLba: v.u64leNum(40, 'FirstUsableLBA', 'GPT_HEADER'),
    lastUsableLba: v.u64leNum(48, 'LastUsableLBA', 'GPT_HEADER'),
    diskGuid: v.guid(56),
    entriesLba: v.u64leNum(72, 'partition entry LBA', 'GPT_HEADER'),
    entryCount: v.u32le(80),
    entrySize: v.u32le(84),
    entriesCrc: v.u32le(88),
    offset: v.base,
  };
  if (h.myLba !== lba)
    throw bad(`GPT header at ${hex(v.base)}: MyLBA ${h.myLba}, read from LBA ${lba}`, v.base + 24);
  if (h.entrySize < 128 || (h.entrySize & (h.entrySize - 1)) !== 0) {
    throw bad(`GPT header at ${hex(v.base)}: entry size ${h.entrySize} is not 128 × 2^n`, v.base + 84);
  }
  if (h.entryCount * h.entrySize > MAX_ENTRY_ARRAY) {
    throw bad(
      `GPT header at ${hex(v.base)}: ${h.entryCount} entries of ${h.entrySize} bytes exceed ${MAX_ENTRY_ARRAY} bytes`,
      v.base + 80,
    );
  }
  if (h.firstUsableLba > h.lastUsableLba)
    throw bad(
      `GPT header at ${hex(v.base)}: first usable LBA ${h.firstUsableLba} > last ${h.lastUsableLba}`,
      v.base + 40,
    );
  return h;
}

/** Decodes the entry array after checking its CRC (§2 step 3); empty slots (type GUID zero) are skipped. */
export function decodeGptEntries(v: ByteView, h: GptHeader): GptEntry[] {
  const len = h.entryCount * h.entrySize;
  const bytes = v.slice(0, len);
  const computed = crc32(bytes);
  if (computed !== h.entriesCrc) {
    throw bad(
      `GPT entry array at ${hex(v.base)}: CRC32 ${hex(h.entriesCrc)}, expected ${hex(computed)}`,
      v.base,
      'GPT_ENTRIES',
    );
  }
  const out: GptEntry[] = [];
  for (let i = 0; i < h.entryCount; i++) {
    const at = i * h.entrySize;
    if (isAllZero(v.slice(at, 16))) continue;
    out.push({
      slot: i,
      typeGuid: v.guid(at),
      uniqueGuid: v.guid(at + 16),
      firstLba: v.u64leNum(at + 32, 'first LBA', 'GPT_ENTRIES'),
      lastLba: v.u64leNum(at + 40, 'last LBA', 'GPT_ENTRIES'),
      attributes: v.u64le(at + 48),
      name: v.utf16le(at + 56, 72, true),
      entryOffset: v.base + at,
    });
  }
  return out;
}

/** Partition type GUIDs (§2 "GPT type GUIDs"). */
export const GPT_TYPE_NAMES: Record<string, string> = {
  'c12a7328-f81f-11d2-ba4b-00a0c93ec93b': 'EFI System',
  'e3c9e316-0b5c-4db8-817d-f92df00215ae': 'Microsoft reserved',
  'ebd0a0a2-b9e5-4433-87c0-68b6b72699c7': 'Microsoft basic data',
  'de94bba4-06d1-4d40-a16a-bfd50179d6ac': 'Windows recovery environment',
  '5808c8aa-7e8f-42e0-85d2-e1e90434cfb3': 'Microsoft LDM metadata',
  'af9b60a0-1431-4f62-bc68-3311714a69ad': 'Microsoft LDM data',
  'e75caf8f-f680-4cee-afa3-b001e56efc2d': 'Microsoft Storage Spaces',
  '0fc63daf-8483-4772-8e79-3d69d8477de4': 'Linux filesystem',
  '0657fd6d-a4ab-43c4-84e5-0933c84b4f4f': 'Linux swap',
  'e6d6d379-f507-44c2-a23c-238f2a3df928': 'Linux LVM',
  '21686148-6449-6e6f-744e-656564454649': 'BIOS boot',
};

export function gptTypeName(guid: string): string {
  return GPT_TYPE_NAMES[guid] ?? 'unknown';
}
