// Structure-aware mutation of BCD device element values (bcd.md §7). A lenient walker of the fuzzer's own maps a value
// into its fields (descriptor header DeviceType/Flags/Size/reserved, BlockType, partition style and ids, locate
// type/element/parent offset, the ramdisk/file path block Version/Length/PathType, paths) and the containers whose
// Size or Length covers each byte. Mutations then poke one field with a value chosen for its role, or change a path,
// a nesting or a length while keeping every enclosing Size/Length consistent, so the decoder's deeper checks are hit
// and not only the first size check.
import { concat, le32, pick, type Rng, set32, u32, utf16z } from './bytes.js';

type Role =
  | 'deviceType'
  | 'flags'
  | 'size'
  | 'reserved'
  | 'blockType'
  | 'style'
  | 'guid'
  | 'locateType'
  | 'elementType'
  | 'parentOffset'
  | 'u64'
  | 'u32'
  | 'version'
  | 'length'
  | 'pathType';

interface Field {
  at: number;
  width: number;
  role: Role;
  /** For sizes and offsets: the bytes from the field's descriptor start to the end of what holds it. */
  room?: number;
}

/** A Size (descriptor, at +8) or Length (path block, at +4) field and the range it covers. */
interface Container {
  start: number;
  lengthAt: number;
}

interface PathSite {
  start: number;
  end: number;
  /** Containers holding the path, innermost first. */
  owners: Container[];
  /** The locate ParentOffset to move when the path grows, if the path sits before a parent. */
  parentOffsetAt: number | null;
}

interface DescriptorSite {
  start: number;
  end: number;
  /** Containers holding this descriptor (not itself), innermost first. */
  owners: Container[];
  parentOffsetAt: number | null;
  deviceType: number;
  blockType: number | null;
  /** Where its parent descriptor would be appended (locate: the end; ramdisk/file: the path block's parent). */
  parent: { start: number; end: number } | null;
}

export interface DeviceMap {
  fields: Field[];
  paths: PathSite[];
  descriptors: DescriptorSite[];
}

const DEPTH_LIMIT = 12;

/** Maps a device element value (options GUID + descriptor); never throws, stops where the bytes stop making sense. */
export function mapDevice(b: Uint8Array): DeviceMap {
  const map: DeviceMap = { fields: [], paths: [], descriptors: [] };
  if (b.length >= 16) map.fields.push({ at: 0, width: 16, role: 'guid' });
  walk(b, 16, b.length, [], null, 0, map);
  return map;
}

function walk(
  b: Uint8Array,
  at: number,
  limit: number,
  owners: Container[],
  parentOffsetAt: number | null,
  depth: number,
  map: DeviceMap,
): void {
  if (limit - at < 16 || depth > DEPTH_LIMIT) return;
  const f = map.fields;
  const deviceType = le32(b, at);
  const size = le32(b, at + 8);
  f.push({ at, width: 4, role: 'deviceType' });
  f.push({ at: at + 4, width: 4, role: 'flags' });
  f.push({ at: at + 8, width: 4, role: 'size', room: limit - at });
  f.push({ at: at + 12, width: 4, role: 'reserved' });
  if (size < 16 || size > limit - at) return;
  const end = at + size;
  const self: Container = { start: at, lengthAt: at + 8 };
  const own = [self, ...owners];
  const p = at + 16;
  const site: DescriptorSite = {
    start: at,
    end,
    owners,
    parentOffsetAt,
    deviceType,
    blockType: null,
    parent: null,
  };
  map.descriptors.push(site);
  const pathBlock = (q: number) => {
    if (end - q < 12) return;
    f.push({ at: q, width: 4, role: 'version' });
    f.push({ at: q + 4, width: 4, role: 'length', room: end - q });
    f.push({ at: q + 8, width: 4, role: 'pathType' });
    const len = le32(b, q + 4);
    if (len < 28 || len > end - q) return;
    const blk: Container = { start: q, lengthAt: q + 4 };
    const inner = [blk, ...own];
    const parentAt = q + 12;
    const parentSize = le32(b, parentAt + 8);
    site.parent = { start: parentAt, end: parentAt + parentSize };
    walk(b, parentAt, q + len, inner, null, depth + 1, map);
    if (parentSize >= 16 && parentAt + parentSize <= q + len)
      map.paths.push({ start: parentAt + parentSize, end: q + len, owners: inner, parentOffsetAt: null });
  };
  switch (deviceType) {
    case 6: // partition (§7.3), and the VHD form's nested file descriptor (§7.7)
      if (end - p < 40) return;
      f.push({ at: p, width: 16, role: 'guid' });
      f.push({ at: p + 16, width: 4, role: 'blockType' });
      f.push({ at: p + 20, width: 4, role: 'style' });
      f.push({ at: p + 24, width: 16, role: 'guid' });
      site.blockType = le32(b, p + 16);
      if (end - (p + 40) >= 16 && le32(b, p + 48) !== 0) {
        site.parent = { start: p + 40, end: p + 40 + le32(b, p + 48) };
        walk(b, p + 40, end, own, null, depth + 1, map);
      }
      return;
    case 8: {
      // locate (§7.5): path, then the parent at ParentOffset (counted from this descriptor's header)
      if (end - p < 12) return;
      f.push({ at: p, width: 4, role: 'locateType' });
      f.push({ at: p + 4, width: 4, role: 'elementType' });
      f.push({ at: p + 8, width: 4, role: 'parentOffset', room: size });
      const po = le32(b, p + 8);
      if (po !== 0 && po >= 28 && po < size) {
        map.paths.push({ start: p + 12, end: at + po, owners: own, parentOffsetAt: p + 8 });
        site.parent = { start: at + po, end };
        walk(b, at + po, end, own, p + 8, depth + 1, map);
      } else map.paths.push({ start: p + 12, end, owners: own, parentOffsetAt: null });
      return;
    }
    case 0: {
      // block I/O (§7.6, §7.7): ramdisk, file, virtual disk
      if (end - p < 4) return;
      f.push({ at: p, width: 4, role: 'blockType' });
      const bt = le32(b, p);
      site.blockType = bt;
      if (bt === 3 && end - p >= 36) {
        f.push({ at: p + 4, width: 8, role: 'u64' });
        f.push({ at: p + 12, width: 8, role: 'u64' });
        f.push({ at: p + 20, width: 4, role: 'u32' });
        pathBlock(p + 24);
      } else if (bt === 5) pathBlock(p + 4);
      else if (bt === 6 && end - p >= 24) {
        if (end - (p + 24) >= 16 && le32(b, p + 32) !== 0) {
          site.parent = { start: p + 24, end: p + 24 + le32(b, p + 32) };
          walk(b, p + 24, end, own, null, depth + 1, map);
        }
      }
      return;
    }
  }
}

