// Extended boot records: the chain of logical partitions inside an MBR extended partition.
// Layout and procedure: docs/boot-sectors.md §1.1 [C] (checked against mmls on mbr-win-512).
import { BootprobeError, type Finding, hex } from '../errors.js';
import { type BlockDevice, ByteView } from '../io/index.js';
import { decodeMbr, isEmptyEntry, MBR_SIZE, type MbrEntry } from './mbr.js';
import { isExtended } from './mbr-types.js';

/**
 * Links followed at most. §1.1 step 2 ("loop at most e.g. 128 times"); Linux gives a disk 256 minors in all, and
 * the visited set already stops loops: this bound only stops a long, non-repeating chain made to waste reads.
 */
export const MAX_EBR_LINKS = 128;

export interface Ebr {
  /** Entry 1 (0x1BE): the logical partition, start relative to this EBR; null when the link holds none. */
  readonly logical: MbrEntry | null;
  /** Entry 2 (0x1CE) when it is an extended type: the next EBR, start relative to the extended partition. */
  readonly next: MbrEntry | null;
  readonly offset: number;
}

/** Decodes one EBR (§1.1 steps 2.2-2.3); a sector without 55 AA is EBR_CHAIN, not MBR_INVALID. */
export function decodeEbr(v: ByteView): Ebr {
  let mbr: ReturnType<typeof decodeMbr>;
  try {
    mbr = decodeMbr(v);
  } catch (e) {
    if (e instanceof BootprobeError && e.code === 'MBR_INVALID') {
      throw new BootprobeError('EBR_CHAIN', `EBR at ${hex(v.base)} has no 55 AA signature`, {
        offset: e.offset,
        structure: 'ebr',
        hint: 'the extended partition chain is damaged; the primary partitions are intact',
        cause: e,
      });
    }
    throw e;
  }
  const [first, second] = mbr.entries;
  return {
    logical: first && !isEmptyEntry(first) && !isExtended(first.type) ? first : null,
    next: second && isExtended(second.type) && second.sectorCount > 0 ? second : null,
    offset: v.base,
  };
}

/** A logical partition found in the chain, in absolute LBAs. */
export interface LogicalEntry {
  /** LBA of the EBR that describes it. */
  readonly ebrLba: number;
  readonly startLba: number;
  readonly sectorCount: number;
  readonly entry: MbrEntry;
}

function chainError(message: string, offset: number): BootprobeError {
  return new BootprobeError('EBR_CHAIN', message, {
    offset,
    structure: 'ebr',
    hint: 'the extended partition chain is damaged; the primary partitions are intact',
  });
}

/**
 * Walks the chain from the primary extended entry `container` (§1.1). A link that loops, leaves the extended
 * partition or the disk, or a chain longer than MAX_EBR_LINKS throws EBR_CHAIN with the offset of the entry that
 * points there; a logical partition outside the extended partition is a warning (§1.1 step 4).
 */
export async function readEbrChain(
  dev: BlockDevice,
  sectorSize: number,
  container: MbrEntry,
  warnings: Finding[],
): Promise<LogicalEntry[]> {
  const e0 = container.startLba;
  const end = e0 + container.sectorCount;
  const out: LogicalEntry[] = [];
  const visited = new Set<number>();
  let cur = e0;
  // Where the pointer to `cur` is stored: the MBR entry first, then each EBR's entry 2.
  let from = container.entryOffset;
  for (let links = 0; ; links++) {
    if (links >= MAX_EBR_LINKS) {
      throw chainError(`extended partition chain is longer than ${MAX_EBR_LINKS} links`, from);
    }
    if (visited.has(cur))
      throw chainError(`extended partition chain loops back to the EBR at LBA ${cur}`, from);
    if (cur < e0 || cur >= end) {
      throw chainError(`EBR at LBA ${cur} lies outside the extended partition (LBA ${e0}..${end - 1})`, from);
    }
    const at = cur * sectorSize;
    if (at + MBR_SIZE > dev.size) {
      throw chainError(`EBR at LBA ${cur} (${hex(at)}) lies past the end of the ${dev.size}-byte disk`, from);
    }
    visited.add(cur);
    const ebr = decodeEbr(new ByteView(await dev.read(at, MBR_SIZE), at, 'ebr'));
    if (ebr.logical) {
      // §1.1 step 2.2: the logical partition starts relative to this EBR.
      const startLba = cur + ebr.logical.startLba;
      if (startLba < e0 || startLba + ebr.logical.sectorCount > end) {
        warnings.push({
          code: 'EBR_CHAIN',
          message: `logical partition at LBA ${startLba} (${ebr.logical.sectorCount} sectors) runs outside the extended partition (LBA ${e0}..${end - 1})`,
          offset: ebr.logical.entryOffset,
        });
      }
      out.push({ ebrLba: cur, startLba, sectorCount: ebr.logical.sectorCount, entry: ebr.logical });
    }
    if (!ebr.next) return out;
    // §1.1 step 2.3: the next EBR is relative to the primary extended partition, not to this EBR.
    cur = e0 + ebr.next.startLba;
    from = ebr.next.entryOffset;
  }
}
