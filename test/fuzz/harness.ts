// Structure-aware fuzzing (issue 8): real fixtures, mutated where their structures live (headers, tables, records,
// chains, cells), with checksums recomputed half of the time so mutations reach past them, then run through what the
// commands do (info, ls -R, cat, reg) in-process. Pass rule: success or a BootprobeError, and no case over 2 s.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BootprobeError } from '../../src/errors.js';
import { openVolume } from '../../src/fs/disk-volumes.js';
import type { FileSystem, FsEntry } from '../../src/fs/file-system.js';
import { exportReg, type Hive, openHive } from '../../src/hive/index.js';
import { openImage } from '../../src/image/open-image.js';
import { type BlockDevice, checkRange } from '../../src/io/block-device.js';
import { crc32, crc32c } from '../../src/io/checksum.js';
import { anyBasename, type FileAccess } from '../../src/io/file-access.js';
import { describeVolumes } from '../../src/volume/volumes.js';
import { FIXTURES } from '../helpers/env.js';
import { gunzipFile } from '../helpers/gunzip.js';
import { buildVhd, buildVhdx, pattern } from '../helpers/image-builder.js';

/** A device over a base buffer with byte patches and a size limit, so a case costs no copy of a 30 MiB image. */
export class PatchedDevice implements BlockDevice {
  readonly sectorSize = 512;
  constructor(
    private readonly base: Uint8Array,
    private readonly patches: Map<number, number>,
    readonly size: number,
  ) {}
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange('fuzz device', this.size, offset, length);
    const out = this.base.slice(offset, offset + length);
    if (this.patches.size < 64) {
      for (const [at, v] of this.patches) if (at >= offset && at < offset + length) out[at - offset] = v;
    } else {
      for (let i = 0; i < length; i++) {
        const v = this.patches.get(offset + i);
        if (v !== undefined) out[i] = v;
      }
    }
    return out;
  }
  async close(): Promise<void> {}
  materialize(): Uint8Array {
    return this.materializeRange(0, this.size);
  }
  /** Bytes [at, at+len) with the patches applied (zeros past the size). */
  materializeRange(at: number, len: number): Uint8Array {
    const b = new Uint8Array(len);
    b.set(this.base.subarray(at, Math.min(at + len, this.size)));
    for (const [o, v] of this.patches) if (o >= at && o < at + len && o < this.size) b[o - at] = v;
    return b;
  }
}

type Kind = 'image' | 'hive';

interface Region {
  at: number;
  len: number;
}

export interface Subject {
  name: string;
  format: string;
  kind: Kind;
  bytes: Uint8Array;
  /** Where the structures are: mutations aim here. */
  hot: Region[];
  /** Structure boundaries to truncate at. */
  cuts: number[];
  /** Recomputes the checksums a mutation would break (CRC-32C, VHD sums, GPT CRC, regf checksum). */
  fix?: (b: PatchedDevice, patches: Map<number, number>) => void;
  files?: Record<string, Uint8Array>;
}

const le32 = (b: Uint8Array, at: number) =>
  (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
const le16 = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8);

/** Writes a u32 into the patch set (little or big endian). */
function put32(p: Map<number, number>, at: number, v: number, le = true): void {
  for (let i = 0; i < 4; i++) p.set(at + i, (le ? v >>> (8 * i) : v >>> (8 * (3 - i))) & 0xff);
}

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

function fixRegf(dev: PatchedDevice, p: Map<number, number>): void {
  const b = dev.materializeRange(0, 512);
  let x = 0;
  for (let i = 0; i < 508; i += 4) x ^= le32(b, i);
  if (x === 0xffffffff) x = 0xfffffffe;
  if (x === 0) x = 1;
  put32(p, 508, x);
}