/**
 * Replaces [from, to) with `insert`, adding the length change to every container that holds the range (and to a
 * locate ParentOffset when the change lies before its parent), so the value stays self-consistent.
 */
export function splice(
  b: Uint8Array,
  from: number,
  to: number,
  insert: Uint8Array,
  owners: readonly Container[],
  parentOffsetAt: number | null,
): Uint8Array {
  const out = concat(b.subarray(0, from), insert, b.subarray(to));
  const delta = insert.length - (to - from);
  for (const c of owners) set32(out, c.lengthAt, le32(b, c.lengthAt) + delta);
  if (parentOffsetAt !== null) set32(out, parentOffsetAt, le32(b, parentOffsetAt) + delta);
  return out;
}

// -------------------------------------------------------------------------------------------------------------
// Builders of every form of §7, for seeds (the stores hold partition, boot and ramdisk devices only).

const zeros = (n: number) => new Uint8Array(n);
const u64 = (v: bigint) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
  return b;
};
const guidBytes = (next: Rng) => Uint8Array.from({ length: 16 }, () => next() & 0xff);

export function descriptor(type: number, payload: Uint8Array, flags = 0): Uint8Array {
  return concat(u32(type), u32(flags), u32(16 + payload.length), u32(0), payload);
}
const bootDesc = () => descriptor(5, zeros(56));
const mbrPartition = (sig: number, offset: bigint, blockType = 0, tail: Uint8Array = zeros(16)) =>
  descriptor(6, concat(u64(offset), zeros(8), u32(blockType), u32(1), u32(sig), zeros(12), tail));
const gptPartition = (next: Rng) =>
  descriptor(6, concat(guidBytes(next), u32(0), u32(0), guidBytes(next), zeros(16)));
const pathBlock = (parent: Uint8Array, path: string) => {
  const p = utf16z(path);
  return concat(u32(1), u32(12 + parent.length + p.length), u32(5), parent, p);
};
const ramdisk = (parent: Uint8Array, path: string) =>
  descriptor(0, concat(u32(3), u64(0n), u64(0n), u32(0), pathBlock(parent, path)));
const fileDesc = (parent: Uint8Array, path: string) => descriptor(0, concat(u32(5), pathBlock(parent, path)));
const virtualDisk = (file: Uint8Array) => descriptor(0, concat(u32(6), zeros(20), file));
function locate(locateType: number, elementType: number, path: string, parent: Uint8Array | null) {
  const p = utf16z(path);
  const po = parent ? 28 + p.length : 0;
  return descriptor(8, concat(u32(locateType), u32(elementType), u32(po), p, parent ?? zeros(0)));
}

