// Reads a disk's partition table: MBR (with the EBR chain), GPT (primary, else backup), or none (a bare file
// system or an empty disk). Procedures: docs/boot-sectors.md §1.1 and §2 "Validation procedure".
import { BootprobeError, type Finding, hex } from '../errors.js';
import { type BlockDevice, ByteView, SliceDevice } from '../io/index.js';
import { classifyBootSector } from './boot-record.js';
import { decodeGptEntries, decodeGptHeader, GPT_SIGNATURE, type GptHeader, gptTypeName } from './gpt.js';
import { decodeMbr, isExtended, MBR_TYPE, type Mbr, mbrTypeName } from './mbr.js';
import type { Partition, PartitionTable } from './partition.js';

/** §1.1: bound the EBR chain; Windows allows far fewer logical drives than this. */
const MAX_LOGICAL = 128;

const hex8 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
const hex2 = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;

export async function readPartitionTable(dev: BlockDevice): Promise<PartitionTable> {
  const warnings: Finding[] = [];
  const none = (sectorSize = dev.sectorSize): PartitionTable => ({
    scheme: 'none',
    sectorSize,
    diskSignature: null,
    diskGuid: null,
    partitions: [],
    warnings,
  });
  if (dev.size < 512) return none();
  const first = await dev.read(0, 512);
  const fs = classifyBootSector(first);
  if (fs) {
    // A file system at sector 0 and no table: the whole disk is one volume.
    const t = none();
    t.partitions.push({
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
    });
    return t;
  }
  if (first[510] !== 0x55 || first[511] !== 0xaa) return none();
  const mbr = decodeMbr(new ByteView(first, 0, 'MBR'));
  const protective = mbr.entries.some((e) => e.type === MBR_TYPE.GPT_PROTECTIVE);
  if (protective) return readGpt(dev, warnings);
  return readMbrTable(dev, mbr, warnings);
}

async function readMbrTable(dev: BlockDevice, mbr: Mbr, warnings: Finding[]): Promise<PartitionTable> {
  const ss = dev.sectorSize;
  const diskSectors = Math.floor(dev.size / ss);
  const partitions: Partition[] = [];
  const check = (p: Partition) => {
    if (p.start + p.size > dev.size) {
      warnings.push({
        code: 'PARTITION_RANGE',
        message: `partition ${p.index} (${p.size} bytes at ${p.start}) runs past the end of the ${dev.size}-byte disk`,
        offset: p.entryOffset ?? undefined,
      });
    }
  };
  let extended: (typeof mbr.entries)[number] | null = null;
  for (const e of mbr.entries) {
    if (e.type === MBR_TYPE.EMPTY || e.sectorCount === 0) continue;
    if (isExtended(e.type)) {
      if (extended)
        warnings.push({
          code: 'EBR_CHAIN',
          message: `a second extended partition in MBR slot ${e.slot + 1} is ignored`,
          offset: e.entryOffset,
        });
      else extended = e;
    }
    const p: Partition = {
      index: e.slot + 1,
      start: e.startLba * ss,
      size: e.sectorCount * ss,
      type: hex2(e.type),
      typeName: mbrTypeName(e.type),
      active: (e.status & 0x80) !== 0,
      guid: null,
      name: null,
      kind: 'primary',
      attributes: null,
      entryOffset: e.entryOffset,
    };
    if (!isExtended(e.type)) check(p);
    partitions.push(p);
  }
  if (extended) {
    const E = extended.startLba;
    const N = extended.sectorCount;
    const visited = new Set<number>();
    let cur = E;
    for (let n = 0; ; n++) {
      if (n >= MAX_LOGICAL) {
        throw new BootprobeError('EBR_CHAIN', `extended partition chain longer than ${MAX_LOGICAL} links`, {
          offset: cur * ss,
          structure: 'ebr',
          hint: 'the chain is damaged',
        });
      }
      if (visited.has(cur) || cur < E || cur >= E + N || (cur + 1) * ss > dev.size) {
        throw new BootprobeError(
          'EBR_CHAIN',
          `extended partition chain: EBR at LBA ${cur} ${visited.has(cur) ? 'loops back' : 'lies outside the extended partition or the disk'}`,
          {
            offset: cur * ss,
            structure: 'ebr',
            hint: 'the extended partition table is damaged',
          },
        );
      }
      visited.add(cur);
      const ebr = decodeMbr(new ByteView(await dev.read(cur * ss, 512), cur * ss, 'EBR'));
      const [logical, next] = ebr.entries;
      if (logical && logical.type !== MBR_TYPE.EMPTY && logical.sectorCount > 0) {
        const start = cur + logical.startLba;
        if (start < E || start + logical.sectorCount > E + N) {
          warnings.push({
            code: 'EBR_CHAIN',
            message: `logical partition at LBA ${start} lies outside the extended partition`,
            offset: logical.entryOffset,
          });
        }
        const p: Partition = {
          index: 5 + partitions.filter((x) => x.kind === 'logical').length,
          start: start * ss,
          size: logical.sectorCount * ss,
          type: hex2(logical.type),
          typeName: mbrTypeName(logical.type),
          active: (logical.status & 0x80) !== 0,
          guid: null,
          name: null,
          kind: 'logical',
          attributes: null,
          entryOffset: logical.entryOffset,
        };
        check(p);
        partitions.push(p);
      }
      // The next EBR is relative to the start of the primary extended partition, not this EBR (§1.1 step 3).
      if (!next || !isExtended(next.type) || next.sectorCount === 0) break;
      cur = E + next.startLba;
    }
    if (diskSectors < E + N)
      warnings.push({
        code: 'PARTITION_RANGE',
        message: 'the extended partition runs past the end of the disk',
        offset: extended.entryOffset,
      });
  }
  partitions.sort((a, b) => a.index - b.index);
  return {
    scheme: 'mbr',
    sectorSize: ss,
    diskSignature: hex8(mbr.diskSignature),
    diskGuid: null,
    partitions,
    warnings,
  };
}

