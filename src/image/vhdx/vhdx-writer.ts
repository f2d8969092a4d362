// Writes into a VHDX: fixed, dynamic and differencing (docs/vhd-vhdx.md §2.7 "Writing data safely").
//
// Rules kept (MS-VHDX §2.2.2, §2.3 as the doc states them):
// - Before the first change of a session, both headers get a new FileWriteGuid and DataWriteGuid (§2.2).
// - Payload data and sector-bitmap bits are written directly, never through the log.
// - Every BAT change goes through the log: a fresh LogGuid in the headers, one entry carrying the whole 4 KiB BAT
//   sectors (read-modify-write of the exact sector: qemu issue 727), flush, the same sectors written in place,
//   flush, LogGuid back to zero in both headers (§2.7 steps 4-7). The header itself never goes through the log.
// - New blocks go at the end of the file, 1 MiB aligned, and the file is extended over them first, so every byte
//   not written reads as zeros (§2.7 step 2).
// - In a differencing disk, a NOT_PRESENT block written in part becomes PARTIALLY_PRESENT: its sectors not written
//   keep bit 0 in the chunk's sector bitmap and still come from the parent (§2.5). The parent is never written.
//
// Crash analysis: until the log entry is flushed the BAT is unchanged and new space is unreferenced (bits set for a
// block whose BAT entry is not yet PARTIALLY_PRESENT are never read); after it, replay rewrites the same BAT
// sectors (idempotent); bits are set only after the data they cover is flushed.
import { BootprobeError, hex } from '../../errors.js';
import { bytesEqual, checkRange, requireWritable, type WritableDevice } from '../../io/index.js';
import { randomGuidBytes } from '../../io/random.js';
import { type BatEntry, encodeBatEntry, PAYLOAD_STATE, SB_STATE } from './bat.js';
import { updateVhdxHeaders, type VhdxHeader } from './header.js';
import { encodeLogEntry, logEntryLength } from './log.js';
import type { VhdxImage } from './vhdx-image.js';

const MiB = 1024 * 1024;
const LOG_SECTOR = 4096;
/** A sector-bitmap block is 1 MiB (§2.5). */
const SB_BLOCK = MiB;
const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** A change of one BAT entry, collected during a write and committed through one log transaction. */
interface BatChange {
  index: number;
  entry: Uint8Array;
}

/** Bits of one payload block's range in its chunk's sector bitmap to write after the data (§2.5). */
interface BitmapUpdate {
  /** File offset of the chunk's sector-bitmap block. */
  sbAt: number;
  /** First bit of the block in the chunk's bitmap (a multiple of 8). */
  firstBit: number;
  /** Sectors in the block. */
  sectors: number;
  /** Sector range [from, to) of the block written now: bits set. */
  from: number;
  to: number;
  /** True for a block becoming PARTIALLY_PRESENT: every other bit of its range is cleared (stale bits). */
  fresh: boolean;
}

export class VhdxWriter {
  private header: VhdxHeader;
  private sessionStarted = false;
  private logSequence = 1n;
  private readonly file: WritableDevice;
  private readonly bs: number;
  private readonly ss: number;
  private readonly differencing: boolean;

  constructor(private readonly img: VhdxImage) {
    this.header = img.header;
    this.file = requireWritable(img.file, 'VHDX file');
    this.bs = img.metadata.blockSize;
    this.ss = img.metadata.logicalSectorSize;
    this.differencing = img.metadata.hasParent;
  }

  /** The header as it is now on disk (after this session's updates). */
  get currentHeader(): VhdxHeader {
    return this.header;
  }

  /** §2.2: a new FileWriteGuid and DataWriteGuid before the first change of the session. */
  private async startSession(): Promise<void> {
    if (this.sessionStarted) return;
    this.header = await updateVhdxHeaders(this.file, this.header, {
      fileWriteGuid: randomGuidBytes(),
      dataWriteGuid: randomGuidBytes(),
    });
    this.sessionStarted = true;
    Object.assign(this.img.info.details, {
      fileWriteGuid: this.header.fileWriteGuid,
      dataWriteGuid: this.header.dataWriteGuid,
      headerSlot: this.header.slot,
      headerSequence: this.header.sequenceNumber.toString(),
    });
  }

