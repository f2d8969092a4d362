// Where a hive's keys, values and free cells lie (regf.md §4, §5), found by a walker of the fuzzer's own so the
// mutators do not lean on the reader they test, and a writer that gives a value new bytes of any length the way a
// registry writer would: inline (≤ 4 bytes), in its own cell, or in a cell carved from a free one.
import { le16, le32, set32, u32 } from './bytes.js';

/** Hive-bins data starts after the 4 KiB base block; cell offsets count from there (regf.md §1). */
const BINS = 4096;

export interface KeySite {
  /** Key names from the root's children down. */
  path: string[];
  /** File offset of the nk record (cell + 4). */
  nkAt: number;
  nameAt: number;
  nameLength: number;
}

export interface ValueSite {
  key: string[];
  name: string;
  vkAt: number;
  regType: number;
  data: Uint8Array;
  /** File offset of the data cell's size field; null for inline data. */
  dataCellAt: number | null;
  /** Data bytes the current cell holds. */
  capacity: number;
}

export interface HiveLayout {
  keys: KeySite[];
  values: ValueSite[];
  /** Free cells (file offset of the size field, size in bytes). */
  free: { at: number; size: number }[];
}

const i32 = (b: Uint8Array, at: number) => le32(b, at) | 0;

function latin1(b: Uint8Array, at: number, len: number, comp: boolean): string {
  let s = '';
  if (comp) for (let i = 0; i < len; i++) s += String.fromCharCode(b[at + i]!);
  else for (let i = 0; i + 1 < len; i += 2) s += String.fromCharCode(le16(b, at + i));
  return s;
}

/** Walks an undamaged hive from its root key. */
export function hiveLayout(b: Uint8Array): HiveLayout {
  const keys: KeySite[] = [];
  const values: ValueSite[] = [];
  const seen = new Set<number>();
  const cell = (off: number) => BINS + off + 4;
  const key = (nk: number, path: string[]) => {
    if (seen.has(nk) || le16(b, nk) !== 0x6b6e) throw new Error(`fuzz hive walker: no nk at ${nk}`);
    seen.add(nk);
    const nameLength = le16(b, nk + 72);
    keys.push({ path, nkAt: nk, nameAt: nk + 76, nameLength });
    const nValues = le32(b, nk + 36);
    if (nValues) {
      const list = cell(le32(b, nk + 40));
      for (let i = 0; i < nValues; i++) {
        const vk = cell(le32(b, list + 4 * i));
        const nameLen = le16(b, vk + 2);
        const size = le32(b, vk + 4);
        const inline = (size & 0x80000000) !== 0;
        const len = size & 0x7fffffff;
        const dataCellAt = inline ? null : BINS + le32(b, vk + 8);
        values.push({
          key: path,
          name: latin1(b, vk + 20, nameLen, (le16(b, vk + 16) & 1) !== 0),
          vkAt: vk,
          regType: le32(b, vk + 12),
          data: inline ? b.slice(vk + 8, vk + 8 + len) : b.slice(dataCellAt! + 4, dataCellAt! + 4 + len),
          dataCellAt,
          capacity: inline ? 4 : -i32(b, dataCellAt!) - 4,
        });
      }
    }
    const sub = (list: number) => {
      const sig = String.fromCharCode(b[list]!, b[list + 1]!);
      const n = le16(b, list + 2);
      const step = sig === 'lf' || sig === 'lh' ? 8 : 4;
      for (let i = 0; i < n; i++) {
        const target = cell(le32(b, list + 4 + step * i));
        if (sig === 'ri') sub(target);
        else {
          const child = target;
          const nl = le16(b, child + 72);
          key(child, [...path, latin1(b, child + 76, nl, (le16(b, child + 2) & 0x20) !== 0)]);
        }
      }
    };
    if (le32(b, nk + 20)) sub(cell(le32(b, nk + 28)));
  };
  key(cell(le32(b, 36)), []);
  const free: { at: number; size: number }[] = [];
  for (let bin = BINS; bin + 32 <= b.length && le32(b, bin) === 0x6e696268; ) {
    const size = le32(b, bin + 8);
    for (let c = bin + 32; c < bin + size; ) {
      const s = i32(b, c);
      if (s > 0) free.push({ at: c, size: s });
      if (s === 0) break;
      c += Math.abs(s);
    }
    bin += size;
  }
  return { keys, values, free };
}

/** Appends one hive bin holding a single free cell and fixes the base block (bins size, checksum). */
export function withFreeBin(hive: Uint8Array, binSize: number): Uint8Array {
  const binsSize = le32(hive, 40);
  const out = new Uint8Array(BINS + binsSize + binSize);
  out.set(hive.subarray(0, BINS + binsSize));
  const at = BINS + binsSize;
  out.set([0x68, 0x62, 0x69, 0x6e], at);
  set32(out, at + 4, binsSize);
  set32(out, at + 8, binSize);
  set32(out, at + 32, binSize - 32);
  set32(out, 40, binsSize + binSize);
  let x = 0;
  for (let i = 0; i < 508; i += 4) x ^= le32(out, i);
  set32(out, 508, x === 0xffffffff ? 0xfffffffe : x === 0 ? 1 : x >>> 0);
  return out;
}

/** Writes values into a hive through a patch set (`origin` = where the hive starts on the patched device). */
export class HiveWriter {
  private readonly free: { at: number; size: number }[];
  constructor(
    private readonly hive: Uint8Array,
    layout: HiveLayout,
    private readonly patches: Map<number, number>,
    private readonly origin = 0,
  ) {
    this.free = layout.free.map((f) => ({ ...f })).sort((a, b) => b.size - a.size);
  }

  bytes(at: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      const o = this.origin + at + i;
      if (this.hive[at + i] !== data[i] || this.patches.has(o)) this.patches.set(o, data[i]!);
    }
  }

  /** The most data bytes one new value can get. */
  get room(): number {
    return Math.max(0, (this.free[0]?.size ?? 0) - 4);
  }

  /** Gives a value a registry type and data (cut to the room there is when no cell can hold it all). */
  setValue(site: ValueSite, regType: number, data: Uint8Array): void {
    this.bytes(site.vkAt + 12, u32(regType));
    if (data.length <= 4) {
      const inline = new Uint8Array(4);
      inline.set(data);
      this.bytes(site.vkAt + 4, u32((0x80000000 | data.length) >>> 0));
      this.bytes(site.vkAt + 8, inline);
      return;
    }
    if (site.dataCellAt !== null && data.length <= site.capacity) {
      this.bytes(site.vkAt + 4, u32(data.length));
      this.bytes(site.dataCellAt + 4, data);
      return;
    }
    const need = (data.length + 4 + 7) & ~7;
    const slot = this.free.find((f) => f.size >= need);
    if (!slot) {
      const room = Math.max(this.room, site.dataCellAt !== null ? site.capacity : 4);
      this.setValue(site, regType, data.subarray(0, room));
      return;
    }
    const rest = slot.size - need;
    const taken = rest >= 8 ? need : slot.size;
    this.bytes(slot.at, u32(-taken >>> 0));
    this.bytes(slot.at + 4, data);
    if (rest >= 8) this.bytes(slot.at + taken, u32(rest));
    this.bytes(site.vkAt + 4, u32(data.length));
    this.bytes(site.vkAt + 8, u32(slot.at - BINS));
    this.free.splice(this.free.indexOf(slot), 1);
    if (rest >= 8) {
      this.free.push({ at: slot.at + taken, size: rest });
      this.free.sort((a, b) => b.size - a.size);
    }
  }
}
