// VHDX file type identifier and the two headers. Layout: docs/vhd-vhdx.md §2.1 (file layout), §2.2 (header and the
// procedure for choosing the current one). All integers little-endian.
import { BootprobeError, type Finding, hex } from '../../errors.js';
import { type BlockDevice, ByteView, bytesEqual, crc32cWithZeroField, isAllZero } from '../../io/index.js';

const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

export const VHDX_SIGNATURE = 'vhdxfile';
export const HEADER_OFFSETS = [64 * 1024, 128 * 1024] as const;
export const HEADER_SIZE = 4096;

export interface VhdxHeader {
  /** Which slot (1 or 2) and where. */
  slot: 1 | 2;
  offset: number;
  checksum: number;
  sequenceNumber: bigint;
  fileWriteGuid: string;
  dataWriteGuid: string;
  logGuid: string;
  logGuidBytes: Uint8Array;
  logVersion: number;
  version: number;
  logLength: number;
  logOffset: number;
  raw: Uint8Array;
}

/** The creator string of the file type identifier (UTF-16LE at offset 8, 512 bytes; §2.1). */
export function decodeCreator(v: ByteView): string {
  return v.utf16le(8, 512, true);
}

/** Decodes a header slot; null when the signature or CRC-32C is wrong (§2.2 step 1). */
export function decodeVhdxHeader(v: ByteView, slot: 1 | 2): VhdxHeader | null {
  v.need(0, HEADER_SIZE, 'VHDX header');
  if (v.ascii(0, 4) !== 'head') return null;
  const raw = v.slice(0, HEADER_SIZE);
  const checksum = v.u32le(4);
  if (crc32cWithZeroField(raw, 4) !== checksum) return null;
  return {
    slot,
    offset: v.base,
    checksum,
    sequenceNumber: v.u64le(8),
    fileWriteGuid: v.guid(16),
    dataWriteGuid: v.guid(32),
    logGuid: v.guid(48),
    logGuidBytes: v.slice(48, 16).slice(),
    logVersion: v.u16le(64),
    version: v.u16le(66),
    logLength: v.u32le(68),
    logOffset: v.u64leNum(72, 'log offset', 'VHDX_HEADER'),
    raw: raw.slice(),
  };
}

/** True when the log GUID is all zeros: nothing to replay (§2.2 offset 48). */
export function hasLog(h: VhdxHeader): boolean {
  return !isAllZero(h.logGuidBytes);
}

/** Reads both headers and picks the current one (§2.2 "Choosing the current header"). */
export async function readCurrentHeader(dev: BlockDevice, findings: Finding[]): Promise<VhdxHeader> {
  const headers: (VhdxHeader | null)[] = [];
  for (const [i, at] of HEADER_OFFSETS.entries()) {
    if (at + HEADER_SIZE > dev.size) {
      headers.push(null);
      continue;
    }
    headers.push(
      decodeVhdxHeader(new ByteView(await dev.read(at, HEADER_SIZE), at, 'VHDX header'), (i + 1) as 1 | 2),
    );
  }
  const [h1, h2] = headers;
  let current: VhdxHeader;
  if (h1 && h2) {
    if (h1.sequenceNumber === h2.sequenceNumber) {
      // The spec calls equal sequence numbers corrupt; qemu accepts byte-identical pairs (Disk2VHD writes them).
      if (!bytesEqual(h1.raw, h2.raw)) {
        throw new BootprobeError(
          'VHDX_HEADER',
          `VHDX headers at ${hex(h1.offset)} and ${hex(h2.offset)} have the same sequence number ${h1.sequenceNumber} but differ`,
          {
            offset: h1.offset + 8,
            structure: 'vhdx.header',
            hint: 'the image is corrupt',
          },
        );
      }
      current = h1;
    } else current = h1.sequenceNumber > h2.sequenceNumber ? h1 : h2;
  } else if (h1 || h2) {
    current = (h1 ?? h2)!;
    const bad = h1 ? HEADER_OFFSETS[1] : HEADER_OFFSETS[0];
    findings.push({
      code: 'VHDX_HEADER_CRC',
      message: `VHDX header at ${hex(bad)} is invalid (signature or CRC-32C); the other header is used`,
      offset: bad,
    });
  } else {
    throw new BootprobeError(
      'VHDX_HEADER_CRC',
      `neither VHDX header (at ${hex(HEADER_OFFSETS[0])} and ${hex(HEADER_OFFSETS[1])}) has a valid signature and CRC-32C`,
      {
        offset: HEADER_OFFSETS[0],
        structure: 'vhdx.header',
        hint: 'the image is truncated or corrupt',
      },
    );
  }
  if (current.version !== 1) {
    throw new BootprobeError(
      'VHDX_HEADER',
      `VHDX header at ${hex(current.offset)}: version ${current.version}, only 1 is defined`,
      {
        offset: current.offset + 66,
        structure: 'vhdx.header',
        kind: 'unsupported',
        hint: 'this VHDX version is not supported',
      },
    );
  }
  if (hasLog(current) && current.logVersion !== 0) {
    throw new BootprobeError(
      'VHDX_LOG',
      `VHDX header at ${hex(current.offset)}: log version ${current.logVersion} is not 0`,
      {
        offset: current.offset + 64,
        structure: 'vhdx.header',
        kind: 'unsupported',
        hint: 'the log cannot be replayed by this version',
      },
    );
  }
  return current;
}

