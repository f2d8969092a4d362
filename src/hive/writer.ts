// The regf writer: serializes an EditableHive (edit.ts) into a whole, clean hive file — docs/regf.md §8 "Minimal
// correct writer", strategy of step 8 (rewrite the whole hive compactly). Pure: bytes in memory, no I/O.
// Layout rules followed (section of regf.md in brackets):
// - base block: "regf", both sequence numbers equal (clean, §2), major 1, the source's minor version (BCD: 1.3), file
//   type 0, format 1, root cell, bins size, clustering 1, checksum; bytes 48..507 and 512..4095 kept as found (§8.3);
// - bins: "hbin", offset = position, size a multiple of 4096, grown past 4 KiB only for a cell that needs it; the
//   first bin repeats the base-block timestamp (§3); cells tile each bin and the tail is one free cell (§4, §8.4);
// - cells 8-aligned, allocated ones negative (§4); the root nk is the first cell, at 0x20 as in every corpus hive;
// - nk with exact counts, parent, sk, class and exact "largest" fields in UTF-16 bytes (§5.1, §8.6);
// - subkey lists sorted by upper-cased name, `lf` (hint = first 4 chars as stored) below minor 5, `lh` (hash of the
//   upper-cased name) from 5 (§5.5); more than 507 subkeys go into an `ri` over leaves that each fit one 4 KiB bin,
//   the bound Windows keeps a leaf within (CM_MAX_FAST_INDEX = (4096 − 32 − 4 − 4) / 8) [I];
// - values of ≤ 4 bytes (empty ones too) inline with bit 31 (§5.2, §8.7); larger ones in one cell, or in a `db`
//   with 16344-byte segments each in a 16352-byte cell when minor ≥ 4 and size > 16344 (§5.3); a 1.3 hive has no
//   `db`: its big value gets one cell in a bin enlarged to fit (§5.2);
// - one sk per distinct security descriptor, reference count = keys using it, flink/blink a circular ring (§5.4).
import { BootprobeError, hex } from '../errors.js';
import { ByteView, encodeUtf16le } from '../io/index.js';
import {
  BASE_BLOCK_COPY_SIZE,
  BASE_BLOCK_SIZE,
  HIVE_FILE_TYPE,
  regfChecksum,
  tryDecodeBaseBlock,
} from './base-block.js';
import { DB_SEGMENT_DATA_SIZE } from './big-data.js';
import { HBIN_ALIGNMENT, HBIN_HEADER_SIZE } from './bin.js';
import { NO_CELL } from './cell.js';
import type { EditableHive, EditableKey, EditableValue } from './edit.js';
import { HVLE_SIGNATURE } from './log-new.js';
import { lfHint, lhHash } from './name.js';
import { NK_FIXED_SIZE, NK_FLAGS } from './nk.js';
import { VK_DATA_INLINE, VK_FIXED_SIZE, VK_FLAGS } from './vk.js';

/** Cell sizes are multiples of 8 (regf.md §4). */
export const CELL_ALIGNMENT = 8;
/** Elements of one lf/lh leaf and of one ri (Windows keeps each within a 4 KiB bin; see the file comment). */
export const MAX_LEAF_ELEMENTS = Math.floor((HBIN_ALIGNMENT - HBIN_HEADER_SIZE - 4 - 4) / 8);
export const MAX_RI_ELEMENTS = Math.floor((HBIN_ALIGNMENT - HBIN_HEADER_SIZE - 4 - 4) / 4);
/** Every big-data segment cell is this large, the last one too (regf.md §5.3, corpus SYSTEM). */
export const DB_SEGMENT_CELL_SIZE = alignCell(4 + DB_SEGMENT_DATA_SIZE);
/** Inline storage limit (regf.md §5.2). */
const INLINE_MAX = 4;
/** Bins data stays below 2 GiB so every offset is a safe u32 and the output one allocation. */
export const MAX_HIVE_BINS_SIZE = 0x7fff0000;
/** Minor versions this writer produces: 3 (lf, no db), 4 (lf, db), 5 and 6 (lh, db) (regf.md §2). */
export const WRITABLE_MINOR_VERSIONS: readonly number[] = [3, 4, 5, 6];

