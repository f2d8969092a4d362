// In-memory recovery of a dirty hive from its transaction logs: docs/regf.md §7.3 (choosing the logs), §7.4
// (old format) and §7.5 (new format). Pure: takes bytes, returns a new image; the input is never modified.
import { hex } from '../errors.js';
import { ByteView } from '../io/index.js';
import {
  BASE_BLOCK_COPY_SIZE,
  BASE_BLOCK_SIZE,
  type BaseBlock,
  HIVE_FILE_TYPE,
  patchBaseBlock,
  tryDecodeBaseBlock,
} from './base-block.js';
import { decodeLogEntry, type LogEntry } from './log-new.js';
import { decodeOldLog, LOG_PAGE_SIZE, type OldLog } from './log-old.js';

export interface RecoveryReport {
  readonly format: 'old' | 'new';
  /** Indices (into the logs given) of the logs applied, in the order applied. */
  readonly logsUsed: readonly number[];
  /** Log entries applied (new format) or 512-byte pages written (old format). */
  readonly applied: number;
  /** Sequence number both base-block fields now hold. */
  readonly sequence: number;
}

export type RecoveryResult =
  | { readonly bytes: Uint8Array; readonly report: RecoveryReport }
  | { readonly bytes: Uint8Array; readonly report: null; readonly reason: string };

/** a is earlier than b with 32-bit wrap-around (regf.md §7.3). */
const earlier = (a: number, b: number): boolean => a !== b && (b - a) >>> 0 < 0x80000000;

/** A byte buffer that grows (bounded) as pages land beyond its end. */
class Image {
  bytes: Uint8Array;
  constructor(
    initial: Uint8Array,
    private readonly limit: number,
  ) {
    this.bytes = initial.slice();
  }
  /** False when the write would grow the image past its limit (a hostile offset). */
  write(at: number, data: Uint8Array): boolean {
    const end = at + data.length;
    if (end > this.limit) return false;
    this.grow(end);
    this.bytes.set(data, at);
    return true;
  }
  grow(size: number): void {
    if (size <= this.bytes.length) return;
    const b = new Uint8Array(size);
    b.set(this.bytes);
    this.bytes = b;
  }
}

/**
 * Recovers `primary` with the first format whose logs apply: new-format (HvLE) logs first, then old-format ones.
 * `logs` are the .LOG/.LOG1/.LOG2 contents (empty ones are skipped; report indices refer to this array); for the
 * old format the first applicable one in this order wins.
 */
export function recoverHive(primary: Uint8Array, logs: readonly Uint8Array[]): RecoveryResult {
  const pb = tryDecodeBaseBlock(primary);
  const primaryValid = pb?.checksumValid === true;
  // A log may grow the hive (new bins), but never beyond what it carries: a hostile bins size or page offset
  // cannot make us allocate more than the inputs' total size [I].
  const limit =
    Math.max(primary.length, BASE_BLOCK_SIZE + (pb?.hiveBinsDataSize ?? 0)) +
    logs.reduce((n, l) => n + l.length, 0);
  const reasons: string[] = [];
  const fresh = recoverNew(primary, pb, primaryValid, logs, limit, reasons);
  if (fresh) return fresh;
  const old = recoverOld(primary, pb, primaryValid, logs, limit, reasons);
  if (old) return old;
  return { bytes: primary, report: null, reason: reasons.join('; ') || 'no log applies' };
}

