// MFT records and index records: update-sequence fixups (docs/ntfs.md §2.1) and the FILE record header (§2).
import { BootprobeError, hex } from '../../errors.js';
import { ByteView } from '../../io/index.js';

const STRIDE = 512;

/**
 * Checks and applies the update sequence of a multi-sector structure in place (§2.1 "Read"). `buf` is a private copy.
 * Throws NTFS_BAD_FIXUP (torn write or corruption) without modifying anything when a check fails.
 */
export function applyFixups(buf: Uint8Array, magic: string, base: number): void {
  const v = new ByteView(buf, base, `NTFS ${magic} record`);
  if (v.ascii(0, 4) !== magic) {
    throw new BootprobeError(
      'NTFS_RECORD',
      `no "${magic}" signature at ${hex(base)} (found "${v.ascii(0, 4).replace(/[^ -~]/g, '.')}")`,
      {
        offset: base,
        structure: `ntfs.${magic.toLowerCase()}`,
        hint: 'the MFT or index is damaged',
      },
    );
  }
  const usaOfs = v.u16le(4);
  const usaCount = v.u16le(6);
  if (
    buf.length % STRIDE !== 0 ||
    usaOfs % 2 !== 0 ||
    usaCount !== buf.length / STRIDE + 1 ||
    usaOfs + 2 * usaCount > 510
  ) {
    throw new BootprobeError(
      'NTFS_BAD_FIXUP',
      `${magic} record at ${hex(base)}: update sequence array (offset ${usaOfs}, count ${usaCount}) does not fit a ${buf.length}-byte record`,
      {
        offset: base + 4,
        structure: `ntfs.${magic.toLowerCase()}`,
        hint: 'the record is damaged; run chkdsk on the volume',
      },
    );
  }
  const usn = v.u16le(usaOfs);
  for (let i = 1; i < usaCount; i++) {
    if (v.u16le(i * STRIDE - 2) !== usn) {
      throw new BootprobeError(
        'NTFS_BAD_FIXUP',
        `${magic} record at ${hex(base)}: sector ${i - 1} was not written with the rest (update sequence mismatch)`,
        {
          offset: base + i * STRIDE - 2,
          structure: `ntfs.${magic.toLowerCase()}`,
          hint: 'a torn write; run chkdsk on the volume',
        },
      );
    }
  }
  for (let i = 1; i < usaCount; i++) {
    buf[i * STRIDE - 2] = buf[usaOfs + 2 * i]!;
    buf[i * STRIDE - 1] = buf[usaOfs + 2 * i + 1]!;
  }
}

export interface MftRecordHeader {
  sequence: number;
  linkCount: number;
  firstAttribute: number;
  /** 0x01 in use, 0x02 directory. */
  flags: number;
  usedSize: number;
  /** Base record number for an extension record; 0 for a base record. */
  baseRecord: number;
  baseSequence: number;
}

export function decodeMftRecordHeader(v: ByteView): MftRecordHeader {
  const baseRef = v.u64le(0x20);
  const h: MftRecordHeader = {
    sequence: v.u16le(0x10),
    linkCount: v.u16le(0x12),
    firstAttribute: v.u16le(0x14),
    flags: v.u16le(0x16),
    usedSize: v.u32le(0x18),
    baseRecord: Number(baseRef & 0xffffffffffffn),
    baseSequence: Number(baseRef >> 48n),
  };
  if (h.usedSize > v.length || h.firstAttribute < 0x2a || h.firstAttribute >= h.usedSize) {
    throw new BootprobeError(
      'NTFS_RECORD',
      `MFT record at ${hex(v.base)}: first attribute ${h.firstAttribute} / used size ${h.usedSize} do not fit its ${v.length} bytes`,
      {
        offset: v.base + 0x14,
        structure: 'ntfs.file',
        hint: 'the MFT is damaged',
      },
    );
  }
  return h;
}

/** A file reference: low 48 bits record number, high 16 bits sequence (§2). */
export function splitReference(ref: bigint): { record: number; sequence: number } {
  return { record: Number(ref & 0xffffffffffffn), sequence: Number(ref >> 48n) };
}
