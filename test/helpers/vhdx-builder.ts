// Writes VHDX files from MS-VHDX as docs/vhd-vhdx.md Part 2 states it, independently of src/image/vhdx: qemu-img
// cannot make differencing VHDX files, explicit block states or log entries, so the tests build them here. Every
// structure has its own encoder (header §2.2, region table §2.3, metadata §2.4, parent locator §2.4, BAT §2.5, log
// entry §2.6) so a test can also write one structure wrong on purpose.
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { BootprobeError } from '../../src/errors.js';
import { type BlockDevice, type IoStats, readInto } from '../../src/io/block-device.js';
import { encodeUtf16le, parseGuid } from '../../src/io/byte-view.js';
import { crc32c } from '../../src/io/checksum.js';
import { anyBasename, type FileAccess, isWindowsAbsolute } from '../../src/io/file-access.js';
import { MemoryDevice } from '../../src/io/memory-device.js';

export const KiB = 1024;
export const MiB = 1024 * 1024;

export interface Write {
  offset: number;
  data: Uint8Array;
}

/** A recognisable write: bytes depend on the seed and the position. */
export function pattern(offset: number, length: number, seed: number): Write {
  const data = new Uint8Array(length);
  for (let i = 0; i < length; i++) data[i] = (seed * 37 + i * 11 + (i >> 9) * 3) & 0xff;
  return { offset, data };
}

/** The raw disk a chain reads as: each level's writes applied over the previous ones. */
export function expectedContent(size: number, levels: Write[][]): Uint8Array {
  const out = new Uint8Array(size);
  for (const writes of levels) for (const w of writes) out.set(w.data, w.offset);
  return out;
}

