// FAT boot sector: the BIOS parameter block and the geometry derived from it.
// Layout: docs/boot-sectors.md §4.2 (FAT32 VBR, FAT12/16 BPB); Microsoft FAT specification "fatgen103" sections
// "Boot Sector and BPB", "FAT Type Determination", "FAT32 FSInfo Sector Structure".
import { BootprobeError, hex } from '../../errors.js';
import type { ByteView } from '../../io/index.js';
import { decodeOem } from './code-page.js';

export type FatType = 'fat12' | 'fat16' | 'fat32';

/** fatgen103: bytes per sector is 512, 1024, 2048 or 4096. */
export const MIN_SECTOR_SIZE = 512;
export const MAX_SECTOR_SIZE = 4096;
/** fatgen103: sectors per cluster is a power of two, 1..128. */
export const MAX_SECTORS_PER_CLUSTER = 128;
/** fatgen103 "FAT Type Determination": fewer than 4085 clusters is FAT12, fewer than 65525 is FAT16. */
export const FAT12_MAX_CLUSTERS = 4084;
export const FAT16_MAX_CLUSTERS = 65524;
/** FAT32 entries are 28 bits and 0x0FFFFFF7 upwards are markers, so cluster numbers end at 0x0FFFFFF6. */
export const FAT32_MAX_CLUSTERS = 0x0ffffff6 - 1;
/** More FAT copies than this is not a FAT volume (Windows writes 1 or 2). */
export const MAX_FAT_COPIES = 4;

export interface FatBpb {
  /** 0x03, 8 bytes: the OEM name (informational only: it does not decide the type). */
  oemName: string;
  /** 0x0B u16. */
  bytesPerSector: number;
  /** 0x0D u8. */
  sectorsPerCluster: number;
  clusterSize: number;
  /** 0x0E u16. */
  reservedSectors: number;
  /** 0x10 u8. */
  fatCount: number;
  /** 0x11 u16: 0 on FAT32. */
  rootEntryCount: number;
  /** 0x13 u16, else 0x20 u32. */
  totalSectors: number;
  /** 0x15 u8. */
  media: number;
  /** 0x16 u16, else (FAT32) 0x24 u32. */
  fatSectors: number;
  /** 0x1C u32: sectors before the volume on its disk. */
  hiddenSectors: number;
  /** FAT32 0x28 bit 7: when set only the active FAT is written and the copies need not agree. */
  mirroringDisabled: boolean;
  /** FAT32 0x28 bits 0-3 when mirroring is disabled; else 0. */
  activeFat: number;
  /** FAT32 0x2C: first cluster of the root directory; 0 on FAT12/16. */
  rootCluster: number;
  /** FAT32 0x30: sector of the FSInfo structure; 0 when absent (0 or 0xFFFF on disk). */
  fsInfoSector: number;
  /** FAT32 0x32: sector of the backup boot sector; 0 when absent. */
  backupBootSector: number;
  /** Decided by the cluster count (fatgen103), never by the type string. */
  type: FatType;
  /** The type string of the extended BPB ("FAT12   " ...) trimmed, or null; informational only. */
  typeString: string | null;
  /** Data clusters: numbered 2 .. clusterCount + 1. */
  clusterCount: number;
  /** Byte offsets within the volume. */
  fatOffset: number;
  fatBytes: number;
  /** FAT12/16: the fixed root directory region; 0-sized on FAT32. */
  rootDirOffset: number;
  rootDirSize: number;
  dataOffset: number;
  /** The volume label of the extended BPB, null when absent or "NO NAME" (the root label entry takes precedence). */
  bpbLabel: string | null;
  /** Volume serial as Windows prints it (two groups of four hex digits, e.g. 1234-ABCD), from the extended BPB. */
  serial: string | null;
}

const pow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;

function bad(msg: string, at: number, data?: Record<string, unknown>): BootprobeError {
  return new BootprobeError('FAT_BPB', `FAT boot sector: ${msg}`, {
    offset: at,
    structure: 'fat.bpb',
    hint: 'the volume is not FAT or its boot sector is damaged; a FAT32 volume keeps a backup at sector 6',
    data,
  });
}

