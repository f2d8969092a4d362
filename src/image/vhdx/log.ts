// VHDX log: entries, the active sequence and replay. Layout and procedures: docs/vhd-vhdx.md §2.6.
import { BootprobeError, hex } from '../../errors.js';
import { type BlockDevice, ByteView, bytesEqual, crc32cWithZeroField } from '../../io/index.js';
import { randomGuidBytes } from '../../io/random.js';
import { updateVhdxHeaders, type VhdxHeader } from './header.js';

const SECTOR = 4096;
const MiB = 1024 * 1024;
/** Replay reads the whole log into memory; Hyper-V and qemu write 1 MiB logs. Larger than this is refused. */
export const MAX_LOG_LENGTH = 32 * MiB;

export interface LogDescriptor {
  kind: 'zero' | 'desc';
  fileOffset: number;
  /** zero: bytes to zero; desc: 4096. */
  length: number;
  /** desc: the reconstructed 4 KiB sector. */
  data: Uint8Array | null;
}

export interface LogEntry {
  /** Offset of the entry inside the log. */
  at: number;
  entryLength: number;
  tail: number;
  sequenceNumber: bigint;
  flushedFileOffset: number;
  lastFileOffset: number;
  descriptors: LogDescriptor[];
}

/** Reads `len` bytes at `at` from the circular log, wrapping at its end (§2.6: entries may wrap). */
function ring(log: Uint8Array, at: number, len: number): Uint8Array {
  if (at + len <= log.length) return log.subarray(at, at + len);
  const out = new Uint8Array(len);
  const first = log.length - at;
  out.set(log.subarray(at));
  out.set(log.subarray(0, len - first), first);
  return out;
}

/** Validates and decodes the entry at log offset `at` (§2.6 "Validating one entry"); null when it is not valid. */
export function decodeLogEntry(
  log: Uint8Array,
  at: number,
  logGuid: Uint8Array,
  logBase: number,
): LogEntry | null {
  const head = new ByteView(ring(log, at, 64), logBase + at, 'VHDX log entry');
  if (head.ascii(0, 4) !== 'loge') return null;
  const entryLength = head.u32le(8);
  const tail = head.u32le(12);
  const seq = head.u64le(16);
  const count = head.u32le(24);
  if (entryLength === 0 || entryLength % SECTOR || entryLength > log.length) return null;
  if (tail % SECTOR || tail >= log.length || seq === 0n) return null;
  if (!bytesEqual(head.slice(32, 16), logGuid)) return null;
  const bytes = ring(log, at, entryLength);
  if (crc32cWithZeroField(bytes, 4) !== head.u32le(4)) return null;
  const v = new ByteView(bytes, logBase + at, 'VHDX log entry');
  const descSectors = Math.ceil((count + 2) / 128);
  if (descSectors * SECTOR > entryLength) return null;
  const descriptors: LogDescriptor[] = [];
  let dataSector = descSectors;
  for (let i = 0; i < count; i++) {
    const d = 64 + 32 * i;
    const sig = v.ascii(d, 4);
    if (v.u64le(d + 24) !== seq) return null;
    const fileOffset = Number(v.u64le(d + 16));
    if (!Number.isSafeInteger(fileOffset) || fileOffset % SECTOR) return null;
    if (sig === 'zero') {
      const zl = Number(v.u64le(d + 8));
      if (!Number.isSafeInteger(zl) || zl % SECTOR) return null;
      descriptors.push({ kind: 'zero', fileOffset, length: zl, data: null });
    } else if (sig === 'desc') {
      const s = dataSector * SECTOR;
      if (s + SECTOR > entryLength) return null;
      if (v.ascii(s, 4) !== 'data') return null;
      const high = BigInt(v.u32le(s + 4));
      const low = BigInt(v.u32le(s + 4092));
      if (((high << 32n) | low) !== seq) return null;
      const sector = new Uint8Array(SECTOR);
      sector.set(v.slice(d + 8, 8), 0); // LeadingBytes
      sector.set(v.slice(s + 8, 4084), 8);
      sector.set(v.slice(d + 4, 4), 4092); // TrailingBytes
      descriptors.push({ kind: 'desc', fileOffset, length: SECTOR, data: sector });
      dataSector++;
    } else return null;
  }
  const flushed = Number(head.u64le(48));
  const last = Number(head.u64le(56));
  if (!Number.isSafeInteger(flushed) || !Number.isSafeInteger(last)) return null;
  return {
    at,
    entryLength,
    tail,
    sequenceNumber: seq,
    flushedFileOffset: flushed,
    lastFileOffset: last,
    descriptors,
  };
}

