// VHDX region table: where the BAT and the metadata live. Layout: docs/vhd-vhdx.md §2.3.
import { BootprobeError, type Finding, hex } from '../../errors.js';
import { type BlockDevice, ByteView, crc32cWithZeroField, parseGuid } from '../../io/index.js';

export const REGION_TABLE_OFFSETS = [192 * 1024, 256 * 1024] as const;
export const REGION_TABLE_SIZE = 64 * 1024;
/** §2.3: at most 2047 entries fit after the 16-byte header. */
const MAX_ENTRIES = 2047;
const MiB = 1024 * 1024;

export const REGION = {
  BAT: '2dc27766-f623-4200-9d64-115e9bfd4a08',
  METADATA: '8b7ca206-4790-4b9a-b8fe-575f050f886e',
} as const;

export interface RegionEntry {
  guid: string;
  fileOffset: number;
  length: number;
  required: boolean;
}

export interface RegionTable {
  offset: number;
  entries: RegionEntry[];
}

/** Decodes a region table; null when signature, CRC or count is wrong. */
export function decodeRegionTable(v: ByteView): RegionTable | null {
  v.need(0, REGION_TABLE_SIZE, 'VHDX region table');
  if (v.ascii(0, 4) !== 'regi') return null;
  if (crc32cWithZeroField(v.slice(0, REGION_TABLE_SIZE), 4) !== v.u32le(4)) return null;
  const count = v.u32le(8);
  if (count > MAX_ENTRIES) return null;
  const entries: RegionEntry[] = [];
  for (let i = 0; i < count; i++) {
    const at = 16 + 32 * i;
    entries.push({
      guid: v.guid(at),
      fileOffset: v.u64leNum(at + 16, 'region file offset', 'VHDX_REGION_TABLE'),
      length: v.u32le(at + 24),
      required: (v.u32le(at + 28) & 1) === 1,
    });
  }
  return { offset: v.base, entries };
}

/**
 * Reads table 1, else table 2 (qemu reads only table 1; §2.3 [I]), and checks every region: 1 MiB aligned, at or
 * past 1 MiB, inside the file; an unknown region marked required is refused.
 */
export async function readRegionTable(
  dev: BlockDevice,
  findings: Finding[],
): Promise<Map<string, RegionEntry>> {
  let table: RegionTable | null = null;
  for (const at of REGION_TABLE_OFFSETS) {
    if (at + REGION_TABLE_SIZE > dev.size) continue;
    table = decodeRegionTable(new ByteView(await dev.read(at, REGION_TABLE_SIZE), at, 'VHDX region table'));
    if (table) break;
    findings.push({
      code: 'VHDX_REGION_TABLE',
      message: `VHDX region table at ${hex(at)} is invalid (signature, count or CRC-32C)`,
      offset: at,
    });
  }
  if (!table) {
    throw new BootprobeError(
      'VHDX_REGION_TABLE',
      `no valid VHDX region table at ${hex(REGION_TABLE_OFFSETS[0])} or ${hex(REGION_TABLE_OFFSETS[1])}`,
      {
        offset: REGION_TABLE_OFFSETS[0],
        structure: 'vhdx.region_table',
        hint: 'the image is truncated or corrupt',
      },
    );
  }
  const map = new Map<string, RegionEntry>();
  for (const [i, e] of table.entries.entries()) {
    const entryAt = table.offset + 16 + 32 * i;
    const known = e.guid === REGION.BAT || e.guid === REGION.METADATA;
    if (!known) {
      if (e.required) {
        throw new BootprobeError(
          'VHDX_REGION_TABLE',
          `VHDX region table at ${hex(table.offset)}: required region {${e.guid}} is unknown`,
          {
            offset: entryAt,
            structure: 'vhdx.region_table',
            kind: 'unsupported',
            hint: 'this VHDX uses a feature bootprobe does not know',
          },
        );
      }
      continue;
    }
    if (
      e.fileOffset < MiB ||
      e.fileOffset % MiB !== 0 ||
      e.length === 0 ||
      e.length % MiB !== 0 ||
      e.fileOffset + e.length > dev.size
    ) {
      throw new BootprobeError(
        'VHDX_REGION_TABLE',
        `VHDX region {${e.guid}} at ${hex(e.fileOffset)} (${e.length} bytes) is misaligned or outside the ${dev.size}-byte file`,
        {
          offset: entryAt,
          structure: 'vhdx.region_table',
          hint: 'the image is truncated or corrupt',
        },
      );
    }
    if (map.has(e.guid)) {
      throw new BootprobeError(
        'VHDX_REGION_TABLE',
        `VHDX region table at ${hex(table.offset)} lists region {${e.guid}} twice`,
        { offset: entryAt, structure: 'vhdx.region_table' },
      );
    }
    map.set(e.guid, e);
  }
  for (const [name, guid] of Object.entries(REGION)) {
    if (!map.has(guid)) {
      throw new BootprobeError(
        'VHDX_REGION_TABLE',
        `VHDX region table at ${hex(table.offset)} has no ${name} region`,
        {
          offset: table.offset,
          structure: 'vhdx.region_table',
          hint: 'the image is corrupt',
        },
      );
    }
  }
  return map;
}

/** A 64 KiB region table: "regi", CRC-32C over the 64 KiB, count, then 32-byte entries (§2.3). */
export function encodeRegionTable(entries: readonly RegionEntry[]): Uint8Array {
  if (entries.length > MAX_ENTRIES) throw new RangeError('too many VHDX regions');
  const b = new Uint8Array(REGION_TABLE_SIZE);
  const v = new DataView(b.buffer);
  b.set([0x72, 0x65, 0x67, 0x69], 0); // "regi"
  v.setUint32(8, entries.length, true);
  entries.forEach((e, i) => {
    const at = 16 + 32 * i;
    b.set(parseGuid(e.guid)!, at);
    v.setBigUint64(at + 16, BigInt(e.fileOffset), true);
    v.setUint32(at + 24, e.length, true);
    v.setUint32(at + 28, e.required ? 1 : 0, true);
  });
  v.setUint32(4, crc32cWithZeroField(b, 4), true);
  return b;
}
