// Writes VHD files per the VHD specification as summarised in docs/vhd-vhdx.md Part 1, independently of
// src/image/vhd (its own checksum, geometry and layout code), so the reader can be tested against files it did
// not make: fixed, dynamic and differencing disks with W2ru/W2ku/Wi2r/Wi2k locators, the parent unicode name, and
// sector bitmaps that mark only the written sectors (a differencing disk's clear bits come from the parent).
//
// Layout written (Windows-like, §1.1/§1.4/§1.5): footer copy @0, dynamic header @512, BAT @1536 (padded with 0xFF
// to a sector), each locator's data in its own sector-aligned space, the blocks in order of first write
// (bitmap + data), the footer at the end.

export interface VhdWrite {
  /** Virtual-disk offset, a multiple of 512. */
  offset: number;
  /** Bytes to write, a multiple of 512 long. */
  data: Uint8Array;
}

export interface VhdLocatorSpec {
  code: 'W2ru' | 'W2ku' | 'Wi2r' | 'Wi2k' | 'MacX';
  /** The path as stored (Windows syntax for W2ru/W2ku). */
  path: string;
  /** Wi2r/Wi2k only: store UTF-16LE instead of 8-bit characters (both were seen, §1.4 [?]). */
  utf16?: boolean;
}

export interface VhdBuildSpec {
  type: 'fixed' | 'dynamic' | 'differencing';
  /** Virtual size (footer current size and original size), a multiple of 512. */
  size: number;
  /** Dynamic and differencing only; default 2 MiB. */
  blockSize?: number;
  writes?: VhdWrite[];
  /** Sets every bitmap bit of an allocated block (what qemu does) instead of only the written sectors'. */
  fullBitmaps?: boolean;
  /** Footer unique id; derived from `seed` when absent. */
  uniqueId?: Uint8Array;
  seed?: number;
  creatorApp?: string;
  creatorVersion?: number;
  creatorHostOs?: string;
  /** Differencing: the parent's footer unique id, its unicode name, and the locators. */
  parent?: { uniqueId: Uint8Array; name: string; locators: VhdLocatorSpec[]; timestamp?: number };
  /** Max table entries, when it should differ from ceil(size / blockSize). */
  maxTableEntries?: number;
}

export interface BuiltVhd {
  bytes: Uint8Array;
  uniqueId: Uint8Array;
  /** Where the structures landed, for tests that corrupt them. */
  layout: {
    headerAt: number | null;
    batAt: number | null;
    locatorsAt: number[];
    /** File offset of each allocated block's bitmap, by block number. */
    blocks: Map<number, number>;
    bitmapSize: number;
    footerAt: number;
  };
}

const SECTOR = 512;

class Be {
  constructor(readonly b: Uint8Array) {}
  private get dv() {
    return new DataView(this.b.buffer, this.b.byteOffset, this.b.byteLength);
  }
  u8(at: number, v: number) {
    this.b[at] = v;
  }
  u16(at: number, v: number) {
    this.dv.setUint16(at, v, false);
  }
  u32(at: number, v: number) {
    this.dv.setUint32(at, v >>> 0, false);
  }
  u64(at: number, v: number | bigint) {
    this.dv.setBigUint64(at, BigInt(v), false);
  }
  ascii(at: number, s: string) {
    for (let i = 0; i < s.length; i++) this.b[at + i] = s.charCodeAt(i);
  }
}

/** One's complement of the byte sum, checksum field excluded (§1.2 "Checksum"). */
export function vhdSum(b: Uint8Array, field: number): number {
  let sum = 0;
  for (let i = 0; i < b.length; i++) if (i < field || i >= field + 4) sum = (sum + b[i]!) >>> 0;
  return ~sum >>> 0;
}

/** Recomputes the footer (or header) checksum in place: for tests that corrupt a field and want it believed. */
export function fixChecksum(file: Uint8Array, at: number, len: 512 | 1024): void {
  const s = file.subarray(at, at + len);
  const field = len === 512 ? 64 : 36;
  new DataView(s.buffer, s.byteOffset).setUint32(field, vhdSum(s, field), false);
}