export interface EncodeHiveOptions {
  /**
   * Both sequence numbers of the written (clean) base block. Default: nextHiveSequence over the source's numbers
   * (regf.md §8 step 2, without logs: pass the logs' numbers through nextHiveSequence when there are any); 1 for a
   * hive made from nothing.
   */
  sequence?: number;
  /** FILETIME for the base block "last written" and the first bin (§2, §3). Default: the hive's. */
  timestamp?: bigint;
  /** Default: the hive's minor version. */
  minorVersion?: number;
  /** File name written at base block offset 48 (UTF-16LE, the last 31 characters). Default: kept as found. */
  fileName?: string;
}

function alignCell(n: number): number {
  return Math.ceil(n / CELL_ALIGNMENT) * CELL_ALIGNMENT;
}

function writeError(message: string, hint: string, data?: Record<string, unknown>): never {
  throw new BootprobeError('HIVE_EDIT', message, { structure: 'regf.writer', hint, data, kind: 'usage' });
}

const isLatin1 = (s: string): boolean => {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
};

/** A name as stored: Latin-1 (COMP_NAME) when every unit fits a byte, as Windows compresses names; else UTF-16LE. */
function nameBytes(name: string): { bytes: Uint8Array; compressed: boolean } {
  if (isLatin1(name)) return { bytes: Uint8Array.from(name, (c) => c.charCodeAt(0)), compressed: true };
  return { bytes: encodeUtf16le(name), compressed: false };
}

/** One cell to place: its size (with the 4 size bytes, aligned) and what goes in it once every offset is known. */
interface PlannedCell {
  readonly size: number;
  offset: number;
  fill: (d: DataView, at: number) => void;
}

interface KeyPlan {
  readonly key: EditableKey;
  readonly nk: PlannedCell;
}

/** Places cells in bins: the current bin first, then a recently opened one with room, else a new bin (§4). */
class BinLayout {
  readonly bins: { offset: number; size: number; used: number }[] = [];
  private open: number[] = [];
  total = 0;

  place(cell: PlannedCell): void {
    const size = cell.size;
    for (const i of this.open) {
      const b = this.bins[i]!;
      if (b.size - b.used >= size) {
        cell.offset = b.offset + b.used;
        b.used += size;
        this.prune();
        return;
      }
    }
    const binSize = Math.ceil((HBIN_HEADER_SIZE + size) / HBIN_ALIGNMENT) * HBIN_ALIGNMENT;
    if (this.total + binSize > MAX_HIVE_BINS_SIZE) {
      writeError(`the hive would exceed ${hex(MAX_HIVE_BINS_SIZE)} bytes of bins`, 'store less data in it');
    }
    const bin = { offset: this.total, size: binSize, used: HBIN_HEADER_SIZE + size };
    cell.offset = bin.offset + HBIN_HEADER_SIZE;
    this.bins.push(bin);
    this.total += binSize;
    this.open.push(this.bins.length - 1);
    this.prune();
  }

  /** Keeps only bins with room for a small record, and only the last few (placement stays linear). */
  private prune(): void {
    this.open = this.open
      .filter((i) => this.bins[i]!.size - this.bins[i]!.used >= 2 * CELL_ALIGNMENT)
      .slice(-8);
  }
}

