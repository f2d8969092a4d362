// Undo record: every byte range of a container file that a write is about to overwrite, saved before the write
// happens, so `restoreUndoRecord` gives back the original file exactly (DESIGN.md "Never modify what the user did
// not ask to modify": "save an undo record of every byte range to be overwritten").
//
// File format (little-endian; version 1):
//
//   Header, 64 bytes at offset 0
//     0x00  8  magic "BPUNDO01"
//     0x08  4  CRC-32 (IEEE) of the 64 header bytes with this field zero
//     0x0c  4  version = 1
//     0x10  8  original size of the container file, in bytes (restore truncates back to it)
//     0x18  8  creation time, milliseconds since 1970-01-01 UTC (informational)
//     0x20 32  sha256 of the original container file, or 32 zero bytes when the caller did not compute it
//   Entries, appended one after the other from offset 64
//     0x00  4  magic "BPUR"
//     0x04  4  CRC-32 (IEEE) of the whole entry (these 24 bytes and the data) with this field zero
//     0x08  8  container file offset of the saved range
//     0x10  4  length of the saved range in bytes (1 .. MAX_ENTRY_BYTES)
//     0x14  4  zero
//     0x18  n  the original bytes
//
// Rules that make it safe to kill the writer at any point:
// - Only bytes inside the original size are saved, each byte at most once (the first time it is overwritten), so
//   entries never overlap and restoring them in any order gives the original bytes. Bytes past the original size
//   are not saved: restore truncates the file back to the original size.
// - An entry is appended and the record flushed *before* the container write it protects is issued. A record cut
//   short by a crash therefore ends in at most one torn entry, whose container write never started: a last entry
//   that is incomplete or fails its CRC and reaches the end of the record is ignored. A bad entry followed by more
//   data is corruption (UNSAFE_WRITE: nothing is restored).
// - Restoring is idempotent: run it again after a crash during restore.
import { BootprobeError, hex } from '../errors.js';
import { type BlockDevice, checkRange } from './block-device.js';
import { crc32 } from './checksum.js';

export const UNDO_MAGIC = 'BPUNDO01';
export const UNDO_ENTRY_MAGIC = 'BPUR';
export const UNDO_HEADER_SIZE = 64;
export const UNDO_ENTRY_HEADER_SIZE = 24;
export const UNDO_VERSION = 1;
/** Largest range one entry saves: bigger writes are split, so restore never needs more than this in memory. */
export const MAX_ENTRY_BYTES = 4 * 1024 * 1024;

/** A device whose length can be set: restore truncates the container back to its original size. */
export interface Truncatable {
  truncate(size: number): Promise<void>;
}

export function isTruncatable(d: unknown): d is Truncatable {
  return typeof (d as Partial<Truncatable>)?.truncate === 'function';
}

const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

export interface UndoHeader {
  originalSize: number;
  createdMs: number;
  /** Lower-case hex, or null when not recorded. */
  originalSha256: string | null;
}

export function encodeUndoHeader(h: UndoHeader): Uint8Array {
  const b = new Uint8Array(UNDO_HEADER_SIZE);
  b.set(enc(UNDO_MAGIC), 0);
  const v = dv(b);
  v.setUint32(0x0c, UNDO_VERSION, true);
  v.setBigUint64(0x10, BigInt(h.originalSize), true);
  v.setBigUint64(0x18, BigInt(Math.max(0, Math.floor(h.createdMs))), true);
  if (h.originalSha256) {
    if (!/^[0-9a-f]{64}$/i.test(h.originalSha256))
      throw new TypeError('originalSha256 must be 64 hex digits');
    for (let i = 0; i < 32; i++) b[0x20 + i] = Number.parseInt(h.originalSha256.slice(2 * i, 2 * i + 2), 16);
  }
  v.setUint32(0x08, crc32(b), true);
  return b;
}

function corrupt(msg: string, offset: number): BootprobeError {
  return new BootprobeError('UNSAFE_WRITE', msg, {
    offset,
    structure: 'undo.record',
    hint: 'the undo file is damaged or is not a bootprobe undo record; the image was not touched',
  });
}