async function tryHeader(dev: BlockDevice, ss: number, lba: number): Promise<GptHeader | BootprobeError> {
  if ((lba + 1) * ss > dev.size || lba < 1)
    return new BootprobeError('GPT_HEADER', `GPT header LBA ${lba} is outside the disk`, {
      offset: lba * ss,
    });
  try {
    return decodeGptHeader(new ByteView(await dev.read(lba * ss, ss), lba * ss, 'GPT header'), lba);
  } catch (e) {
    if (e instanceof BootprobeError) return e;
    throw e;
  }
}

async function readEntries(dev: BlockDevice, ss: number, h: GptHeader) {
  const at = h.entriesLba * ss;
  const len = h.entryCount * h.entrySize;
  if (h.entriesLba < 1 || at + len > dev.size) {
    throw new BootprobeError(
      'GPT_ENTRIES',
      `GPT entry array at LBA ${h.entriesLba} (${len} bytes) lies outside the disk`,
      { offset: h.offset + 72, structure: 'gpt' },
    );
  }
  return decodeGptEntries(new ByteView(await dev.read(at, len), at, 'GPT entry array'), h);
}

async function readGpt(dev: BlockDevice, warnings: Finding[]): Promise<PartitionTable> {
  // The header is at LBA 1 in logical sectors. A raw image does not say its sector size: a 4Kn disk has
  // "EFI PART" at 4096, not 512 (§2).
  let ss = dev.sectorSize;
  if (ss === 512 && dev.size >= 8192) {
    const at512 = await dev.read(512, 8);
    const at4k = await dev.read(4096, 8);
    const sig = (b: Uint8Array) => String.fromCharCode(...b) === GPT_SIGNATURE;
    if (!sig(at512) && sig(at4k)) ss = 4096;
  }
  const lastLba = Math.floor(dev.size / ss) - 1;

  let header = await tryHeader(dev, ss, 1);
  let entries =
    header instanceof BootprobeError
      ? null
      : await readEntries(dev, ss, header).catch((e) =>
          e instanceof BootprobeError ? e : Promise.reject(e),
        );
  if (header instanceof BootprobeError || entries instanceof BootprobeError || entries === null) {
    const why = header instanceof BootprobeError ? header.message : (entries as BootprobeError).message;
    const backup = await tryHeader(dev, ss, lastLba);
    if (backup instanceof BootprobeError) {
      throw new BootprobeError(
        'GPT_HEADER',
        `GPT damaged: primary (${why}) and backup (${backup.message}) are both unusable`,
        {
          offset: ss,
          structure: 'gpt',
          hint: 'repair the table with a partitioning tool (gdisk can rebuild it)',
        },
      );
    }
    header = backup;
    entries = await readEntries(dev, ss, backup);

    warnings.push({
      code: 'GPT_HEADER',
      message: `primary GPT unusable (${why}); using the backup header at LBA ${lastLba}`,
      offset: ss,
    });
  } else {
    const backup = await tryHeader(dev, ss, lastLba);
    if (backup instanceof BootprobeError) {
      warnings.push({
        code: 'GPT_HEADER',
        message: `backup GPT header at LBA ${lastLba} is unusable: ${backup.message}`,
        offset: lastLba * ss,
      });
    } else if (backup.diskGuid !== header.diskGuid || backup.entriesCrc !== header.entriesCrc) {
      warnings.push({
        code: 'GPT_HEADER',
        message: 'backup GPT differs from the primary',
        offset: lastLba * ss,
      });
    }
  }
  const h = header as GptHeader;
  if (h.lastUsableLba > lastLba)
    warnings.push({
      code: 'GPT_HEADER',
      message: `GPT last usable LBA ${h.lastUsableLba} is past the end of the disk (${lastLba})`,
      offset: h.offset + 48,
    });
  const partitions: Partition[] = (entries as Awaited<ReturnType<typeof readEntries>>).map((e) => {
    if (e.lastLba < e.firstLba || e.firstLba < h.firstUsableLba || e.lastLba > h.lastUsableLba) {
      warnings.push({
        code: 'GPT_ENTRIES',
        message: `GPT entry ${e.slot + 1} (LBA ${e.firstLba}..${e.lastLba}) lies outside the usable area`,
        offset: e.entryOffset,
      });
    }
    return {
      index: e.slot + 1,
      start: e.firstLba * ss,
      size: Math.max(0, e.lastLba - e.firstLba + 1) * ss,
      type: e.typeGuid,
      typeName: gptTypeName(e.typeGuid),
      active: false,
      guid: e.uniqueGuid,
      name: e.name,
      kind: 'gpt',
      attributes: `0x${e.attributes.toString(16).padStart(16, '0')}`,
      entryOffset: e.entryOffset,
    };
  });
  return { scheme: 'gpt', sectorSize: ss, diskSignature: null, diskGuid: h.diskGuid, partitions, warnings };
}

/** A bounded view of one partition; PARTITION_RANGE when it does not fit on the disk. */
export function partitionDevice(dev: BlockDevice, p: Partition): SliceDevice {
  if (p.start + p.size > dev.size || p.size <= 0) {
    throw new BootprobeError(
      'PARTITION_RANGE',
      `partition ${p.index} (${p.size} bytes at ${hex(p.start)}) does not fit on the ${dev.size}-byte disk`,
      {
        offset: p.entryOffset ?? undefined,
        structure: 'partition',
        hint: 'the partition table is damaged or the image truncated',
      },
    );
  }
  return new SliceDevice(dev, p.start, p.size, `partition ${p.index}`);
}