/** A whole device value of every form bcd.md §7 describes, plus unknown DeviceTypes and BlockTypes. */
export function seedDevice(next: Rng): Uint8Array {
  const options = next() % 3 === 0 ? guidBytes(next) : zeros(16);
  const part = () => (next() % 2 ? mbrPartition(0xa9083c0a, 1048576n) : gptPartition(next));
  const forms: (() => Uint8Array)[] = [
    bootDesc,
    part,
    () => locate(0, pick(next, [0x12000002, 0x22000002, 0x21000001]), '', null),
    () => locate(1, 0, '\\windows\\system32\\winload.exe', null),
    () => locate(0, 0x22000002, '', part()),
    () => ramdisk(bootDesc(), '\\sources\\boot.wim'),
    () => ramdisk(part(), '\\x.wim'),
    () => fileDesc(part(), '\\disk.vhdx'),
    // VHD forms (§7.7): the partition inside a .vhd(x) on a host partition, and the locate form.
    () => mbrPartition(0x12345678, 65536n, 6, fileDesc(locate(0, 0x22000002, '', null), '\\os.vhdx')),
    () => locate(0, 0x22000002, '', virtualDisk(fileDesc(part(), '\\os.vhd'))),
    () => virtualDisk(fileDesc(bootDesc(), '\\a.vhdx')),
    () => descriptor(pick(next, [1, 2, 3, 4, 7, 9, 0xffffffff]), guidBytes(next)),
    () => descriptor(0, concat(u32(pick(next, [0, 1, 2, 4, 7, 0xffffffff])), guidBytes(next))),
  ];
  return concat(options, pick(next, forms)());
}

// -------------------------------------------------------------------------------------------------------------
// Mutations.

const SIZES = (cur: number, room: number) => [
  0,
  1,
  4,
  12,
  15,
  16,
  17,
  27,
  28,
  cur - 1,
  cur + 1,
  cur - 16,
  cur + 16,
  cur * 2,
  room,
  room + 1,
  room - 1,
  0x7fffffff,
  0x80000000,
  0xffffffff,
  0xfffffff0,
];

/** A value for a field, chosen by what the field means. */
function fieldValue(next: Rng, b: Uint8Array, f: Field): Uint8Array {
  const cur = f.width === 4 ? le32(b, f.at) : 0;
  const room = f.room ?? 0;
  switch (f.role) {
    case 'deviceType':
      return u32(pick(next, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xffffffff, next()]));
    case 'size':
    case 'length':
      return u32(next() % 4 === 0 ? next() : pick(next, SIZES(cur, room)) >>> 0);
    case 'parentOffset':
      return u32(
        pick(next, [0, 1, 12, 16, 27, 28, 29, room - 16, room - 1, room, room + 1, 0xffffffff, next()]) >>> 0,
      );
    case 'blockType':
      return u32(pick(next, [0, 1, 2, 3, 4, 5, 6, 7, 0xffffffff, next()]));
    case 'style':
    case 'locateType':
      return u32(pick(next, [0, 1, 2, 3, 0xffffffff, next()]));
    case 'elementType':
      // The probe-path elements, other formats (a device element, an integer), the unknown.
      return u32(
        pick(next, [0x12000002, 0x22000002, 0x11000001, 0x21000001, 0x15000011, 0x23000003, 0, next()]),
      );
    case 'guid': {
      const g = pick(next, [0, 1, 2]);
      return g === 0
        ? Uint8Array.from({ length: 16 }, () => next() & 0xff)
        : g === 1
          ? new Uint8Array(16).fill(0xff)
          : new Uint8Array(16);
    }
    case 'u64':
      return u64(pick(next, [0n, 1n, 1n << 63n, (1n << 64n) - 1n, BigInt(next()) << 20n]));
    default:
      return f.width === 4 ? u32(pick(next, [0, 1, 0xffffffff, next()])) : new Uint8Array(f.width);
  }
}

const PATH_UNITS = [0x41, 0x5c, 0x00, 0xd800, 0xdc00, 0xffff, 0xe9, 0x2e];