/** Finds the active sequence (§2.6 "Finding the active sequence"); null when there is none. */
export function findActiveSequence(log: Uint8Array, logGuid: Uint8Array, logBase = 0): LogEntry[] | null {
  const cache = new Map<number, LogEntry | null>();
  const entryAt = (p: number) => {
    if (!cache.has(p)) cache.set(p, decodeLogEntry(log, p, logGuid, logBase));
    return cache.get(p)!;
  };
  let candidate: LogEntry[] | null = null;
  let tail = 0;
  let oldTail = 0;
  const maxRounds = log.length / SECTOR;
  for (let round = 0; round <= maxRounds; round++) {
    const run: LogEntry[] = [];
    let head = tail;
    let covered = 0;
    while (covered < log.length) {
      const e = entryAt(head);
      if (!e || (run.length > 0 && e.sequenceNumber !== run[run.length - 1]!.sequenceNumber + 1n)) break;
      run.push(e);
      covered += e.entryLength;
      head = (head + e.entryLength) % log.length;
    }
    if (run.length > 0) {
      const last = run[run.length - 1]!;
      const start = run.findIndex((e) => e.at === last.tail);
      if (start >= 0) {
        const seq = run.slice(start);
        if (!candidate || last.sequenceNumber > candidate[candidate.length - 1]!.sequenceNumber)
          candidate = seq;
      }
      tail = head;
    } else {
      tail = (tail + SECTOR) % log.length;
    }
    if (tail < oldTail || (run.length > 0 && covered >= log.length)) break;
    oldTail = tail;
  }
  return candidate;
}

export type LogState = 'clean' | 'replayed in memory' | 'logguid set, nothing to replay';

/** Where a replay puts what it applies: an in-memory overlay (read-only open) or a list applied to the file. */
export interface LogSink {
  writePatch(offset: number, data: Uint8Array): void;
  zeroPatch(offset: number, length: number): void;
  extendTo(size: number): void;
}

/**
 * Replays the log of `header` into `overlay` (read-only open: the file is not modified). Returns what happened.
 */
export async function replayLog(
  dev: BlockDevice,
  header: VhdxHeader,
  overlay: LogSink,
): Promise<{ state: LogState; entries: number }> {
  const { logOffset, logLength } = header;
  if (
    logOffset < MiB ||
    logOffset % MiB ||
    logLength === 0 ||
    logLength % MiB ||
    logOffset + logLength > dev.size
  ) {
    throw new BootprobeError(
      'VHDX_LOG',
      `VHDX log at ${hex(logOffset)} (${logLength} bytes) is misaligned or outside the ${dev.size}-byte file`,
      {
        offset: header.offset + 68,
        structure: 'vhdx.header',
        hint: 'the image is truncated or its header is corrupt',
      },
    );
  }
  if (logLength > MAX_LOG_LENGTH) {
    throw new BootprobeError(
      'VHDX_LOG',
      `VHDX log of ${logLength} bytes is larger than the ${MAX_LOG_LENGTH} bytes bootprobe replays`,
      {
        offset: header.offset + 68,
        structure: 'vhdx.header',
        kind: 'unsupported',
        hint: 'replay it with Hyper-V or `qemu-img check -r all` on a copy',
      },
    );
  }
  const log = (await dev.read(logOffset, logLength)).slice();
  const seq = findActiveSequence(log, header.logGuidBytes, logOffset);
  // No valid sequence: any crash between setting LogGuid and flushing the first entry leaves this; qemu treats it
  // as nothing to replay, and so do we (§2.6 "Replaying" step 1).
  if (!seq) return { state: 'logguid set, nothing to replay', entries: 0 };
  const last = seq[seq.length - 1]!;
  if (dev.size < last.flushedFileOffset) {
    throw new BootprobeError(
      'VHDX_LOG',
      `VHDX file is ${dev.size} bytes but its log says ${last.flushedFileOffset} were flushed: the file was truncated`,
      {
        offset: logOffset + last.at + 48,
        structure: 'vhdx.log',
        hint: 'the image is truncated',
      },
    );
  }
  for (const e of seq) {
    for (const d of e.descriptors) {
      if (d.kind === 'desc') overlay.writePatch(d.fileOffset, d.data!);
      else overlay.zeroPatch(d.fileOffset, d.length);
    }
  }
  overlay.extendTo(last.lastFileOffset);
  return { state: 'replayed in memory', entries: seq.length };
}

/** Largest zero run written in one request while replaying a "zero" descriptor into the file. */
const ZERO_CHUNK = MiB;

/**
 * Replays a pending log into the file itself (§2.6 "Replaying", writable open): new FileWriteGuid and DataWriteGuid
 * first, then every descriptor of the active sequence written in place and the file extended to LastFileOffset,
 * flush, then LogGuid = 0 in both headers. Idempotent: a crash at any point leaves the log in place, and replaying
 * again gives the same file. Returns the new current header.
 */
