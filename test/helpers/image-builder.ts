// Writes small VHD and VHDX images, dynamic and differencing, from the format documents (vhd-vhdx.md §1.2-1.5,
// §2.1-2.5), independently of the readers: qemu-img cannot make differencing VHD or VHDX files, so the chains the
// tests read are made here and checked against libvhdi in the interop suite.
import { randomBytes } from 'node:crypto';
import { chsForSize } from '../../src/image/vhd/geometry.js';
import { encodeUtf16le, parseGuid } from '../../src/io/byte-view.js';
import { crc32c } from '../../src/io/checksum.js';

export interface Write {
  offset: number;
  data: Uint8Array;
}

/** The raw disk a chain should read as: the base content with every level's writes applied in order. */
export function expectedContent(size: number, levels: Write[][]): Uint8Array {
  const out = new Uint8Array(size);
  for (const writes of levels) for (const w of writes) out.set(w.data, w.offset);
  return out;
}

/** A recognisable sector-aligned write. */
export function pattern(offset: number, length: number, seed: number): Write {
  const data = new Uint8Array(length);
  for (let i = 0; i < length; i++) data[i] = (seed * 31 + i * 13 + (i >> 9)) & 0xff;
  return { offset, data };
}

const be32 = (b: Uint8Array, at: number, v: number) =>
  new DataView(b.buffer, b.byteOffset).setUint32(at, v >>> 0, false);
const be64 = (b: Uint8Array, at: number, v: bigint) =>
  new DataView(b.buffer, b.byteOffset).setBigUint64(at, v, false);
const le16 = (b: Uint8Array, at: number, v: number) =>
  new DataView(b.buffer, b.byteOffset).setUint16(at, v, true);
const le32 = (b: Uint8Array, at: number, v: number) =>
  new DataView(b.buffer, b.byteOffset).setUint32(at, v >>> 0, true);
const le64 = (b: Uint8Array, at: number, v: bigint) =>
  new DataView(b.buffer, b.byteOffset).setBigUint64(at, v, true);
const ascii = (b: Uint8Array, at: number, s: string) => {
  for (let i = 0; i < s.length; i++) b[at + i] = s.charCodeAt(i);
};
const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

function vhdChecksum(b: Uint8Array, fieldAt: number): number {
  let sum = 0;
  for (let i = 0; i < b.length; i++) if (i < fieldAt || i >= fieldAt + 4) sum = (sum + b[i]!) >>> 0;
  return ~sum >>> 0;
}

export interface VhdSpec {
  size: number;
  blockSize?: number;
  writes: Write[];
  uniqueId?: Uint8Array;
  parent?: { uniqueId: Uint8Array; name: string; locators: { code: 'W2ru' | 'W2ku'; path: string }[] };
}

/** A dynamic (no parent) or differencing VHD. Bitmaps are MSB-first; only written sectors are marked (§1.5). */
export function buildVhd(spec: VhdSpec): { bytes: Uint8Array; uniqueId: Uint8Array } {
  const bs = spec.blockSize ?? 2 * 1024 * 1024;
  const entries = Math.ceil(spec.size / bs);
  const bitmapSize = roundUp(Math.ceil(bs / 512 / 8), 512);
  const batOffset = 1536;
  let cursor = roundUp(batOffset + entries * 4, 512);
  const locs = (spec.parent?.locators ?? []).map((l) => {
    const data = encodeUtf16le(l.path);
    const at = cursor;
    cursor += roundUp(data.length, 512);
    return { ...l, data, at };
  });
  const blockAt = new Map<number, number>();
  for (const w of spec.writes) {
    for (let b = Math.floor(w.offset / bs); b <= Math.floor((w.offset + w.data.length - 1) / bs); b++) {
      if (!blockAt.has(b)) {
        blockAt.set(b, cursor);
        cursor += bitmapSize + bs;
      }
    }
  }
  const file = new Uint8Array(cursor + 512);
  const uniqueId = spec.uniqueId ?? new Uint8Array(randomBytes(16));
  // Footer (§1.2).
  const footer = new Uint8Array(512);
  ascii(footer, 0, 'conectix');
  be32(footer, 8, 2);
  be32(footer, 12, 0x00010000);
  be64(footer, 16, 512n);
  be32(footer, 24, 700000000);
  ascii(footer, 28, 'bptb');
  be32(footer, 32, 0x00010000);
  ascii(footer, 36, 'Wi2k');
  be64(footer, 40, BigInt(spec.size));
  be64(footer, 48, BigInt(spec.size));
  const g = chsForSize(spec.size);
  footer[56] = g.cylinders >> 8;
  footer[57] = g.cylinders & 0xff;
  footer[58] = g.heads;
  footer[59] = g.sectorsPerTrack;
  be32(footer, 60, spec.parent ? 4 : 3);
  footer.set(uniqueId, 68);
  be32(footer, 64, vhdChecksum(footer, 64));
  file.set(footer, 0);
  file.set(footer, cursor);
  // Dynamic header (§1.4).
  const h = new Uint8Array(1024);
  ascii(h, 0, 'cxsparse');
  be64(h, 8, 0xffffffffffffffffn);
  be64(h, 16, BigInt(batOffset));
  be32(h, 24, 0x00010000);
  be32(h, 28, entries);
  be32(h, 32, bs);
  if (spec.parent) {
    h.set(spec.parent.uniqueId, 40);
    const name = spec.parent.name;
    for (let i = 0; i < name.length && i < 256; i++) {
      h[64 + 2 * i] = name.charCodeAt(i) >> 8;
      h[65 + 2 * i] = name.charCodeAt(i) & 0xff;
    }
    locs.forEach((l, i) => {
      const at = 576 + 24 * i;
      ascii(h, at, l.code);
      be32(h, at + 4, roundUp(l.data.length, 512));
      be32(h, at + 8, l.data.length);
      be64(h, at + 16, BigInt(l.at));
      file.set(l.data, l.at);
    });
  }
  be32(h, 36, vhdChecksum(h, 36));
  file.set(h, 512);
  // BAT: unused entries 0xFFFFFFFF, and the rest of its last sector too (§1.5).
  file.fill(0xff, batOffset, roundUp(batOffset + entries * 4, 512));
  for (const [b, at] of blockAt) be32(file, batOffset + 4 * b, at / 512);
  for (const w of spec.writes) {
    for (let i = 0; i < w.data.length; i += 512) {
      const v = w.offset + i;
      const b = Math.floor(v / bs);
      const at = blockAt.get(b)!;
      const inBlock = v - b * bs;
      file.set(w.data.subarray(i, i + 512), at + bitmapSize + inBlock);
      const s = inBlock / 512;
      file[at + (s >> 3)]! |= 0x80 >> (s & 7);
    }
  }
  return { bytes: file, uniqueId };
}