  /** Writes `data` at virtual offset `offset`. Callers serialize (open-writable.ts does). */
  async write(offset: number, data: Uint8Array): Promise<void> {
    checkRange('VHDX virtual disk', this.img.size, offset, data.length);
    if (data.length === 0) return;
    await this.startSession();
    // Whole logical sectors: a sector whose bitmap bit is 0 must be written whole (its other bytes come from the
    // parent or are zeros), so the edges are merged with what the disk reads there now.
    const ss = this.ss;
    const s0 = Math.floor(offset / ss) * ss;
    const s1 = Math.ceil((offset + data.length) / ss) * ss;
    let buf = data;
    if (s0 !== offset || s1 !== offset + data.length) {
      buf = new Uint8Array(s1 - s0);
      buf.set(await this.img.read(s0, ss), 0);
      if (s1 - ss > s0) buf.set(await this.img.read(s1 - ss, ss), s1 - ss - s0);
      buf.set(data, offset - s0);
    }

    const changes: BatChange[] = [];
    const bits: BitmapUpdate[] = [];
    /** Sector-bitmap blocks allocated during this write, by chunk. */
    const newBitmaps = new Map<number, number>();
    const bs = this.bs;
    for (let pos = s0; pos < s1; ) {
      const b = Math.floor(pos / bs);
      const inBlock = pos - b * bs;
      const n = Math.min(bs - inBlock, s1 - pos);
      const piece = buf.subarray(pos - s0, pos - s0 + n);
      const e = await this.img.bat.payload(b);
      const blockBytes = Math.min(bs, this.img.size - b * bs);
      switch (e.state) {
        case PAYLOAD_STATE.FULLY_PRESENT:
          this.checkBlock(b, e);
          await this.file.write(e.fileOffset + inBlock, piece);
          break;
        case PAYLOAD_STATE.PARTIALLY_PRESENT: {
          if (!this.differencing)
            throw this.blockError(b, e, 'PARTIALLY_PRESENT in a disk that has no parent');
          this.checkBlock(b, e);
          await this.file.write(e.fileOffset + inBlock, piece);
          const sbAt = await this.bitmapBlock(b, newBitmaps, changes, false);
          bits.push(this.bitRange(b, sbAt, inBlock, n, false));
          break;
        }
        case PAYLOAD_STATE.NOT_PRESENT:
        case PAYLOAD_STATE.UNDEFINED:
        case PAYLOAD_STATE.ZERO:
        case PAYLOAD_STATE.UNMAPPED:
        case PAYLOAD_STATE.UNMAPPED_V095: {
          // NOT_PRESENT in a child reads from the parent: a partial write keeps the rest coming from it. Every other
          // unallocated state reads as zeros (§2.5), which a newly extended block gives for free.
          const partial =
            this.differencing && e.state === PAYLOAD_STATE.NOT_PRESENT && !(inBlock === 0 && n >= blockBytes);
          const at = await this.allocate(bs);
          await this.file.write(at + inBlock, piece);
          if (partial) {
            const sbAt = await this.bitmapBlock(b, newBitmaps, changes, true);
            bits.push(this.bitRange(b, sbAt, inBlock, n, true));
          }
          changes.push({
            index: this.img.bat.payloadIndex(b),
            entry: encodeBatEntry(
              partial ? PAYLOAD_STATE.PARTIALLY_PRESENT : PAYLOAD_STATE.FULLY_PRESENT,
              at,
            ),
          });
          break;
        }
        default:
          throw this.blockError(b, e, `payload state ${e.state} is reserved`);
      }
      pos += n;
    }
    if (bits.length > 0 || changes.length > 0) {
      // Data (and zero-extended new blocks) durable before any bit or BAT entry points at them.
      await this.file.flush?.();
      if (bits.length > 0) {
        for (const u of bits) await this.writeBits(u);
        await this.file.flush?.();
      }
      if (changes.length > 0) await this.commitBat(changes);
      this.img.noteWrite();
    }
  }

  private blockError(b: number, e: BatEntry, why: string): BootprobeError {
    const at = this.img.bat.entryOffset(b);
    return new BootprobeError('VHDX_BLOCK', `VHDX BAT entry for block ${b} (at ${hex(at)}): ${why}`, {
      offset: at,
      structure: 'vhdx.bat',
      data: { state: e.state, fileOffset: e.fileOffset },
      hint: 'the image is damaged; nothing was written to this block',
    });
  }

  private checkBlock(b: number, e: BatEntry): void {
    const need = Math.min(this.bs, this.img.size - b * this.bs);
    if (e.fileOffset < MiB || e.fileOffset + need > this.file.size) {
      throw this.blockError(
        b,
        e,
        `data at ${hex(e.fileOffset)} lies outside the ${this.file.size}-byte file`,
      );
    }
  }

  /**
   * Reserves `length` bytes at the end of the file, 1 MiB aligned, and extends the file over them so they read as
   * zeros (§2.7 step 2). Returns their offset.
   */
  private async allocate(length: number): Promise<number> {
    const at = roundUp(this.file.size, MiB);
    // One zero sector at the very end grows the file; everything between reads as zeros (a hole where the OS can).
    await this.file.write(at + length - LOG_SECTOR, new Uint8Array(LOG_SECTOR));
    return at;
  }

