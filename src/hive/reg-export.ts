// .reg export in exactly the form `hivexregedit --export --prefix PREFIX HIVE KEYPATH` prints (hivex 1.3.23,
// Win::Hivex::Regedit::reg_export_node), learnt from its source and checked against its output:
// - header "Windows Registry Editor Version 5.00" and a blank line; "\n" line ends;
// - "[" PREFIX (one trailing backslash dropped) PATH "]", where PATH is "\" for the root, else "\A\B" from the root
//   (names as stored), then the values, then a blank line, then the subkeys; values and subkeys are sorted with
//   Perl `cmp`, i.e. by Unicode code point (not UTF-16 unit, not case-folded);
// - '@=' for the default value, else '"name"=' with \ and " escaped by a backslash;
// - 'dword:%08x' only for type 4 with exactly 4 bytes; everything else 'hex(%x):' and the bytes as two-digit
//   lower-case hex joined by ',' on ONE line (hivexregedit never wraps, unlike regedit; `hex(3):` even for binary);
// - names reach Perl as character strings and are printed without an encoding layer: a printed piece whose
//   characters are all ≤ U+00FF comes out as Latin-1 bytes, any other piece as UTF-8 (with a "Wide character"
//   warning). exportRegBytes reproduces those bytes; exportReg returns the same text as a JS string.
import { BootprobeError } from '../errors.js';
import type { Hive, HiveKey } from './hive.js';
import type { RegistryValue } from './key.js';

export interface ExportRegOptions {
  /** Printed before every key path, e.g. 'HKEY_LOCAL_MACHINE\\BCD00000000'. */
  prefix: string;
  /** Key to export (recursively), case-insensitive; default the root '\\'. */
  keyPath?: string;
}

export const REG_HEADER = 'Windows Registry Editor Version 5.00\n\n';

/** One argument of one Perl `print`: `bytes` pieces came from the command line (already bytes, UTF-8 here). */
interface Piece {
  readonly text: string;
  readonly bytes?: true;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Perl `cmp` on character strings: code point order. */
export function compareCodePoints(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(j)!;
    if (ca !== cb) return ca < cb ? -1 : 1;
    i += ca > 0xffff ? 2 : 1;
    j += cb > 0xffff ? 2 : 1;
  }
  return a.length - i === b.length - j ? 0 : a.length - i < b.length - j ? -1 : 1;
}

function escapeName(name: string): string {
  return name.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

function valuePieces(v: RegistryValue, out: Piece[]): void {
  if (v.name === '') out.push({ text: '@=' });
  else out.push({ text: '"' }, { text: escapeName(v.name) }, { text: '"=' });
  if (v.type === 4 && v.data.length === 4) {
    const dword = (v.data[0]! | (v.data[1]! << 8) | (v.data[2]! << 16) | (v.data[3]! << 24)) >>> 0;
    out.push({ text: `dword:${dword.toString(16).padStart(8, '0')}\n` });
    return;
  }
  out.push({ text: `hex(${(v.type >>> 0).toString(16)}):` });
  const parts = new Array<string>(v.data.length);
  for (let i = 0; i < v.data.length; i++) parts[i] = HEX[v.data[i]!]!;
  out.push({ text: parts.join(',') }, { text: '\n' });
}

function* pieces(hive: Hive, options: ExportRegOptions): Generator<Piece[]> {
  const start = hive.getKey(options.keyPath ?? '\\');
  if (!start) {
    throw new BootprobeError('KEY_NOT_FOUND', `${hive.name}: no key ${options.keyPath} in this hive`, {
      hint: 'check the key path (backslash-separated, from the hive root)',
    });
  }
  const prefix = options.prefix.endsWith('\\') ? options.prefix.slice(0, -1) : options.prefix;
  yield [{ text: REG_HEADER }];
  // Depth-first, children in sorted order; the key tree is loop- and depth-checked by the reader.
  const stack: HiveKey[] = [start];
  while (stack.length > 0) {
    const key = stack.pop()!;
    const out: Piece[] = [{ text: '[' }];
    if (prefix !== '') out.push({ text: prefix, bytes: true });
    out.push({ text: key.path }, { text: ']\n' });
    const values = [...key.values()].sort((a, b) => compareCodePoints(a.name, b.name));
    for (const v of values) valuePieces(v, out);
    out.push({ text: '\n' });
    yield out;
    const children = key.subkeys().sort((a, b) => compareCodePoints(a.name, b.name));
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
}

/** The export as text (names as Unicode). */
export function exportReg(hive: Hive, options: ExportRegOptions): string {
  const chunks: string[] = [];
  for (const group of pieces(hive, options)) for (const p of group) chunks.push(p.text);
  return chunks.join('');
}

/** The export as the exact bytes hivexregedit writes (see the file comment for its Latin-1/UTF-8 mix). */
export function exportRegBytes(hive: Hive, options: ExportRegOptions): Uint8Array {
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (const group of pieces(hive, options)) {
    for (const p of group) {
      const b = p.bytes || !fitsLatin1(p.text) ? enc.encode(p.text) : latin1(p.text);
      chunks.push(b);
      total += b.length;
    }
  }
  const out = new Uint8Array(total);
  let pos = 0;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

function fitsLatin1(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
}

function latin1(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}
