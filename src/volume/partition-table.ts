// Reads a disk's partition table: MBR (with the EBR chain), GPT (primary, else backup), or none (a bare file
// system or an empty disk), and hands out partitions as bounded slices.
// Procedures: docs/boot-sectors.md §1 (MBR), §1.1 (EBR chain), §2 (protective MBR, GPT validation).
import { BootprobeError, type Finding, hex } from '../errors.js';
import { type BlockDevice, ByteView, SliceDevice } from '../io/index.js';
import { classifyBootSector } from './boot-record.js';
import { readEbrChain } from './ebr.js';
import { type Gpt, hasGptSignature, readGpt } from './gpt.js';
import { gptTypeName } from './gpt-types.js';
import {
  decodeMbr,
  isEmptyEntry,
  MBR_ACTIVE,
  MBR_SIGNATURE,
  MBR_SIZE,
  type Mbr,
  type MbrEntry,
} from './mbr.js';
import { isExtended, MBR_TYPE, mbrTypeName } from './mbr-types.js';
import type { Partition, PartitionTable } from './partition.js';

export interface ReadPartitionTableOptions {
  /**
   * Logical sector size to read the table with. Default: the device's; when that is 512 (what a raw image gets),
   * a GPT whose header sits at byte 4096 instead of 512 is read with 4096-byte sectors (§2 "LBA size").
   */
  sectorSize?: number;
}

/** Sector sizes a table can be read with: 512 and 4096 in practice; 1024/2048 exist on optical/MO media. */
const SECTOR_SIZES = [512, 1024, 2048, 4096];

const hex2 = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;
const hex8 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

/** An MBR extended container: it holds EBRs, not a file system. */
export const isExtendedContainer = (p: Partition): boolean =>
  p.kind === 'primary' && isExtended(Number.parseInt(p.type, 16));

export async function readPartitionTable(
  dev: BlockDevice,
  options: ReadPartitionTableOptions = {},
): Promise<PartitionTable> {
  const forced = options.sectorSize;
  if (forced !== undefined && !SECTOR_SIZES.includes(forced)) {
    throw new BootprobeError('USAGE', `sector size ${forced} is not one of ${SECTOR_SIZES.join(', ')}`, {
      hint: 'use 512 or 4096',
    });
  }
  let ss = forced ?? dev.sectorSize;
  const warnings: Finding[] = [];
  const table = (scheme: PartitionTable['scheme'], partitions: Partition[] = []): PartitionTable => ({
    scheme,
    sectorSize: ss,
    diskSignature: null,
    diskGuid: null,
    partitions,
    warnings,
  });
  if (dev.size < MBR_SIZE) {
    warnings.push({
      code: 'TRUNCATED',
      message: `the disk is ${dev.size} bytes, smaller than one sector`,
      offset: 0,
    });
    return table('none');
  }
  const first = new ByteView(await dev.read(0, MBR_SIZE), 0, 'mbr');
  // A file system at sector 0 and no table (§4 VBRs; DESIGN "superfloppy"): the whole disk is one volume. Checked
  // before the MBR because a FAT or exFAT boot sector also ends in 55 AA.
  if (classifyBootSector(first.bytes)) {
    return table('none', [
      {
        index: 1,
        start: 0,
        size: dev.size,
        type: 'whole',
        typeName: 'whole disk',
        active: false,
        guid: null,
        name: null,
        kind: 'whole',
        attributes: null,
        entryOffset: null,
      },
    ]);
  }
  if (first.u16le(0x1fe) !== MBR_SIGNATURE) {
    if ((await hasGptSignature(dev, 512)) || (await hasGptSignature(dev, 4096))) {
      warnings.push({
        code: 'MBR_INVALID',
        message:
          'a GPT header is present but sector 0 holds no protective MBR (no 55 AA); the GPT is ignored',
        offset: 0x1fe,
      });
    }
    return table('none');
  }
  const mbr = decodeMbr(first);
  const protective = mbr.entries.find((e) => e.type === MBR_TYPE.GPT_PROTECTIVE);
  if (protective) {
    if (forced === undefined && ss === 512) ss = await gptSectorSize(dev);
    checkProtectiveMbr(mbr, protective, warnings);
    const gpt = await readGpt(dev, ss, warnings);
    const t = table('gpt', gptPartitions(dev, ss, gpt, warnings));
    t.diskGuid = gpt.header.diskGuid;
    return t;
  }
  // §2: "EFI PART" at LBA 1 with no 0xEE entry is a leftover; Linux ignores it too.
  if (await hasGptSignature(dev, ss)) {
    warnings.push({
      code: 'GPT_HEADER',
      message: `a leftover GPT header at LBA 1 is ignored: the MBR has no protective 0xEE entry`,
      offset: ss,
    });
  }
  const t = table('mbr', await mbrPartitions(dev, ss, mbr, warnings));
  t.diskSignature = hex8(mbr.diskSignature);
  return t;
}

