// NTFS boot sector (volume sector 0). Layout: docs/ntfs.md §1; boot code: docs/boot-sectors.md §4.1.
import { BootprobeError, hex } from '../../errors.js';
import type { ByteView } from '../../io/index.js';
import { isPowerOfTwo } from '../../io/units.js';

export const NTFS_OEM_ID = 'NTFS    ';
/** §1 0x0B: 512 or 4096 in practice; the Rust ntfs crate accepts 512..4096 (ntfs-3g 256..4096). */
export const MIN_SECTOR_SIZE = 512;
export const MAX_SECTOR_SIZE = 4096;
/** Cluster sizes Windows and mkntfs format: 512 B .. 2 MiB (§1; mkntfs 0xF4 with 512-byte sectors = 2 MiB). */
export const MIN_CLUSTER_SIZE = 512;
export const MAX_CLUSTER_SIZE = 2 * 1024 * 1024;
/** MFT records are 1 KiB or 4 KiB (§2); the Rust ntfs crate bounds the exponent to 10..12 to cap buffers. */
export const MIN_RECORD_SIZE = 1024;
export const MAX_RECORD_SIZE = 4096;
/** Index records: 4 KiB on every volume seen (§1 0x44); allow 512 B..64 KiB so a lying byte cannot allocate much. */
export const MIN_INDEX_RECORD_SIZE = 512;
export const MAX_INDEX_RECORD_SIZE = 65536;

export interface NtfsBootSector {
  readonly bytesPerSector: number;
  readonly sectorsPerCluster: number;
  readonly clusterSize: number;
  /** 0x1C: partition start LBA as the boot code uses it. */
  readonly hiddenSectors: number;
  /** 0x28: sectors in the volume (the backup boot sector is the sector at this index). */
  readonly totalSectors: number;
  readonly mftLcn: number;
  readonly mftMirrLcn: number;
  /** Bytes per MFT record. */
  readonly recordSize: number;
  /** Bytes per index record ("INDX"). */
  readonly indexRecordSize: number;
  /** 0x48 as 16 hex digits. */
  readonly serialNumber: string;
}

function bad(msg: string, at: number): BootprobeError {
  return new BootprobeError('NTFS_BOOT_SECTOR', msg, {
    offset: at,
    structure: 'ntfs.boot_sector',
    hint: 'the volume is not NTFS or its boot sector is damaged',
  });
}

/** §1 0x40/0x44: as a signed byte, ≥ 1 = that many clusters, < 0 = 2^-value bytes. */
export function decodeClustersPerRecord(raw: number, clusterSize: number): number {
  const s = raw > 127 ? raw - 256 : raw;
  if (s === 0) return 0;
  return s > 0 ? s * clusterSize : s >= -31 ? 2 ** -s : 0;
}

/** §1 0x0D: 1..0x80 taken literally, above 0x80 a negative exponent (0xF8 → 256 sectors). */
export function decodeSectorsPerCluster(raw: number): number {
  return raw <= 0x80 ? raw : 2 ** (256 - raw);
}

export function decodeNtfsBootSector(v: ByteView): NtfsBootSector {
  if (v.ascii(3, 8) !== NTFS_OEM_ID) throw bad(`no "NTFS" OEM id at ${hex(v.base + 3)}`, v.base + 3);
  if (v.u16le(0x1fe) !== 0xaa55) throw bad(`no 55 AA signature at ${hex(v.base + 0x1fe)}`, v.base + 0x1fe);
  const bps = v.u16le(0x0b);
  if (bps < MIN_SECTOR_SIZE || bps > MAX_SECTOR_SIZE || !isPowerOfTwo(bps))
    throw bad(`bytes per sector ${bps} is not a power of two from 512 to 4096`, v.base + 0x0b);
  const spc = decodeSectorsPerCluster(v.u8(0x0d));
  const clusterSize = spc * bps;
  if (spc === 0 || clusterSize < MIN_CLUSTER_SIZE || clusterSize > MAX_CLUSTER_SIZE)
    throw bad(`cluster size ${clusterSize} is outside 512 bytes..2 MiB`, v.base + 0x0d);
  const recordSize = decodeClustersPerRecord(v.u8(0x40), clusterSize);
  if (recordSize < MIN_RECORD_SIZE || recordSize > MAX_RECORD_SIZE || !isPowerOfTwo(recordSize))
    throw bad(`MFT record size ${recordSize} is not 1024, 2048 or 4096 bytes`, v.base + 0x40);
  const indexRecordSize = decodeClustersPerRecord(v.u8(0x44), clusterSize);
  if (
    indexRecordSize < MIN_INDEX_RECORD_SIZE ||
    indexRecordSize > MAX_INDEX_RECORD_SIZE ||
    !isPowerOfTwo(indexRecordSize)
  )
    throw bad(
      `index record size ${indexRecordSize} is not a power of two from 512 bytes to 64 KiB`,
      v.base + 0x44,
    );
  const totalSectors = v.u64leNum(0x28, 'total sectors', 'NTFS_BOOT_SECTOR');
  const mftLcn = v.u64leNum(0x30, '$MFT cluster', 'NTFS_BOOT_SECTOR');
  const clusters = Math.floor(totalSectors / spc);
  if (totalSectors === 0 || mftLcn === 0 || mftLcn >= clusters)
    throw bad(`$MFT cluster ${mftLcn} lies outside the ${clusters}-cluster volume`, v.base + 0x30);
  return {
    bytesPerSector: bps,
    sectorsPerCluster: spc,
    clusterSize,
    hiddenSectors: v.u32le(0x1c),
    totalSectors,
    mftLcn,
    mftMirrLcn: v.u64leNum(0x38, '$MFTMirr cluster', 'NTFS_BOOT_SECTOR'),
    recordSize,
    indexRecordSize,
    serialNumber: v.u64le(0x48).toString(16).padStart(16, '0'),
  };
}