/** CHS per the spec appendix (§1.3), written out again here so the test does not reuse src/. */
function geometry(size: number): [number, number, number] {
  const total = Math.min(size / SECTOR, 65535 * 16 * 255);
  let spt = 17;
  let heads = 0;
  let cth = 0;
  if (total >= 65535 * 16 * 63) {
    spt = 255;
    heads = 16;
    cth = Math.floor(total / spt);
  } else {
    cth = Math.floor(total / spt);
    heads = Math.max(Math.floor((cth + 1023) / 1024), 4);
    if (cth >= heads * 1024 || heads > 16) {
      spt = 31;
      heads = 16;
      cth = Math.floor(total / spt);
    }
    if (cth >= heads * 1024) {
      spt = 63;
      heads = 16;
      cth = Math.floor(total / spt);
    }
  }
  return [Math.floor(cth / heads), heads, spt];
}

/** A deterministic 16-byte id (version 4 bits set) from a seed. */
export function idFromSeed(seed: number): Uint8Array {
  const id = new Uint8Array(16);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < 16; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    id[i] = s >>> 24;
  }
  id[6] = (id[6]! & 0x0f) | 0x40;
  id[8] = (id[8]! & 0x3f) | 0x80;
  return id;
}

/** The UUID string the reader prints for `id` (bytes in order, §1.2 offset 68). */
export function idString(id: Uint8Array): string {
  const h = Array.from(id, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function encodeLocator(l: VhdLocatorSpec): Uint8Array {
  if (l.code === 'W2ru' || l.code === 'W2ku' || l.utf16) {
    // UTF-16LE without terminator, length = exact byte count (§1.4).
    const out = new Uint8Array(l.path.length * 2);
    for (let i = 0; i < l.path.length; i++) {
      out[2 * i] = l.path.charCodeAt(i) & 0xff;
      out[2 * i + 1] = l.path.charCodeAt(i) >> 8;
    }
    return out;
  }
  if (l.code === 'MacX') return new TextEncoder().encode(l.path);
  return Uint8Array.from(l.path, (c) => c.charCodeAt(0) & 0xff);
}

function footer(spec: VhdBuildSpec, uniqueId: Uint8Array, dataOffset: number | null): Uint8Array {
  const f = new Uint8Array(SECTOR);
  const w = new Be(f);
  const [c, h, s] = geometry(spec.size);
  w.ascii(0, 'conectix');
  w.u32(8, 2);
  w.u32(12, 0x00010000);
  w.u64(16, dataOffset === null ? 0xffffffffffffffffn : dataOffset);
  w.u32(24, 0x2a2a2a2a);
  w.ascii(28, spec.creatorApp ?? 'win ');
  w.u32(32, spec.creatorVersion ?? 0x000a0000);
  w.ascii(36, spec.creatorHostOs ?? 'Wi2k');
  w.u64(40, spec.size);
  w.u64(48, spec.size);
  w.u16(56, c);
  w.u8(58, h);
  w.u8(59, s);
  w.u32(60, spec.type === 'fixed' ? 2 : spec.type === 'dynamic' ? 3 : 4);
  f.set(uniqueId, 68);
  w.u32(64, vhdSum(f, 64));
  return f;
}

export function buildVhd(spec: VhdBuildSpec): BuiltVhd {
  const uniqueId = spec.uniqueId ?? idFromSeed(spec.seed ?? 1);
  const writes = spec.writes ?? [];
  for (const wr of writes) {
    if (wr.offset % SECTOR || wr.data.length % SECTOR || wr.offset + wr.data.length > spec.size)
      throw new Error(
        `builder: write at ${wr.offset} (${wr.data.length} bytes) is not whole sectors inside the disk`,
      );
  }
  if (spec.type === 'fixed') {
    const bytes = new Uint8Array(spec.size + SECTOR);
    for (const wr of writes) bytes.set(wr.data, wr.offset);
    bytes.set(footer(spec, uniqueId, null), spec.size);
    return {
      bytes,
      uniqueId,
      layout: {
        headerAt: null,
        batAt: null,
        locatorsAt: [],
        blocks: new Map(),
        bitmapSize: 0,
        footerAt: spec.size,
      },
    };
  }

  const bs = spec.blockSize ?? 2 * 1024 * 1024;
  const entries = spec.maxTableEntries ?? Math.ceil(spec.size / bs);
  const bitmapSize = Math.ceil(bs / SECTOR / 8 / SECTOR) * SECTOR;
  const batAt = 3 * SECTOR;
  const batBytes = Math.ceil((entries * 4) / SECTOR) * SECTOR;
  let end = batAt + batBytes;
  const locators = (spec.type === 'differencing' ? (spec.parent?.locators ?? []) : []).map((l) => {
    const data = encodeLocator(l);
    const space = Math.max(SECTOR, Math.ceil(data.length / SECTOR) * SECTOR);
    const at = end;
    end += space;
    return { l, data, space, at };
  });

  // Blocks in order of first write; each write's sectors are marked in its block's bitmap.
  const blocks = new Map<number, number>();
  const bits = new Map<number, Set<number>>();
  for (const wr of writes) {
    for (let s = wr.offset / SECTOR; s < (wr.offset + wr.data.length) / SECTOR; s++) {
      const b = Math.floor((s * SECTOR) / bs);
      if (!blocks.has(b)) {
        blocks.set(b, end);
        end += bitmapSize + bs;
        bits.set(b, new Set());
      }
      bits.get(b)!.add(s - (b * bs) / SECTOR);
    }
  }
  const bytes = new Uint8Array(end + SECTOR);
  const w = new Be(bytes);
  const foot = footer(spec, uniqueId, SECTOR);
  bytes.set(foot, 0);
  bytes.set(foot, end);

  // Dynamic header (§1.4).
  const h = 512;
  w.ascii(h, 'cxsparse');
  w.u64(h + 8, 0xffffffffffffffffn);
  w.u64(h + 16, batAt);
  w.u32(h + 24, 0x00010000);
  w.u32(h + 28, entries);
  w.u32(h + 32, bs);
  if (spec.type === 'differencing' && spec.parent) {
    bytes.set(spec.parent.uniqueId, h + 40);
    w.u32(h + 56, spec.parent.timestamp ?? 0);
    const name = spec.parent.name;
    for (let i = 0; i < Math.min(name.length, 256); i++) w.u16(h + 64 + 2 * i, name.charCodeAt(i)); // UTF-16BE
    locators.forEach((x, i) => {
      const e = h + 576 + 24 * i;
      w.ascii(e, x.l.code);
      w.u32(e + 4, x.space); // a byte count, as Windows writes it (§1.4)
      w.u32(e + 8, x.data.length);
      w.u64(e + 16, x.at);
      bytes.set(x.data, x.at);
    });
  }
  w.u32(h + 36, vhdSum(bytes.subarray(h, h + 1024), 36));

  // BAT: unallocated entries and the padding are 0xFF (§1.5).
  bytes.fill(0xff, batAt, batAt + batBytes);
  for (const [b, at] of blocks) if (b < entries) w.u32(batAt + 4 * b, at / SECTOR);

  for (const [b, at] of blocks) {
    const set = bits.get(b)!;
    if (spec.fullBitmaps) bytes.fill(0xff, at, at + bitmapSize);
    else for (const s of set) bytes[at + (s >> 3)]! |= 0x80 >> (s & 7); // MSB first (§1.5)
  }
  for (const wr of writes) {
    for (let o = 0; o < wr.data.length; o += SECTOR) {
      const v = wr.offset + o;
      const b = Math.floor(v / bs);
      bytes.set(wr.data.subarray(o, o + SECTOR), blocks.get(b)! + bitmapSize + (v - b * bs));
    }
  }
  return {
    bytes,
    uniqueId,
    layout: {
      headerAt: h,
      batAt,
      locatorsAt: locators.map((x) => x.at),
      blocks,
      bitmapSize,
      footerAt: end,
    },
  };
}

/** `n` bytes of a pattern that differs per seed and per position (no two sectors alike). */
export function patternBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = (seed * 0x9e3779b1) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s >>> 16) & 0xff;
  }
  return out;
}

export function write(offset: number, length: number, seed: number): VhdWrite {
  return { offset, data: patternBytes(length, seed) };
}

/** What a chain reads as: the writes of each level applied over the previous ones, base first. */
export function chainContent(size: number, levels: VhdWrite[][]): Uint8Array {
  const out = new Uint8Array(size);
  for (const level of levels) for (const wr of level) out.set(wr.data, wr.offset);
  return out;
}

/**
 * Where two byte arrays first differ (-1 when equal, the shorter length when one is a prefix): a fast comparison
 * for whole disks, where `toEqual` walks element by element, and a readable failure ("differs at 1048576").
 */
export function firstDiff(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
