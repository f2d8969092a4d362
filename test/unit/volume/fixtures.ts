// Shared by the volume unit tests: the fixtures made by scripts/fixtures/volume.sh, their sfdisk --json answers
// turned into our Partition shape, and byte surgery that keeps GPT CRCs valid so a test reaches the rule it names.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { crc32, MemoryDevice } from '../../../src/io/index.js';
import { FIXTURES } from '../../helpers/env.js';
import { gunzipFile } from '../../helpers/gunzip.js';

export const VOLUME_FIXTURES = path.join(FIXTURES, 'volume');

/** A fresh, writable copy of a fixture image in memory. */
export function fixtureBytes(name: string): Uint8Array {
  return gunzipFile(path.join(VOLUME_FIXTURES, `${name}.img.gz`)).slice();
}

export function fixtureDevice(name: string, sectorSize = 512): MemoryDevice {
  return new MemoryDevice(fixtureBytes(name), { sectorSize });
}

interface SfdiskPartition {
  node: string;
  start: number;
  size: number;
  type: string;
  uuid?: string;
  name?: string;
  bootable?: boolean;
}
export interface SfdiskTable {
  label: 'dos' | 'gpt';
  id: string;
  sectorsize: number;
  partitions: SfdiskPartition[];
}

export function sfdiskAnswer(name: string): SfdiskTable {
  return JSON.parse(readFileSync(path.join(VOLUME_FIXTURES, `${name}.sfdisk.json`), 'utf8')).partitiontable;
}

/** What our Partition fields must be, per sfdisk: index from the node name (…img5, …p2), bytes from sectors. */
export function expectedFromSfdisk(t: SfdiskTable) {
  return t.partitions.map((p) => ({
    index: Number(/(\d+)$/.exec(p.node)![1]),
    start: p.start * t.sectorsize,
    size: p.size * t.sectorsize,
    type: t.label === 'dos' ? `0x${p.type.padStart(2, '0')}` : p.type.toLowerCase(),
    active: p.bootable === true,
    guid: p.uuid?.toLowerCase() ?? null,
    name: t.label === 'gpt' ? (p.name ?? '') : null,
  }));
}

export const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint32(at, true);
export const setU32 = (b: Uint8Array, at: number, v: number) =>
  new DataView(b.buffer, b.byteOffset).setUint32(at, v >>> 0, true);
export const setU64 = (b: Uint8Array, at: number, v: bigint) =>
  new DataView(b.buffer, b.byteOffset).setBigUint64(at, v, true);

/** Recomputes the CRC32 of the GPT header at byte `at` (over its header-size bytes, CRC field zeroed: §2). */
export function fixHeaderCrc(b: Uint8Array, at: number): void {
  const size = u32(b, at + 0x0c);
  setU32(b, at + 0x10, 0);
  setU32(b, at + 0x10, crc32(b.subarray(at, at + size)));
}

/** Recomputes the entry-array CRC in the header at `at` from the array it points to, then the header CRC. */
export function fixEntriesCrc(b: Uint8Array, at: number, ss: number): void {
  const dv = new DataView(b.buffer, b.byteOffset);
  const lba = Number(dv.getBigUint64(at + 0x48, true));
  const len = u32(b, at + 0x50) * u32(b, at + 0x54);
  setU32(b, at + 0x58, crc32(b.subarray(lba * ss, lba * ss + len)));
  fixHeaderCrc(b, at);
}

/** Writes a 16-byte MBR/EBR entry at `at`. */
export function setEntry(
  b: Uint8Array,
  at: number,
  status: number,
  type: number,
  start: number,
  count: number,
) {
  b[at] = status;
  b[at + 4] = type;
  setU32(b, at + 8, start);
  setU32(b, at + 12, count);
}

/** A blank disk of `sectors` 512-byte sectors with an MBR: 55 AA and the given disk signature. */
export function blankMbrDisk(sectors: number, signature = 0x11223344): Uint8Array {
  const b = new Uint8Array(sectors * 512);
  setU32(b, 0x1b8, signature);
  b[0x1fe] = 0x55;
  b[0x1ff] = 0xaa;
  return b;
}

/** Marks the sector at `lba` as an EBR (55 AA). */
export function markEbr(b: Uint8Array, lba: number): void {
  b[lba * 512 + 0x1fe] = 0x55;
  b[lba * 512 + 0x1ff] = 0xaa;
}

/** XORs one byte with `mask` (a corruption that is never a no-op). */
export function flip(b: Uint8Array, at: number, mask = 1): void {
  b[at] = (b[at] ?? 0) ^ mask;
}
