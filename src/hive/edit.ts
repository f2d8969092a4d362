// An editable registry key tree: what the regf writer (writer.ts) serializes. It is made from an opened hive (every
// key, value, class name, timestamp and security descriptor kept), from any RegistryKey (key.ts: a .reg export in
// tests, another store) or from nothing, and it is itself a RegistryKey, so bcd/ reads an edited tree exactly as it
// reads a hive. Pure: no I/O, no clock (edits stamp keys with `clock` when one is given, else keep timestamps).
// Names and sort order: docs/regf.md §5.1 (key names ≤ 255 characters), §5.5 (subkeys sorted by upper-cased name,
// ordinal UTF-16 compare); values keep their order (§5.2: the value list is unsorted, Windows appends).
import { BootprobeError, hex } from '../errors.js';
import { BASE_BLOCK_COPY_SIZE, BASE_BLOCK_SIZE } from './base-block.js';
import type { Hive, HiveKey } from './hive.js';
import { REG, type RegistryKey, type RegistryValue } from './key.js';
import { upcaseName } from './name.js';
import { NK_FLAGS } from './nk.js';
import { decodeSk } from './sk.js';

/** Windows' limits on names (regf.md §5.1 [C]: ≤ 255 characters for keys; 16383 for value names, MS "Registry element size limits"). */
export const MAX_KEY_NAME_LENGTH = 255;
export const MAX_VALUE_NAME_LENGTH = 16383;
/** A class name is stored with a u16 byte length (regf.md §5.1 offset 74). */
export const MAX_CLASS_NAME_LENGTH = 32767;
/** The value size field keeps bit 31 for "inline" (regf.md §5.2), so data stays below 2 GiB. */
export const MAX_VALUE_DATA_SIZE = 0x7fffffff;
/** Keys nest at most this deep (the reader's MAX_KEY_DEPTH, hive.ts). */
export const MAX_EDIT_DEPTH = 512;

/**
 * Security descriptor of a key made from nothing: the one Windows gives the root of an installed BCD store
 * (corpus windeploy-bios-installed.BCD, sk at 0x80; the same 100 bytes in 6 of the 11 corpus stores):
 * self-relative, owner BUILTIN\Administrators, group SYSTEM, DACL allowing KEY_ALL_ACCESS to Administrators and
 * SYSTEM (O:BAG:SYD:(A;;KA;;;BA)(A;;KA;;;SY)). New subkeys take their parent's descriptor (regf.md §5.4).
 */
export const DEFAULT_SECURITY_DESCRIPTOR: Uint8Array = Uint8Array.from(
  (
    '010004804800000058000000000000001400000002003400020000000000180' +
    '03f000f0001020000000000052000000020020000000014003f000f000101000000000005120000000102000000000005' +
    '2000000020020000010100000000000512000000'
  )
    .match(/../g)!
    .map((h) => Number.parseInt(h, 16)),
);

/**
 * nk flags a key keeps from its source: all but the ones the writer derives (COMP_NAME from the name, HIVE_ENTRY for
 * the root) and the two never found on disk (VOLATILE, HIVE_EXIT), regf.md §5.1. Kept: NO_DELETE, SYM_LINK, and the
 * bits regf.md does not name — e.g. the XP-era user flags in bits 12..15 (Suhanov's spec, a source of regf.md), set
 * on keys of the corpus SYSTEM hive.
 */
export const NK_KEPT_FLAGS =
  0xffff & ~(NK_FLAGS.VOLATILE | NK_FLAGS.HIVE_EXIT | NK_FLAGS.HIVE_ENTRY | NK_FLAGS.COMP_NAME);

export interface EditableValue extends RegistryValue {}

/** Ordinal compare of upper-cased names, UTF-16 code unit by unit, a prefix first (regf.md §5.5 [C]). */
export function compareKeyNames(a: string, b: string): number {
  const ua = upcaseName(a);
  const ub = upcaseName(b);
  return ua < ub ? -1 : ua > ub ? 1 : 0;
}

function editError(message: string, hint: string, data?: Record<string, unknown>): never {
  throw new BootprobeError('HIVE_EDIT', message, { structure: 'regf.edit', hint, data, kind: 'usage' });
}