export async function replayLogInPlace(
  dev: BlockDevice,
  header: VhdxHeader,
): Promise<{ header: VhdxHeader; state: LogState; entries: number }> {
  if (!dev.write)
    throw new BootprobeError('READ_ONLY', 'VHDX file is open read-only: its log cannot be replayed');
  const patches: { offset: number; data: Uint8Array | null; length: number }[] = [];
  let extent = dev.size;
  const sink: LogSink = {
    writePatch: (offset, data) => patches.push({ offset, data: data.slice(), length: data.length }),
    zeroPatch: (offset, length) => patches.push({ offset, data: null, length }),
    extendTo: (size) => {
      extent = Math.max(extent, size);
    },
  };
  const r = await replayLog(dev, header, sink);
  let h = await updateVhdxHeaders(dev, header, {
    fileWriteGuid: randomGuidBytes(),
    dataWriteGuid: randomGuidBytes(),
  });
  for (const p of patches) {
    if (p.data) await dev.write(p.offset, p.data);
    else {
      for (let at = 0; at < p.length; at += ZERO_CHUNK)
        await dev.write(p.offset + at, new Uint8Array(Math.min(ZERO_CHUNK, p.length - at)));
    }
  }
  // Extend to LastFileOffset: writing its last byte grows the file (sparse where the OS allows).
  if (extent > dev.size) await dev.write(extent - 1, new Uint8Array(1));
  await dev.flush?.();
  h = await updateVhdxHeaders(dev, h, { logGuid: new Uint8Array(16) });
  return { header: h, state: r.state, entries: r.entries };
}

/** A descriptor of a new log entry: a whole 4 KiB sector to write, or a zero run (§2.6 "Entry header"). */
export type LogDescriptorSpec =
  | { kind: 'desc'; fileOffset: number; data: Uint8Array }
  | { kind: 'zero'; fileOffset: number; length: number };

export interface LogEntrySpec {
  sequenceNumber: bigint;
  /** Log offset of the oldest entry of the sequence this entry ends (its own offset for a one-entry sequence). */
  tail: number;
  logGuid: Uint8Array;
  flushedFileOffset: number;
  lastFileOffset: number;
  descriptors: readonly LogDescriptorSpec[];
}

/** Descriptor sectors for `count` descriptors: the first sector holds the 64-byte header and 126 (§2.6). */
export function logDescriptorSectors(count: number): number {
  return Math.ceil((count + 2) / 128);
}

/** Bytes of an entry with `count` data descriptors (and no zero descriptors): descriptor sectors + data sectors. */
export function logEntryLength(dataDescriptors: number, zeroDescriptors = 0): number {
  return (logDescriptorSectors(dataDescriptors + zeroDescriptors) + dataDescriptors) * SECTOR;
}

/**
 * Encodes one log entry (§2.6): header, descriptors, then one "data" sector per "desc" descriptor carrying bytes
 * 8..4091 of its sector (the first 8 and last 4 live in the descriptor), and the CRC-32C over the whole entry.
 */
export function encodeLogEntry(e: LogEntrySpec): Uint8Array {
  const data = e.descriptors.filter((d) => d.kind === 'desc');
  const count = e.descriptors.length;
  const descSectors = logDescriptorSectors(count);
  const length = (descSectors + data.length) * SECTOR;
  const b = new Uint8Array(length);
  const v = new DataView(b.buffer);
  const ascii = (at: number, s: string) => {
    for (let i = 0; i < s.length; i++) b[at + i] = s.charCodeAt(i);
  };
  if (e.flushedFileOffset % MiB || e.lastFileOffset % MiB || e.tail % SECTOR || e.sequenceNumber === 0n) {
    throw new RangeError(
      'VHDX log entry: offsets must be 1 MiB multiples, tail 4 KiB aligned, sequence non-zero',
    );
  }
  ascii(0, 'loge');
  v.setUint32(8, length, true);
  v.setUint32(12, e.tail, true);
  v.setBigUint64(16, e.sequenceNumber, true);
  v.setUint32(24, count, true);
  b.set(e.logGuid.subarray(0, 16), 32);
  v.setBigUint64(48, BigInt(e.flushedFileOffset), true);
  v.setBigUint64(56, BigInt(e.lastFileOffset), true);
  let dataSector = descSectors;
  e.descriptors.forEach((d, i) => {
    const at = 64 + 32 * i;
    if (d.fileOffset % SECTOR) throw new RangeError('VHDX log descriptor offset is not 4 KiB aligned');
    if (d.kind === 'zero') {
      if (d.length % SECTOR) throw new RangeError('VHDX log zero length is not a 4 KiB multiple');
      ascii(at, 'zero');
      v.setBigUint64(at + 8, BigInt(d.length), true);
    } else {
      if (d.data.length !== SECTOR) throw new RangeError('VHDX log data descriptor carries 4096 bytes');
      ascii(at, 'desc');
      b.set(d.data.subarray(4092, 4096), at + 4); // TrailingBytes
      b.set(d.data.subarray(0, 8), at + 8); // LeadingBytes
      const s = dataSector * SECTOR;
      ascii(s, 'data');
      v.setUint32(s + 4, Number(e.sequenceNumber >> 32n) >>> 0, true);
      b.set(d.data.subarray(8, 4092), s + 8);
      v.setUint32(s + 4092, Number(e.sequenceNumber & 0xffffffffn) >>> 0, true);
      dataSector++;
    }
    v.setBigUint64(at + 16, BigInt(d.fileOffset), true);
    v.setBigUint64(at + 24, e.sequenceNumber, true);
  });
  v.setUint32(4, crc32cWithZeroField(b, 4), true);
  return b;
}