/** Serializes the hive. Throws HIVE_EDIT when something cannot be stored (a name or count past its field). */
export function encodeHive(hive: EditableHive, options: EncodeHiveOptions = {}): Uint8Array {
  const minor = options.minorVersion ?? hive.minorVersion;
  if (!WRITABLE_MINOR_VERSIONS.includes(minor)) {
    writeError(
      `cannot write a regf 1.${minor} hive`,
      `use minor version ${WRITABLE_MINOR_VERSIONS.join(', ')}`,
    );
  }
  const useLh = minor >= 5;
  const useDb = minor >= 4;
  const cells: PlannedCell[] = [];
  const cell = (recordSize: number, fill: PlannedCell['fill']): PlannedCell => {
    const c: PlannedCell = { size: alignCell(4 + recordSize), offset: -1, fill };
    cells.push(c);
    return c;
  };

  // Keys in preorder; the root first so its nk becomes the first cell (0x20).
  const keys: EditableKey[] = [];
  const stack: EditableKey[] = [hive.root];
  while (stack.length > 0) {
    const k = stack.pop()!;
    keys.push(k);
    const children = k.subkeys();
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }

  // Security descriptors: one sk per distinct descriptor, in order of first use (regf.md §5.4).
  const skByBytes = new Map<string, { cell: PlannedCell | null; descriptor: Uint8Array; refs: number }>();
  const skOf = new Map<EditableKey, { cell: PlannedCell | null; descriptor: Uint8Array; refs: number }>();
  for (const k of keys) {
    const id = Array.from(k.security, (b) => b.toString(16).padStart(2, '0')).join('');
    let sk = skByBytes.get(id);
    if (!sk) {
      sk = { cell: null, descriptor: k.security, refs: 0 };
      skByBytes.set(id, sk);
    }
    sk.refs++;
    skOf.set(k, sk);
  }

  const plans = new Map<EditableKey, KeyPlan>();
  const nkCell = (k: EditableKey): PlannedCell => {
    const name = nameBytes(k.name);
    if (name.bytes.length > 0xffff) {
      writeError(`key ${k.path}: name of ${k.name.length} characters does not fit an nk`, 'rename the key');
    }
    const c = cell(NK_FIXED_SIZE + name.bytes.length, () => {});
    plans.set(k, { key: k, nk: c });
    return c;
  };
  nkCell(hive.root);
  const skList = [...skByBytes.values()];
  for (const sk of skList) sk.cell = cell(20 + sk.descriptor.length, () => {});

  for (const k of keys) {
    const nk = k === hive.root ? plans.get(k)!.nk : nkCell(k);
    planKey(k, nk);
  }

  function planKey(k: EditableKey, nk: PlannedCell): void {
    const children = k.subkeys();
    const values = k.values();
    // Class name (regf.md §5.6): UTF-16LE, no terminator; '' is stored as no class.
    const cls = k.className ? encodeUtf16le(k.className) : null;
    if (cls && cls.length > 0xffff)
      writeError(`key ${k.path}: class name too long`, 'shorten the class name');
    const classCell = cls ? cell(cls.length, (d, at) => bytesAt(d, at, cls)) : null;
    // Value list, then each vk and its data (regf.md §5.2).
    const vks = values.map((v) => planValue(k, v));
    const valueList = values.length > 0 ? cell(4 * values.length, (d, at) => putOffsets(d, at, vks)) : null;
    const list = children.length > 0 ? planSubkeyList(k, children) : null;
    const sk = skOf.get(k)!;
    const name = nameBytes(k.name);
    const isRoot = k === hive.root;
    nk.fill = (d, at) => {
      const childPlans = children.map((c) => plans.get(c)!);
      d.setUint8(at, 0x6e); // 'n'
      d.setUint8(at + 1, 0x6b); // 'k'
      let flags = k.flags;
      if (name.compressed) flags |= NK_FLAGS.COMP_NAME;
      if (isRoot) flags |= NK_FLAGS.HIVE_ENTRY;
      d.setUint16(at + 2, flags, true);
      d.setBigUint64(at + 4, BigInt.asUintN(64, k.lastWrittenRaw), true);
      d.setUint32(at + 12, k.accessBits >>> 0, true);
      // The root's parent field is not a pointer (regf.md §5.1 "root: arbitrary"); 0 as in a hive made from nothing.
      d.setUint32(at + 16, isRoot ? 0 : plans.get(k.parent!)!.nk.offset, true);
      d.setUint32(at + 20, children.length, true);
      d.setUint32(at + 24, 0, true);
      d.setUint32(at + 28, list ? list.offset : NO_CELL, true);
      d.setUint32(at + 32, NO_CELL, true);
      d.setUint32(at + 36, values.length, true);
      d.setUint32(at + 40, valueList ? valueList.offset : NO_CELL, true);
      d.setUint32(at + 44, sk.cell!.offset, true);
      d.setUint32(at + 48, classCell ? classCell.offset : NO_CELL, true);
      // "Largest" fields, exact, in UTF-16 bytes even for Latin-1 names (regf.md §5.1, corpus).
      let maxName = 0;
      let maxClass = 0;
      for (const c of childPlans) {
        maxName = Math.max(maxName, c.key.name.length * 2);
        maxClass = Math.max(maxClass, (c.key.className?.length ?? 0) * 2);
      }
      let maxValueName = 0;
      let maxData = 0;
      for (const v of values) {
        maxValueName = Math.max(maxValueName, v.name.length * 2);
        maxData = Math.max(maxData, v.data.length);
      }
      d.setUint32(at + 52, ((k.nameLengthFlags << 16) | (maxName & 0xffff)) >>> 0, true);
      d.setUint32(at + 56, maxClass, true);
      d.setUint32(at + 60, maxValueName, true);
      d.setUint32(at + 64, maxData, true);
      d.setUint32(at + 68, 0, true);
      d.setUint16(at + 72, name.bytes.length, true);
      d.setUint16(at + 74, cls ? cls.length : 0, true);
      bytesAt(d, at + NK_FIXED_SIZE, name.bytes);
    };
  }

  function planValue(k: EditableKey, v: EditableValue): PlannedCell {
    const name = nameBytes(v.name);
    if (name.bytes.length > 0xffff) {
      writeError(
        `key ${k.path}: value name of ${v.name.length} characters does not fit a vk`,
        'rename the value',
      );
    }
    const size = v.data.length;
    let sizeField = size;
    let dataField: (d: DataView, at: number) => void;
    if (size <= INLINE_MAX) {
      // Inline, lowest address first, bit 31 set; size 0 is 0x80000000 (regf.md §5.2, corpus SYSTEM).
      sizeField = (size | VK_DATA_INLINE) >>> 0;
      dataField = (d, at) => bytesAt(d, at, v.data);
    } else if (useDb && size > DB_SEGMENT_DATA_SIZE) {
      const segments: PlannedCell[] = [];
      const count = Math.ceil(size / DB_SEGMENT_DATA_SIZE);
      if (count > 0xffff)
        writeError(`key ${k.path}: value "${v.name}" is too large for a db record`, 'store less');
      const db = cell(8, (d, at) => {
        d.setUint8(at, 0x64); // 'd'
        d.setUint8(at + 1, 0x62); // 'b'
        d.setUint16(at + 2, count, true);
        d.setUint32(at + 4, segList.offset, true);
      });
      const segList = cell(4 * count, (d, at) => putOffsets(d, at, segments));
      for (let i = 0; i < count; i++) {
        const piece = v.data.subarray(
          i * DB_SEGMENT_DATA_SIZE,
          Math.min(size, (i + 1) * DB_SEGMENT_DATA_SIZE),
        );
        segments.push(cell(DB_SEGMENT_CELL_SIZE - 4, (d, at) => bytesAt(d, at, piece)));
      }
      dataField = (d, at) => d.setUint32(at, db.offset, true);
    } else {
      const data = cell(size, (d, at) => bytesAt(d, at, v.data));
      dataField = (d, at) => d.setUint32(at, data.offset, true);
    }
    // Data cells come before their vk in the layout; fills run once every offset is known, so order is free.
    return cell(VK_FIXED_SIZE + name.bytes.length, (d, at) => {
      d.setUint8(at, 0x76); // 'v'
      d.setUint8(at + 1, 0x6b); // 'k'
      d.setUint16(at + 2, name.bytes.length, true);
      d.setUint32(at + 4, sizeField, true);
      dataField(d, at + 8);
      d.setUint32(at + 12, v.type >>> 0, true);
      d.setUint16(at + 16, v.name !== '' && name.compressed ? VK_FLAGS.COMP_NAME : 0, true);
      d.setUint16(at + 18, 0, true);
      bytesAt(d, at + VK_FIXED_SIZE, name.bytes);
    });
  }

  function planSubkeyList(k: EditableKey, children: EditableKey[]): PlannedCell {
    const leafCount = Math.ceil(children.length / MAX_LEAF_ELEMENTS);
    if (leafCount > 0xffff) {
      writeError(
        `key ${k.path}: ${children.length} subkeys are more than one index root can hold`,
        'split the key',
      );
    }
    const per = Math.ceil(children.length / leafCount);
    const leaves: PlannedCell[] = [];
    for (let i = 0; i < children.length; i += per) {
      const part = children.slice(i, i + per);
      leaves.push(
        cell(4 + 8 * part.length, (d, at) => {
          d.setUint8(at, 0x6c); // 'l'
          d.setUint8(at + 1, useLh ? 0x68 : 0x66); // 'h' | 'f'
          d.setUint16(at + 2, part.length, true);
          part.forEach((c, j) => {
            d.setUint32(at + 4 + 8 * j, plans.get(c)!.nk.offset, true);
            d.setUint32(at + 8 + 8 * j, useLh ? lhHash(c.name) : lfHint(c.name), true);
          });
        }),
      );
    }
    if (leaves.length === 1) return leaves[0]!;
    return cell(4 + 4 * leaves.length, (d, at) => {
      d.setUint8(at, 0x72); // 'r'
      d.setUint8(at + 1, 0x69); // 'i'
      d.setUint16(at + 2, leaves.length, true);
      putOffsets(d, at + 4, leaves);
    });
  }

  // sk records: the circular ring in order (flink = next, blink = previous; one sk points at itself).
  skList.forEach((sk, i) => {
    const next = skList[(i + 1) % skList.length]!;
    const prev = skList[(i - 1 + skList.length) % skList.length]!;
    sk.cell!.fill = (d, at) => {
      d.setUint8(at, 0x73); // 's'
      d.setUint8(at + 1, 0x6b); // 'k'
      d.setUint16(at + 2, 0, true);
      d.setUint32(at + 4, next.cell!.offset, true);
      d.setUint32(at + 8, prev.cell!.offset, true);
      d.setUint32(at + 12, sk.refs, true);
      d.setUint32(at + 16, sk.descriptor.length, true);
      bytesAt(d, at + 20, sk.descriptor);
    };
  });

  // Lay out, then fill (STYLE.md "Lay out first, then fill").
  const layout = new BinLayout();
  for (const c of cells) layout.place(c);
  const binsSize = layout.total;
  const out = new Uint8Array(BASE_BLOCK_SIZE + binsSize);
  const d = new DataView(out.buffer);
  const timestamp = options.timestamp ?? hive.lastWrittenRaw;
  layout.bins.forEach((b, i) => {
    const at = BASE_BLOCK_SIZE + b.offset;
    out.set([0x68, 0x62, 0x69, 0x6e], at); // "hbin"
    d.setUint32(at + 4, b.offset, true);
    d.setUint32(at + 8, b.size, true);
    if (i === 0) d.setBigUint64(at + 20, BigInt.asUintN(64, timestamp), true);
    // The tail is one free cell (positive size); bins end exactly when nothing is left (§4, §8 step 4).
    if (b.used < b.size) d.setInt32(BASE_BLOCK_SIZE + b.offset + b.used, b.size - b.used, true);
  });
  for (const c of cells) {
    const at = BASE_BLOCK_SIZE + c.offset;
    d.setInt32(at, -c.size, true);
    c.fill(d, at + 4);
  }

  // Base block (§2, §8 step 3).
  if (hive.baseBlock) out.set(hive.baseBlock.subarray(0, BASE_BLOCK_COPY_SIZE), 0);
  if (hive.baseBlockTail)
    out.set(hive.baseBlockTail.subarray(0, BASE_BLOCK_SIZE - BASE_BLOCK_COPY_SIZE), 512);
  const sequence = (options.sequence ?? (hive.sequence ? nextSequenceAfter(hive.sequence) : 1)) >>> 0;
  out.set([0x72, 0x65, 0x67, 0x66], 0); // "regf"
  d.setUint32(4, sequence, true);
  d.setUint32(8, sequence, true);
  d.setBigUint64(12, BigInt.asUintN(64, timestamp), true);
  d.setUint32(20, 1, true);
  d.setUint32(24, minor, true);
  d.setUint32(28, HIVE_FILE_TYPE.PRIMARY, true);
  d.setUint32(32, 1, true);
  d.setUint32(36, plans.get(hive.root)!.nk.offset, true);
  d.setUint32(40, binsSize, true);
  d.setUint32(44, 1, true);
  if (options.fileName !== undefined) {
    const tail = options.fileName.slice(-31);
    out.fill(0, 48, 112);
    out.set(encodeUtf16le(tail), 48);
  }
  d.setUint32(508, regfChecksum(out.subarray(0, BASE_BLOCK_COPY_SIZE)), true);
  return out;
}

