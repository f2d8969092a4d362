// The container, partition-table, file-system and hive subjects: real fixtures with where their structures lie
// (headers, tables, records, chains, cells) and the checksums a mutation breaks, recomputed half of the time.
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { crc32, crc32c } from '../../src/io/checksum.js';
import { FIXTURES } from '../helpers/env.js';
import { gunzipFile } from '../helpers/gunzip.js';
import { buildVhd, buildVhdx, pattern } from '../helpers/image-builder.js';
import * as vx from '../helpers/vhdx-builder.js';
import { fixNtfsRecords, le16, le32, type PatchedDevice, put32, scan } from './bytes.js';
import type { Subject } from './subject.js';

function fixCrc32c(dev: PatchedDevice, p: Map<number, number>, at: number, len: number): void {
  if (at + len > dev.size) return;
  const view = dev.materializeRange(at, len);
  view.fill(0, 4, 8);
  put32(p, at + 4, crc32c(view));
}

function vhdSum(bytes: Uint8Array, field: number): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i++) if (i < field || i >= field + 4) s = (s + bytes[i]!) >>> 0;
  return ~s >>> 0;
}

function fixVhd(dev: PatchedDevice, p: Map<number, number>): void {
  const size = dev.size;
  for (const [at, len, field] of [
    [0, 512, 64],
    [size - 512, 512, 64],
    [512, 1024, 36],
  ] as const) {
    if (at < 0 || at + len > size) continue;
    put32(p, at + field, vhdSum(dev.materializeRange(at, len), field), false);
  }
}

function fixVhdx(dev: PatchedDevice, p: Map<number, number>): void {
  for (const [at, len] of [
    [65536, 4096],
    [131072, 4096],
    [196608, 65536],
    [262144, 65536],
  ] as const)
    fixCrc32c(dev, p, at, len);
}

function fixGpt(dev: PatchedDevice, p: Map<number, number>): void {
  const h = dev.materializeRange(512, 92);
  const entries = dev.materializeRange(1024, 128 * 128);
  put32(p, 512 + 88, crc32(entries));
  const h2 = dev.materializeRange(512, 92);
  for (let i = 0; i < 4; i++) h2[88 + i] = p.get(512 + 88 + i) ?? h[88 + i]!;
  h2.fill(0, 16, 20);
  put32(p, 512 + 16, crc32(h2));
}

export function fixRegf(dev: PatchedDevice, p: Map<number, number>): void {
  const b = dev.materializeRange(0, 512);
  let x = 0;
  for (let i = 0; i < 508; i += 4) x ^= le32(b, i);
  if (x === 0xffffffff) x = 0xfffffffe;
  if (x === 0) x = 1;
  put32(p, 508, x);
}

function mbrDisk(inner: Uint8Array): Uint8Array {
  // MBR with one primary FAT partition and an extended chain of two logicals (the second logical holds the same FAT).
  const start = 2048;
  const sectors = inner.length / 512;
  const disk = new Uint8Array((start * 2 + sectors * 2 + 4096) * 512);
  const entry = (at: number, type: number, lba: number, count: number, active = false) => {
    disk[at] = active ? 0x80 : 0;
    disk[at + 4] = type;
    new DataView(disk.buffer).setUint32(at + 8, lba, true);
    new DataView(disk.buffer).setUint32(at + 12, count, true);
  };
  new DataView(disk.buffer).setUint32(0x1b8, 0xa9083c0a, true);
  entry(0x1be, 0x0e, start, sectors, true);
  const E = start + sectors;
  entry(0x1ce, 0x05, E, sectors + 4096);
  disk[510] = 0x55;
  disk[511] = 0xaa;
  const ebr1 = E * 512;
  entry(ebr1 + 0x1be, 0x0e, 2048, sectors);
  entry(ebr1 + 0x1ce, 0x05, 2048 + sectors, 2048);
  disk[ebr1 + 510] = 0x55;
  disk[ebr1 + 511] = 0xaa;
  const ebr2 = (E + 2048 + sectors) * 512;
  entry(ebr2 + 0x1be, 0x83, 1, 1024);
  disk[ebr2 + 510] = 0x55;
  disk[ebr2 + 511] = 0xaa;
  disk.set(inner, start * 512);
  disk.set(inner, (E + 2048) * 512);
  return disk;
}