/** Offsets of every 4 KiB-aligned block starting with `magic` (INDX, FILE, hbin...). */
function scan(b: Uint8Array, magic: string, step = 4096, limit = 64): number[] {
  const out: number[] = [];
  const m = [...magic].map((c) => c.charCodeAt(0));
  for (let at = 0; at + 4 <= b.length && out.length < limit; at += step) {
    if (m.every((c, i) => b[at + i] === c)) out.push(at);
  }
  return out;
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

let subjectsCache: Subject[] | null = null;

/** The fixtures fuzzed, with where their structures are. Built once per process. */
export function subjects(): Subject[] {
  if (subjectsCache) return subjectsCache;
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
  out.push({
    name: 'ntfs-4k',
    format: 'ntfs',
    kind: 'image',
    bytes: ntfs,
    hot: [{ at: 0, len: 0x54 }, { at: mftAt, len: 4096 * 40 }, ...indx.map((at) => ({ at, len: 4096 }))],
    cuts: [0, 512, mftAt, mftAt + 4096 * 6, ntfs.length >> 1],
  });
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
  subjectsCache = out;
  return out;
}

function memoryFiles(files: Record<string, Uint8Array>): FileAccess {
  return {
    open: async (p) => {
      const b = files[anyBasename(p)];
      return b ? new PatchedDevice(b, new Map(), b.length) : null;
    },
    resolveBeside: (_f, rel) => anyBasename(rel),
    basename: anyBasename,
  };
}

/** What the commands do with an image: info (open, map, partitions), ls -R (bounded), cat (a few files). */
async function exerciseImage(dev: BlockDevice, files: FileAccess | undefined): Promise<void> {
  const image = await openImage(dev, { path: 'fuzz', files });
  await image.allocatedSize();
  await image.mapRange(0, image.size);
  await image.read(0, Math.min(image.size, 1 << 20));
  if (image.size > 65536) await image.read(image.size - 65536, 65536);
  await describeVolumes(image);
  let fs: FileSystem;
  try {
    fs = (await openVolume(image)).fs;
  } catch (e) {
    if (e instanceof BootprobeError && (e.code === 'PARTITION_CHOICE' || e.code === 'FS_UNKNOWN')) return;
    throw e;
  }
  let budget = 300;
  let reads = 6;
  const walk = async (d: FsEntry, depth: number): Promise<void> => {
    if (depth > 8) return;
    for (const e of await fs.list(d)) {
      if (--budget < 0) return;
      if (e.isDirectory) await walk(e, depth + 1);
      else if (reads-- > 0) {
        const r = await fs.openFile(e);
        await r.read(0, Math.min(r.size, 256 * 1024));
        await fs.stat(e);
      }
    }
  };
  await walk(await fs.root(), 0);
  await fs.lookup('/EFI/Microsoft/Boot/BCD').catch((e) => {
    if (!(e instanceof BootprobeError)) throw e;
  });
}

/** What reg and reg export do: open, walk keys and values, export a subtree. */
function exerciseHive(bytes: Uint8Array): void {
  const hive: Hive = openHive(bytes, { name: 'fuzz' });
  let budget = 2000;
  const walk = (k: ReturnType<Hive['getKey']> & object, depth: number) => {
    if (depth > 64) return;
    for (const v of k.values()) void v.data.length;
    for (const s of k.subkeys()) {
      if (--budget < 0) return;
      walk(s, depth + 1);
    }
  };
  walk(hive.root, 0);
  exportReg(hive, { prefix: 'HKEY_LOCAL_MACHINE\\FUZZ' });
}

export interface FuzzResult {
  format: string;
  cases: number;
  ok: number;
  typed: number;
  failures: { subject: string; seed: number; error: string; input: Uint8Array }[];
  slowest: number;
}

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

/** Builds the mutated input of case `seed` for a subject. */
export function mutate(subject: Subject, seed: number): PatchedDevice {
  const next = rng(seed);
  const patches = new Map<number, number>();
  let size = subject.bytes.length;
  const mode = next() % 10;
  if (mode === 0 && subject.cuts.length) {
    size = Math.max(0, Math.min(size, subject.cuts[next() % subject.cuts.length]! + (next() % 3) - 1));
  } else {
    const n = 1 + (next() % 6);
    for (let i = 0; i < n; i++) {
      const r = subject.hot[next() % subject.hot.length]!;
      const at = r.at + (next() % Math.max(1, r.len));
      const strategy = next() % 5;
      const width = [1, 2, 4, 8][next() % 4]!;
      for (let k = 0; k < width; k++) {
        const v =
          strategy === 0
            ? next() & 0xff
            : strategy === 1
              ? 0
              : strategy === 2
                ? 0xff
                : strategy === 3
                  ? k === width - 1
                    ? 0x7f
                    : 0xff
                  : subject.bytes[(at + (next() % 4096)) % subject.bytes.length]!;
        patches.set(at + k, v);
      }
    }
  }
  const dev = new PatchedDevice(subject.bytes, patches, size);
  if (subject.fix && next() % 2 === 0 && size === subject.bytes.length) subject.fix(dev, patches);
  return dev;
}

/** FUZZ_TRACE=FILE keeps the case being run in FILE, to find the input that killed a run. */
const trace = process.env.FUZZ_TRACE;

/** Runs `cases` cases spread over every subject, from `seed`. */
export async function runFuzz(cases: number, seed: number, onlyFormat?: string): Promise<FuzzResult[]> {
  const list = subjects().filter((s) => !onlyFormat || s.format === onlyFormat);
  const results = new Map<string, FuzzResult>();
  for (let i = 0; i < cases; i++) {
    const s = list[i % list.length]!;
    const caseSeed = (seed * 1000003 + i) >>> 0;
    const r = results.get(s.format) ?? {
      format: s.format,
      cases: 0,
      ok: 0,
      typed: 0,
      failures: [],
      slowest: 0,
    };
    results.set(s.format, r);
    const dev = mutate(s, caseSeed);
    if (trace) writeFileSync(trace, `${i} ${s.name} ${caseSeed}\n`);
    const t0 = performance.now();
    r.cases++;
    try {
      if (s.kind === 'hive') exerciseHive(dev.materialize());
      else await exerciseImage(dev, s.files ? memoryFiles(s.files) : undefined);
      r.ok++;
    } catch (e) {
      if (e instanceof BootprobeError) r.typed++;
      else
        r.failures.push({
          subject: s.name,
          seed: caseSeed,
          error: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e),
          input: dev.materialize(),
        });
    }
    const ms = performance.now() - t0;
    r.slowest = Math.max(r.slowest, ms);
    if (ms > 2000)
      r.failures.push({
        subject: s.name,
        seed: caseSeed,
        error: `case took ${ms.toFixed(0)} ms`,
        input: dev.materialize(),
      });
  }
  return [...results.values()];
}

export function crasherName(f: { subject: string; input: Uint8Array }): string {
  return `${f.subject}-${createHash('sha256').update(f.input).digest('hex').slice(0, 16)}.bin`;
}