/** FILETIME (100 ns since 1601-01-01 UTC) of a Date. */
export function dateToFiletime(d: Date): bigint {
  return (BigInt(d.getTime()) + 11644473600000n) * 10000n;
}

const filetimeDate = (ft: bigint): Date | null => {
  if (ft === 0n) return null;
  const d = new Date(Number(ft / 10000n) - 11644473600000);
  return Number.isNaN(d.getTime()) ? null : d;
};

/** State shared by every key of one tree. */
interface TreeContext {
  /** FILETIME stamped on keys an edit changes; null keeps timestamps as they are. */
  clock: bigint | null;
}

export interface NewKeyOptions {
  className?: string | null;
  /** Default: the parent's descriptor (regf.md §5.4: a new key reuses its parent's sk). */
  security?: Uint8Array;
}

export class EditableKey implements RegistryKey {
  /** The nk timestamp as stored (FILETIME). */
  lastWrittenRaw: bigint;
  /** Self-relative SECURITY_DESCRIPTOR bytes (one sk per distinct descriptor in the written hive). */
  security: Uint8Array;
  /** nk flags as found, less the derived ones (NK_KEPT_FLAGS). */
  flags: number;
  /** nk offset 12 (Win8+ access bits), kept as found; 0 for new keys. */
  accessBits: number;
  /** Upper 16 bits of nk offset 52 (Vista+ virtualization/user/debug flags, regf.md §5.1), kept as found. */
  nameLengthFlags: number;
  private _name: string;
  private _className: string | null;
  private readonly children: EditableKey[] = [];
  private readonly vals: EditableValue[] = [];

  /** Use EditableHive / addKey to make keys; the constructor does not validate. */
  constructor(
    name: string,
    readonly parent: EditableKey | null,
    private readonly context: TreeContext,
    fields: {
      className?: string | null;
      lastWrittenRaw?: bigint;
      security: Uint8Array;
      flags?: number;
      accessBits?: number;
      nameLengthFlags?: number;
    },
  ) {
    this._name = name;
    this._className = fields.className ?? null;
    this.lastWrittenRaw = fields.lastWrittenRaw ?? context.clock ?? 0n;
    this.security = fields.security;
    this.flags = (fields.flags ?? 0) & NK_KEPT_FLAGS;
    this.accessBits = fields.accessBits ?? 0;
    this.nameLengthFlags = fields.nameLengthFlags ?? 0;
  }

  get name(): string {
    return this._name;
  }
  get className(): string | null {
    return this._className;
  }
  get lastWritten(): Date | null {
    return filetimeDate(this.lastWrittenRaw);
  }
  /** Depth below the root (root = 0). */
  get depth(): number {
    let d = 0;
    for (let k = this.parent; k; k = k.parent) d++;
    return d;
  }
  /** Backslash path from the root ('\\' for the root), names as stored. */
  get path(): string {
    const parts: string[] = [];
    for (let k: EditableKey | null = this; k?.parent; k = k.parent) parts.unshift(k.name);
    return `\\${parts.join('\\')}`;
  }

  /** Subkeys in the order Windows keeps them (regf.md §5.5). */
  subkeys(): EditableKey[] {
    return [...this.children];
  }
  subkey(name: string): EditableKey | null {
    const i = this.indexOf(name);
    return i.found ? this.children[i.at]! : null;
  }
  /** Values in stored order. */
  values(): EditableValue[] {
    return [...this.vals];
  }
  value(name: string): EditableValue | null {
    const want = upcaseName(name);
    return this.vals.find((v) => upcaseName(v.name) === want) ?? null;
  }

  /** The key at a backslash path below this one (case-insensitive), or null. */
  find(path: string): EditableKey | null {
    let k: EditableKey | null = this;
    for (const part of path.split('\\')) {
      if (part === '') continue;
      k = k.subkey(part);
      if (!k) return null;
    }
    return k;
  }

  /** Binary search over the sorted children. */
  private indexOf(name: string): { found: boolean; at: number } {
    let lo = 0;
    let hi = this.children.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const c = compareKeyNames(this.children[mid]!.name, name);
      if (c === 0) return { found: true, at: mid };
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return { found: false, at: lo };
  }

