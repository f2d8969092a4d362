// Long-file-name (VFAT) entries and their assembly into a name.
// Layout: fatgen103 "FAT Long Directory Entries": LDIR_Ord (0x00; 0x40 marks the last, i.e. first stored, entry),
// Name1 (0x01, 5 UTF-16 units), Attr 0x0F (0x0B), Type 0 (0x0C), Chksum (0x0D), Name2 (0x0E, 6 units),
// FstClusLO 0 (0x1A), Name3 (0x1C, 2 units). Entries precede their short entry in reverse order (N..1); every
// one carries the checksum of the short name, and a sequence that breaks any rule is an orphan: the short entry
// then shows its 8.3 name.
import type { ByteView } from '../../io/index.js';

export const LFN_LAST = 0x40;
/** 255 characters / 13 per entry. */
export const LFN_MAX_ENTRIES = 20;
export const LFN_CHARS_PER_ENTRY = 13;
const NAME_PARTS: readonly (readonly [number, number])[] = [
  [0x01, 5],
  [0x0e, 6],
  [0x1c, 2],
];

export interface LfnEntry {
  /** LDIR_Ord & 0x1F: 1 for the entry holding the first 13 characters. */
  order: number;
  last: boolean;
  checksum: number;
  /** The 13 UTF-16 units as stored (including the 0x0000 terminator and 0xFFFF padding). */
  units: number[];
  /** LDIR_Type and LDIR_FstClusLO, which must be 0. */
  type: number;
  cluster: number;
  offset: number;
}

export function decodeLfnEntry(v: ByteView, at: number): LfnEntry {
  const ord = v.u8(at);
  const units: number[] = [];
  for (const [o, n] of NAME_PARTS) for (let i = 0; i < n; i++) units.push(v.u16le(at + o + 2 * i));
  return {
    order: ord & 0x1f,
    last: (ord & LFN_LAST) !== 0,
    checksum: v.u8(at + 0x0d),
    units,
    type: v.u8(at + 0x0c),
    cluster: v.u16le(at + 0x1a),
    offset: v.base + at,
  };
}

/** fatgen103 ChkSum(): rotate right and add, over the 11 bytes of the short name. */
export function lfnChecksum(name11: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < 11; i++) sum = (((sum & 1) << 7) + (sum >> 1) + name11[i]!) & 0xff;
  return sum;
}

/** A resolved long name and where its entries start. */
export interface LongName {
  name: string;
  entries: number;
  firstOffset: number;
}

/**
 * Collects LFN entries as a directory is scanned and hands the name to the short entry that follows them when the
 * sequence is complete, in order, and its checksum matches the short name.
 */
export class LfnAssembler {
  private parts: number[][] = [];
  private count = 0;
  /** The order the next entry must have; 0 = no sequence, -1 = complete and waiting for its short entry. */
  private expected = 0;
  private held = 0;
  private checksum = 0;
  private firstOffset = 0;
  /** LFN entries dropped as orphans (broken sequence or checksum) so far. */
  orphans = 0;

  push(e: LfnEntry): void {
    const valid = e.order >= 1 && e.order <= LFN_MAX_ENTRIES && e.type === 0;
    if (valid && e.last) {
      this.reset();
      this.parts = [];
      this.count = e.order;
      this.checksum = e.checksum;
      this.firstOffset = e.offset;
    } else if (!valid || this.expected <= 0 || e.order !== this.expected || e.checksum !== this.checksum) {
      this.reset();
      this.orphans++;
      return;
    }
    this.held++;
    this.parts[e.order - 1] = e.units;
    this.expected = e.order === 1 ? -1 : e.order - 1;
  }

  /** Drops a pending sequence as orphaned (a deleted or volume-label entry interrupts it). */
  reset(): void {
    this.orphans += this.held;
    this.held = 0;
    this.expected = 0;
  }

  /** The long name for the short entry `name11`, or null (no sequence, incomplete, or checksum mismatch). */
  take(name11: Uint8Array): LongName | null {
    if (this.expected === 0) return null;
    if (this.expected !== -1 || lfnChecksum(name11) !== this.checksum) {
      this.reset();
      return null;
    }
    this.held = 0;
    this.expected = 0;
    let name = '';
    outer: for (const units of this.parts) {
      for (const u of units) {
        if (u === 0) break outer; // the terminator; 0xFFFF padding follows it
        name += String.fromCharCode(u);
      }
    }
    if (name === '') return null;
    return { name, entries: this.count, firstOffset: this.firstOffset };
  }
}