/** An array of u32 cell offsets (value lists, segment lists, ri elements). */
function putOffsets(d: DataView, at: number, cells: readonly PlannedCell[]): void {
  for (let i = 0; i < cells.length; i++) d.setUint32(at + 4 * i, cells[i]!.offset, true);
}

function bytesAt(d: DataView, at: number, b: Uint8Array): void {
  new Uint8Array(d.buffer, d.byteOffset + at, b.length).set(b);
}

/** a is later than b under 32-bit wrap-around (regf.md §7.3 step 2). */
const later = (a: number, b: number): boolean => (a - b) >>> 0 !== 0 && (a - b) >>> 0 < 0x80000000;

/** S = T + 2 where T is the latest of the given sequence numbers (regf.md §8 step 2). */
function nextSequenceAfter(numbers: readonly number[]): number {
  let t = numbers[0]! >>> 0;
  for (const n of numbers) if (later(n >>> 0, t)) t = n >>> 0;
  return (t + 2) >>> 0;
}

/**
 * The sequence number a rewrite of `primary` must carry (regf.md §8 step 2): T + 2, T the latest of the primary's
 * two numbers and of every base-block and HvLE entry number in its .LOG/.LOG1/.LOG2 files, so that no stale log is
 * ever eligible for replay over the new bins. Logs that are empty or not logs are ignored.
 */
