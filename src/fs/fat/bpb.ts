// FAT boot sector / BIOS parameter block and the geometry derived from it (Microsoft FAT specification "fatgen103":
// BPB, FAT type determination; docs/boot-sectors.md §4.2).
import { BootprobeError, hex } from '../../errors.js';
import type { ByteView } from '../../io/index.js';

export type FatType = 'fat12' | 'fat16' | 'fat32';

export interface FatBpb {
  bytesPerSector: number;
  sectorsPerCluster: number;
  clusterSize: number;
  reservedSectors: number;
  fatCount: number;
  rootEntryCount: number;
  totalSectors: number;
  fatSectors: number;
  /** FAT32: first cluster of the root directory. */
  rootCluster: number;
  fsInfoSector: number;
  type: FatType;
  clusterCount: number;
  /** Byte offsets within the volume. */
  fatOffset: number;
  rootDirOffset: number;
  rootDirSize: number;
  dataOffset: number;
  /** Volume label and serial from the extended BPB (the root directory's label entry takes precedence). */
  bpbLabel: string | null;
  serial: string | null;
}

function bad(msg: string, at: number): BootprobeError {
  return new BootprobeError('FAT_BPB', msg, {
    offset: at,
    structure: 'fat.bpb',
    hint: 'the volume is not FAT or its boot sector is damaged',
  });
}
const pow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;

export function decodeFatBpb(v: ByteView, volumeSize: number): FatBpb {
  const bps = v.u16le(11);
  const spc = v.u8(13);
  const reserved = v.u16le(14);
  const fats = v.u8(16);
  const rootEntries = v.u16le(17);
  const total16 = v.u16le(19);
  const fat16 = v.u16le(22);
  const total32 = v.u32le(32);
  if (!pow2(bps) || bps < 512 || bps > 4096)
    throw bad(`FAT bytes per sector ${bps} is not 512..4096`, v.base + 11);
  if (!pow2(spc)) throw bad(`FAT sectors per cluster ${spc} is not a power of two`, v.base + 13);
  if (reserved < 1 || fats < 1 || fats > 4)
    throw bad(`FAT reserved sectors ${reserved} / FAT count ${fats} are invalid`, v.base + 14);
  const fatSectors = fat16 || v.u32le(36);
  const totalSectors = total16 || total32;
  if (fatSectors === 0 || totalSectors === 0) throw bad('FAT size or total sectors is 0', v.base + 19);
  const rootDirSectors = Math.ceil((rootEntries * 32) / bps);
  const dataSector = reserved + fats * fatSectors + rootDirSectors;
  if (dataSector >= totalSectors || totalSectors * bps > volumeSize + bps) {
    throw bad(
      `FAT layout (${totalSectors} sectors, data at sector ${dataSector}) does not fit the ${volumeSize}-byte volume`,
      v.base + 19,
    );
  }
  const clusterCount = Math.floor((totalSectors - dataSector) / spc);
  // fatgen103: the type is decided by the cluster count alone.
  const type: FatType = clusterCount < 4085 ? 'fat12' : clusterCount < 65525 ? 'fat16' : 'fat32';
  const fat32 = type === 'fat32';
  const fatBytesNeeded = fat32
    ? (clusterCount + 2) * 4
    : type === 'fat16'
      ? (clusterCount + 2) * 2
      : Math.ceil(((clusterCount + 2) * 3) / 2);
  if (fatSectors * bps < fatBytesNeeded)
    throw bad(`FAT of ${fatSectors} sectors cannot map ${clusterCount} clusters`, v.base + 22);
  const ext = fat32 ? 64 : 36; // extended BPB: drive number, reserved, signature 0x29, serial, label, fs type
  const hasExt = v.u8(ext + 2) === 0x29;
  const trimmed = hasExt ? v.ascii(ext + 7, 11).replace(/[\0 ]+$/, '') : '';
  return {
    bytesPerSector: bps,
    sectorsPerCluster: spc,
    clusterSize: bps * spc,
    reservedSectors: reserved,
    fatCount: fats,
    rootEntryCount: rootEntries,
    totalSectors,
    fatSectors,
    rootCluster: fat32 ? v.u32le(44) : 0,
    fsInfoSector: fat32 ? v.u16le(48) : 0,
    type,
    clusterCount,
    fatOffset: reserved * bps,
    rootDirOffset: (reserved + fats * fatSectors) * bps,
    rootDirSize: rootDirSectors * bps,
    dataOffset: dataSector * bps,
    bpbLabel: trimmed && trimmed !== 'NO NAME' ? trimmed : null,
    serial: hasExt
      ? hex(v.u32le(ext + 3))
          .slice(2)
          .padStart(8, '0')
          .replace(/^(.{4})/, '$1-')
      : null,
  };
}
