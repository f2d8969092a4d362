// PE/COFF headers, the version resource, and the loader's version gate (docs/pe.md §1-§3).
import { BootprobeError, hex } from '../errors.js';
import { ByteView } from '../io/index.js';

export const MACHINE_NAMES: Record<number, string> = {
  332: 'x86',
  34404: 'x64',
  452: 'arm',
  43620: 'arm64',
  512: 'ia64',
  3772: 'ebc',
};

export const SUBSYSTEM_NAMES: Record<number, string> = {
  1: 'native',
  2: 'Windows GUI',
  3: 'Windows console',
  9: 'Windows CE GUI',
  10: 'EFI application',
  11: 'EFI boot service driver',
  12: 'EFI runtime driver',
  14: 'Xbox',
  16: 'Windows boot application',
};

export interface PeSection {
  name: string;
  virtualSize: number;
  virtualAddress: number;
  rawSize: number;
  rawPointer: number;
}

export interface PeInfo {
  /** Offset of "PE\0\0". */
  peOffset: number;
  machine: number;
  machineName: string;
  characteristics: number;
  timeDateStamp: number;
  /** 0x10B PE32, 0x20B PE32+. */
  magic: number;
  osVersion: string;
  imageVersion: string;
  subsystemVersion: string;
  subsystem: number;
  subsystemName: string;
  dllCharacteristics: number;
  sections: PeSection[];
  /** VS_FIXEDFILEINFO file and product versions ("6.2.9200.16384"), null without a version resource. */
  fileVersion: string | null;
  productVersion: string | null;
  /** StringFileInfo of the first language (CompanyName, FileVersion, OriginalFilename...). */
  strings: Record<string, string>;
}

/** §1: a PE has at most 96 sections by the loader's rule; bound the table to that. */
const MAX_SECTIONS = 96;
/** §3: the resource tree is three levels deep. */
const MAX_RESOURCE_DEPTH = 3;

function bad(msg: string, at: number): BootprobeError {
  return new BootprobeError('PE_INVALID', msg, {
    offset: at,
    structure: 'pe',
    hint: 'the file is not a valid PE image',
  });
}

export function decodePe(bytes: Uint8Array): PeInfo {
  const v = new ByteView(bytes, 0, 'PE image');
  if (bytes.length < 64 || v.ascii(0, 2) !== 'MZ') throw bad('no "MZ" DOS header at 0x0', 0);
  const pe = v.u32le(0x3c);
  if (pe + 24 > bytes.length || v.ascii(pe, 4) !== 'PE\0\0')
    throw bad(`e_lfanew ${hex(pe)} does not point at a "PE" signature`, 0x3c);
  const machine = v.u16le(pe + 4);
  const nSections = v.u16le(pe + 6);
  const optSize = v.u16le(pe + 20);
  const opt = pe + 24;
  if (nSections > MAX_SECTIONS) throw bad(`${nSections} sections, at most ${MAX_SECTIONS}`, pe + 6);
  v.need(opt, Math.max(optSize, 0x48), 'optional header');
  const magic = v.u16le(opt);
  if (magic !== 0x10b && magic !== 0x20b)
    throw bad(`optional header magic ${hex(magic)} is neither PE32 nor PE32+`, opt);
  const ver = (at: number) => `${v.u16le(at)}.${v.u16le(at + 2)}`;
  const sections: PeSection[] = [];
  const st = opt + optSize;
  for (let i = 0; i < nSections; i++) {
    const s = v.sub(st + 40 * i, 40, 'PE section header');
    sections.push({
      name: s.ascii(0, 8).replace(/\0.*$/, ''),
      virtualSize: s.u32le(8),
      virtualAddress: s.u32le(12),
      rawSize: s.u32le(16),
      rawPointer: s.u32le(20),
    });
  }
  const info: PeInfo = {
    peOffset: pe,
    machine,
    machineName: MACHINE_NAMES[machine] ?? hex(machine),
    characteristics: v.u16le(pe + 22),
    timeDateStamp: v.u32le(pe + 8),
    magic,
    osVersion: ver(opt + 0x28),
    imageVersion: ver(opt + 0x2c),
    subsystemVersion: ver(opt + 0x30),
    subsystem: v.u16le(opt + 0x44),
    subsystemName: SUBSYSTEM_NAMES[v.u16le(opt + 0x44)] ?? `unknown (${v.u16le(opt + 0x44)})`,
    dllCharacteristics: v.u16le(opt + 0x46),
    sections,
    fileVersion: null,
    productVersion: null,
    strings: {},
  };
  // Data directory #2 (resources): PE32 at opt+0x70, PE32+ at opt+0x80, if NumberOfRvaAndSizes > 2 (§1).
  const dirs = magic === 0x20b ? opt + 0x70 : opt + 0x60;
  const count = dirs - 4 + 4 <= opt + optSize ? v.u32le(dirs - 4) : 0;
  if (count > 2 && dirs + 24 <= opt + optSize) {
    const rva = v.u32le(dirs + 16);
    const size = v.u32le(dirs + 20);
    if (rva && size) readVersionResource(v, sections, rva, size, info);
  }
  return info;
}