/** Bytes of FAT needed to map `clusters` data clusters plus the two reserved entries. */
export function fatBytesFor(type: FatType, clusters: number): number {
  const entries = clusters + 2;
  return type === 'fat32' ? entries * 4 : type === 'fat16' ? entries * 2 : Math.ceil((entries * 3) / 2);
}

/**
 * Decodes and validates the BPB of the boot sector in `v` (at least 512 bytes) on a volume of `volumeSize` bytes.
 * Everything later code trusts (FAT, root directory and data region inside the volume; the FAT big enough for the
 * cluster count) is checked here; data clusters past the end of a truncated volume fail when read.
 */
export function decodeFatBpb(v: ByteView, volumeSize: number): FatBpb {
  const at = v.base;
  const bps = v.u16le(0x0b);
  const spc = v.u8(0x0d);
  const reserved = v.u16le(0x0e);
  const fats = v.u8(0x10);
  const rootEntries = v.u16le(0x11);
  const total16 = v.u16le(0x13);
  const fat16 = v.u16le(0x16);
  const total32 = v.u32le(0x20);
  const fat32Size = v.u32le(0x24);
  if (!pow2(bps) || bps < MIN_SECTOR_SIZE || bps > MAX_SECTOR_SIZE)
    throw bad(`bytes per sector ${bps} is not 512, 1024, 2048 or 4096`, at + 0x0b);
  if (!pow2(spc) || spc > MAX_SECTORS_PER_CLUSTER)
    throw bad(`sectors per cluster ${spc} is not a power of two up to 128`, at + 0x0d);
  if (reserved < 1) throw bad('reserved sector count is 0 (the boot sector itself is reserved)', at + 0x0e);
  if (fats < 1 || fats > MAX_FAT_COPIES)
    throw bad(`FAT count ${fats} is not 1..${MAX_FAT_COPIES}`, at + 0x10);
  const fatSectors = fat16 || fat32Size;
  const totalSectors = total16 || total32;
  if (fatSectors === 0) throw bad('FAT size is 0 sectors', at + (fat16 ? 0x16 : 0x24));
  if (totalSectors === 0) throw bad('total sector count is 0', at + 0x20);
  // fatgen103: RootDirSectors = ceil(RootEntCnt * 32 / BytsPerSec); the data region follows it.
  const rootDirSectors = Math.ceil((rootEntries * 32) / bps);
  const dataSector = reserved + fats * fatSectors + rootDirSectors;
  if (dataSector >= totalSectors)
    throw bad(
      `data region starts at sector ${dataSector}, past the volume's ${totalSectors} sectors`,
      at + 0x13,
    );
  if (dataSector * bps > volumeSize)
    throw bad(
      `FATs and root directory end at byte ${hex(dataSector * bps)}, past the ${volumeSize}-byte volume`,
      at + 0x16,
      { expected: volumeSize, actual: dataSector * bps },
    );
  const clusterCount = Math.floor((totalSectors - dataSector) / spc);
  // fatgen103 "FAT Type Determination": the cluster count alone decides; the "FATxx" string and the OEM name do
  // not. docs/boot-sectors.md §4.2 marks this [I]; test/unit/fs/fat/bpb.test.ts pins it with a FAT16 volume whose
  // type string says FAT32 and on mkfs.fat volumes on both sides of the 4085 boundary (fsck.fat agrees: interop).
  const type: FatType =
    clusterCount <= FAT12_MAX_CLUSTERS ? 'fat12' : clusterCount <= FAT16_MAX_CLUSTERS ? 'fat16' : 'fat32';
  if (type === 'fat32') {
    if (clusterCount > FAT32_MAX_CLUSTERS)
      throw bad(`${clusterCount} clusters is more than FAT32 can number`, at + 0x20);
    if (rootEntries !== 0 || fat16 !== 0)
      throw bad(
        `${clusterCount} clusters makes this FAT32, but the BPB has a FAT12/16 root directory or FAT size`,
        at + 0x11,
      );
  } else if (rootEntries === 0) {
    throw bad(
      `${clusterCount} clusters makes this ${type.toUpperCase()}, which needs a root directory, but the root entry count is 0`,
      at + 0x11,
    );
  }
  const fatBytes = fatSectors * bps;
  if (fatBytes < fatBytesFor(type, clusterCount))
    throw bad(`a FAT of ${fatSectors} sectors cannot map ${clusterCount} clusters`, at + 0x16, {
      expected: fatBytesFor(type, clusterCount),
      actual: fatBytes,
    });
  let mirroringDisabled = false;
  let activeFat = 0;
  let rootCluster = 0;
  let fsInfoSector = 0;
  let backupBootSector = 0;
  if (type === 'fat32') {
    const extFlags = v.u16le(0x28);
    mirroringDisabled = (extFlags & 0x80) !== 0;
    activeFat = mirroringDisabled ? extFlags & 0x0f : 0;
    if (activeFat >= fats) throw bad(`active FAT ${activeFat} of ${fats} copies`, at + 0x28);
    rootCluster = v.u32le(0x2c);
    if (rootCluster < 2 || rootCluster > clusterCount + 1)
      throw bad(`root directory cluster ${rootCluster} is outside 2..${clusterCount + 1}`, at + 0x2c);
    const fsi = v.u16le(0x30);
    // 0 and 0xFFFF both mean "no FSInfo"; it must lie in the reserved region.
    fsInfoSector = fsi === 0xffff || fsi >= reserved ? 0 : fsi;
    const bk = v.u16le(0x32);
    backupBootSector = bk === 0xffff || bk >= reserved ? 0 : bk;
  }
  // Extended BPB: FAT32 at 0x40, FAT12/16 at 0x24 (drive number, reserved, signature 0x29, serial, label, type).
  const ext = type === 'fat32' ? 0x40 : 0x24;
  const hasExt = v.u8(ext + 2) === 0x29;
  const label = hasExt ? decodeOem(v.slice(ext + 7, 11), 437).replace(/[\0 ]+$/, '') : '';
  const typeString = hasExt ? v.ascii(ext + 0x12, 8).replace(/[\0 ]+$/, '') : '';
  const serial = hasExt ? v.u32le(ext + 3) : 0;
  return {
    oemName: v.ascii(0x03, 8).replace(/[\0 ]+$/, ''),
    bytesPerSector: bps,
    sectorsPerCluster: spc,
    clusterSize: bps * spc,
    reservedSectors: reserved,
    fatCount: fats,
    rootEntryCount: rootEntries,
    totalSectors,
    media: v.u8(0x15),
    fatSectors,
    hiddenSectors: v.u32le(0x1c),
    mirroringDisabled,
    activeFat,
    rootCluster,
    fsInfoSector,
    backupBootSector,
    type,
    typeString: typeString || null,
    clusterCount,
    fatOffset: reserved * bps,
    fatBytes,
    rootDirOffset: (reserved + fats * fatSectors) * bps,
    rootDirSize: rootDirSectors * bps,
    dataOffset: dataSector * bps,
    bpbLabel: label && label !== 'NO NAME' ? label : null,
    serial: hasExt
      ? `${(serial >>> 16).toString(16).padStart(4, '0')}-${(serial & 0xffff).toString(16).padStart(4, '0')}`.toUpperCase()
      : null,
  };
}

/**
 * The extended BPB's flags byte (FAT12/16 0x25, FAT32 0x41; "reserved" in fatgen103, used by Windows NT): bit 0 set =
 * the volume was not unmounted cleanly and chkdsk should run (fsck.fat reports it as "Dirty bit is set"). False when
 * the boot sector has no extended BPB (signature 0x28 or 0x29), where the byte means nothing.
 */
export function bootSectorDirty(v: ByteView, type: FatType): boolean {
  const ext = type === 'fat32' ? 0x40 : 0x24;
  const sig = v.u8(ext + 2);
  return (sig === 0x29 || sig === 0x28) && (v.u8(ext + 1) & 0x01) !== 0;
}