export function nextHiveSequence(primary: Uint8Array, logs: readonly Uint8Array[] = []): number {
  const pb = tryDecodeBaseBlock(primary);
  if (!pb) {
    throw new BootprobeError('HIVE_BASE_BLOCK', 'the hive to rewrite has no valid base block', {
      offset: 0,
      structure: 'regf.base-block',
      hint: 'a hive whose base block is invalid is dirty; replay its logs first',
    });
  }
  const numbers = [pb.primarySequence, pb.secondarySequence];
  for (const log of logs) {
    const lb = tryDecodeBaseBlock(log);
    if (!lb) continue;
    numbers.push(lb.primarySequence, lb.secondarySequence);
    // HvLE entries (§7.2): each 512-aligned; the walk advances by at least 512 bytes, so it ends.
    const v = new ByteView(log, 0, 'regf.log');
    for (let at = BASE_BLOCK_COPY_SIZE; at + 40 <= log.length; ) {
      if (v.ascii(at, 4) !== HVLE_SIGNATURE) break;
      const size = v.u32le(at + 4);
      if (size < 512 || size % 512 !== 0) break;
      numbers.push(v.u32le(at + 12));
      at += size;
    }
  }
  return nextSequenceAfter(numbers);
}

/** One byte range of an in-place rewrite. */
export interface HiveWriteStep {
  readonly offset: number;
  readonly bytes: Uint8Array;
  /** Flush after this step before the next one. */
  readonly flush: true;
}

