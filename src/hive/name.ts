// Key and value names (regf.md §5.1, §5.2, §5.5): Latin-1 when the COMP_NAME flag is set, else UTF-16LE; lists
// are sorted and hashed on the upper-cased name.
import type { ByteView } from '../io/index.js';

/** Reads a stored name: Latin-1 (one byte per char) or UTF-16LE. */
export function decodeName(view: ByteView, at: number, byteLength: number, latin1: boolean): string {
  if (!latin1) return view.utf16le(at, byteLength);
  const b = view.slice(at, byteLength);
  let s = '';
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode(...b.subarray(i, i + 4096));
  return s;
}

/**
 * Upper-cases one UTF-16 code unit at a time, as Windows' RtlUpcaseUnicodeChar does (a unit never becomes two):
 * exact for ASCII, an approximation of Windows' table beyond it (regf.md §5.5 [I]).
 */
export function upcaseName(name: string): string {
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!;
    const u = c.toUpperCase();
    out += u.length === 1 ? u : c;
  }
  return out;
}

/** lh element hash: h = h·37 + unit over the upper-cased name, mod 2³² (regf.md §5.5). */
export function lhHash(name: string): number {
  const up = upcaseName(name);
  let h = 0;
  for (let i = 0; i < up.length; i++) h = (Math.imul(h, 37) + up.charCodeAt(i)) >>> 0;
  return h;
}

/**
 * lf element hint: the first 4 chars as stored, Latin-1, NUL padded; first byte 0 if one is above 0xFF
 * (regf.md §5.5). Returned as the u32 read little-endian from those 4 bytes.
 */
export function lfHint(name: string): number {
  const b = [0, 0, 0, 0];
  for (let i = 0; i < 4 && i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 0xff) return 0;
    b[i] = c;
  }
  return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
}
