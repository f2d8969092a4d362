// VHDX parent locator (metadata item A8D35F2D-...): key/value pairs naming a differencing disk's parent, and the
// order in which its paths are tried. Layout and procedure: docs/vhd-vhdx.md §2.4 "Parent locator".
import { BootprobeError, hex } from '../../errors.js';
import { type ByteView, encodeUtf16le, type FileAccess, parseGuid } from '../../io/index.js';
import type { ParentCandidate } from '../open-image.js';

/** Locator type of a VHDX parent locator (§2.4). */
export const VHDX_PARENT_LOCATOR_TYPE = 'b04aefb7-d19e-4a81-b789-25b8e9445913';
const HEADER_SIZE = 20;
const ENTRY_SIZE = 12;

export interface ParentLocator {
  /** Absolute offset of the item, for errors. */
  offset: number;
  /** Key/value pairs in stored order (keys are unique: §2.4). */
  entries: readonly { key: string; value: string }[];
}

function fail(msg: string, offset: number): BootprobeError {
  return new BootprobeError('VHDX_METADATA', msg, {
    offset,
    structure: 'vhdx.parent_locator',
    hint: 'the parent locator is corrupt; pass --parent PATH',
  });
}

/**
 * Decodes the locator item: type GUID (16), u16 reserved, u16 count, then `count` entries of (u32 key offset,
 * u32 value offset, u16 key length, u16 value length), offsets from the item start, strings UTF-16LE (§2.4).
 */
export function decodeParentLocator(v: ByteView): ParentLocator {
  if (v.length < HEADER_SIZE)
    throw fail(`VHDX parent locator at ${hex(v.base)} is ${v.length} bytes`, v.base);
  const type = v.guid(0);
  if (type !== VHDX_PARENT_LOCATOR_TYPE) {
    throw new BootprobeError(
      'VHDX_METADATA',
      `VHDX parent locator at ${hex(v.base)}: type {${type}} is not the VHDX locator type`,
      {
        offset: v.base,
        structure: 'vhdx.parent_locator',
        kind: 'unsupported',
        hint: 'this differencing disk uses an unknown parent locator; pass --parent PATH',
      },
    );
  }
  const count = v.u16le(18);
  if (HEADER_SIZE + ENTRY_SIZE * count > v.length) {
    throw fail(
      `VHDX parent locator at ${hex(v.base)}: ${count} entries do not fit in its ${v.length} bytes`,
      v.base + 18,
    );
  }
  const entries: { key: string; value: string }[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) {
    const at = HEADER_SIZE + ENTRY_SIZE * i;
    const ko = v.u32le(at);
    const vo = v.u32le(at + 4);
    const kl = v.u16le(at + 8);
    const vl = v.u16le(at + 10);
    // Offsets and lengths are > 0 (§2.4); UTF-16 strings have an even length; both must lie inside the item.
    const inside = (o: number, l: number) => o > 0 && l > 0 && l % 2 === 0 && o + l <= v.length;
    if (!inside(ko, kl) || !inside(vo, vl)) {
      throw fail(
        `VHDX parent locator entry ${i} at ${hex(v.base + at)}: key (${kl} bytes at +${hex(ko)}) or value (${vl} bytes at +${hex(vo)}) is empty, odd or outside the ${v.length}-byte item`,
        v.base + at,
      );
    }
    const key = v.utf16le(ko, kl);
    if (seen.has(key)) throw fail(`VHDX parent locator lists key "${key}" twice`, v.base + at);
    seen.add(key);
    entries.push({ key, value: v.utf16le(vo, vl) });
  }
  return { offset: v.base, entries };
}

/** The value of `key` (keys are case-sensitive: §2.4), or null. */
export function locatorValue(loc: ParentLocator, key: string): string | null {
  return loc.entries.find((e) => e.key === key)?.value ?? null;
}

/**
 * The DataWriteGuids a parent may carry: parent_linkage and the optional parent_linkage2, normalised to lower-case
 * unbraced form (§2.4: compare as GUIDs, any case). A missing or malformed parent_linkage is corrupt.
 */