  private touch(): void {
    if (this.context.clock !== null) this.lastWrittenRaw = this.context.clock;
  }

  /** Adds a subkey; HIVE_EDIT when the name is invalid or taken (case-insensitively). */
  addKey(name: string, options: NewKeyOptions = {}): EditableKey {
    checkKeyName(name);
    if (this.depth + 1 > MAX_EDIT_DEPTH) {
      editError(`key ${this.path}: keys may nest ${MAX_EDIT_DEPTH} levels deep`, 'use a shallower path');
    }
    const i = this.indexOf(name);
    if (i.found) {
      editError(
        `key ${this.path} already has a subkey "${this.children[i.at]!.name}"`,
        'open it or delete it first',
        {
          key: this.path,
          name,
        },
      );
    }
    if (options.className != null) checkClassName(options.className);
    const k = new EditableKey(name, this, this.context, {
      className: options.className ?? null,
      security: options.security ?? this.security,
    });
    this.children.splice(i.at, 0, k);
    this.touch();
    return k;
  }

  /** The subkey at a relative path, created (with its missing ancestors) when absent. */
  ensureKey(path: string): EditableKey {
    let k: EditableKey = this;
    for (const part of path.split('\\')) {
      if (part === '') continue;
      k = k.subkey(part) ?? k.addKey(part);
    }
    return k;
  }

  /** Deletes a subkey and everything below it; false when there is none. */
  deleteKey(name: string): boolean {
    const i = this.indexOf(name);
    if (!i.found) return false;
    this.children.splice(i.at, 1);
    this.touch();
    return true;
  }

  /** Renames this key (the parent keeps its list sorted); HIVE_EDIT when a sibling has that name. */
  rename(name: string): void {
    checkKeyName(name);
    const p = this.parent;
    if (p) {
      const other = p.subkey(name);
      if (other && other !== this)
        editError(`key ${p.path} already has a subkey "${other.name}"`, 'pick another name');
      p.children.splice(p.children.indexOf(this), 1);
      this._name = name;
      p.children.splice(p.indexOf(name).at, 0, this);
      p.touch();
    } else {
      this._name = name;
    }
    this.touch();
  }

  setClassName(className: string | null): void {
    if (className !== null) checkClassName(className);
    this._className = className;
    this.touch();
  }

  /** Sets (adds or replaces, keeping its place) a value of any registry type with these exact bytes. */
  setValue(name: string, type: number, data: Uint8Array): void {
    if (name.length > MAX_VALUE_NAME_LENGTH) {
      editError(
        `value name of ${name.length} characters (at most ${MAX_VALUE_NAME_LENGTH})`,
        'use a shorter name',
      );
    }
    if (!Number.isInteger(type) || type < 0 || type > 0xffffffff) {
      editError(`registry type ${type} is not a 32-bit number`, 'use a REG_* code (hive/key.ts REG)');
    }
    if (data.length > MAX_VALUE_DATA_SIZE) {
      editError(
        `value data of ${data.length} bytes (at most ${hex(MAX_VALUE_DATA_SIZE)})`,
        'store less data',
      );
    }
    const v: EditableValue = { name, type: type >>> 0, data: data.slice() };
    const want = upcaseName(name);
    const i = this.vals.findIndex((x) => upcaseName(x.name) === want);
    // Replacing keeps the stored name's spelling, as RegSetValueEx does for a name that differs only in case.
    if (i >= 0) this.vals[i] = { ...v, name: this.vals[i]!.name };
    else this.vals.push(v);
    this.touch();
  }

  /** Deletes a value ('' = the default value); false when there is none. */
  deleteValue(name: string): boolean {
    const want = upcaseName(name);
    const i = this.vals.findIndex((x) => upcaseName(x.name) === want);
    if (i < 0) return false;
    this.vals.splice(i, 1);
    this.touch();
    return true;
  }