export function randomGuid(): string {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function guidBytes(g: string): Uint8Array {
  const b = parseGuid(g);
  if (!b) throw new Error(`bad guid ${g}`);
  return b;
}

const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
export const le16 = (b: Uint8Array, at: number, v: number) => dv(b).setUint16(at, v, true);
export const le32 = (b: Uint8Array, at: number, v: number) => dv(b).setUint32(at, v >>> 0, true);
export const le64 = (b: Uint8Array, at: number, v: bigint | number) =>
  dv(b).setBigUint64(at, BigInt(v), true);
export const ascii = (b: Uint8Array, at: number, s: string) => {
  for (let i = 0; i < s.length; i++) b[at + i] = s.charCodeAt(i);
};
const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** Writes the CRC-32C of `b` (with the 4-byte field at `at` zeroed) into that field (§2.2, §2.3, §2.6). */
export function sealCrc(b: Uint8Array, at = 4): void {
  le32(b, at, 0);
  le32(b, at, crc32c(b));
}

export const REGION_GUID = {
  BAT: '2dc27766-f623-4200-9d64-115e9bfd4a08',
  METADATA: '8b7ca206-4790-4b9a-b8fe-575f050f886e',
} as const;

export const ITEM_GUID = {
  FILE_PARAMETERS: 'caa16737-fa36-4d43-b3b6-33f0aa44e76b',
  VIRTUAL_DISK_SIZE: '2fa54224-cd1b-4876-b211-5dbed83bf4b8',
  PAGE83: 'beca12ab-b2e6-4523-93ef-c309e000c746',
  LOGICAL_SECTOR_SIZE: '8141bf1d-a96f-4709-ba47-f233a8faab5f',
  PHYSICAL_SECTOR_SIZE: 'cda348c7-445d-4471-9cc9-e9885251c556',
  PARENT_LOCATOR: 'a8d35f2d-b30b-454d-abf7-d3d84834ab0c',
} as const;

export const STATE = {
  NOT_PRESENT: 0,
  UNDEFINED: 1,
  ZERO: 2,
  UNMAPPED: 3,
  RESERVED_4: 4,
  UNMAPPED_V095: 5,
  FULLY_PRESENT: 6,
  PARTIALLY_PRESENT: 7,
} as const;

export interface HeaderFields {
  sequenceNumber: bigint;
  fileWriteGuid?: string;
  dataWriteGuid: string;
  logGuid?: string;
  logVersion?: number;
  version?: number;
  logLength?: number;
  logOffset?: number;
}

/** A 4 KiB header with its CRC (§2.2). */
export function encodeHeader(h: HeaderFields): Uint8Array {
  const b = new Uint8Array(4 * KiB);
  ascii(b, 0, 'head');
  le64(b, 8, h.sequenceNumber);
  b.set(guidBytes(h.fileWriteGuid ?? randomGuid()), 16);
  b.set(guidBytes(h.dataWriteGuid), 32);
  if (h.logGuid) b.set(guidBytes(h.logGuid), 48);
  le16(b, 64, h.logVersion ?? 0);
  le16(b, 66, h.version ?? 1);
  le32(b, 68, h.logLength ?? MiB);
  le64(b, 72, h.logOffset ?? MiB);
  sealCrc(b);
  return b;
}

export interface RegionSpec {
  guid: string;
  fileOffset: number;
  length: number;
  required: boolean;
}

/** A 64 KiB region table with its CRC (§2.3). */
export function encodeRegionTable(entries: RegionSpec[]): Uint8Array {
  const b = new Uint8Array(64 * KiB);
  ascii(b, 0, 'regi');
  le32(b, 8, entries.length);
  entries.forEach((e, i) => {
    const at = 16 + 32 * i;
    b.set(guidBytes(e.guid), at);
    le64(b, at + 16, e.fileOffset);
    le32(b, at + 24, e.length);
    le32(b, at + 28, e.required ? 1 : 0);
  });
  sealCrc(b);
  return b;
}

export interface ItemSpec {
  guid: string;
  data: Uint8Array;
  /** bit0 IsUser, bit1 IsVirtualDisk, bit2 IsRequired. */
  flags: number;
}

/** A metadata region of `length` bytes: the 64 KiB table, then each item 4 KiB aligned (§2.4). */
export function encodeMetadataRegion(items: ItemSpec[], length = MiB): Uint8Array {
  const b = new Uint8Array(length);
  ascii(b, 0, 'metadata');
  le16(b, 10, items.length);
  let at = 64 * KiB;
  items.forEach((it, i) => {
    const e = 32 + 32 * i;
    b.set(guidBytes(it.guid), e);
    le32(b, e + 16, it.data.length === 0 ? 0 : at);
    le32(b, e + 20, it.data.length);
    le32(b, e + 24, it.flags);
    b.set(it.data, at);
    at += roundUp(Math.max(it.data.length, 1), 4 * KiB);
  });
  return b;
}

/** A parent locator item: type GUID, u16 0, u16 count, entries, then the UTF-16LE strings (§2.4). */
export function encodeParentLocator(pairs: [string, string][]): Uint8Array {
  const enc = pairs.map(([k, v]) => [encodeUtf16le(k), encodeUtf16le(v)] as const);
  let len = 20 + 12 * pairs.length;
  for (const [k, v] of enc) len += k.length + v.length;
  const b = new Uint8Array(len);
  b.set(guidBytes('b04aefb7-d19e-4a81-b789-25b8e9445913'), 0);
  le16(b, 18, pairs.length);
  let at = 20 + 12 * pairs.length;
  enc.forEach(([k, v], i) => {
    le32(b, 20 + 12 * i, at);
    b.set(k, at);
    at += k.length;
    le32(b, 24 + 12 * i, at);
    b.set(v, at);
    at += v.length;
    le16(b, 28 + 12 * i, k.length);
    le16(b, 30 + 12 * i, v.length);
  });
  return b;
}

/** A BAT entry: state in bits 0-2, FileOffsetMB in bits 20-63 (§2.5). */
export function batEntry(state: number, fileOffset: number): bigint {
  return BigInt(state) | (BigInt(Math.floor(fileOffset / MiB)) << 20n);
}

export function chunkRatioOf(blockSize: number, logicalSectorSize: number): number {
  return (2 ** 23 * logicalSectorSize) / blockSize;
}

export interface VhdxSpec {
  size: number;
  blockSize?: number;
  logicalSectorSize?: 512 | 4096;
  physicalSectorSize?: 512 | 4096;
  /** LeaveBlocksAllocated: every block FULLY_PRESENT. */
  fixed?: boolean;
  writes?: Write[];
  dataWriteGuid?: string;
  /**
   * Hyper-V (corpus hyperv-differencing, Windows 10.0.17763) writes parent_linkage lower-case in braces, and libvhdi
   * 20210425 parses only that form; `upperCase` writes the spec example's upper-case form instead.
   */
  parent?: { linkage: string; linkage2?: string; locators: Record<string, string>; upperCase?: boolean };
  /** State of blocks no write touches: default ZERO in a base disk, NOT_PRESENT in a child. */
  unwrittenState?: number;
  /** Explicit states for blocks no write touches (offset 0), by block number. */
  states?: Record<number, number>;
  /** In a child, wholly written blocks are FULLY_PRESENT; with this, PARTIALLY_PRESENT with every bit set. */
  forcePartial?: boolean;
  creator?: string;
  page83?: string;
  /** Header sequence numbers (slot 1, slot 2). */
  sequence?: [bigint, bigint];
  logGuid?: string;
  logLength?: number;
  /** Items added to the metadata table (unknown ones, for the refusal tests). */
  extraItems?: ItemSpec[];
  extraRegions?: RegionSpec[];
}

export interface BuiltVhdx {
  bytes: Uint8Array;
  dataWriteGuid: string;
  page83: string;
  layout: {
    logAt: number;
    logLength: number;
    batAt: number;
    batLength: number;
    metaAt: number;
    chunkRatio: number;
    totalEntries: number;
    blockAt: Map<number, number>;
    bitmapAt: Map<number, number>;
  };
}

/**
 * A whole VHDX: identifier, two headers, two identical region tables, log (empty unless logGuid is set) at 1 MiB,
 * BAT at 1 MiB + log, metadata after it, then payload blocks in block order and sector-bitmap blocks (§2.1-2.5).
 */
export function buildVhdx(spec: VhdxSpec): BuiltVhdx {
  const bs = spec.blockSize ?? MiB;
  const ss = spec.logicalSectorSize ?? 512;
  const diff = !!spec.parent;
  const chunkRatio = chunkRatioOf(bs, ss);
  const dataBlocks = Math.ceil(spec.size / bs);
  const chunks = Math.ceil(dataBlocks / chunkRatio);
  const totalEntries = diff
    ? chunks * (chunkRatio + 1)
    : dataBlocks + Math.floor((dataBlocks - 1) / chunkRatio);
  const logAt = MiB;
  const logLength = spec.logLength ?? MiB;
  const batAt = logAt + logLength;
  const batLength = roundUp(totalEntries * 8, MiB);
  const metaAt = batAt + batLength;
  let cursor = metaAt + MiB;
  const writes = spec.writes ?? [];
  const sectors = new Map<number, Set<number>>();
  for (const w of writes) {
    if (w.offset % ss || w.data.length % ss) throw new Error('builder writes must be sector-aligned');
    for (let i = 0; i < w.data.length; i += ss) {
      const v = w.offset + i;
      const b = Math.floor(v / bs);
      if (!sectors.has(b)) sectors.set(b, new Set());
      sectors.get(b)!.add((v - b * bs) / ss);
    }
  }
  const blockAt = new Map<number, number>();
  const allocated = spec.fixed ? Array.from({ length: dataBlocks }, (_, i) => i) : [...sectors.keys()];
  for (const b of allocated.sort((x, y) => x - y)) {
    blockAt.set(b, cursor);
    cursor += bs;
  }
  const bitmapAt = new Map<number, number>();
  if (diff) {
    for (const b of [...sectors.keys()].sort((x, y) => x - y)) {
      const k = Math.floor(b / chunkRatio);
      if (!bitmapAt.has(k)) {
        bitmapAt.set(k, cursor);
        cursor += MiB;
      }
    }
  }
  const file = new Uint8Array(cursor);
  ascii(file, 0, 'vhdxfile');
  file.set(encodeUtf16le(spec.creator ?? 'bootprobe vhdx-builder'), 8);
  const dataWriteGuid = spec.dataWriteGuid ?? randomGuid();
  const [s1, s2] = spec.sequence ?? [10n, 11n];
  const fileWriteGuid = randomGuid();
  for (const [at, seq] of [
    [64 * KiB, s1],
    [128 * KiB, s2],
  ] as const) {
    const h = encodeHeader({
      sequenceNumber: seq,
      fileWriteGuid,
      dataWriteGuid,
      logGuid: spec.logGuid,
      logLength,
      logOffset: logAt,
    });
    file.set(h, at);
  }
  const regions: RegionSpec[] = [
    { guid: REGION_GUID.BAT, fileOffset: batAt, length: batLength, required: true },
    { guid: REGION_GUID.METADATA, fileOffset: metaAt, length: MiB, required: true },
    ...(spec.extraRegions ?? []),
  ];
  const rt = encodeRegionTable(regions);
  file.set(rt, 192 * KiB);
  file.set(rt, 256 * KiB);

  const u32 = (n: number) => {
    const b = new Uint8Array(4);
    le32(b, 0, n);
    return b;
  };
  const fp = new Uint8Array(8);
  le32(fp, 0, bs);
  le32(fp, 4, (spec.fixed ? 1 : 0) | (diff ? 2 : 0));
  const vs = new Uint8Array(8);
  le64(vs, 0, spec.size);
  const page83 = spec.page83 ?? randomGuid();
  const items: ItemSpec[] = [
    { guid: ITEM_GUID.FILE_PARAMETERS, data: fp, flags: 4 },
    { guid: ITEM_GUID.VIRTUAL_DISK_SIZE, data: vs, flags: 6 },
    { guid: ITEM_GUID.PAGE83, data: guidBytes(page83), flags: 6 },
    { guid: ITEM_GUID.LOGICAL_SECTOR_SIZE, data: u32(ss), flags: 6 },
    { guid: ITEM_GUID.PHYSICAL_SECTOR_SIZE, data: u32(spec.physicalSectorSize ?? 4096), flags: 6 },
  ];
  if (spec.parent) {
    const linkage = spec.parent.upperCase
      ? spec.parent.linkage.toUpperCase()
      : spec.parent.linkage.toLowerCase();
    const pairs: [string, string][] = [['parent_linkage', `{${linkage}}`]];
    if (spec.parent.linkage2) pairs.push(['parent_linkage2', `{${spec.parent.linkage2}}`]);
    pairs.push(...Object.entries(spec.parent.locators));
    items.push({ guid: ITEM_GUID.PARENT_LOCATOR, data: encodeParentLocator(pairs), flags: 4 });
  }
  items.push(...(spec.extraItems ?? []));
  file.set(encodeMetadataRegion(items), metaAt);

  const batIndex = (b: number) => b + Math.floor(b / chunkRatio);
  const perBlock = bs / ss;
  for (let b = 0; b < dataBlocks; b++) {
    const set = sectors.get(b);
    let state = spec.states?.[b] ?? spec.unwrittenState ?? (diff ? STATE.NOT_PRESENT : STATE.ZERO);
    let offset = 0;
    if (blockAt.has(b) && (spec.fixed || !diff)) {
      state = STATE.FULLY_PRESENT;
      offset = blockAt.get(b)!;
    } else if (set) {
      offset = blockAt.get(b)!;
      const full = set.size === Math.min(perBlock, Math.ceil((spec.size - b * bs) / ss));
      state = !full || spec.forcePartial ? STATE.PARTIALLY_PRESENT : STATE.FULLY_PRESENT;
    }
    le64(file, batAt + 8 * batIndex(b), batEntry(state, offset));
  }
  for (const [k, at] of bitmapAt)
    le64(file, batAt + 8 * (k * (chunkRatio + 1) + chunkRatio), batEntry(6, at));
  for (const w of writes) {
    for (let i = 0; i < w.data.length; i += ss) {
      const v = w.offset + i;
      const b = Math.floor(v / bs);
      const inBlock = v - b * bs;
      file.set(w.data.subarray(i, i + ss), blockAt.get(b)! + inBlock);
      if (diff) {
        // LSB-first: bit 0 of byte 0 is the chunk's first sector (§2.5).
        const bit = (b % chunkRatio) * perBlock + inBlock / ss;
        const bm = bitmapAt.get(Math.floor(b / chunkRatio))!;
        file[bm + (bit >> 3)]! |= 1 << (bit & 7);
      }
    }
  }
  return {
    bytes: file,
    dataWriteGuid,
    page83,
    layout: { logAt, logLength, batAt, batLength, metaAt, chunkRatio, totalEntries, blockAt, bitmapAt },
  };
}

/** Byte offset of payload block `b`'s BAT entry. */
export function batEntryOffset(v: BuiltVhdx, b: number): number {
  return v.layout.batAt + 8 * (b + Math.floor(b / v.layout.chunkRatio));
}

/** Recomputes the CRC-32C of both headers and both region tables after a test changed a field. */
export function resealVhdx(bytes: Uint8Array): void {
  for (const at of [64 * KiB, 128 * KiB]) sealCrc(bytes.subarray(at, at + 4 * KiB));
  for (const at of [192 * KiB, 256 * KiB]) sealCrc(bytes.subarray(at, at + 64 * KiB));
}

export type LogDescriptorSpec =
  | { kind: 'desc'; fileOffset: number; sector: Uint8Array }
  | { kind: 'zero'; fileOffset: number; length: number };

export interface LogEntrySpec {
  sequenceNumber: bigint;
  /** Log offset of the sequence's oldest entry. */
  tail: number;
  logGuid: string;
  descriptors: LogDescriptorSpec[];
  flushedFileOffset: number;
  lastFileOffset: number;
}

/**
 * One log entry (§2.6): header and descriptors in ceil((count + 2) / 128) sectors, then one "data" sector per
 * "desc" descriptor; the 4 KiB sector is split into LeadingBytes (8), payload (4084) and TrailingBytes (4).
 */
export function encodeLogEntry(e: LogEntrySpec): Uint8Array {
  const descSectors = Math.ceil((e.descriptors.length + 2) / 128);
  const dataCount = e.descriptors.filter((d) => d.kind === 'desc').length;
  const len = (descSectors + dataCount) * 4 * KiB;
  const b = new Uint8Array(len);
  ascii(b, 0, 'loge');
  le32(b, 8, len);
  le32(b, 12, e.tail);
  le64(b, 16, e.sequenceNumber);
  le32(b, 24, e.descriptors.length);
  b.set(guidBytes(e.logGuid), 32);
  le64(b, 48, e.flushedFileOffset);
  le64(b, 56, e.lastFileOffset);
  let data = descSectors;
  e.descriptors.forEach((d, i) => {
    const at = 64 + 32 * i;
    if (d.kind === 'zero') {
      ascii(b, at, 'zero');
      le64(b, at + 8, d.length);
    } else {
      ascii(b, at, 'desc');
      b.set(d.sector.subarray(4092, 4096), at + 4);
      b.set(d.sector.subarray(0, 8), at + 8);
      const s = data * 4 * KiB;
      ascii(b, s, 'data');
      le32(b, s + 4, Number(e.sequenceNumber >> 32n));
      b.set(d.sector.subarray(8, 4092), s + 8);
      le32(b, s + 4092, Number(e.sequenceNumber & 0xffffffffn));
      data++;
    }
    le64(b, at + 16, d.fileOffset);
    le64(b, at + 24, e.sequenceNumber);
  });
  sealCrc(b);
  return b;
}

/** Copies entries into the log ring of `v` at their log offsets, wrapping at the end of the log (§2.6). */
export function placeLogEntries(v: BuiltVhdx, placed: [number, Uint8Array][]): void {
  const { logAt, logLength } = v.layout;
  for (const [at, e] of placed)
    for (let i = 0; i < e.length; i++) v.bytes[logAt + ((at + i) % logLength)] = e[i]!;
}

// ---- Test support: files in memory, whole-disk reads, typed-error checks. ----

/** FileAccess over named byte arrays (POSIX paths); records every path opened, found or not. */
export function memoryFiles(
  files: Record<string, Uint8Array>,
  stats?: IoStats,
): FileAccess & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async open(p: string) {
      asked.push(p);
      const b = files[p];
      return b ? new MemoryDevice(b, stats ? { stats } : {}) : null;
    },
    resolveBeside(from: string, rel: string) {
      if (isWindowsAbsolute(rel) || rel.startsWith('/')) return rel;
      // As NodeFileAccess does: Windows separators become '/', then path.join normalises '..'.
      return path.posix.join(path.posix.dirname(from), ...rel.split(/[\\/]+/).filter((s) => s !== ''));
    },
    basename: anyBasename,
  };
}