/** A raw image does not say its sector size: find the GPT header at LBA 1, else the backup at the last LBA (§2). */
async function gptSectorSize(dev: BlockDevice): Promise<number> {
  if (await hasGptSignature(dev, 512)) return 512;
  if (await hasGptSignature(dev, 4096)) return 4096;
  if (await hasGptSignature(dev, 512, Math.floor(dev.size / 512) - 1)) return 512;
  if (await hasGptSignature(dev, 4096, Math.floor(dev.size / 4096) - 1)) return 4096;
  return 512;
}

function checkProtectiveMbr(mbr: Mbr, pe: MbrEntry, warnings: Finding[]): void {
  if (pe.startLba !== 1) {
    warnings.push({
      code: 'MBR_INVALID',
      message: `the protective MBR entry starts at LBA ${pe.startLba}, not 1`,
      offset: pe.entryOffset,
    });
  }
  const others = mbr.entries.filter((e) => e !== pe && !isEmptyEntry(e));
  if (others.length > 0) {
    warnings.push({
      code: 'MBR_INVALID',
      message: `hybrid MBR: ${others.length} MBR entr${others.length === 1 ? 'y' : 'ies'} beside the protective one are ignored; the GPT is authoritative`,
      offset: others[0]!.entryOffset,
    });
  }
}

/** Byte offset of a GPT LBA (u64, up to 2^53 after narrowing), or GPT_ENTRIES when × sector size leaves the safe range. */
function lbaBytes(lba: number, ss: number, offset: number): number {
  const r = lba * ss;
  if (!Number.isSafeInteger(r)) {
    throw new BootprobeError('GPT_ENTRIES', `LBA ${lba} × ${ss} bytes does not fit in a safe integer`, {
      offset,
      structure: 'partition',
      hint: 'the partition table is corrupt',
    });
  }
  return r;
}

function checkOnDisk(dev: BlockDevice, p: Partition, warnings: Finding[]): void {
  if (p.start + p.size > dev.size) {
    warnings.push({
      code: 'PARTITION_RANGE',
      message: `partition ${p.index} (${p.size} bytes at ${hex(p.start)}) runs past the end of the ${dev.size}-byte disk`,
      offset: p.entryOffset ?? undefined,
    });
  }
}

async function mbrPartitions(
  dev: BlockDevice,
  ss: number,
  mbr: Mbr,
  warnings: Finding[],
): Promise<Partition[]> {
  const partitions: Partition[] = [];
  let extended: MbrEntry | null = null;
  for (const e of mbr.entries) {
    if (isEmptyEntry(e)) continue;
    // §1: the Windows MBR code rejects any status other than 0x00 or bit 7 set: "Invalid partition table".
    if (e.status !== 0 && (e.status & MBR_ACTIVE) === 0) {
      warnings.push({
        code: 'MBR_INVALID',
        message: `MBR entry ${e.slot + 1} has status ${hex2(e.status)}; the Windows MBR code stops with "Invalid partition table"`,
        offset: e.entryOffset,
      });
    }
    if (e.startLba === 0) {
      warnings.push({
        code: 'PARTITION_RANGE',
        message: `partition ${e.slot + 1} starts at LBA 0, over the MBR itself`,
        offset: e.entryOffset,
      });
    }
    const p = mbrPartition(e, e.slot + 1, e.startLba, ss, 'primary');
    if (isExtended(e.type)) {
      // §1.1 step 1: one container per MBR is standard; Linux also follows only the first.
      if (extended) {
        warnings.push({
          code: 'EBR_CHAIN',
          message: `a second extended partition in MBR entry ${e.slot + 1} is not followed`,
          offset: e.entryOffset,
        });
      } else extended = e;
    }
    checkOnDisk(dev, p, warnings);
    partitions.push(p);
  }
  if (extended) {
    const logicals = await readEbrChain(dev, ss, extended, warnings);
    // Linux numbers logical partitions from 5, one per link that holds a partition.
    logicals.forEach((l, i) => {
      const p = mbrPartition(l.entry, 5 + i, l.startLba, ss, 'logical');
      checkOnDisk(dev, p, warnings);
      partitions.push(p);
    });
  }
  return partitions;
}

function mbrPartition(
  e: MbrEntry,
  index: number,
  startLba: number,
  ss: number,
  kind: 'primary' | 'logical',
): Partition {
  return {
    index,
    // u32 LBAs (a logical's is EBR + u32, the EBR inside a u32-sized container) × ≤ 4096 stay below 2^45: safe.
    start: startLba * ss,
    size: e.sectorCount * ss,
    type: hex2(e.type),
    typeName: mbrTypeName(e.type),
    active: (e.status & MBR_ACTIVE) !== 0,
    guid: null,
    name: null,
    kind,
    attributes: null,
    entryOffset: e.entryOffset,
  };
}