  /**
   * File offset of the sector-bitmap block of block `b`'s chunk. When the chunk has none and `create` is set, a
   * zeroed 1 MiB block is allocated and its BAT entry (PRESENT) added to `changes` (§2.5: PRESENT is required as
   * soon as a payload entry of the chunk is PARTIALLY_PRESENT).
   */
  private async bitmapBlock(
    b: number,
    fresh: Map<number, number>,
    changes: BatChange[],
    create: boolean,
  ): Promise<number> {
    const k = Math.floor(b / this.img.bat.geometry.chunkRatio);
    const known = fresh.get(k);
    if (known !== undefined) return known;
    const sb = await this.img.bat.bitmap(k);
    if (sb.state === SB_STATE.PRESENT) {
      if (sb.fileOffset < MiB || sb.fileOffset + SB_BLOCK > this.file.size) {
        const at = this.img.bat.offset + 8 * this.img.bat.bitmapIndex(k);
        throw new BootprobeError(
          'VHDX_BAT',
          `VHDX sector bitmap of chunk ${k} at ${hex(sb.fileOffset)} lies outside the ${this.file.size}-byte file`,
          { offset: at, structure: 'vhdx.bat', hint: 'the BAT is corrupt; nothing was written' },
        );
      }
      fresh.set(k, sb.fileOffset);
      return sb.fileOffset;
    }
    if (!create) {
      throw new BootprobeError(
        'VHDX_BAT',
        `VHDX sector bitmap of chunk ${k} is not present (state ${sb.state}) although block ${b} is partially present`,
        {
          offset: this.img.bat.offset + 8 * this.img.bat.bitmapIndex(k),
          structure: 'vhdx.bat',
          hint: 'the BAT is corrupt; nothing was written',
        },
      );
    }
    const at = await this.allocate(SB_BLOCK);
    fresh.set(k, at);
    changes.push({ index: this.img.bat.bitmapIndex(k), entry: encodeBatEntry(SB_STATE.PRESENT, at) });
    return at;
  }

  private bitRange(b: number, sbAt: number, inBlock: number, n: number, fresh: boolean): BitmapUpdate {
    const perBlock = this.bs / this.ss;
    const firstBit = (b % this.img.bat.geometry.chunkRatio) * perBlock;
    return {
      sbAt,
      firstBit,
      sectors: perBlock,
      from: inBlock / this.ss,
      to: (inBlock + n) / this.ss,
      fresh,
    };
  }

  /** Sets bits [from, to) of a block's range (LSB-first, §2.5); a fresh block's other bits are cleared. */
  private async writeBits(u: BitmapUpdate): Promise<void> {
    // perBlock ≥ 2048 (block ≥ 1 MiB, sector ≤ 4 KiB), so a block's range starts and ends on byte boundaries.
    const lo = u.fresh ? 0 : u.from;
    const hi = u.fresh ? u.sectors : u.to;
    const byte0 = (u.firstBit + lo) >> 3;
    const byte1 = (u.firstBit + hi - 1) >> 3;
    const cur = (await this.file.read(u.sbAt + byte0, byte1 - byte0 + 1)).slice();
    const next = u.fresh ? new Uint8Array(cur.length) : cur.slice();
    for (let s = u.from; s < u.to; s++) {
      const j = u.firstBit + s - byte0 * 8;
      next[j >> 3]! |= 1 << (j & 7);
    }
    if (!bytesEqual(cur, next)) await this.file.write(u.sbAt + byte0, next);
  }

  /**
   * Commits BAT changes through the log (§2.7 steps 4-7), as many transactions as the log needs: each carries whole
   * 4 KiB BAT sectors read from the file and patched.
   */
  private async commitBat(changes: BatChange[]): Promise<void> {
    const bat = this.img.bat;
    const sectors = new Map<number, Uint8Array>();
    for (const c of changes) {
      const at = bat.offset + 8 * c.index;
      const sectorAt = Math.floor(at / LOG_SECTOR) * LOG_SECTOR;
      let sector = sectors.get(sectorAt);
      if (!sector) {
        sector = (await this.file.read(sectorAt, LOG_SECTOR)).slice();
        sectors.set(sectorAt, sector);
      }
      sector.set(c.entry, at - sectorAt);
    }
    const all = [...sectors.entries()].sort((a, b) => a[0] - b[0]);
    const { logOffset, logLength } = this.header;
    let perEntry = 1;
    while (logEntryLength(perEntry + 1) <= logLength) perEntry++;
    if (logEntryLength(1) > logLength) {
      throw new BootprobeError('VHDX_LOG', `VHDX log of ${logLength} bytes cannot hold one entry`, {
        offset: this.header.offset + 68,
        structure: 'vhdx.header',
        hint: 'the header is corrupt',
      });
    }
    for (let i = 0; i < all.length; i += perEntry) {
      const batch = all.slice(i, i + perEntry);
      const logGuid = randomGuidBytes();
      this.header = await updateVhdxHeaders(this.file, this.header, { logGuid });
      const size = this.file.size;
      const entry = encodeLogEntry({
        sequenceNumber: this.logSequence++,
        tail: 0,
        logGuid,
        flushedFileOffset: Math.floor(size / MiB) * MiB,
        lastFileOffset: roundUp(size, MiB),
        descriptors: batch.map(([fileOffset, data]) => ({ kind: 'desc' as const, fileOffset, data })),
      });
      await this.file.write(logOffset, entry);
      await this.file.flush?.();
      for (const [at, data] of batch) await this.file.write(at, data);
      await this.file.flush?.();
      this.header = await updateVhdxHeaders(this.file, this.header, { logGuid: new Uint8Array(16) });
    }
    Object.assign(this.img.info.details, {
      headerSlot: this.header.slot,
      headerSequence: this.header.sequenceNumber.toString(),
    });
  }
}