  setString(name: string, text: string, type: number = REG.SZ): void {
    this.setValue(name, type, encodeRegSz(text));
  }
  setMultiString(name: string, items: readonly string[]): void {
    this.setValue(name, REG.MULTI_SZ, encodeRegMultiSz(items));
  }
  setDword(name: string, n: number): void {
    this.setValue(name, REG.DWORD, encodeRegDword(n));
  }
  setDwordBigEndian(name: string, n: number): void {
    this.setValue(name, REG.DWORD_BIG_ENDIAN, encodeRegDwordBigEndian(n));
  }
  setQword(name: string, n: bigint): void {
    this.setValue(name, REG.QWORD, encodeRegQword(n));
  }
  setBinary(name: string, data: Uint8Array): void {
    this.setValue(name, REG.BINARY, data);
  }

  /** A deep copy attached to `parent` (or a new root) in `context`. */
  cloneInto(parent: EditableKey | null, context: TreeContext): EditableKey {
    const copy = new EditableKey(this._name, parent, context, {
      className: this._className,
      lastWrittenRaw: this.lastWrittenRaw,
      security: this.security,
      flags: this.flags,
      accessBits: this.accessBits,
      nameLengthFlags: this.nameLengthFlags,
    });
    for (const v of this.vals) copy.vals.push({ name: v.name, type: v.type, data: v.data.slice() });
    for (const c of this.children) copy.children.push(c.cloneInto(copy, context));
    return copy;
  }

  /** Appends a child read from a source without re-sorting (the caller sorts once). */
  adoptUnsorted(child: EditableKey): void {
    this.children.push(child);
  }
  /** Appends a source value as found (no validation beyond what the writer checks). */
  adoptValue(v: RegistryValue): void {
    this.vals.push({ name: v.name, type: v.type >>> 0, data: v.data.slice() });
  }
  /** Sorts children as Windows does and rejects names that collide case-insensitively. */
  sortChildren(): void {
    this.children.sort((a, b) => compareKeyNames(a.name, b.name));
    for (let i = 1; i < this.children.length; i++) {
      if (compareKeyNames(this.children[i - 1]!.name, this.children[i]!.name) === 0) {
        throw new BootprobeError(
          'HIVE_CELL',
          `key ${this.path}: two subkeys are named "${this.children[i]!.name}" (case-insensitively)`,
          { structure: 'regf.nk', hint: 'the source hive is damaged; it cannot be rewritten as it is' },
        );
      }
    }
  }
}

function checkKeyName(name: string): void {
  if (name.length === 0 || name.length > MAX_KEY_NAME_LENGTH) {
    editError(
      `key name of ${name.length} characters (1..${MAX_KEY_NAME_LENGTH} allowed)`,
      'use another name',
      {
        name,
      },
    );
  }
  if (name.includes('\\'))
    editError(`key name "${name}" contains a backslash`, 'give one path component at a time');
}

function checkClassName(className: string): void {
  if (className.length > MAX_CLASS_NAME_LENGTH) {
    editError(
      `class name of ${className.length} characters (at most ${MAX_CLASS_NAME_LENGTH})`,
      'use a shorter one',
    );
  }
}

/** REG_SZ / REG_EXPAND_SZ bytes: UTF-16LE with the NUL terminator (regf.md §6, §8 step 7). */
export function encodeRegSz(text: string): Uint8Array {
  const out = new Uint8Array(text.length * 2 + 2);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out[i * 2] = c & 0xff;
    out[i * 2 + 1] = c >> 8;
  }
  return out;
}

/** REG_MULTI_SZ bytes: each string NUL-terminated, then the final empty string (regf.md §6). */
export function encodeRegMultiSz(items: readonly string[]): Uint8Array {
  for (const s of items) {
    if (s.includes('\0') || s === '') {
      editError('REG_MULTI_SZ items may not be empty or contain NUL', 'drop the empty item', { items });
    }
  }
  return encodeRegSz(items.length === 0 ? '' : `${items.join('\0')}\0`);
}

export function encodeRegDword(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}
export function encodeRegDwordBigEndian(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, false);
  return b;
}
export function encodeRegQword(n: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, n), true);
  return b;
}