function gptDisk(inner: Uint8Array): Uint8Array {
  const sectors = inner.length / 512;
  const total = 2048 + sectors + 2048;
  const disk = new Uint8Array(total * 512);
  const dv = new DataView(disk.buffer);
  disk[0x1be + 4] = 0xee;
  dv.setUint32(0x1be + 8, 1, true);
  dv.setUint32(0x1be + 12, total - 1, true);
  disk[510] = 0x55;
  disk[511] = 0xaa;
  const writeHeader = (at: number, my: number, alt: number, entriesLba: number) => {
    disk.set(
      [...'EFI PART'].map((c) => c.charCodeAt(0)),
      at,
    );
    dv.setUint32(at + 8, 0x00010000, true);
    dv.setUint32(at + 12, 92, true);
    dv.setBigUint64(at + 24, BigInt(my), true);
    dv.setBigUint64(at + 32, BigInt(alt), true);
    dv.setBigUint64(at + 40, 34n, true);
    dv.setBigUint64(at + 48, BigInt(total - 34), true);
    disk.set(
      Uint8Array.from({ length: 16 }, (_, i) => i * 17),
      at + 56,
    );
    dv.setBigUint64(at + 72, BigInt(entriesLba), true);
    dv.setUint32(at + 80, 128, true);
    dv.setUint32(at + 84, 128, true);
    dv.setUint32(at + 88, crc32(disk.subarray(entriesLba * 512, entriesLba * 512 + 128 * 128)), true);
    dv.setUint32(at + 16, crc32(disk.subarray(at, at + 92)), true);
  };
  const e = 1024;
  disk.set(
    [0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b],
    e,
  );
  disk.set(
    Uint8Array.from({ length: 16 }, (_, i) => 200 - i),
    e + 16,
  );
  dv.setBigUint64(e + 32, 2048n, true);
  dv.setBigUint64(e + 40, BigInt(2048 + sectors - 1), true);
  disk.set(inner, 2048 * 512);
  disk.set(disk.subarray(1024, 1024 + 128 * 128), (total - 33) * 512);
  writeHeader(512, 1, total - 1, 2);
  writeHeader((total - 1) * 512, total - 1, 1, total - 33);
  return disk;
}

/**
 * Runs a builder with node:crypto's randomBytes made deterministic (the builders draw GUIDs from it), so a seed gives
 * the same cases in every process and a regression input can be found again by its seed.
 */
function deterministic<T>(build: () => T): T {
  const original = crypto.randomBytes;
  let counter = 0;
  (crypto as { randomBytes: unknown }).randomBytes = (n: number) =>
    Buffer.from(
      Array.from({ length: n }, (_, i) => (counter * 31 + i * 7 + 1) & 0xff).map(
        (x) => x ^ (counter++ % 251),
      ),
    );
  syncBuiltinESMExports();
  try {
    return build();
  } finally {
    (crypto as { randomBytes: unknown }).randomBytes = original;
    syncBuiltinESMExports();
  }
}

/** The image and hive fixtures fuzzed, with where their structures are. */
export function imageSubjects(): Subject[] {
  return deterministic(buildImageSubjects);
}