/** One structure-aware change to a device value; the result may be any length. */
function mutateOnce(b: Uint8Array, next: Rng): { bytes: Uint8Array; label: string } {
  const map = mapDevice(b);
  const op = next() % 9;
  if (op <= 2 && map.fields.length) {
    const f = pick(next, map.fields);
    const out = b.slice();
    out.set(fieldValue(next, b, f).subarray(0, f.width), f.at);
    return { bytes: out, label: `field ${f.role}` };
  }
  if (op === 3 && map.paths.length) {
    // A path grown (with NULs, lone surrogates, 0xFFFF...), emptied, made odd or left unterminated.
    const s = pick(next, map.paths);
    const how = next() % 4;
    if (how === 0) {
      const n = pick(next, [1, 7, 64, 255, 256, 1024, 1900, 6000]);
      const unit = pick(next, PATH_UNITS);
      const add = new Uint8Array(2 * n);
      for (let i = 0; i < n; i++) {
        const u = next() % 5 === 0 ? pick(next, PATH_UNITS) : unit;
        add[2 * i] = u & 0xff;
        add[2 * i + 1] = u >>> 8;
      }
      return { bytes: splice(b, s.start, s.start, add, s.owners, s.parentOffsetAt), label: 'path grown' };
    }
    if (how === 1)
      return {
        bytes: splice(b, s.start, s.end, new Uint8Array(0), s.owners, s.parentOffsetAt),
        label: 'path emptied',
      };
    if (how === 2)
      return {
        bytes: splice(b, s.end, s.end, Uint8Array.of(0x41), s.owners, s.parentOffsetAt),
        label: 'path odd',
      };
    const out = b.slice();
    for (let i = s.start; i + 1 < s.end; i += 2) if (out[i] === 0 && out[i + 1] === 0) out[i] = 0x41;
    return { bytes: out, label: 'path unterminated' };
  }
  if (op === 4 && map.descriptors.length) {
    // Nesting: a descriptor's parent replaced by a copy of the descriptor itself, k times (ramdisk → ramdisk → …),
    // sizes kept consistent, to reach the depth bound past every size check.
    const d = pick(
      next,
      map.descriptors.filter((x) => x.parent),
    ) as DescriptorSite | undefined;
    if (d?.parent) {
      let out = b;
      const k = 1 + (next() % 7);
      for (let i = 0; i < k; i++) {
        const m = mapDevice(out);
        const deepest = m.descriptors
          .filter((x) => x.parent && x.deviceType === d.deviceType && x.blockType === d.blockType)
          .pop();
        if (!deepest?.parent) break;
        const copy = out.slice(deepest.start, deepest.end);
        const parentSite = m.descriptors.find((x) => x.start === deepest.parent!.start);
        if (!parentSite) break;
        out = splice(
          out,
          parentSite.start,
          parentSite.end,
          copy,
          parentSite.owners,
          parentSite.parentOffsetAt,
        );
      }
      return { bytes: out, label: `nested x${k}` };
    }
  }
  if (op === 5 && map.descriptors.length) {
    // A parent added where a form may carry one: locate gets a parent after its path, a partition the VHD form's
    // file descriptor, a virtual disk its file.
    const d = pick(next, map.descriptors);
    const parent = pick(next, [
      bootDesc(),
      mbrPartition(1, 512n),
      locate(0, 0x22000002, '', null),
      fileDesc(bootDesc(), '\\v.vhdx'),
    ]);
    const out = splice(
      b,
      d.end,
      d.end,
      parent,
      [{ start: d.start, lengthAt: d.start + 8 }, ...d.owners],
      null,
    );
    if (d.deviceType === 8) set32(out, d.start + 24, d.end - d.start);
    if (d.deviceType === 6) set32(out, d.start + 32, 6);
    return { bytes: out, label: 'parent added' };
  }
  if (op === 6) {
    // Truncated at a field boundary, or extended with zeros, garbage or another descriptor.
    const cuts = map.fields.flatMap((f) => [f.at, f.at + f.width]).filter((c) => c < b.length);
    if (next() % 2 && cuts.length) return { bytes: b.slice(0, pick(next, cuts)), label: 'truncated' };
    const tail = pick(next, [
      new Uint8Array(1 + (next() % 64)),
      Uint8Array.from({ length: 1 + (next() % 64) }, () => next() & 0xff),
      bootDesc(),
    ]);
    return { bytes: concat(b, tail), label: 'extended' };
  }
  if (op === 7) return { bytes: seedDevice(next), label: 'seed form' };
  // Plain bytes anywhere in the value.
  const out = b.slice();
  for (let n = 1 + (next() % 4); n > 0 && out.length; n--) out[next() % out.length] = next() & 0xff;
  return { bytes: out, label: 'bytes' };
}

/** One to three structure-aware changes to a device value. */
export function mutateDevice(b: Uint8Array, next: Rng): { bytes: Uint8Array; label: string } {
  let bytes = b;
  const labels: string[] = [];
  for (let n = 1 + (next() % 3); n > 0; n--) {
    const r = mutateOnce(bytes, next);
    bytes = r.bytes;
    labels.push(r.label);
  }
  return { bytes, label: labels.join(', ') };
}
