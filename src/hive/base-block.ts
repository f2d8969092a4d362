// Layout: docs/regf.md §2 (base block). The checksum covers bytes 0..507 only; dirty detection is §2 "Opening a
// hive". Used for primaries and, with file type 1/2/6, for the 512-byte base-block copies at the start of logs.
import { BootprobeError, hex } from '../errors.js';
import { ByteView } from '../io/index.js';

export const BASE_BLOCK_SIZE = 4096;
/** Logs copy only the first sector of the base block (regf.md §7.1, §7.2). */
export const BASE_BLOCK_COPY_SIZE = 512;
export const REGF_SIGNATURE = 'regf';
/** Offset of the checksum; it is the XOR of the 127 u32 words before it (regf.md §2). */
export const CHECKSUM_OFFSET = 508;

/** File type field (regf.md §2 offset 28). */
export const HIVE_FILE_TYPE = {
  PRIMARY: 0,
  LOG_OLD: 1,
  LOG_OLD_NT: 2,
  LOG_NEW: 6,
} as const;

export interface BaseBlock {
  readonly signature: string;
  readonly primarySequence: number;
  readonly secondarySequence: number;
  /** FILETIME as stored (old-format log replay matches on it, regf.md §7.1). */
  readonly lastWrittenRaw: bigint;
  readonly lastWritten: Date | null;
  readonly majorVersion: number;
  readonly minorVersion: number;
  readonly fileType: number;
  readonly fileFormat: number;
  /** Cell offset of the root nk. */
  readonly rootCellOffset: number;
  /** Sum of the hbin sizes. */
  readonly hiveBinsDataSize: number;
  readonly clusteringFactor: number;
  /** UTF-16LE tail of the path the hive was last saved as (debug only), up to the first NUL. */
  readonly fileName: string;
  /** Offset 144; bit 0x1 = KTM locked. Meaningful only when "rmtm" sits at 164 (regf.md §2). */
  readonly flags: number;
  readonly checksum: number;
  readonly computedChecksum: number;
  readonly checksumValid: boolean;
  /** The first 512 bytes as found (a writer starts from them). */
  readonly raw: Uint8Array;
}

/** XOR of the u32 words at 0..507, with 0xFFFFFFFF → 0xFFFFFFFE and 0 → 1 (regf.md §2 "Checksum"). */
export function regfChecksum(bytes: Uint8Array): number {
  const v = new ByteView(bytes, 0, 'regf.base-block');
  let x = 0;
  for (let i = 0; i < CHECKSUM_OFFSET; i += 4) x = (x ^ v.u32le(i)) >>> 0;
  if (x === 0xffffffff) return 0xfffffffe;
  if (x === 0) return 1;
  return x;
}

/** FILETIME (100 ns since 1601) → Date; null for 0 or a value outside what Date can hold. */
export function filetimeToDate(ft: bigint): Date | null {
  if (ft === 0n) return null;
  const ms = Number(ft / 10000n) - 11644473600000;
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? null : d;
}

/**
 * Decodes the first 512 bytes of a base block. Throws HIVE_BASE_BLOCK only when the signature is not "regf";
 * field plausibility is checked by the caller (a log and a primary need different things).
 */
export function decodeBaseBlock(view: ByteView): BaseBlock {
  view.need(0, BASE_BLOCK_COPY_SIZE, 'regf base block');
  const signature = view.ascii(0, 4);
  if (signature !== REGF_SIGNATURE) {
    throw new BootprobeError(
      'HIVE_BASE_BLOCK',
      `registry base block at ${hex(view.base)}: signature "${printable(signature)}", expected "regf"`,
      {
        offset: view.base,
        structure: 'regf.base-block',
        hint: 'this is not a registry hive (or its first sector is damaged)',
      },
    );
  }
  const raw = view.slice(0, BASE_BLOCK_COPY_SIZE);
  const checksum = view.u32le(CHECKSUM_OFFSET);
  const computedChecksum = regfChecksum(raw);
  const lastWrittenRaw = view.u64le(12);
  return {
    signature,
    primarySequence: view.u32le(4),
    secondarySequence: view.u32le(8),
    lastWrittenRaw,
    lastWritten: filetimeToDate(lastWrittenRaw),
    majorVersion: view.u32le(20),
    minorVersion: view.u32le(24),
    fileType: view.u32le(28),
    fileFormat: view.u32le(32),
    rootCellOffset: view.u32le(36),
    hiveBinsDataSize: view.u32le(40),
    clusteringFactor: view.u32le(44),
    fileName: view.utf16le(48, 64, true),
    flags: view.u32le(144),
    checksum,
    computedChecksum,
    checksumValid: checksum === computedChecksum,
    raw,
  };
}

/** Valid ⇔ signature "regf" and checksum right (regf.md §2 procedure step 1); never throws. */
export function tryDecodeBaseBlock(bytes: Uint8Array, base = 0): BaseBlock | null {
  if (bytes.length < BASE_BLOCK_COPY_SIZE) return null;
  try {
    return decodeBaseBlock(new ByteView(bytes.subarray(0, BASE_BLOCK_COPY_SIZE), base, 'regf.base-block'));
  } catch {
    return null;
  }
}

/** Writes sequence numbers, file type and a fresh checksum into a base block in place. */
export function patchBaseBlock(
  bytes: Uint8Array,
  fields: {
    primarySequence?: number;
    secondarySequence?: number;
    fileType?: number;
    hiveBinsDataSize?: number;
  },
): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, BASE_BLOCK_COPY_SIZE);
  if (fields.primarySequence !== undefined) dv.setUint32(4, fields.primarySequence >>> 0, true);
  if (fields.secondarySequence !== undefined) dv.setUint32(8, fields.secondarySequence >>> 0, true);
  if (fields.fileType !== undefined) dv.setUint32(28, fields.fileType, true);
  if (fields.hiveBinsDataSize !== undefined) dv.setUint32(40, fields.hiveBinsDataSize, true);
  dv.setUint32(CHECKSUM_OFFSET, regfChecksum(bytes.subarray(0, BASE_BLOCK_COPY_SIZE)), true);
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '.');
}