export interface EditableHiveFields {
  minorVersion: number;
  /** First 512 bytes of the source base block (file name, GUIDs, offreg marker, remnants: regf.md §8 step 3). */
  baseBlock: Uint8Array | null;
  /** Bytes 512..4095 of the source base block, kept as found. */
  baseBlockTail: Uint8Array | null;
  /** The source's sequence numbers (primary, secondary), null for a new hive. */
  sequence: readonly [number, number] | null;
  lastWrittenRaw: bigint;
  clock: bigint | null;
}

/** A whole hive to be written: the key tree plus what the base block keeps (regf.md §2, §8 step 3). */
export class EditableHive {
  readonly root: EditableKey;
  minorVersion: number;
  readonly baseBlock: Uint8Array | null;
  readonly baseBlockTail: Uint8Array | null;
  readonly sequence: readonly [number, number] | null;
  lastWrittenRaw: bigint;
  private readonly context: TreeContext;

  constructor(root: (context: TreeContext) => EditableKey, fields: EditableHiveFields) {
    this.context = { clock: fields.clock };
    this.root = root(this.context);
    this.minorVersion = fields.minorVersion;
    this.baseBlock = fields.baseBlock;
    this.baseBlockTail = fields.baseBlockTail;
    this.sequence = fields.sequence;
    this.lastWrittenRaw = fields.lastWrittenRaw;
  }

  /** FILETIME stamped on keys an edit changes (null: leave timestamps). */
  get clock(): bigint | null {
    return this.context.clock;
  }
  set clock(ft: bigint | null) {
    this.context.clock = ft;
  }

  /** A deep copy (edits to it leave this one alone). */
  clone(): EditableHive {
    return new EditableHive((ctx) => this.root.cloneInto(null, ctx), {
      minorVersion: this.minorVersion,
      baseBlock: this.baseBlock?.slice() ?? null,
      baseBlockTail: this.baseBlockTail?.slice() ?? null,
      sequence: this.sequence,
      lastWrittenRaw: this.lastWrittenRaw,
      clock: this.context.clock,
    });
  }
}

export interface NewHiveOptions {
  rootName: string;
  /** Default 3: what Windows writes for BCD stores (regf.md §2: every corpus BCD is 1.3). */
  minorVersion?: number;
  security?: Uint8Array;
  clock?: bigint | null;
}

/** An empty hive: one root key. */
export function createHive(options: NewHiveOptions): EditableHive {
  checkKeyName(options.rootName);
  const clock = options.clock ?? null;
  return new EditableHive(
    (ctx) =>
      new EditableKey(options.rootName, null, ctx, {
        security: options.security ?? DEFAULT_SECURITY_DESCRIPTOR,
        flags: NK_FLAGS.NO_DELETE,
        lastWrittenRaw: clock ?? 0n,
      }),
    {
      minorVersion: options.minorVersion ?? 3,
      baseBlock: null,
      baseBlockTail: null,
      sequence: null,
      lastWrittenRaw: clock ?? 0n,
      clock,
    },
  );
}

export interface FromHiveOptions {
  /** Stamp changed keys with this FILETIME. */
  clock?: bigint | null;
  /** Accept a hive whose logs were replayed in memory (writing it back is that replay's write-back). */
  allowRecovered?: boolean;
}

/**
 * The editable copy of an opened hive: every key (with class, timestamp, flags, security descriptor), every value,
 * the base block's kept bytes. Refuses a dirty hive read without its logs (regf.md §8 step 1: never write one).
 */