/**
 * The whole disk through read(), `step` bytes at a time, checked against the same reads through readInto() into one
 * reused buffer left dirty between reads (so readInto must write every byte, zeros included).
 */
export async function readAll(img: BlockDevice, step = 3 * MiB + 512): Promise<Uint8Array> {
  const out = new Uint8Array(img.size);
  const buf = new Uint8Array(Math.min(step, img.size));
  for (let at = 0; at < img.size; at += step) {
    const n = Math.min(step, img.size - at);
    const got = await img.read(at, n);
    out.set(got, at);
    const into = buf.subarray(0, n);
    into.fill(0xa5);
    await readInto(img, at, into);
    const diff = firstDiff(into, got);
    if (diff >= 0) throw new Error(`readInto differs from read at disk byte ${at + diff}`);
  }
  return out;
}

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Awaits `p` and returns its BootprobeError; fails the test on success or on any other error. */
export async function typedError(p: Promise<unknown>, code?: string): Promise<BootprobeError> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof BootprobeError))
      throw new Error(`expected a BootprobeError, got ${String(e)}`, { cause: e });
    if (code !== undefined && e.code !== code)
      throw new Error(`expected ${code}, got ${e.code}: ${e.message}`);
    return e;
  }
  throw new Error(`expected a BootprobeError${code ? ` ${code}` : ''}, the call succeeded`);
}

/** Index of the first byte where `a` and `b` differ (-1 when equal): fast on megabytes, unlike a deep toEqual. */
export function firstDiff(a: Uint8Array, b: Uint8Array): number {
  if (Buffer.compare(a, b) === 0) return -1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}
