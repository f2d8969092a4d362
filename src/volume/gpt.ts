// GUID partition table: header and entry array, with CRCs, and the primary-then-backup reading procedure.
// Layout and validation: docs/boot-sectors.md §2 [C] (UEFI spec via Linux block/partitions/efi.c).
import { BootprobeError, type Finding, hex } from '../errors.js';
import { type BlockDevice, ByteView, crc32, isAllZero } from '../io/index.js';

export const GPT_SIGNATURE = 'EFI PART';
/** §2 header table: the defined fields end at 0x5C. */
export const GPT_HEADER_MIN_SIZE = 92;
/** §2 entry table: type, unique GUID, first, last, attributes, 72-byte name. */
export const GPT_ENTRY_MIN_SIZE = 128;
export const GPT_NAME_OFFSET = 56;
export const GPT_NAME_SIZE = 72;
/**
 * Entry arrays larger than this are refused before anything is allocated or read. §2 step 3 bounds count × size
 * ("e.g. ≤ 1 MiB"): Windows, sgdisk and sfdisk write 128 × 128 bytes = 16 KiB (the UEFI minimum reserve), and
 * even sgdisk's largest resized tables stay far below this; anything bigger is a corrupt count or size.
 */
export const MAX_ENTRY_ARRAY = 1024 * 1024;

export interface GptHeader {
  readonly revision: number;
  readonly headerSize: number;
  readonly headerCrc: number;
  readonly myLba: number;
  readonly alternateLba: number;
  readonly firstUsableLba: number;
  readonly lastUsableLba: number;
  readonly diskGuid: string;
  readonly entriesLba: number;
  readonly entryCount: number;
  readonly entrySize: number;
  readonly entriesCrc: number;
  /** Absolute byte offset of the header. */
  readonly offset: number;
}

export interface GptEntry {
  /** 0-based slot in the array; Linux names it partition slot + 1. */
  readonly slot: number;
  readonly typeGuid: string;
  readonly uniqueGuid: string;
  readonly firstLba: number;
  /** Inclusive. */
  readonly lastLba: number;
  readonly attributes: bigint;
  readonly name: string;
  readonly entryOffset: number;
}

function bad(
  msg: string,
  offset: number,
  code: 'GPT_HEADER' | 'GPT_ENTRIES' = 'GPT_HEADER',
  data?: Record<string, unknown>,
): BootprobeError {
  return new BootprobeError(code, msg, {
    offset,
    structure: code === 'GPT_HEADER' ? 'gpt.header' : 'gpt.entries',
    hint: 'the GPT is damaged; gdisk or sgdisk can rebuild it from the other copy',
    data,
  });
}

/**
 * Decodes and checks a header read from `lba` (§2 steps 1-2): signature, header size within 92..the sector,
 * CRC32 with its own field zeroed, MyLBA = `lba`, entry size 128 × 2^n, entry array ≤ MAX_ENTRY_ARRAY,
 * first usable ≤ last usable. `v` holds the whole sector. Throws GPT_HEADER.
 */