export function decodeUndoHeader(b: Uint8Array): UndoHeader {
  if (b.length < UNDO_HEADER_SIZE)
    throw corrupt(`undo record is ${b.length} bytes, shorter than its header`, 0);
  const magic = String.fromCharCode(...b.subarray(0, 8));
  if (magic !== UNDO_MAGIC) throw corrupt('undo record has no "BPUNDO01" signature at 0x0', 0);
  const copy = b.slice(0, UNDO_HEADER_SIZE);
  const v = dv(copy);
  const stored = v.getUint32(0x08, true);
  v.setUint32(0x08, 0, true);
  if (crc32(copy) !== stored) throw corrupt('undo record header checksum mismatch at 0x8', 8);
  const version = v.getUint32(0x0c, true);
  if (version !== UNDO_VERSION) throw corrupt(`undo record version ${version}, only 1 is known`, 0x0c);
  const size = v.getBigUint64(0x10, true);
  if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt('undo record original size is too large', 0x10);
  const sha = copy.subarray(0x20, 0x40);
  const shaHex = Array.from(sha, (x) => x.toString(16).padStart(2, '0')).join('');
  return {
    originalSize: Number(size),
    createdMs: Number(v.getBigUint64(0x18, true)),
    originalSha256: sha.every((x) => x === 0) ? null : shaHex,
  };
}

export function encodeUndoEntry(offset: number, data: Uint8Array): Uint8Array {
  const b = new Uint8Array(UNDO_ENTRY_HEADER_SIZE + data.length);
  b.set(enc(UNDO_ENTRY_MAGIC), 0);
  const v = dv(b);
  v.setBigUint64(0x08, BigInt(offset), true);
  v.setUint32(0x10, data.length, true);
  b.set(data, UNDO_ENTRY_HEADER_SIZE);
  v.setUint32(0x04, crc32(b), true);
  return b;
}

/** Half-open byte intervals kept sorted and merged: which original bytes are already saved. */
class IntervalSet {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  /** Sub-ranges of [from, to) not yet in the set, in order. */
  missing(from: number, to: number): [number, number][] {
    const out: [number, number][] = [];
    let pos = from;
    for (let i = this.firstEndingAfter(from); i < this.starts.length && pos < to; i++) {
      const s = this.starts[i]!;
      if (s >= to) break;
      if (s > pos) out.push([pos, s]);
      pos = Math.max(pos, this.ends[i]!);
    }
    if (pos < to) out.push([pos, to]);
    return out;
  }

  add(from: number, to: number): void {
    const i = this.firstEndingAfter(from - 1);
    let s = from;
    let e = to;
    let n = 0;
    while (i + n < this.starts.length && this.starts[i + n]! <= e) {
      s = Math.min(s, this.starts[i + n]!);
      e = Math.max(e, this.ends[i + n]!);
      n++;
    }
    this.starts.splice(i, n, s);
    this.ends.splice(i, n, e);
  }