function buildImageSubjects(): Subject[] {
  const img = (n: string) => gunzipFile(path.join(FIXTURES, 'images', `${n}.gz`));
  const fsimg = (n: string) => gunzipFile(path.join(FIXTURES, 'fs', `${n}.img.gz`));
  const out: Subject[] = [];
  const vhd = img('vpc-dynamic.vhd');
  out.push({
    name: 'vhd-dynamic',
    format: 'vhd',
    kind: 'image',
    bytes: vhd,
    hot: [
      { at: 0, len: 2048 },
      { at: vhd.length - 512, len: 512 },
    ],
    cuts: [0, 511, 512, 1024, 1536, 2048, vhd.length - 512, vhd.length - 1],
    fix: fixVhd,
  });
  const base = buildVhd({ size: 4 << 20, writes: [pattern(0, 8192, 1)] });
  const child = buildVhd({
    size: 4 << 20,
    writes: [pattern(4096, 1024, 2)],
    parent: { uniqueId: base.uniqueId, name: 'base.vhd', locators: [{ code: 'W2ru', path: '.\\base.vhd' }] },
  });
  out.push({
    name: 'vhd-differencing',
    format: 'vhd',
    kind: 'image',
    bytes: child.bytes,
    hot: [
      { at: 0, len: 4096 },
      { at: child.bytes.length - 512, len: 512 },
    ],
    cuts: [512, 1536, 2048, child.bytes.length - 512],
    fix: fixVhd,
    files: { 'base.vhd': base.bytes },
  });
  const vhdx = img('vhdx-dynamic-1m.vhdx');
  out.push({
    name: 'vhdx-dynamic',
    format: 'vhdx',
    kind: 'image',
    bytes: vhdx,
    hot: [
      { at: 0, len: 520 },
      { at: 65536, len: 128 },
      { at: 131072, len: 128 },
      { at: 196608, len: 128 },
      { at: 262144, len: 128 },
      { at: 1 << 20, len: 8192 },
      { at: 2 << 20, len: 256 },
      { at: 3 << 20, len: 512 },
      { at: (3 << 20) + 65536, len: 256 },
    ],
    cuts: [0, 65536, 131072, 196608, 262144, 1 << 20, 2 << 20, 3 << 20, (3 << 20) + 65536, vhdx.length - 1],
    fix: fixVhdx,
  });
  const xb = buildVhdx({ size: 4 << 20, writes: [pattern(0, 8192, 1)] });
  const xc = buildVhdx({
    size: 4 << 20,
    writes: [pattern(4096, 1024, 2)],
    parent: { dataWriteGuid: xb.dataWriteGuid, locators: { relative_path: '.\\base.vhdx' } },
  });
  out.push({
    name: 'vhdx-differencing',
    format: 'vhdx',
    kind: 'image',
    bytes: xc.bytes,
    hot: [
      { at: 65536, len: 128 },
      { at: 196608, len: 128 },
      { at: 2 << 20, len: 64 },
      { at: (2 << 20) | (4096 * 8), len: 16 },
      { at: 3 << 20, len: 256 },
      { at: (3 << 20) + 65536, len: 4096 * 6 },
    ],
    cuts: [1 << 20, 2 << 20, 3 << 20, xc.bytes.length - 1],
    fix: fixVhdx,
    files: { 'base.vhdx': xb.bytes },
  });
  const fat12 = fsimg('fat12');
  out.push({
    name: 'mbr-ebr-fat12',
    format: 'mbr',
    kind: 'image',
    bytes: mbrDisk(fat12),
    hot: [{ at: 0x1be, len: 66 }],
    cuts: [511, 512, 2048 * 512 + 512],
    fix: undefined,
  });
  const mbr = out[out.length - 1]!;
  const E = 2048 + fat12.length / 512;
  mbr.hot.push(
    { at: E * 512 + 0x1be, len: 34 },
    { at: (E + 2048 + fat12.length / 512) * 512 + 0x1be, len: 34 },
  );
  out.push({
    name: 'gpt-fat12',
    format: 'gpt',
    kind: 'image',
    bytes: gptDisk(fat12),
    hot: [
      { at: 512, len: 92 },
      { at: 1024, len: 256 },
    ],
    cuts: [512, 1024, 1024 + 16384],
    fix: fixGpt,
  });
  for (const n of ['fat12', 'fat16', 'fat32']) {
    const b = fsimg(n);
    const bps = le16(b, 11);
    const reserved = le16(b, 14);
    const fatSize = le16(b, 22) || le32(b, 36);
    const rootAt = (reserved + b[16]! * fatSize) * bps;
    out.push({
      name: n,
      format: 'fat',
      kind: 'image',
      bytes: b,
      hot: [
        { at: 0, len: 90 },
        { at: reserved * bps, len: 4096 },
        { at: rootAt, len: 8192 },
        { at: 512, len: 512 },
      ],
      cuts: [0, 512, reserved * bps, rootAt, rootAt + 512, b.length >> 1],
    });
  }
  const ntfs = fsimg('ntfs-4k');
  const cluster = le16(ntfs, 11) * (ntfs[13]! <= 0x80 ? ntfs[13]! : 2 ** (256 - ntfs[13]!));
  const mftAt = Number(new DataView(ntfs.buffer, ntfs.byteOffset).getBigUint64(0x30, true)) * cluster;
  const indx = scan(ntfs, 'INDX', 4096, 16);
  const ntfsRecords = ntfsRecordStarts(ntfs, mftAt, 4096 * 40, indx);
  out.push({
    name: 'ntfs-4k',
    format: 'ntfs',
    kind: 'image',
    bytes: ntfs,
    hot: [{ at: 0, len: 0x54 }, { at: mftAt, len: 4096 * 40 }, ...indx.map((at) => ({ at, len: 4096 }))],
    cuts: [0, 512, mftAt, mftAt + 4096 * 6, ntfs.length >> 1],
    fix: (dev, p) => fixNtfsRecords(dev, p, ntfsRecords, (at) => ntfsRecordSize(ntfs, at)),
  });
  const fixed = img('vpc-fixed.vhd');
  out.push({
    name: 'vhd-fixed',
    format: 'vhd',
    kind: 'image',
    bytes: fixed,
    hot: [{ at: fixed.length - 512, len: 512 }],
    cuts: [0, 512, fixed.length - 512, fixed.length - 511, fixed.length - 1],
    fix: fixVhd,
  });
  out.push(vhdxLogSubject());
  for (const n of ['types-v15.hiv']) {
    const b = new Uint8Array(readFileSync(path.join(FIXTURES, 'hive', n)));
    const bins = scan(b, 'hbin', 4096, 64);
    out.push({
      name: n,
      format: 'regf',
      kind: 'hive',
      bytes: b,
      hot: [{ at: 0, len: 512 }, ...bins.map((at) => ({ at, len: 4096 }))],
      cuts: [0, 512, 4096, 4096 + 32, b.length >> 1, b.length - 1],
      fix: fixRegf,
    });
  }
  return out;
}

