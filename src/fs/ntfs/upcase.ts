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

/**
 * A collation: the volume's $UpCase, or null for the ASCII rule (a-z to A-Z, every other unit itself), which orders an
 * ASCII name against any key as an ASCII-compatible table does (isAsciiCompatible) without reading or building one:
 * 64 K entries were ~2 ms of a `cat`'s first lookup, before the JIT warms up (issue 7).
 */
export type Collation = Uint16Array | null;

function upcaseUnit(up: Collation, c: number): number {
  return up ? up[c]! : c >= 0x61 && c <= 0x7a ? c - 32 : c;
}

/**
 * True when `table` maps ASCII letters as ASCII does and maps no unit outside ASCII into it. Then an ASCII-only name
 * collates against any key the same way under `table` and under the ASCII rule (checked for the corpus and fixture
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
export function compareUpcase(up: Collation, a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = upcaseUnit(up, a.charCodeAt(i));
    const y = upcaseUnit(up, b.charCodeAt(i));
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** Full COLLATION_FILENAME (§4 steps 1-4): upcase order, then the original units break a tie. */
export function collateFileNames(up: Collation, a: string, b: string): number {
  const c = compareUpcase(up, a, b);
  if (c !== 0) return c;
  for (let i = 0; i < a.length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