/** RVA → file offset through the section holding it (§1). */
function rvaToOffset(sections: PeSection[], rva: number): number | null {
  for (const s of sections) {
    if (rva >= s.virtualAddress && rva < s.virtualAddress + Math.max(s.virtualSize, s.rawSize)) {
      const off = s.rawPointer + (rva - s.virtualAddress);
      return off < s.rawPointer + s.rawSize ? off : null;
    }
  }
  return null;
}

/** Finds RT_VERSION (16) → first name → first language, and decodes VS_VERSIONINFO (§3). */
function readVersionResource(
  v: ByteView,
  sections: PeSection[],
  rva: number,
  size: number,
  info: PeInfo,
): void {
  const base = rvaToOffset(sections, rva);
  if (base === null || base + 16 > v.length) return;
  const end = Math.min(v.length, base + size);
  const entry = (dirAt: number, wantId: number | null): number | null => {
    if (dirAt + 16 > end) return null;
    const n = v.u16le(dirAt + 12) + v.u16le(dirAt + 14);
    for (let i = 0; i < n && dirAt + 16 + 8 * (i + 1) <= end; i++) {
      const e = dirAt + 16 + 8 * i;
      const id = v.u32le(e);
      if (wantId !== null && ((id & 0x80000000) !== 0 || id !== wantId)) continue;
      return v.u32le(e + 4);
    }
    return null;
  };
  let off = entry(base, 16);
  for (let depth = 1; depth < MAX_RESOURCE_DEPTH && off !== null; depth++) {
    if ((off & 0x80000000) === 0) return;
    off = entry(base + (off & 0x7fffffff), null);
  }
  if (off === null || (off & 0x80000000) !== 0 || base + off + 16 > end) return;
  const dataRva = v.u32le(base + off);
  const dataSize = v.u32le(base + off + 4);
  const at = rvaToOffset(sections, dataRva);
  if (at === null || at + Math.min(dataSize, 92) > v.length) return;
  const blk = v.sub(at, Math.min(dataSize, v.length - at), 'VS_VERSIONINFO');
  if (blk.length < 92 || blk.utf16le(6, 30) !== 'VS_VERSION_INFO') return;
  const fixed = 40; // after the header and the padded key (§3 step 2)
  if (blk.u32le(fixed) !== 0xfeef04bd) return;
  const four = (ms: number, ls: number) => `${ms >>> 16}.${ms & 0xffff}.${ls >>> 16}.${ls & 0xffff}`;
  info.fileVersion = four(blk.u32le(fixed + 8), blk.u32le(fixed + 12));
  info.productVersion = four(blk.u32le(fixed + 16), blk.u32le(fixed + 20));
  readStringFileInfo(blk, 92, Math.min(blk.length, blk.u16le(0)), info.strings);
}