export function decodeGptHeader(v: ByteView, lba: number): GptHeader {
  v.need(0, GPT_HEADER_MIN_SIZE, 'GPT header');
  if (v.ascii(0, 8) !== GPT_SIGNATURE) throw bad(`no "EFI PART" GPT header at ${hex(v.base)}`, v.base);
  const headerSize = v.u32le(0x0c);
  if (headerSize < GPT_HEADER_MIN_SIZE || headerSize > v.length) {
    throw bad(
      `GPT header at ${hex(v.base)}: header size ${headerSize} is outside ${GPT_HEADER_MIN_SIZE}..${v.length}`,
      v.base + 0x0c,
    );
  }
  const stored = v.u32le(0x10);
  const raw = v.slice(0, headerSize).slice();
  raw.fill(0, 0x10, 0x14);
  const computed = crc32(raw);
  if (computed !== stored) {
    throw bad(
      `GPT header at ${hex(v.base)}: CRC32 ${hex(stored)}, expected ${hex(computed)}`,
      v.base + 0x10,
      'GPT_HEADER',
      {
        expected: hex(computed),
        actual: hex(stored),
      },
    );
  }
  const h: GptHeader = {
    revision: v.u32le(0x08),
    headerSize,
    headerCrc: stored,
    myLba: v.u64leNum(0x18, 'MyLBA', 'GPT_HEADER'),
    alternateLba: v.u64leNum(0x20, 'AlternateLBA', 'GPT_HEADER'),
    firstUsableLba: v.u64leNum(0x28, 'FirstUsableLBA', 'GPT_HEADER'),
    lastUsableLba: v.u64leNum(0x30, 'LastUsableLBA', 'GPT_HEADER'),
    diskGuid: v.guid(0x38),
    entriesLba: v.u64leNum(0x48, 'PartitionEntryLBA', 'GPT_HEADER'),
    entryCount: v.u32le(0x50),
    entrySize: v.u32le(0x54),
    entriesCrc: v.u32le(0x58),
    offset: v.base,
  };
  if (h.myLba !== lba) {
    throw bad(
      `GPT header at ${hex(v.base)}: MyLBA ${h.myLba}, but it was read from LBA ${lba}`,
      v.base + 0x18,
    );
  }
  // 128 × 2^n (§2 header table): a power of two of at least 128.
  if (h.entrySize < GPT_ENTRY_MIN_SIZE || (h.entrySize & (h.entrySize - 1)) !== 0) {
    throw bad(`GPT header at ${hex(v.base)}: entry size ${h.entrySize} is not 128 × 2^n`, v.base + 0x54);
  }
  if (h.entryCount * h.entrySize > MAX_ENTRY_ARRAY) {
    throw bad(
      `GPT header at ${hex(v.base)}: ${h.entryCount} entries of ${h.entrySize} bytes exceed the ${MAX_ENTRY_ARRAY}-byte bound`,
      v.base + 0x50,
    );
  }
  if (h.firstUsableLba > h.lastUsableLba) {
    throw bad(
      `GPT header at ${hex(v.base)}: first usable LBA ${h.firstUsableLba} > last usable LBA ${h.lastUsableLba}`,
      v.base + 0x28,
    );
  }
  return h;
}

/** Byte length of the entry array; bounded by decodeGptHeader. */
export const gptEntryArraySize = (h: GptHeader): number => h.entryCount * h.entrySize;

/**
 * Checks the entry array's CRC32 over exactly count × size bytes (§2 step 3) and decodes the non-empty entries
 * (type GUID ≠ 0). Throws GPT_ENTRIES on a CRC mismatch, TRUNCATED when `v` is shorter than the array.
 */
export function decodeGptEntries(v: ByteView, h: GptHeader): GptEntry[] {
  const len = gptEntryArraySize(h);
  const bytes = v.slice(0, len);
  const computed = crc32(bytes);
  if (computed !== h.entriesCrc) {
    throw bad(
      `GPT entry array at ${hex(v.base)}: CRC32 ${hex(computed)}, but the header at ${hex(h.offset)} says ${hex(h.entriesCrc)}`,
      v.base,
      'GPT_ENTRIES',
      { expected: hex(h.entriesCrc), actual: hex(computed) },
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
      name: v.utf16le(at + GPT_NAME_OFFSET, GPT_NAME_SIZE, true),
      entryOffset: v.base + at,
    });
  }
  return out;
}

export interface Gpt {
  readonly header: GptHeader;
  readonly entries: readonly GptEntry[];
  /** True when the primary was unusable and the backup at the last LBA was read instead. */
  readonly fromBackup: boolean;
}

type Outcome = { header: GptHeader; entries: GptEntry[] } | BootprobeError;

