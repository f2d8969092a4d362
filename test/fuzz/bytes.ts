// What every fuzz subject shares: a patched view of a fixture (so a case costs no copy of a 15 MiB image), a seeded
// generator, and little-endian field access for the mutators.
import { type BlockDevice, checkRange } from '../../src/io/block-device.js';

/** A device over a base buffer with byte patches and a size limit. */
export class PatchedDevice implements BlockDevice {
  readonly sectorSize = 512;
  /** The patches sorted by offset, built at the first read (mutators and checksum fixers work on the Map). */
  private sorted: { at: Float64Array; value: Uint8Array } | null = null;
  constructor(
    private readonly base: Uint8Array,
    private readonly patches: Map<number, number>,
    readonly size: number,
  ) {}
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange('fuzz device', this.size, offset, length);
    const out = this.base.slice(offset, offset + length);
    const { at, value } = this.seal();
    let lo = 0;
    let hi = at.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (at[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < at.length && at[i]! < offset + length; i++) out[at[i]! - offset] = value[i]!;
    return out;
  }
  /** Freezes the patches for reading (the harness calls it before a case, outside the allocation bound). */
  seal(): { at: Float64Array; value: Uint8Array } {
    if (!this.sorted) {
      const at = Float64Array.from(this.patches.keys()).sort();
      this.sorted = { at, value: Uint8Array.from(at, (o) => this.patches.get(o)!) };
    }
    return this.sorted;
  }
  async close(): Promise<void> {}
  materialize(): Uint8Array {
    return this.materializeRange(0, this.size);
  }
  /** Bytes [at, at+len) with the patches applied (zeros past the size). */
  materializeRange(at: number, len: number): Uint8Array {
    const b = new Uint8Array(len);
    b.set(this.base.subarray(Math.min(at, this.size), Math.min(at + len, this.size)));
    for (const [o, v] of this.patches) if (o >= at && o < at + len && o < this.size) b[o - at] = v;
    return b;
  }
}

export type Rng = () => number;

/** xorshift32: fast, and the same case from the same seed on every machine. */
export function rng(seed: number): Rng {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

export const pick = <T>(next: Rng, list: readonly T[]): T => list[next() % list.length]!;

export const le32 = (b: Uint8Array, at: number) =>
  (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
export const le16 = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8);

export function set32(b: Uint8Array, at: number, v: number): void {
  for (let i = 0; i < 4; i++) b[at + i] = (v >>> (8 * i)) & 0xff;
}

/** Writes a u32 into a patch set (little or big endian). */
export function put32(p: Map<number, number>, at: number, v: number, le = true): void {
  for (let i = 0; i < 4; i++) p.set(at + i, (le ? v >>> (8 * i) : v >>> (8 * (3 - i))) & 0xff);
}

/** Patches that turn `from` into `to` (same length) at `at`. */
export function diffInto(p: Map<number, number>, at: number, from: Uint8Array, to: Uint8Array): void {
  for (let i = 0; i < to.length; i++) if (from[i] !== to[i]) p.set(at + i, to[i]!);
}

export const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

export const u32 = (v: number): Uint8Array => {
  const b = new Uint8Array(4);
  set32(b, 0, v);
  return b;
};

export const utf16z = (s: string): Uint8Array => {
  const b = new Uint8Array(s.length * 2 + 2);
  for (let i = 0; i < s.length; i++) {
    b[2 * i] = s.charCodeAt(i) & 0xff;
    b[2 * i + 1] = s.charCodeAt(i) >>> 8;
  }
  return b;
};

/** Offsets of every `step`-aligned block starting with `magic` (INDX, FILE, hbin...). */
export function scan(b: Uint8Array, magic: string, step = 4096, limit = 64): number[] {
  const out: number[] = [];
  const m = [...magic].map((c) => c.charCodeAt(0));
  for (let at = 0; at + 4 <= b.length && out.length < limit; at += step) {
    if (m.every((c, i) => b[at + i] === c)) out.push(at);
  }
  return out;
}

/**
 * Re-applies the NTFS update sequence (ntfs.md, multi-sector protection) to the FILE/INDX records a patch touched:
 * a byte patched into the last two bytes of a 512-byte stride moves into the update sequence array and the stride
 * end gets the sequence number back, so the mutation reaches past the fixup check.
 */
export function fixNtfsRecords(
  dev: PatchedDevice,
  p: Map<number, number>,
  records: readonly number[],
  recordSize: (at: number) => number,
): void {
  for (const pos of [...p.keys()]) {
    const s = containing(records, pos);
    if (s === null || pos >= s + recordSize(s) || (pos - s) % 512 < 510) continue;
    const head = dev.materializeRange(s, 8);
    const usaAt = le16(head, 4);
    const count = le16(head, 6);
    const slot = Math.floor((pos - s) / 512) + 1;
    if (usaAt < 8 || slot >= count || usaAt + 2 * count > recordSize(s)) continue;
    const k = ((pos - s) % 512) - 510;
    const usn = dev.materializeRange(s + usaAt, 2);
    p.set(s + usaAt + 2 * slot + k, p.get(pos)!);
    p.set(pos, usn[k]!);
  }
}

/** The largest start ≤ pos in a sorted list, or null. */
function containing(starts: readonly number[], pos: number): number | null {
  let lo = 0;
  let hi = starts.length - 1;
  let best: number | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid]! <= pos) {
      best = starts[mid]!;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}