/** What a header holds (§2.2); signature, version 1, log version 0 and the CRC-32C are the encoder's. */
export interface VhdxHeaderFields {
  sequenceNumber: bigint;
  fileWriteGuid: Uint8Array;
  dataWriteGuid: Uint8Array;
  /** 16 zero bytes = no log to replay. */
  logGuid: Uint8Array;
  logLength: number;
  logOffset: number;
}

/** A 4 KiB header: "head", CRC-32C over the 4 KiB with the field zero, the fields, zeros to the end (§2.2). */
export function encodeVhdxHeader(h: VhdxHeaderFields): Uint8Array {
  const b = new Uint8Array(HEADER_SIZE);
  b.set([0x68, 0x65, 0x61, 0x64], 0); // "head"
  const v = dv(b);
  v.setBigUint64(8, h.sequenceNumber, true);
  b.set(h.fileWriteGuid.subarray(0, 16), 16);
  b.set(h.dataWriteGuid.subarray(0, 16), 32);
  b.set(h.logGuid.subarray(0, 16), 48);
  v.setUint16(64, 0, true);
  v.setUint16(66, 1, true);
  v.setUint32(68, h.logLength, true);
  v.setBigUint64(72, BigInt(h.logOffset), true);
  v.setUint32(4, crc32cWithZeroField(b, 4), true);
  return b;
}

/** Header fields that an update may change (§2.2 "Updating the headers" step 1). */
export interface VhdxHeaderChanges {
  fileWriteGuid?: Uint8Array;
  dataWriteGuid?: Uint8Array;
  logGuid?: Uint8Array;
}

/**
 * The two-slot header update (§2.2 "Updating the headers"): the current header with `changes` and sequence + 1 goes
 * over the non-current slot, flush; then again with sequence + 2 over the other slot, flush. At every moment one
 * slot holds a valid header, and the newest valid one is current. Returns the new current header.
 */
export async function updateVhdxHeaders(
  dev: BlockDevice,
  current: VhdxHeader,
  changes: VhdxHeaderChanges,
): Promise<VhdxHeader> {
  if (!dev.write)
    throw new BootprobeError('READ_ONLY', 'VHDX file is open read-only: its headers cannot change');
  const base = current.raw.slice();
  if (changes.fileWriteGuid) base.set(changes.fileWriteGuid.subarray(0, 16), 16);
  if (changes.dataWriteGuid) base.set(changes.dataWriteGuid.subarray(0, 16), 32);
  if (changes.logGuid) base.set(changes.logGuid.subarray(0, 16), 48);
  let last: VhdxHeader | null = null;
  const slots: (1 | 2)[] = current.slot === 1 ? [2, 1] : [1, 2];
  for (const [i, slot] of slots.entries()) {
    const b = base.slice();
    dv(b).setBigUint64(8, current.sequenceNumber + BigInt(i + 1), true);
    dv(b).setUint32(4, 0, true);
    dv(b).setUint32(4, crc32cWithZeroField(b, 4), true);
    const at = HEADER_OFFSETS[slot - 1]!;
    await dev.write(at, b);
    await dev.flush?.();
    last = decodeVhdxHeader(new ByteView(b, at, 'VHDX header'), slot);
  }
  return last!;
}
