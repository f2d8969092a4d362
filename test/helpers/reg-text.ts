// Parses a .reg export (the text `hivexregedit --export` and regedit write) into an in-memory RegistryKey tree, so
// bcd/ can be tested on the corpus's independent .hivex.reg decodings without the regf reader.
// Accepted: the "Windows Registry Editor Version 5.00" / "REGEDIT4" header, `[path]` key lines (the first key is the
// root; later paths must lie below it), `"name"=` and `@=` values as `hex:`/`hex(N):` bytes, `dword:XXXXXXXX` and
// quoted strings (REG_SZ, stored UTF-16LE with a NUL), `\` and `"` escapes in names, `\` line continuations,
// comments starting with ';'. Anything else throws an Error naming the line.
import type { RegistryKey, RegistryValue } from '../../src/hive/key.js';

class MemoryKey implements RegistryKey {
  readonly lastWritten = null;
  readonly className = null;
  private readonly keys: MemoryKey[] = [];
  private readonly vals: RegistryValue[] = [];
  constructor(readonly name: string) {}
  subkeys(): RegistryKey[] {
    return [...this.keys];
  }
  subkey(name: string): MemoryKey | null {
    const n = name.toLowerCase();
    return this.keys.find((k) => k.name.toLowerCase() === n) ?? null;
  }
  values(): RegistryValue[] {
    return [...this.vals];
  }
  value(name: string): RegistryValue | null {
    const n = name.toLowerCase();
    return this.vals.find((v) => v.name.toLowerCase() === n) ?? null;
  }
  child(name: string): MemoryKey {
    const found = this.subkey(name);
    if (found) return found;
    const k = new MemoryKey(name);
    this.keys.push(k);
    return k;
  }
  setValue(v: RegistryValue): void {
    const i = this.vals.findIndex((x) => x.name.toLowerCase() === v.name.toLowerCase());
    if (i >= 0) this.vals[i] = v;
    else this.vals.push(v);
  }
}

/** Logical lines: a line ending in `\` continues on the next (leading blanks of the continuation dropped). */
function logicalLines(text: string): { text: string; line: number }[] {
  const raw = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const out: { text: string; line: number }[] = [];
  for (let i = 0; i < raw.length; i++) {
    const start = i;
    let l = raw[i]!;
    while (l.endsWith('\\') && !l.startsWith('[') && i + 1 < raw.length) {
      i++;
      l = l.slice(0, -1) + raw[i]!.trimStart();
    }
    out.push({ text: l, line: start + 1 });
  }
  return out;
}

function utf16z(s: string): Uint8Array {
  const out = new Uint8Array(s.length * 2 + 2);
  for (let i = 0; i < s.length; i++) {
    out[2 * i] = s.charCodeAt(i) & 0xff;
    out[2 * i + 1] = s.charCodeAt(i) >> 8;
  }
  return out;
}

/** Reads a quoted name or string starting at `at` (on the opening quote); returns the text and the index after it. */
function quoted(s: string, at: number, line: number): { text: string; next: number } {
  let out = '';
  let i = at + 1;
  for (; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      out += s[++i]!;
    } else if (c === '"') {
      return { text: out, next: i + 1 };
    } else {
      out += c;
    }
  }
  throw new Error(`.reg line ${line}: unterminated string`);
}

function parseData(spec: string, line: number): { type: number; data: Uint8Array } {
  if (spec.startsWith('"')) {
    const q = quoted(spec, 0, line);
    if (spec.slice(q.next).trim() !== '') throw new Error(`.reg line ${line}: text after the string`);
    return { type: 1, data: utf16z(q.text) };
  }
  const dword = /^dword:([0-9a-fA-F]{1,8})$/.exec(spec);
  if (dword) {
    const data = new Uint8Array(4);
    new DataView(data.buffer).setUint32(0, Number.parseInt(dword[1]!, 16), true);
    return { type: 4, data };
  }
  const bin = /^hex(?:\(([0-9a-fA-F]+)\))?:(.*)$/.exec(spec);
  if (bin) {
    const type = bin[1] === undefined ? 3 : Number.parseInt(bin[1], 16);
    const body = bin[2]!.replace(/\s+/g, '');
    const parts = body === '' ? [] : body.split(',');
    const data = new Uint8Array(parts.length);
    parts.forEach((p, i) => {
      if (!/^[0-9a-fA-F]{1,2}$/.test(p)) throw new Error(`.reg line ${line}: bad hex byte "${p}"`);
      data[i] = Number.parseInt(p, 16);
    });
    return { type, data };
  }
  throw new Error(`.reg line ${line}: cannot read value data "${spec.slice(0, 40)}"`);
}

/** The root key of the tree a .reg text describes. The root's name is the last component of the first key path. */
export function parseRegText(text: string): RegistryKey {
  let root: MemoryKey | null = null;
  let rootPath = '';
  let current: MemoryKey | null = null;
  for (const { text: l, line } of logicalLines(text)) {
    const t = l.trim();
    if (t === '' || t.startsWith(';') || t === 'Windows Registry Editor Version 5.00' || t === 'REGEDIT4')
      continue;
    if (t.startsWith('[')) {
      if (!t.endsWith(']')) throw new Error(`.reg line ${line}: key line without ]`);
      const path = t.slice(1, -1).replace(/\\+$/, '');
      if (!root) {
        rootPath = path;
        root = new MemoryKey(path.split('\\').pop() ?? path);
        current = root;
        continue;
      }
      const lower = path.toLowerCase();
      if (lower === rootPath.toLowerCase()) {
        current = root;
        continue;
      }
      if (!lower.startsWith(`${rootPath.toLowerCase()}\\`)) {
        throw new Error(`.reg line ${line}: key ${path} is not below the first key ${rootPath}`);
      }
      current = root;
      for (const part of path.slice(rootPath.length + 1).split('\\')) current = current.child(part);
      continue;
    }
    if (!current) throw new Error(`.reg line ${line}: value before any key`);
    let name: string;
    let rest: string;
    if (t.startsWith('@=')) {
      name = '';
      rest = t.slice(2);
    } else if (t.startsWith('"')) {
      const q = quoted(t, 0, line);
      if (t[q.next] !== '=') throw new Error(`.reg line ${line}: expected = after the value name`);
      name = q.text;
      rest = t.slice(q.next + 1);
    } else {
      throw new Error(`.reg line ${line}: cannot parse "${t.slice(0, 40)}"`);
    }
    current.setValue({ name, ...parseData(rest.trim(), line) });
  }
  if (!root) throw new Error('.reg text holds no key');
  return root;
}