/** One copy: header at `lba`, then its entry array, which must lie inside the disk. Errors are returned. */
async function readCopy(dev: BlockDevice, ss: number, lba: number): Promise<Outcome> {
  const at = lba * ss;
  if (lba < 1 || at + ss > dev.size) {
    return bad(`GPT header LBA ${lba} (${hex(at)}) is outside the ${dev.size}-byte disk`, at);
  }
  try {
    const header = decodeGptHeader(new ByteView(await dev.read(at, ss), at, 'gpt.header'), lba);
    const len = gptEntryArraySize(header);
    const arrayAt = header.entriesLba * ss;
    if (header.entriesLba < 1 || !Number.isSafeInteger(arrayAt) || arrayAt + len > dev.size) {
      return bad(
        `GPT header at ${hex(at)}: entry array at LBA ${header.entriesLba} (${len} bytes) lies outside the ${dev.size}-byte disk`,
        at + 0x48,
        'GPT_ENTRIES',
      );
    }
    const entries = decodeGptEntries(
      new ByteView(await dev.read(arrayAt, len), arrayAt, 'gpt.entries'),
      header,
    );
    return { header, entries };
  } catch (e) {
    if (e instanceof BootprobeError) return e;
    throw e;
  }
}

/** True when the sector at LBA 1 (for `ss`) starts with "EFI PART". */
export async function hasGptSignature(dev: BlockDevice, ss: number, lba = 1): Promise<boolean> {
  const at = lba * ss;
  if (lba < 0 || at + 8 > dev.size) return false;
  const b = await dev.read(at, 8);
  return String.fromCharCode(...b) === GPT_SIGNATURE;
}

/**
 * §2 steps 5-6: the primary at LBA 1 when it and its array are valid (warning when the backup at the disk's last
 * LBA is missing, bad or different); otherwise the backup, with a warning; both bad → GPT_HEADER naming both faults.
 */
export async function readGpt(dev: BlockDevice, ss: number, warnings: Finding[]): Promise<Gpt> {
  const lastLba = Math.floor(dev.size / ss) - 1;
  const primary = await readCopy(dev, ss, 1);
  // Read the last LBA, not AlternateLBA, which may itself be corrupt (§2 step 5).
  const backup = await readCopy(dev, ss, lastLba);
  if (!(primary instanceof BootprobeError)) {
    if (backup instanceof BootprobeError) {
      warnings.push({
        code: backup.code,
        message: `backup GPT at LBA ${lastLba} is unusable (${backup.message})`,
        offset: backup.offset,
      });
    } else if (!sameTable(primary.header, backup.header)) {
      warnings.push({
        code: 'GPT_HEADER',
        message: `backup GPT at LBA ${lastLba} differs from the primary (disk GUID, usable range or entry array)`,
        offset: backup.header.offset,
      });
    }
    return { ...primary, fromBackup: false };
  }
  if (backup instanceof BootprobeError) {
    throw new BootprobeError(
      primary.code,
      `GPT damaged: primary (${primary.message}) and backup at LBA ${lastLba} (${backup.message}) are both unusable`,
      {
        offset: primary.offset,
        structure: 'gpt',
        hint: 'both copies are damaged; a partitioning tool (gdisk) may rebuild the table',
        cause: primary,
      },
    );
  }
  warnings.push({
    code: primary.code,
    message: `primary GPT unusable (${primary.message}); using the backup header at LBA ${lastLba}`,
    offset: primary.offset,
  });
  return { ...backup, fromBackup: true };
}

// The copies differ in MyLBA, AlternateLBA, array LBA and so in both CRCs of the header (§2 step 5); the entry
// array's CRC must be the same.
function sameTable(a: GptHeader, b: GptHeader): boolean {
  return (
    a.diskGuid === b.diskGuid &&
    a.firstUsableLba === b.firstUsableLba &&
    a.lastUsableLba === b.lastUsableLba &&
    a.entryCount === b.entryCount &&
    a.entrySize === b.entrySize &&
    a.entriesCrc === b.entriesCrc
  );
}
