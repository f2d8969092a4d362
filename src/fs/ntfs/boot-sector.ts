// NTFS boot sector (volume sector 0). Layout: docs/ntfs.md §1.
import { BootprobeError, hex } from '../../errors.js';
import type { ByteView } from '../../io/index.js';

export interface NtfsBootSector {
  bytesPerSector: number;
  clusterSize: number;
  totalSectors: number;
  mftLcn: number;
  mftMirrLcn: number;
  /** Bytes per MFT record (1024 or 4096 in practice). */
  recordSize: number;
  /** Bytes per index record ("INDX"). */
  indexRecordSize: number;
  serialNumber: string;
}

function bad(msg: string, at: number): BootprobeError {
  return new BootprobeError('NTFS_BOOT_SECTOR', msg, {
    offset: at,
    structure: 'ntfs.boot_sector',
    hint: 'the volume is not NTFS or is damaged',
  });
}

/** §1 0x40/0x44: ≥ 1 = clusters, < 0 (as a signed byte) = 2^-value bytes. */
function sizeField(v: number, clusterSize: number): number {
  const s = v > 127 ? v - 256 : v;
  return s > 0 ? s * clusterSize : 2 ** -s;
}

export function decodeNtfsBootSector(v: ByteView): NtfsBootSector {
  if (v.ascii(3, 8) !== 'NTFS    ') throw bad(`no "NTFS" OEM id at ${hex(v.base + 3)}`, v.base + 3);
  const bps = v.u16le(0x0b);
  // ntfs-3g accepts 256..4096; the Rust ntfs crate 512..4096 (§1). Powers of two only.
  if (bps < 256 || bps > 4096 || (bps & (bps - 1)) !== 0)
    throw bad(`NTFS bytes per sector ${bps} is not a power of two from 256 to 4096`, v.base + 0x0b);
  const spcRaw = v.u8(0x0d);
  const spc = spcRaw <= 0x80 ? spcRaw : 2 ** (256 - spcRaw);
  const clusterSize = spc * bps;
  // Cluster sizes from 256 B to 2 MiB (§1; Windows formats up to 2 MiB).
  if (spc === 0 || clusterSize > 2 * 1024 * 1024)
    throw bad(`NTFS cluster size ${clusterSize} is outside 1 sector..2 MiB`, v.base + 0x0d);
  const recordSize = sizeField(v.u8(0x40), clusterSize);
  const indexRecordSize = sizeField(v.u8(0x44), clusterSize);
  // MFT records of 1 KiB or 4 KiB are all that exist; allow 256 B..64 KiB and refuse the rest (no huge buffers).
  if (recordSize < 256 || recordSize > 65536 || (recordSize & (recordSize - 1)) !== 0) {
    throw bad(
      `NTFS MFT record size ${recordSize} is not a power of two from 256 bytes to 64 KiB`,
      v.base + 0x40,
    );
  }
  if (indexRecordSize < 256 || indexRecordSize > 65536 || (indexRecordSize & (indexRecordSize - 1)) !== 0) {
    throw bad(
      `NTFS index record size ${indexRecordSize} is not a power of two from 256 bytes to 64 KiB`,
      v.base + 0x44,
    );
  }
  return {
    bytesPerSector: bps,
    clusterSize,
    totalSectors: v.u64leNum(0x28, 'total sectors', 'NTFS_BOOT_SECTOR'),
    mftLcn: v.u64leNum(0x30, '$MFT cluster', 'NTFS_BOOT_SECTOR'),
    mftMirrLcn: v.u64leNum(0x38, '$MFTMirr cluster', 'NTFS_BOOT_SECTOR'),
    recordSize,
    indexRecordSize,
    serialNumber: v.u64le(0x48).toString(16).padStart(16, '0'),
  };
}