function gptPartitions(dev: BlockDevice, ss: number, gpt: Gpt, warnings: Finding[]): Partition[] {
  const h = gpt.header;
  const diskLastLba = Math.floor(dev.size / ss) - 1;
  // §2 step 4: LastUsable < disk sectors. A disk image grown after partitioning shows this too.
  if (h.lastUsableLba > diskLastLba) {
    warnings.push({
      code: 'GPT_HEADER',
      message: `GPT last usable LBA ${h.lastUsableLba} is past the disk's last LBA ${diskLastLba}: the image is truncated`,
      offset: h.offset + 0x30,
    });
  }
  const partitions: Partition[] = [];
  for (const e of gpt.entries) {
    const index = e.slot + 1;
    if (e.lastLba < e.firstLba || e.firstLba < h.firstUsableLba || e.lastLba > h.lastUsableLba) {
      warnings.push({
        code: 'GPT_ENTRIES',
        message: `GPT entry ${index} (LBA ${e.firstLba}..${e.lastLba}) lies outside the usable LBAs ${h.firstUsableLba}..${h.lastUsableLba}`,
        offset: e.entryOffset,
      });
    }
    const sectors = e.lastLba >= e.firstLba ? e.lastLba - e.firstLba + 1 : 0;
    const p: Partition = {
      index,
      start: lbaBytes(e.firstLba, ss, e.entryOffset),
      size: lbaBytes(sectors, ss, e.entryOffset),
      type: e.typeGuid,
      typeName: gptTypeName(e.typeGuid),
      active: false,
      guid: e.uniqueGuid,
      name: e.name,
      kind: 'gpt',
      attributes: `0x${e.attributes.toString(16).padStart(16, '0')}`,
      entryOffset: e.entryOffset,
    };
    checkOnDisk(dev, p, warnings);
    partitions.push(p);
  }
  // §2 step 4: entries don't overlap. Sorted by start, each must begin after the previous one ends.
  const sorted = [...gpt.entries].sort((a, b) => a.firstLba - b.firstLba);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (b.firstLba <= a.lastLba) {
      warnings.push({
        code: 'GPT_ENTRIES',
        message: `GPT entries ${a.slot + 1} and ${b.slot + 1} overlap at LBA ${b.firstLba}`,
        offset: b.entryOffset,
      });
    }
  }
  return partitions;
}

/**
 * A bounded view of one partition. PARTITION_RANGE when it is empty or does not fit on the disk: the table lists
 * such a partition with a warning, but nothing is read through it.
 */
export function partitionDevice(dev: BlockDevice, p: Partition): SliceDevice {
  if (
    !Number.isSafeInteger(p.start) ||
    !Number.isSafeInteger(p.size) ||
    p.start < 0 ||
    p.size <= 0 ||
    p.start + p.size > dev.size
  ) {
    throw new BootprobeError(
      'PARTITION_RANGE',
      `partition ${p.index} (${p.size} bytes at ${hex(p.start)}) does not fit on the ${dev.size}-byte disk`,
      {
        offset: p.entryOffset ?? undefined,
        structure: 'partition',
        hint: 'the partition table is damaged or the image is truncated',
        data: { start: p.start, size: p.size, diskSize: dev.size },
      },
    );
  }
  return new SliceDevice(dev, p.start, p.size, `partition ${p.index}`);
}

function describeChoices(choices: readonly Partition[]): string {
  if (choices.length === 0) return 'the disk has no partitions';
  return `partitions: ${choices.map((p) => `${p.index} (${p.typeName}${p.name ? ` "${p.name}"` : ''}, ${p.size} bytes)`).join(', ')}`;
}

/**
 * The partition `-p N` names. With `index`: that partition, or PARTITION_CHOICE listing the choices (an extended
 * container is no choice: it holds no file system). Without: the only partition there is, else PARTITION_CHOICE;
 * callers that can look inside volumes (the CLI's "the only file system") decide before calling this.
 */
export function selectPartition(table: PartitionTable, index?: number): Partition {
  const choices = table.partitions.filter((p) => !isExtendedContainer(p));
  if (index !== undefined) {
    const p = choices.find((x) => x.index === index);
    if (p) return p;
    const container = table.partitions.some((x) => x.index === index);
    throw new BootprobeError(
      'PARTITION_CHOICE',
      `${container ? `partition ${index} is an extended container, not a volume` : `no partition ${index}`}; ${describeChoices(choices)}`,
      { hint: 'choose one with -p N', data: { choices: choices.map((x) => x.index) } },
    );
  }
  if (choices.length === 1) return choices[0]!;
  throw new BootprobeError(
    'PARTITION_CHOICE',
    `${choices.length === 0 ? 'no partition to choose' : `${choices.length} partitions to choose from`}; ${describeChoices(choices)}`,
    { hint: 'choose one with -p N', data: { choices: choices.map((x) => x.index) } },
  );
}
