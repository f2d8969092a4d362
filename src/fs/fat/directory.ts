// A FAT directory: a sequence of 32-byte entries (long-name entries, short entries, deleted slots, the volume
// label in the root) that ends at the first entry whose first byte is 0 or at the end of its clusters.
// Layout: fatgen103 "FAT Directory Structure", "FAT Long Directory Entries".
import type { ByteView } from '../../io/index.js';
import { decodeOem, type OemCodePage } from './code-page.js';
import {
  DIR_DELETED,
  DIR_END,
  DIR_ENTRY_SIZE,
  decodeShortEntry,
  FAT_ATTR,
  type FatShortEntry,
  isDotEntry,
} from './dir-entry.js';
import { decodeLfnEntry, LfnAssembler } from './lfn.js';

/** fatgen103: a directory holds at most 65536 entries (2 MiB). */
export const MAX_DIR_ENTRIES = 65536;
export const MAX_DIR_BYTES = MAX_DIR_ENTRIES * DIR_ENTRY_SIZE;

/** A short entry with the long name that precedes it. */
export interface FatDirEntry extends FatShortEntry {
  /** The long name when a complete LFN sequence with the right checksum precedes the entry; else null. */
  longName: string | null;
  /** Number of LFN entries of that name (0 without one). */
  lfnEntries: number;
  /** Absolute offset of the first LFN entry; null without one. */
  lfnOffset: number | null;
}

export interface VolumeLabelEntry {
  label: string;
  offset: number;
}

/**
 * Decodes a directory fed in whole-entry chunks, in order. Deleted entries and '.'/'..' are skipped; the volume
 * label entry is kept apart (in the root only: elsewhere it means nothing).
 */
export class DirectoryDecoder {
  readonly entries: FatDirEntry[] = [];
  label: VolumeLabelEntry | null = null;
  /** True once the end marker (first byte 0) was met; nothing after it is read. */
  ended = false;
  /** Entries decoded so far (including deleted and LFN slots). */
  slots = 0;
  private readonly lfn = new LfnAssembler();

  constructor(
    private readonly fat32: boolean,
    private readonly cp: OemCodePage,
    private readonly isRoot: boolean,
  ) {}

  /** LFN entries dropped as orphans (broken sequence, bad checksum). */
  get orphanLfnEntries(): number {
    return this.lfn.orphans;
  }

  feed(v: ByteView): void {
    for (let at = 0; at + DIR_ENTRY_SIZE <= v.length && !this.ended; at += DIR_ENTRY_SIZE) {
      this.slots++;
      const first = v.u8(at);
      if (first === DIR_END) {
        this.ended = true;
        this.lfn.reset();
        break;
      }
      if (first === DIR_DELETED) {
        this.lfn.reset();
        continue;
      }
      const attr = v.u8(at + 0x0b);
      if ((attr & 0x3f) === FAT_ATTR.LONG_NAME) {
        this.lfn.push(decodeLfnEntry(v, at));
        continue;
      }
      if (attr & FAT_ATTR.VOLUME_ID) {
        this.lfn.reset();
        if (this.isRoot && this.label === null && !(attr & FAT_ATTR.DIRECTORY)) {
          const label = decodeOem(v.slice(at, 11), this.cp).replace(/ +$/, '');
          if (label) this.label = { label, offset: v.base + at };
        }
        continue;
      }
      const name11 = v.slice(at, 11);
      const long = this.lfn.take(name11);
      if (isDotEntry(name11)) continue;
      const short = decodeShortEntry(v, at, this.fat32, this.cp);
      this.entries.push({
        ...short,
        longName: long?.name ?? null,
        lfnEntries: long?.entries ?? 0,
        lfnOffset: long?.firstOffset ?? null,
      });
    }
  }
}