function recoverNew(
  primary: Uint8Array,
  pb: BaseBlock | null,
  primaryValid: boolean,
  logs: readonly Uint8Array[],
  limit: number,
  reasons: string[],
): RecoveryResult | null {
  // §7.3 step 1: valid base block, type 6, equal sequence numbers.
  let cands = logs
    .map((bytes, index) => ({ bytes, index, bb: tryDecodeBaseBlock(bytes) }))
    .filter(
      (c): c is { bytes: Uint8Array; index: number; bb: BaseBlock } =>
        c.bb?.checksumValid === true &&
        c.bb.fileType === HIVE_FILE_TYPE.LOG_NEW &&
        c.bb.primarySequence === c.bb.secondarySequence,
    );
  if (cands.length === 0) return null;
  const image = new Image(primary, limit);
  if (primaryValid && pb) {
    // §7.3 step 2: drop stale logs, apply the rest in sequence order.
    const before = cands.length;
    cands = cands.filter((c) => !earlier(c.bb.primarySequence, pb.secondarySequence));
    if (cands.length === 0) {
      reasons.push(
        `${before} new-format log(s) are older than the hive (sequence < ${pb.secondarySequence})`,
      );
      return null;
    }
    // Guard beyond §7.3 [I]: Windows bumps the primary sequence before it writes the bins, so a log whose base
    // block is later than the primary's primary sequence was not written for this state of this hive (corpus:
    // NewDirtyHive 3/2 with logs at 2 and 3; a BCD log at 150 must not be replayed onto a hive at 5/4).
    const own = cands.filter((c) => !earlier(pb.primarySequence, c.bb.primarySequence));
    if (own.length === 0) {
      reasons.push(
        `new-format log(s) are later than the hive (sequence > ${pb.primarySequence}): logs of another hive?`,
      );
      return null;
    }
    cands = own;
    cands.sort((a, b) => (earlier(a.bb.primarySequence, b.bb.primarySequence) ? -1 : 1));
  } else {
    // §7.3 step 3 / §7.5 step 1: only the latest log, and its base block replaces the broken one.
    cands.sort((a, b) => (earlier(a.bb.primarySequence, b.bb.primarySequence) ? -1 : 1));
    const latest = cands[cands.length - 1]!;
    cands = [latest];
    image.grow(BASE_BLOCK_SIZE);
    image.bytes.set(latest.bytes.subarray(0, BASE_BLOCK_COPY_SIZE), 0);
  }
  let expected = cands[0]!.bb.primarySequence;
  let last: LogEntry | null = null;
  let applied = 0;
  const used: number[] = [];
  for (const c of cands) {
    if (applied > 0 && c.bb.primarySequence !== expected) break; // §7.5 step 5
    const view = new ByteView(c.bytes, 0, 'regf.log-new');
    let pos = BASE_BLOCK_COPY_SIZE;
    let fromThis = 0;
    for (;;) {
      const entry = decodeLogEntry(view, pos, expected);
      if (typeof entry === 'string') {
        if (fromThis === 0) reasons.push(`log ${c.index}: ${entry}`);
        break;
      }
      for (const p of entry.pages) {
        if (!image.write(BASE_BLOCK_SIZE + p.offset, c.bytes.subarray(p.dataAt, p.dataAt + p.size))) {
          reasons.push(
            `log ${c.index}: page at ${hex(p.offset)} lies beyond what the logs can grow the hive to`,
          );
          return null;
        }
      }
      last = entry;
      applied++;
      fromThis++;
      pos += entry.size;
      expected = (expected + 1) >>> 0;
    }
    if (fromThis > 0) used.push(c.index);
  }
  if (!last) return null; // §7.5 step 6
  // §7.5 step 4 and 7: bins size and flag bit 0x1 from the last entry; both sequences = the last one applied.
  const bins = last.hiveBinsDataSize;
  if (BASE_BLOCK_SIZE + bins > limit) {
    reasons.push(
      `log entry ${last.sequence}: bins size ${hex(bins)} is more than the logs can grow the hive to`,
    );
    return null;
  }
  image.grow(BASE_BLOCK_SIZE + bins);
  const dv = new DataView(image.bytes.buffer, image.bytes.byteOffset, BASE_BLOCK_COPY_SIZE);
  dv.setUint32(144, (dv.getUint32(144, true) & ~1) | (last.flags & 1), true);
  patchBaseBlock(image.bytes, {
    primarySequence: last.sequence,
    secondarySequence: last.sequence,
    fileType: HIVE_FILE_TYPE.PRIMARY,
    hiveBinsDataSize: bins,
  });
  return { bytes: image.bytes, report: { format: 'new', logsUsed: used, applied, sequence: last.sequence } };
}

function recoverOld(
  primary: Uint8Array,
  pb: BaseBlock | null,
  primaryValid: boolean,
  logs: readonly Uint8Array[],
  limit: number,
  reasons: string[],
): RecoveryResult | null {
  // §7.3 "Old format": the log's timestamp must equal the primary's, or the first bin's when the primary is broken.
  const anchor = primaryValid && pb ? pb.lastWrittenRaw : firstBinTimestamp(primary);
  let chosen: { log: OldLog; bytes: Uint8Array; index: number } | null = null;
  logs.forEach((bytes, index) => {
    if (chosen || bytes.length === 0) return; // Windows leaves unused logs empty
    let log: OldLog;
    try {
      log = decodeOldLog(bytes);
    } catch (e) {
      if (tryDecodeBaseBlock(bytes)?.fileType !== HIVE_FILE_TYPE.LOG_NEW)
        reasons.push(`log ${index}: ${(e as Error).message}`);
      return;
    }
    if (anchor === null || log.baseBlock.lastWrittenRaw !== anchor) {
      reasons.push(`log ${index}: its timestamp does not match the hive's (a log of another write)`);
      return;
    }
    chosen = { log, bytes, index };
  });
  if (!chosen) return null;
  const { log, bytes, index } = chosen as { log: OldLog; bytes: Uint8Array; index: number };
  if (BASE_BLOCK_SIZE + log.baseBlock.hiveBinsDataSize > limit) {
    reasons.push(
      `log ${index}: bins size ${hex(log.baseBlock.hiveBinsDataSize)} is more than the logs can grow the hive to`,
    );
    return null;
  }
  const image = new Image(primary, limit);
  image.grow(BASE_BLOCK_SIZE);
  // §7.4 step 2: page k → 4096 + 512·k (k < bins size / 512, so inside the limit checked above).
  log.dirtyPages.forEach((k, i) => {
    const from = log.pagesAt + i * LOG_PAGE_SIZE;
    image.write(BASE_BLOCK_SIZE + k * LOG_PAGE_SIZE, bytes.subarray(from, from + LOG_PAGE_SIZE));
  });
  // §7.4 step 4: the log's base-block copy, type 0, sequences equal; bytes 512..4095 stay the primary's.
  image.bytes.set(bytes.subarray(0, BASE_BLOCK_COPY_SIZE), 0);
  const seq = log.baseBlock.primarySequence;
  patchBaseBlock(image.bytes, {
    primarySequence: seq,
    secondarySequence: seq,
    fileType: HIVE_FILE_TYPE.PRIMARY,
  });
  image.grow(BASE_BLOCK_SIZE + log.baseBlock.hiveBinsDataSize); // §7.4 step 5
  return {
    bytes: image.bytes,
    report: { format: 'old', logsUsed: [index], applied: log.dirtyPages.length, sequence: seq },
  };
}

function firstBinTimestamp(primary: Uint8Array): bigint | null {
  if (primary.length < BASE_BLOCK_SIZE + 32) return null;
  return new ByteView(primary, 0, 'regf').u64le(BASE_BLOCK_SIZE + 20);
}
