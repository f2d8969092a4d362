// $UpCase (record 10) and COLLATION_FILENAME, the order $I30 B-trees are sorted in. Procedure: docs/ntfs.md §4.
import { BootprobeError } from '../../errors.js';

/** 65536 little-endian u16 entries (§4 step 1). */
export const UPCASE_BYTES = 131072;

/** The volume's own case table: unit u ↦ table[u]. */
export function decodeUpcase(b: Uint8Array, where: number): Uint16Array {
  if (b.length < UPCASE_BYTES)
    throw new BootprobeError('NTFS_ATTRIBUTE', `$UpCase is ${b.length} bytes, ${UPCASE_BYTES} expected`, {
      offset: where,
      structure: 'ntfs.upcase',
      hint: 'the $UpCase system file is damaged',
    });
  const t = new Uint16Array(65536);
  for (let i = 0; i < 65536; i++) t[i] = b[2 * i]! | (b[2 * i + 1]! << 8);
  return t;
}

/** A table mapping only a-z to A-Z. */
export function asciiUpcase(): Uint16Array {
  // Identity written as pairs of units through a 32-bit view (a quarter of the steps: this runs once per process,
  // before the JIT has warmed up, on every path lookup's first ASCII name; issue 7), then the 26 letters.
  const t = new Uint16Array(65536);
  const w = new Uint32Array(t.buffer);
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  for (let i = 0; i < 32768; i += 2) {
    const u = 2 * i;
    w[i] = le ? u | ((u + 1) << 16) : (u << 16) | (u + 1);
    w[i + 1] = le ? (u + 2) | ((u + 3) << 16) : ((u + 2) << 16) | (u + 3);
  }
  for (let i = 0x61; i <= 0x7a; i++) t[i] = i - 32;
  return t;
}

/**
 * True when `table` maps ASCII letters as ASCII does and maps no unit outside ASCII into it. Then an ASCII-only name
 * collates against any key the same way under `table` and under `asciiUpcase()` (checked for the corpus and fixture
 * volumes in the tests), which lets a lookup skip reading the 128 KiB table.
 */
export function isAsciiCompatible(table: Uint16Array): boolean {
  for (let u = 0; u < 65536; u++) {
    const m = table[u]!;
    if (u < 0x80 ? m !== (u >= 0x61 && u <= 0x7a ? u - 32 : u) : m < 0x80) return false;
  }
  return true;
}

/** §4 steps 1-3: compare through the table unit by unit, shorter prefix first. -1, 0 or 1. */
export function compareUpcase(up: Uint16Array, a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = up[a.charCodeAt(i)]!;
    const y = up[b.charCodeAt(i)]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** Full COLLATION_FILENAME (§4 steps 1-4): upcase order, then the original units break a tie. */
export function collateFileNames(up: Uint16Array, a: string, b: string): number {
  const c = compareUpcase(up, a, b);
  if (c !== 0) return c;
  for (let i = 0; i < a.length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
