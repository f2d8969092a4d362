// The PE subject (pe.md §1, §3): test/fixtures/pe/nsis-setup.exe (makensis, with a VERSIONINFO), mapped by a walker
// of the fuzzer's own into the fields the reader trusts — e_lfanew, the COFF counts, the optional header's magic,
// versions, subsystem and NumberOfRvaAndSizes, the resource data directory, the section table, the resource
// directory tree (counts, ids, offsets, the data entry) and VS_VERSIONINFO (lengths, key, fixed-info signature, the
// StringFileInfo children) — each poked with values chosen for what it is, or the file cut at those boundaries.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURES } from '../helpers/env.js';
import { le16, le32, pick, put32, type Rng } from './bytes.js';
import type { Subject } from './subject.js';

interface PeField {
  at: number;
  width: 2 | 4;
  name: string;
  values: number[];
}

/** Every field of the fixture the reader reads, with the values worth trying in each. */
function peFields(b: Uint8Array): { fields: PeField[]; cuts: number[]; hot: { at: number; len: number }[] } {
  const fields: PeField[] = [];
  const cuts: number[] = [0, 2, 0x3c, 0x40];
  const f = (at: number, width: 2 | 4, name: string, values: number[]) => {
    const cur = width === 2 ? le16(b, at) : le32(b, at);
    fields.push({ at, width, name, values: [...values, cur - 1, cur + 1, 0].map((v) => v >>> 0) });
  };
  const size = b.length;
  const pe = le32(b, 0x3c);
  f(0x3c, 4, 'e_lfanew', [1, 0x40, size - 24, size - 4, size, 0x7fffffff, 0xffffffff, 0x80000000]);
  f(pe + 4, 2, 'Machine', [0x14c, 0x8664, 0xaa64, 0x1c4, 0x200, 0xebc, 0xffff]);
  f(pe + 6, 2, 'NumberOfSections', [1, 95, 96, 97, 0xffff]);
  f(
    pe + 20,
    2,
    'SizeOfOptionalHeader',
    [1, 0x47, 0x48, 0x5f, 0x60, 0x6c, 0x70, 0x78, 0x80, 0xe0, 0xf0, 0xffff],
  );
  const opt = pe + 24;
  const optSize = le16(b, pe + 20);
  const magic = le16(b, opt);
  f(opt, 2, 'Magic', [0x10b, 0x20b, 0x107, 0xffff]);
  for (const [off, name] of [
    [0x28, 'OS version'],
    [0x30, 'MajorSubsystemVersion'],
    [0x32, 'MinorSubsystemVersion'],
  ] as const)
    f(opt + off, 2, name, [3, 4, 5, 6, 10, 0xffff]);
  f(opt + 0x44, 2, 'Subsystem', [1, 2, 3, 9, 10, 16, 0xffff]);
  const dirs = magic === 0x20b ? opt + 0x70 : opt + 0x60;
  f(dirs - 4, 4, 'NumberOfRvaAndSizes', [1, 2, 3, 16, 0xffffffff]);
  const resRva = le32(b, dirs + 16);
  f(dirs + 16, 4, 'resource RVA', [1, 0x1000, 0x7fffffff, 0xffffffff]);
  f(dirs + 20, 4, 'resource size', [1, 15, 16, 0x7fffffff, 0xffffffff]);
  const st = opt + optSize;
  const n = le16(b, pe + 6);
  cuts.push(pe, pe + 4, pe + 24, opt + 0x48, dirs, st, st + 40 * n);
  const sections: { va: number; vs: number; raw: number; rs: number }[] = [];
  for (let i = 0; i < n; i++) {
    const s = st + 40 * i;
    sections.push({ vs: le32(b, s + 8), va: le32(b, s + 12), rs: le32(b, s + 16), raw: le32(b, s + 20) });
    for (const [off, name] of [
      [8, 'VirtualSize'],
      [12, 'VirtualAddress'],
      [16, 'SizeOfRawData'],
      [20, 'PointerToRawData'],
    ] as const)
      f(s + off, 4, `section ${i} ${name}`, [1, size, size - 1, 0x7fffffff, 0x80000000, 0xffffffff]);
    if (le32(b, s + 20)) cuts.push(le32(b, s + 20));
  }
  const rvaToOff = (rva: number) => {
    const s = sections.find((x) => rva >= x.va && rva < x.va + Math.max(x.vs, x.rs));
    return s ? s.raw + (rva - s.va) : null;
  };
  const base = rvaToOff(resRva);
  const hot = [
    { at: 0, len: 0x40 },
    { at: pe, len: st + 40 * n - pe },
  ];
  if (base !== null) {
    cuts.push(base, base + 16);
    // The resource tree (§3 step 1): every directory's counts, every entry's id and offset, down to the data entries.
    const walk = (dir: number, depth: number) => {
      if (depth > 3) return;
      f(dir + 12, 2, 'named entries', [1, 0xffff]);
      f(dir + 14, 2, 'id entries', [1, 0xffff]);
      const count = le16(b, dir + 12) + le16(b, dir + 14);
      for (let i = 0; i < count && i < 32; i++) {
        const e = dir + 16 + 8 * i;
        const to = le32(b, e + 4);
        f(e, 4, 'entry id', [16, 0x80000000, 0x80000010, 0xffffffff]);
        f(e + 4, 4, 'entry offset', [
          0x80000000,
          (0x80000000 | (dir - base)) >>> 0,
          0x7fffffff,
          0xffffffff,
          size,
        ]);
        if (to & 0x80000000) walk(base + (to & 0x7fffffff), depth + 1);
        else {
          const d = base + to;
          f(d, 4, 'data RVA', [1, resRva, 0x7fffffff, 0xffffffff]);
          f(d + 4, 4, 'data size', [1, 91, 92, 0xffff, 0x7fffffff, 0xffffffff]);
          const at = rvaToOff(le32(b, d));
          if (le32(b, base + 16) === 16 && at !== null) versionFields(at);
        }
      }
    };
    const versionFields = (at: number) => {
      if (fields.some((x) => x.name === 'VS_VERSIONINFO wLength' && x.at === at)) return;
      cuts.push(at, at + 6, at + 40, at + 92);
      hot.push({ at, len: Math.min(le16(b, at), b.length - at) });
      f(at, 2, 'VS_VERSIONINFO wLength', [1, 5, 6, 91, 92, 0xffff]);
      f(at + 2, 2, 'wValueLength', [52, 0xffff]);
      f(at + 40, 4, 'VS_FIXEDFILEINFO signature', [0xfeef04bd, 0xbd04effe]);
      // StringFileInfo → language table → String children: each {wLength, wValueLength, wType} (§3 step 3).
      const end = at + le16(b, at);
      for (let c = at + 92; c + 6 <= end && c < b.length; ) {
        const len = le16(b, c);
        f(c, 2, 'child wLength', [1, 5, 6, 7, 0xffff]);
        f(c + 2, 2, 'child wValueLength', [1, 0xffff]);
        if (len < 6) break;
        // Step into StringFileInfo ("S…", 15 characters with the NUL) and its language table ("040904B0", 9): their
        // first child starts after the key; step over everything else.
        const first = le16(b, c + 6);
        const key = first === 0x53 ? 30 : first >= 0x30 && first <= 0x39 ? 18 : -1;
        c = key > 0 ? (c + 6 + key + 3) & ~3 : (c + len + 3) & ~3;
      }
    };
    walk(base, 1);
  }
  cuts.push(size - 1);
  return { fields, cuts: [...new Set(cuts)].filter((c) => c >= 0 && c < size), hot };
}

export function peSubject(): Subject {
  const bytes = new Uint8Array(readFileSync(path.join(FIXTURES, 'pe', 'nsis-setup.exe')));
  const { fields, cuts, hot } = peFields(bytes);
  return {
    name: 'pe-nsis-setup',
    format: 'pe',
    kind: 'pe',
    bytes,
    hot,
    cuts,
    mutate: (next: Rng, patches: Map<number, number>) => {
      if (next() % 5 === 0) return null;
      const labels: string[] = [];
      for (let k = 1 + (next() % 3); k > 0; k--) {
        const field = pick(next, fields);
        const v = next() % 6 === 0 ? next() : pick(next, field.values);
        if (field.width === 4) put32(patches, field.at, v);
        else {
          patches.set(field.at, v & 0xff);
          patches.set(field.at + 1, (v >>> 8) & 0xff);
        }
        labels.push(field.name);
      }
      return labels.join(', ');
    },
  };
}