/**
 * The three writes of an in-place rewrite in the order regf.md §8 step 9 gives: the base block with the primary
 * number S and the secondary S − 1 (visibly dirty), the bins, then the base block with both at S. A write torn
 * anywhere leaves a hive that is dirty or fully written, never a clean-looking mixture. The file must also be cut or
 * grown to `encoded.length` (its length is the caller's business) — a longer file is fine (regf.md §1).
 */
export function hiveWriteSteps(encoded: Uint8Array): HiveWriteStep[] {
  const v = new ByteView(encoded, 0, 'regf.base-block');
  const s = v.u32le(4);
  if (s !== v.u32le(8)) {
    writeError('the hive to write is not clean (its sequence numbers differ)', 'encode it with encodeHive');
  }
  const first = encoded.slice(0, BASE_BLOCK_SIZE);
  const fd = new DataView(first.buffer);
  fd.setUint32(8, (s - 1) >>> 0, true);
  fd.setUint32(508, regfChecksum(first.subarray(0, BASE_BLOCK_COPY_SIZE)), true);
  return [
    { offset: 0, bytes: first, flush: true },
    { offset: BASE_BLOCK_SIZE, bytes: encoded.slice(BASE_BLOCK_SIZE), flush: true },
    { offset: 0, bytes: encoded.slice(0, BASE_BLOCK_SIZE), flush: true },
  ];
}