  /** Index of the first interval whose end is > x (binary search). */
  private firstEndingAfter(x: number): number {
    let lo = 0;
    let hi = this.ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ends[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

export interface UndoRecorderOptions {
  /** sha256 of the original container (hex), stored in the header so `undo` can prove the restore. */
  originalSha256?: string;
  /** Clock for the header's creation time (tests). */
  now?: () => number;
}

/**
 * A BlockDevice over a writable container that saves what each write overwrites into an undo record first. Put it
 * directly over the file device (below every format layer), so the record covers every byte of the container file
 * that any layer changes, metadata included.
 */
export class UndoRecorder implements BlockDevice {
  readonly sectorSize: number;
  readonly originalSize: number;
  private readonly saved = new IntervalSet();
  private recordEnd: number;
  private savedBytes = 0;
  private entries = 0;

  private constructor(
    private readonly target: BlockDevice,
    private readonly record: BlockDevice,
    originalSize: number,
  ) {
    this.sectorSize = target.sectorSize;
    this.originalSize = originalSize;
    this.recordEnd = UNDO_HEADER_SIZE;
  }

  /** Starts a new record on an empty, writable `record` device (a new file). */
  static async start(
    target: BlockDevice,
    record: BlockDevice,
    options: UndoRecorderOptions = {},
  ): Promise<UndoRecorder> {
    if (!target.write) {
      throw new BootprobeError('READ_ONLY', 'the image was opened read-only; it cannot be written', {
        hint: 'open it writable',
      });
    }
    if (!record.write || record.size !== 0) {
      throw new BootprobeError('UNSAFE_WRITE', 'the undo record must be a new, empty, writable file', {
        hint: 'choose a path that does not exist yet',
      });
    }
    const header = encodeUndoHeader({
      originalSize: target.size,
      createdMs: (options.now ?? Date.now)(),
      originalSha256: options.originalSha256 ?? null,
    });
    await record.write(0, header);
    await record.flush?.();
    return new UndoRecorder(target, record, target.size);
  }

  get size(): number {
    return this.target.size;
  }

  /** Bytes of original content saved so far, and entries written. */
  get stats(): { savedBytes: number; entries: number } {
    return { savedBytes: this.savedBytes, entries: this.entries };
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    return this.target.read(offset, length);
  }

  write = async (offset: number, data: Uint8Array): Promise<void> => {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(offset + data.length)) {
      checkRange('undo-recorded device', this.target.size, offset, data.length);
    }
    await this.save(offset, offset + data.length);
    await this.target.write!(offset, data);
  };

  /**
   * Shortens the container (a store file rewritten smaller): the bytes cut off that belong to the original are saved
   * first, like overwritten ones, so restoring grows the file back with its original tail.
   */
  async truncate(size: number): Promise<void> {
    if (!isTruncatable(this.target)) {
      throw new BootprobeError('UNSAFE_WRITE', 'this device cannot be truncated', { kind: 'unsupported' });
    }
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`bad size ${size}`);
    if (size < this.target.size) await this.save(size, this.target.size);
    await this.target.truncate(size);
  }

  /** Saves the original bytes of [from, to) not saved yet (only inside the original size), then flushes the record. */
  private async save(from: number, to: number): Promise<void> {
    const end = Math.min(to, this.originalSize, this.target.size);
    if (from >= end) return;
    const unsaved = this.saved.missing(from, end);
    if (unsaved.length === 0) return;
    for (const [a, b] of unsaved) {
      for (let at = a; at < b; at += MAX_ENTRY_BYTES) {
        const n = Math.min(MAX_ENTRY_BYTES, b - at);
        const original = (await this.target.read(at, n)).slice();
        const entry = encodeUndoEntry(at, original);
        await this.record.write!(this.recordEnd, entry);
        this.recordEnd += entry.length;
        this.savedBytes += n;
        this.entries++;
      }
      this.saved.add(a, b);
    }
    // Durable before the container is touched: a crash now leaves a record that restores these bytes.
    await this.record.flush?.();
  }

  async flush(): Promise<void> {
    await this.target.flush?.();
  }

  /** Flushes both; closes the record (the container is closed by its own owner, or by close()). */
  async finish(): Promise<void> {
    await this.target.flush?.();
    await this.record.flush?.();
    await this.record.close();
  }

  async close(): Promise<void> {
    await this.finish();
    await this.target.close();
  }
}

export interface UndoEntry {
  offset: number;
  length: number;
  /** Where the saved bytes sit in the record. */
  dataAt: number;
}

export interface ParsedUndoRecord {
  header: UndoHeader;
  entries: UndoEntry[];
  /** True when a torn last entry (a crash while it was appended) was ignored. */
  tornTail: boolean;
}

/**
 * Reads and checks a record: header, then every entry's signature, bounds and CRC. Null for a record whose header
 * was never completed: the writer had not started, so there is nothing to restore. Reads entry by entry (each at
 * most MAX_ENTRY_BYTES), so a large record never sits in memory whole.
 */
export async function readUndoRecord(record: BlockDevice): Promise<ParsedUndoRecord | null> {
  const head = await record.read(0, Math.min(UNDO_HEADER_SIZE, record.size));
  // The header is written and flushed before the container is touched: a record cut inside it (a kill right after
  // the file was created) means nothing was changed.
  if (head.length < UNDO_HEADER_SIZE || head.every((x) => x === 0)) return null;
  const header = decodeUndoHeader(head);
  const entries: UndoEntry[] = [];
  let at = UNDO_HEADER_SIZE;
  let tornTail = false;
  const seen = new IntervalSet();
  while (at < record.size) {
    const bad = (why: string, entryEnd: number): void => {
      // Torn: the bad entry runs to (or past) the end of the record, so nothing valid follows it.
      if (entryEnd >= record.size) tornTail = true;
      else throw corrupt(`undo record entry at ${hex(at)}: ${why}`, at);
    };
    if (at + UNDO_ENTRY_HEADER_SIZE > record.size) {
      bad('header cut short', record.size);
      break;
    }
    const h = (await record.read(at, UNDO_ENTRY_HEADER_SIZE)).slice();
    const v = dv(h);
    const magic = String.fromCharCode(...h.subarray(0, 4));
    const length = v.getUint32(0x10, true);
    const off = v.getBigUint64(0x08, true);
    const end = at + UNDO_ENTRY_HEADER_SIZE + length;
    if (magic !== UNDO_ENTRY_MAGIC || length === 0 || length > MAX_ENTRY_BYTES) {
      bad('no "BPUR" signature or a bad length', magic === UNDO_ENTRY_MAGIC ? end : record.size);
      break;
    }
    if (end > record.size) {
      bad('data cut short', end);
      break;
    }
    const whole = (await record.read(at, end - at)).slice();
    const stored = v.getUint32(0x04, true);
    dv(whole).setUint32(0x04, 0, true);
    if (crc32(whole) !== stored) {
      bad('checksum mismatch', end);
      break;
    }
    const offset = Number(off);
    if (off > BigInt(Number.MAX_SAFE_INTEGER) || offset + length > header.originalSize) {
      throw corrupt(
        `undo record entry at ${hex(at)}: ${length} bytes at ${hex(off)} lie past the original size`,
        at,
      );
    }
    const fresh = seen.missing(offset, offset + length);
    if (fresh.length !== 1 || fresh[0]![0] !== offset || fresh[0]![1] !== offset + length) {
      throw corrupt(`undo record entry at ${hex(at)} overlaps an earlier entry`, at);
    }
    seen.add(offset, offset + length);
    entries.push({ offset, length, dataAt: at + UNDO_ENTRY_HEADER_SIZE });
    at = end;
  }
  return { header, entries, tornTail };
}

export interface RestoreResult {
  /** The size restored (the current size when the record was empty). */
  originalSize: number;
  entries: number;
  bytes: number;
  tornTail: boolean;
  originalSha256: string | null;
}

/**
 * Restores the container from a record: writes every saved range back, truncates to the original size, flushes.
 * The whole record is validated before the first byte of the container is written.
 */
export async function restoreUndoRecord(
  target: BlockDevice & Partial<Truncatable>,
  record: BlockDevice,
): Promise<RestoreResult> {
  const parsed = await readUndoRecord(record);
  if (!parsed) {
    return { originalSize: target.size, entries: 0, bytes: 0, tornTail: true, originalSha256: null };
  }
  if (!target.write) {
    throw new BootprobeError('READ_ONLY', 'the image was opened read-only; it cannot be restored', {
      hint: 'open it writable',
    });
  }
  const { originalSize } = parsed.header;
  if (!isTruncatable(target) && target.size !== originalSize) {
    throw new BootprobeError(
      'UNSAFE_WRITE',
      `the image is ${target.size} bytes, the undo record restores ${originalSize} and this device cannot be truncated`,
      { hint: 'restore onto the image file itself' },
    );
  }
  let bytes = 0;
  for (const e of parsed.entries) {
    const data = (await record.read(e.dataAt, e.length)).slice();
    await target.write(e.offset, data);
    bytes += e.length;
  }
  if (isTruncatable(target) && target.size !== originalSize) await target.truncate(originalSize);
  await target.flush?.();
  return {
    originalSize,
    entries: parsed.entries.length,
    bytes,
    tornTail: parsed.tornTail,
    originalSha256: parsed.header.originalSha256,
  };
}
