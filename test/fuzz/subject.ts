// What the harness knows about a fuzzed fixture.
import type { PatchedDevice, Rng } from './bytes.js';

/**
 * How a case is exercised: 'image' runs info, ls -R, cat, stat, bcd (and preflight) on the disk image; 'hive' runs
 * reg and reg export; 'bcd' runs reg export and bcd (text, /v, --json) on a store file; 'pe' runs decodePe, canRunOn
 * and the pe command.
 */
export type Kind = 'image' | 'hive' | 'bcd' | 'pe';

export interface Region {
  at: number;
  len: number;
}

export interface Subject {
  name: string;
  /** What the README counts cases by: vhd, vhdx, mbr, gpt, fat, ntfs, regf, bcd, pe. */
  format: string;
  kind: Kind;
  bytes: Uint8Array;
  /** Where the structures are: byte mutations aim here. */
  hot: Region[];
  /** Structure boundaries to truncate at. */
  cuts: number[];
  /** Recomputes the checksums a mutation would break (CRC-32C, VHD sums, GPT CRC, regf checksum, NTFS fixups). */
  fix?: (b: PatchedDevice, patches: Map<number, number>) => void;
  /**
   * Cases per round of the schedule (default 1): the container, store and PE subjects cost a few milliseconds a
   * case and get more; the file-system images, whose every case lists, reads and pre-flights a volume, get one.
   */
  weight?: number;
  /** Companion files (differencing parents) by base name. */
  files?: Record<string, Uint8Array>;
  /**
   * A structure-aware mutation of the subject's own (BCD element values, PE fields): fills `patches` and returns a
   * short label of what it did, or null to let the generic byte mutation run instead.
   */
  mutate?: (next: Rng, patches: Map<number, number>) => string | null;
}