const MiB = 1024 * 1024;

export interface VhdxSpec {
  size: number;
  blockSize?: number;
  logicalSectorSize?: 512 | 4096;
  writes: Write[];
  dataWriteGuid?: string;
  parent?: { dataWriteGuid: string; locators: Record<string, string> };
  /** Blocks wholly written are FULLY_PRESENT; with this set they are PARTIALLY_PRESENT with all bits set. */
  forcePartial?: boolean;
}

function guidBytes(g: string): Uint8Array {
  const b = parseGuid(g);
  if (!b) throw new Error(`bad guid ${g}`);
  return b;
}

function randomGuid(): string {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function vhdxCrc(b: Uint8Array, at: number): void {
  le32(b, at, 0);
  le32(b, at, crc32c(b));
}

/** A dynamic or differencing VHDX (§2.1-2.5): log empty, BAT at 2 MiB, metadata at 3 MiB, data from 4 MiB. */
export function buildVhdx(spec: VhdxSpec): { bytes: Uint8Array; dataWriteGuid: string } {
  const bs = spec.blockSize ?? MiB;
  const ss = spec.logicalSectorSize ?? 512;
  const diff = !!spec.parent;
  const chunkRatio = (2 ** 23 * ss) / bs;
  const dataBlocks = Math.ceil(spec.size / bs);
  const chunks = Math.ceil(dataBlocks / chunkRatio);
  const totalEntries = diff
    ? chunks * (chunkRatio + 1)
    : dataBlocks + Math.floor((dataBlocks - 1) / chunkRatio);
  const batLen = roundUp(totalEntries * 8, MiB);
  const batAt = 2 * MiB;
  const metaAt = batAt + batLen;
  let cursor = metaAt + MiB;
  // Which sectors each block gets.
  const sectors = new Map<number, Set<number>>();
  for (const w of spec.writes) {
    for (let i = 0; i < w.data.length; i += ss) {
      const v = w.offset + i;
      const b = Math.floor(v / bs);
      if (!sectors.has(b)) sectors.set(b, new Set());
      sectors.get(b)!.add((v - b * bs) / ss);
    }
  }
  const blockAt = new Map<number, number>();
  for (const b of [...sectors.keys()].sort((x, y) => x - y)) {
    blockAt.set(b, cursor);
    cursor += roundUp(bs, MiB);
  }
  const bitmapAt = new Map<number, number>();
  if (diff) {
    for (const b of sectors.keys()) {
      const k = Math.floor(b / chunkRatio);
      if (!bitmapAt.has(k)) {
        bitmapAt.set(k, cursor);
        cursor += MiB;
      }
    }
  }
  const file = new Uint8Array(cursor);
  ascii(file, 0, 'vhdxfile');
  file.set(encodeUtf16le('bootprobe test builder'), 8);
  const dataWriteGuid = spec.dataWriteGuid ?? randomGuid();
  for (const [i, at] of [64 * 1024, 128 * 1024].entries()) {
    const h = new Uint8Array(4096);
    ascii(h, 0, 'head');
    le64(h, 8, BigInt(10 + i));
    h.set(guidBytes(randomGuid()), 16);
    h.set(guidBytes(dataWriteGuid), 32);
    le16(h, 66, 1);
    le32(h, 68, MiB);
    le64(h, 72, BigInt(MiB));
    vhdxCrc(h, 4);
    file.set(h, at);
  }
  for (const at of [192 * 1024, 256 * 1024]) {
    const r = new Uint8Array(64 * 1024);
    ascii(r, 0, 'regi');
    le32(r, 8, 2);
    r.set(guidBytes('2dc27766-f623-4200-9d64-115e9bfd4a08'), 16);
    le64(r, 32, BigInt(batAt));
    le32(r, 40, batLen);
    le32(r, 44, 1);
    r.set(guidBytes('8b7ca206-4790-4b9a-b8fe-575f050f886e'), 48);
    le64(r, 64, BigInt(metaAt));
    le32(r, 72, MiB);
    le32(r, 76, 1);
    vhdxCrc(r, 4);
    file.set(r, at);
  }
  // Metadata table and items (§2.4).
  const items: [string, Uint8Array, number][] = [];
  const fp = new Uint8Array(8);
  le32(fp, 0, bs);
  le32(fp, 4, diff ? 2 : 0);
  items.push(['caa16737-fa36-4d43-b3b6-33f0aa44e76b', fp, 4]);
  const vs = new Uint8Array(8);
  le64(vs, 0, BigInt(spec.size));
  items.push(['2fa54224-cd1b-4876-b211-5dbed83bf4b8', vs, 6]);
  items.push(['beca12ab-b2e6-4523-93ef-c309e000c746', guidBytes(randomGuid()), 6]);
  const ls = new Uint8Array(4);
  le32(ls, 0, ss);
  items.push(['8141bf1d-a96f-4709-ba47-f233a8faab5f', ls, 6]);
  const ps = new Uint8Array(4);
  le32(ps, 0, 4096);
  items.push(['cda348c7-445d-4471-9cc9-e9885251c556', ps, 6]);
  if (spec.parent) {
    const kv: [string, string][] = [
      ['parent_linkage', `{${spec.parent.dataWriteGuid}}`],
      ...Object.entries(spec.parent.locators),
    ];
    const enc = kv.map(([k, v]) => [encodeUtf16le(k), encodeUtf16le(v)] as const);
    let len = 20 + 12 * kv.length;
    for (const [k, v] of enc) len += k.length + v.length;
    const pl = new Uint8Array(len);
    pl.set(guidBytes('b04aefb7-d19e-4a81-b789-25b8e9445913'), 0);
    le16(pl, 18, kv.length);
    let at = 20 + 12 * kv.length;
    enc.forEach(([k, v], i) => {
      le32(pl, 20 + 12 * i, at);
      pl.set(k, at);
      at += k.length;
      le32(pl, 24 + 12 * i, at);
      pl.set(v, at);
      at += v.length;
      le16(pl, 28 + 12 * i, k.length);
      le16(pl, 30 + 12 * i, v.length);
    });
    items.push(['a8d35f2d-b30b-454d-abf7-d3d84834ab0c', pl, 4]);
  }
  ascii(file, metaAt, 'metadata');
  le16(file, metaAt + 10, items.length);
  let itemAt = 64 * 1024;
  items.forEach(([g, data, flags], i) => {
    const e = metaAt + 32 + 32 * i;
    file.set(guidBytes(g), e);
    le32(file, e + 16, itemAt);
    le32(file, e + 20, data.length);
    le32(file, e + 24, flags);
    file.set(data, metaAt + itemAt);
    itemAt += roundUp(data.length, 4096);
  });
  // BAT and data (§2.5): unwritten blocks NOT_PRESENT in a child, ZERO in a base disk.
  const batIndex = (b: number) => b + Math.floor(b / chunkRatio);
  const entry = (state: number, offset: number) => BigInt(state) | (BigInt(offset / MiB) * 2n ** 20n);
  const perBlock = bs / ss;
  for (let b = 0; b < dataBlocks; b++) {
    const set = sectors.get(b);
    let state = diff ? 0 : 2;
    let offset = 0;
    if (set) {
      offset = blockAt.get(b)!;
      const full = set.size === Math.min(perBlock, Math.ceil((spec.size - b * bs) / ss));
      state = diff && (!full || spec.forcePartial) ? 7 : 6;
    }
    le64(file, batAt + 8 * batIndex(b), entry(state, offset));
  }
  for (const [k, at] of bitmapAt) le64(file, batAt + 8 * (k * (chunkRatio + 1) + chunkRatio), entry(6, at));
  for (const w of spec.writes) {
    for (let i = 0; i < w.data.length; i += ss) {
      const v = w.offset + i;
      const b = Math.floor(v / bs);
      const inBlock = v - b * bs;
      file.set(w.data.subarray(i, i + ss), blockAt.get(b)! + inBlock);
      if (diff) {
        const bit = (b % chunkRatio) * perBlock + inBlock / ss;
        const bm = bitmapAt.get(Math.floor(b / chunkRatio))!;
        file[bm + (bit >> 3)]! |= 1 << (bit & 7);
      }
    }
  }
  return { bytes: file, dataWriteGuid };
}