export function acceptedLinkages(loc: ParentLocator): string[] {
  const out: string[] = [];
  for (const key of ['parent_linkage', 'parent_linkage2']) {
    const raw = locatorValue(loc, key);
    if (raw === null) {
      if (key === 'parent_linkage')
        throw fail(`VHDX parent locator at ${hex(loc.offset)} has no parent_linkage`, loc.offset);
      continue;
    }
    const g = normalizeGuid(raw);
    if (g === null) throw fail(`VHDX parent locator ${key} "${raw}" is not a GUID`, loc.offset);
    out.push(g);
  }
  return out;
}

/** "{6B29FC40-CA47-...}" or "6b29fc40-ca47-..." → "6b29fc40-ca47-..."; null when not a GUID. */
export function normalizeGuid(s: string): string | null {
  return parseGuid(s)
    ? s
        .trim()
        .replace(/^\{|\}$/g, '')
        .toLowerCase()
    : null;
}

/**
 * `\\?\C:\p.vhdx` → `C:\p.vhdx` and `\\?\UNC\srv\share\p` → `\\srv\share\p`: the Win32 long-path prefix is not part
 * of the path (§2.4 absolute_win32_path). Volume paths (`\\?\Volume{...}\p`) are left as they are.
 */
export function stripWin32Prefix(p: string): string {
  if (/^\\\\\?\\UNC\\/i.test(p)) return `\\\\${p.slice(8)}`;
  if (/^\\\\\?\\[a-zA-Z]:/.test(p)) return p.slice(4);
  return p;
}

const PATH_KEYS = ['relative_path', 'volume_path', 'absolute_win32_path'] as const;

/**
 * Where to look for the parent, best first (§2.4 "Procedure"): relative_path resolved beside the child, volume_path,
 * absolute_win32_path (prefix stripped); then the file name of each beside the child, for a chain copied to another
 * folder. Duplicates are left in: openParent tries each path once.
 */
export function parentCandidates(
  loc: ParentLocator,
  childPath: string,
  files: FileAccess | undefined,
): ParentCandidate[] {
  const out: ParentCandidate[] = [];
  const beside = (p: string) => (files ? files.resolveBeside(childPath, p) : p);
  for (const key of PATH_KEYS) {
    const v = locatorValue(loc, key);
    if (v) out.push({ path: beside(key === 'absolute_win32_path' ? stripWin32Prefix(v) : v), via: key });
  }
  for (const key of PATH_KEYS) {
    const v = locatorValue(loc, key);
    if (v && files) out.push({ path: beside(files.basename(v)), via: `${key} file name beside the child` });
  }
  return out;
}

/**
 * A parent locator item: the locator type, u16 0, u16 count, the entries, then each key and value in order
 * (UTF-16LE, no NUL), as Hyper-V lays it out (corpus hyperv-differencing.avhdx) (§2.4).
 */
export function encodeParentLocator(entries: readonly { key: string; value: string }[]): Uint8Array {
  const strings = entries.map((e) => ({ k: encodeUtf16le(e.key), v: encodeUtf16le(e.value) }));
  let at = HEADER_SIZE + ENTRY_SIZE * entries.length;
  const size = strings.reduce((n, s) => n + s.k.length + s.v.length, at);
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  b.set(parseGuid(VHDX_PARENT_LOCATOR_TYPE)!, 0);
  v.setUint16(18, entries.length, true);
  strings.forEach((s, i) => {
    if (s.k.length === 0 || s.v.length === 0 || s.k.length > 0xffff || s.v.length > 0xffff) {
      throw new RangeError('a VHDX parent locator key or value is empty or longer than 64 KiB');
    }
    const e = HEADER_SIZE + ENTRY_SIZE * i;
    v.setUint32(e, at, true);
    b.set(s.k, at);
    at += s.k.length;
    v.setUint32(e + 4, at, true);
    b.set(s.v, at);
    at += s.v.length;
    v.setUint16(e + 8, s.k.length, true);
    v.setUint16(e + 10, s.v.length, true);
  });
  return b;
}