/** Walks StringFileInfo → first language table → String entries (§3 step 3), every length bounded. */
function readStringFileInfo(b: ByteView, from: number, to: number, out: Record<string, string>): void {
  const pad4 = (n: number) => (n + 3) & ~3;
  const key = (at: number, limit: number) => {
    let s = '';
    for (let p = at; p + 2 <= limit; p += 2) {
      const c = b.u16le(p);
      if (c === 0) return { s, next: p + 2 };
      s += String.fromCharCode(c);
    }
    return { s, next: limit };
  };
  for (let at = pad4(from); at + 6 <= to; ) {
    const len = b.u16le(at);
    if (len < 6 || at + len > to) return;
    const k = key(at + 6, at + len);
    if (k.s === 'StringFileInfo') {
      const table = pad4(k.next);
      const tlen = table + 6 <= at + len ? b.u16le(table) : 0;
      if (tlen >= 6 && table + tlen <= at + len) {
        const tk = key(table + 6, table + tlen);
        for (let s = pad4(tk.next); s + 6 <= table + tlen; ) {
          const slen = b.u16le(s);
          if (slen < 6 || s + slen > table + tlen) break;
          const name = key(s + 6, s + slen);
          const value = key(pad4(name.next), s + slen);
          out[name.s] = value.s;
          s = pad4(s + slen);
        }
      }
    }
    at = pad4(at + len);
  }
}

/** Windows names → NT version (pe.md §2 table). */
export const WINDOWS_VERSIONS: Record<string, { version: string; arch: 'x86' | 'x64' }> = {
  '2000': { version: '5.0', arch: 'x86' },
  xp: { version: '5.1', arch: 'x86' },
  'xp-x64': { version: '5.2', arch: 'x64' },
  '2003': { version: '5.2', arch: 'x86' },
  vista: { version: '6.0', arch: 'x64' },
  '7': { version: '6.1', arch: 'x64' },
  '8': { version: '6.2', arch: 'x64' },
  '8.1': { version: '6.3', arch: 'x64' },
  '10': { version: '10.0', arch: 'x64' },
  '11': { version: '10.0', arch: 'x64' },
};

export interface RunVerdict {
  ok: boolean;
  reasons: string[];
  /** What CreateProcess would report when it refuses. */
  error: string | null;
}

const num = (v: string) => {
  const [a, b] = v.split('.').map(Number);
  return (a ?? 0) * 1000 + (b ?? 0);
};

/**
 * The loader's gate for starting an .exe on a target (pe.md §2): machine supported by the target, subsystem a
 * Windows GUI/console one, 3.10 ≤ subsystem version ≤ target version. Imports are not checked (a weaker, later
 * failure).
 */
export function canRunOn(pe: PeInfo, targetVersion: string, targetArch: 'x86' | 'x64' | 'arm64'): RunVerdict {
  const reasons: string[] = [];
  const machines =
    targetArch === 'x86' ? [0x014c] : targetArch === 'x64' ? [0x014c, 0x8664] : [0x014c, 0xaa64, 0x01c4];
  if (!machines.includes(pe.machine))
    reasons.push(`machine ${pe.machineName} does not run on ${targetArch} Windows`);
  if (pe.subsystem !== 2 && pe.subsystem !== 3)
    reasons.push(`subsystem ${pe.subsystemName} is not started by CreateProcess`);
  if (num(pe.subsystemVersion) < num('3.10'))
    reasons.push(`subsystem version ${pe.subsystemVersion} is below 3.10`);
  if (num(pe.subsystemVersion) > num(targetVersion)) {
    reasons.push(
      `subsystem version ${pe.subsystemVersion} is above the target's NT version ${targetVersion}`,
    );
  }
  const ok = reasons.length === 0;
  return {
    ok,
    reasons,
    error: ok ? null : '0x800700C1 (ERROR_BAD_EXE_FORMAT: "is not a valid Win32 application")',
  };
}