export function editableFromHive(hive: Hive, options: FromHiveOptions = {}): EditableHive {
  if (hive.warnings.some((w) => w.code === 'HIVE_DIRTY')) {
    throw new BootprobeError('HIVE_DIRTY', `${hive.name}: the hive is dirty and was read without its logs`, {
      offset: 4,
      structure: 'regf.base-block',
      hint: 'give the hive its .LOG/.LOG1/.LOG2 files; a dirty hive is never rewritten (regf.md §8)',
      kind: 'unsafe',
    });
  }
  if (hive.recovered && !options.allowRecovered) {
    throw new BootprobeError('HIVE_DIRTY', `${hive.name}: the hive needed log replay`, {
      offset: 4,
      structure: 'regf.base-block',
      hint: 'writing a replayed hive back is a separate, explicit repair (allowRecovered)',
      kind: 'unsafe',
    });
  }
  const bb = hive.baseBlock;
  const sks = new Map<number, Uint8Array>();
  const security = (k: HiveKey): Uint8Array => {
    const off = k.nk.securityOffset;
    let sd = sks.get(off);
    if (!sd) {
      sd = decodeSk(hive.space.cell(off, `${hive.name}: security of key ${k.path}`).data).descriptor;
      sks.set(off, sd);
    }
    return sd;
  };
  const clock = options.clock ?? null;
  const copyKey = (src: HiveKey, parent: EditableKey | null, ctx: TreeContext): EditableKey => {
    const nkData = hive.space.cell(src.offset, `${hive.name}: key ${src.path}`).data;
    return new EditableKey(src.name, parent, ctx, {
      className: src.className,
      lastWrittenRaw: src.nk.lastWrittenRaw,
      security: security(src),
      flags: src.nk.flags,
      accessBits: src.nk.accessBits,
      nameLengthFlags: nkData.u32le(52) >>> 16,
    });
  };
  return new EditableHive(
    (ctx) => {
      const root = copyKey(hive.root, null, ctx);
      // Explicit stack: the reader bounds depth (MAX_KEY_DEPTH) and rejects loops, so this ends.
      const stack: [HiveKey, EditableKey][] = [[hive.root, root]];
      while (stack.length > 0) {
        const [src, dst] = stack.pop()!;
        for (const v of src.values()) dst.adoptValue(v);
        for (const c of src.subkeys()) {
          const k = copyKey(c, dst, ctx);
          dst.adoptUnsorted(k);
          stack.push([c, k]);
        }
        dst.sortChildren();
      }
      return root;
    },
    {
      minorVersion: bb.minorVersion,
      baseBlock: bb.raw.slice(0, BASE_BLOCK_COPY_SIZE),
      baseBlockTail: hive.bytes.slice(BASE_BLOCK_COPY_SIZE, BASE_BLOCK_SIZE),
      sequence: [bb.primarySequence, bb.secondarySequence],
      lastWrittenRaw: bb.lastWrittenRaw,
      clock,
    },
  );
}

export interface FromKeyOptions {
  /** Default 3 (BCD stores, regf.md §2). */
  minorVersion?: number;
  /** Descriptor for every key (default DEFAULT_SECURITY_DESCRIPTOR). */
  security?: Uint8Array;
  clock?: bigint | null;
}

/** An editable hive whose root is a copy of any RegistryKey tree (a .reg export, a key of another hive). */
export function editableFromKey(source: RegistryKey, options: FromKeyOptions = {}): EditableHive {
  const sd = options.security ?? DEFAULT_SECURITY_DESCRIPTOR;
  const clock = options.clock ?? null;
  const ft = (k: RegistryKey) => (k.lastWritten ? dateToFiletime(k.lastWritten) : (clock ?? 0n));
  return new EditableHive(
    (ctx) => {
      const root = new EditableKey(source.name, null, ctx, {
        className: source.className,
        lastWrittenRaw: ft(source),
        security: sd,
        flags: NK_FLAGS.NO_DELETE,
      });
      const stack: [RegistryKey, EditableKey, number][] = [[source, root, 0]];
      while (stack.length > 0) {
        const [src, dst, depth] = stack.pop()!;
        if (depth > MAX_EDIT_DEPTH) {
          editError(
            `source keys nest deeper than ${MAX_EDIT_DEPTH} levels`,
            'the source tree has a loop or is too deep',
          );
        }
        for (const v of src.values()) dst.adoptValue(v);
        for (const c of src.subkeys()) {
          const k = new EditableKey(c.name, dst, ctx, {
            className: c.className,
            lastWrittenRaw: ft(c),
            security: sd,
          });
          dst.adoptUnsorted(k);
          stack.push([c, k, depth + 1]);
        }
        dst.sortChildren();
      }
      return root;
    },
    {
      minorVersion: options.minorVersion ?? 3,
      baseBlock: null,
      baseBlockTail: null,
      sequence: null,
      lastWrittenRaw: clock ?? 0n,
      clock,
    },
  );
}