/** FILE records (1 KiB-aligned) in [from, from+len) and the INDX blocks, sorted: where fixups apply. */
export function ntfsRecordStarts(
  b: Uint8Array,
  from: number,
  len: number,
  indx: readonly number[],
): number[] {
  const files = scan(b.subarray(from, from + len), 'FILE', 1024, 4096).map((at) => at + from);
  return [...files, ...indx].sort((x, y) => x - y);
}

/** A FILE record's allocated size (header +0x1C); an INDX block's node header end (+0x18 + allocated size). */
export function ntfsRecordSize(b: Uint8Array, at: number): number {
  return b[at] === 0x46 ? le32(b, at + 0x1c) : 0x18 + le32(b, at + 0x20);
}

/**
 * A dynamic VHDX whose log holds a pending sequence (vhd-vhdx.md §2.6): two entries, one carrying the up-to-date first
 * BAT sector (the on-disk BAT is stale: block 3 marked ZERO), one a zero descriptor and a metadata sector. Opening it
 * replays the log in memory; mutations aim at the entry headers, descriptors and data sectors, and the fixer
 * recomputes each entry's CRC-32C so they reach the replay itself.
 */
function vhdxLogSubject(): Subject {
  const MiB = 1 << 20;
  const SECTOR = 4096;
  const guid = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
  const v = vx.buildVhdx({
    size: 8 * MiB,
    writes: [vx.pattern(0, 4096, 1), vx.pattern(3 * MiB, 4096, 2)],
    logGuid: guid,
  });
  const { logAt, batAt, metaAt } = v.layout;
  const goodBat = v.bytes.slice(batAt, batAt + SECTOR);
  const stale = new DataView(v.bytes.buffer, v.bytes.byteOffset);
  stale.setBigUint64(vx.batEntryOffset(v, 3), vx.batEntry(0, 0), true);
  const entry = (seq: bigint, descriptors: vx.LogEntrySpec['descriptors']) =>
    vx.encodeLogEntry({
      sequenceNumber: seq,
      tail: 0,
      logGuid: guid,
      descriptors,
      flushedFileOffset: v.bytes.length,
      lastFileOffset: v.bytes.length,
    });
  const e1 = entry(10n, [{ kind: 'desc', fileOffset: batAt, sector: goodBat }]);
  const e2 = entry(11n, [
    { kind: 'zero', fileOffset: 5 * MiB, length: SECTOR },
    { kind: 'desc', fileOffset: metaAt, sector: v.bytes.slice(metaAt, metaAt + SECTOR) },
  ]);
  vx.placeLogEntries(v, [
    [0, e1],
    [e1.length, e2],
  ]);
  const entries = [logAt, logAt + e1.length];
  const lengths = [e1.length, e2.length];
  return {
    name: 'vhdx-log',
    format: 'vhdx',
    kind: 'image',
    bytes: v.bytes,
    hot: [
      { at: 65536, len: 80 },
      { at: logAt, len: 128 },
      { at: logAt + SECTOR, len: 16 },
      { at: logAt + e1.length, len: 160 },
      { at: logAt + e1.length + SECTOR, len: 16 },
      { at: logAt + e1.length + SECTOR + 4080, len: 16 },
    ],
    cuts: [logAt, logAt + SECTOR, logAt + e1.length, logAt + e1.length + e2.length - 1, batAt],
    fix: (dev, p) => {
      fixVhdx(dev, p);
      for (let i = 0; i < entries.length; i++) fixCrc32c(dev, p, entries[i]!, lengths[i]!);
    },
  };
}
