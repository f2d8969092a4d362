// Opening a hive (docs/regf.md §2 "Opening a hive", §3–§6): base block, dirty detection and log replay (§7, in
// recover.ts), bins, then keys and values decoded lazily from the in-memory image as they are asked for.
import { BootprobeError, type Finding, hex } from '../errors.js';
import type { ByteView } from '../io/index.js';
import {
  BASE_BLOCK_COPY_SIZE,
  BASE_BLOCK_SIZE,
  type BaseBlock,
  decodeBaseBlock,
  HIVE_FILE_TYPE,
  tryDecodeBaseBlock,
} from './base-block.js';
import { DB_SEGMENT_DATA_SIZE, decodeDb, isDb } from './big-data.js';
import { type HiveBin, readHiveBins } from './bin.js';
import { type CellOffset, CellSpace, fileView, NO_CELL } from './cell.js';
import { HIVE_DAMAGED } from './hints.js';
import type { RegistryKey, RegistryValue } from './key.js';
import { lhHash, upcaseName } from './name.js';
import { decodeNk, NK_FLAGS, type NkRecord } from './nk.js';
import { type RecoveryReport, recoverHive } from './recover.js';
import { decodeSubkeyList, type SubkeyListKind } from './subkey-list.js';
import { decodeVk, type VkRecord } from './vk.js';

export interface OpenHiveOptions {
  /** Contents of the hive's .LOG/.LOG1/.LOG2 files that exist, in the order logNamesFor() names them. */
  logs?: Uint8Array[];
  /** Throw instead of returning a warning (a dirty hive without usable logs → HIVE_DIRTY; clamped data → HIVE_CELL). */
  strict?: boolean;
  /** For messages only (the file name). */
  name?: string;
}

/** A key of an opened hive: the RegistryKey contract plus where it lives. */
export interface HiveKey extends RegistryKey {
  /** Cell offset of the nk. */
  readonly offset: CellOffset;
  /** Path from the root: '\\' for the root, '\\A\\B' below it (names as stored). */
  readonly path: string;
  readonly nk: NkRecord;
  readonly parent: HiveKey | null;
  subkeys(): HiveKey[];
  subkey(name: string): HiveKey | null;
}

export interface Hive {
  readonly name: string;
  readonly baseBlock: BaseBlock;
  readonly bins: readonly HiveBin[];
  readonly root: HiveKey;
  /** Findings that did not stop the read (a dirty hive read without logs, clamped value data). Grows as keys are read. */
  readonly warnings: Finding[];
  /** True when logs were replayed in memory. */
  readonly recovered: boolean;
  /** What replay did, when it did. */
  readonly recovery: RecoveryReport | null;
  /** The image keys are read from: the input, or the recovered copy. */
  readonly bytes: Uint8Array;
  /** Checked access to any allocated cell of the image (sk records, raw cells). */
  readonly space: CellSpace;
  /** Backslash-separated path from the root ('' or '\\' is the root), case-insensitive; null if absent. */
  getKey(path: string): HiveKey | null;
}

/** Windows refuses keys nested deeper than 512 levels [I]; the bound also stops a subkey loop. */
export const MAX_KEY_DEPTH = 512;
/** Smallest cell an nk can occupy (4 size bytes + 76 fixed bytes, 8-aligned): bounds subkey counts. */
const MIN_NK_CELL = 80;

export function openHive(bytes: Uint8Array, options: OpenHiveOptions = {}): Hive {
  const name = options.name ?? 'hive';
  const strict = options.strict ?? false;
  const warnings: Finding[] = [];
  if (bytes.length < BASE_BLOCK_COPY_SIZE) {
    throw new BootprobeError(
      'HIVE_BASE_BLOCK',
      `${name}: ${bytes.length} bytes, too short for a registry hive`,
      {
        offset: 0,
        structure: 'regf.base-block',
        hint: 'the file is truncated or not a hive',
      },
    );
  }
  const primary = tryDecodeBaseBlock(bytes);
  const dirty = !primary || !primary.checksumValid || primary.primarySequence !== primary.secondarySequence;
  let image = bytes;
  let recovery: RecoveryReport | null = null;
  // regf.md §2 steps 3–4: a clean hive ignores every log (BCD logs sit one sequence behind, stale by design).
  if (dirty) {
    const logs = options.logs ?? [];
    const result = logs.some((l) => l.length > 0) ? recoverHive(bytes, logs) : null;
    if (result?.report) {
      image = result.bytes;
      recovery = result.report;
    } else {
      const why = !primary
        ? 'base block is invalid'
        : !primary.checksumValid
          ? `base block checksum ${hex(primary.checksum)} ≠ ${hex(primary.computedChecksum)}`
          : `sequence numbers ${primary.primarySequence} ≠ ${primary.secondarySequence}`;
      const logWhy = result ? result.reason : 'no transaction logs were given';
      const message = `${name}: hive is dirty (${why}) and cannot be recovered: ${logWhy}`;
      if (strict || !primary) {
        throw new BootprobeError('HIVE_DIRTY', message, {
          offset: primary ? 4 : 0,
          structure: 'regf.base-block',
          hint: 'give the hive its .LOG/.LOG1/.LOG2 files, or read it without --strict to see possibly stale data',
          kind: result ? 'corrupt' : 'missing',
        });
      }
      warnings.push({
        code: 'HIVE_DIRTY',
        message: `${message}; reading it as found, data may be stale`,
        offset: 4,
      });
      if (!primary.checksumValid) {
        warnings.push({
          code: 'HIVE_CHECKSUM',
          message: `${name}: base block checksum ${hex(primary.checksum)}, computed ${hex(primary.computedChecksum)}`,
          offset: 508,
        });
      }
    }
  }
  return new HiveImpl(image, name, strict, warnings, recovery);
}

/** The .LOG/.LOG1/.LOG2 file names that may sit next to a hive file (regf.md §7). */
export function logNamesFor(hiveName: string): string[] {
  return [`${hiveName}.LOG`, `${hiveName}.LOG1`, `${hiveName}.LOG2`];
}

class HiveImpl implements Hive {
  readonly baseBlock: BaseBlock;
  readonly bins: readonly HiveBin[];
  readonly root: HiveKey;
  readonly space: CellSpace;
  readonly recovered: boolean;

  constructor(
    readonly bytes: Uint8Array,
    readonly name: string,
    readonly strict: boolean,
    readonly warnings: Finding[],
    readonly recovery: RecoveryReport | null,
  ) {
    this.recovered = recovery !== null;
    const file = fileView(bytes);
    if (bytes.length < BASE_BLOCK_SIZE) {
      throw new BootprobeError(
        'HIVE_BASE_BLOCK',
        `${name}: ${bytes.length} bytes, shorter than the base block`,
        {
          offset: 0,
          structure: 'regf.base-block',
          hint: 'the hive file is truncated',
        },
      );
    }
    const bb = decodeBaseBlock(file.sub(0, BASE_BLOCK_SIZE, 'regf.base-block'));
    this.baseBlock = bb;
    this.checkBaseBlock(bb);
    this.bins = readHiveBins(file, bb.hiveBinsDataSize);
    this.space = new CellSpace(file, this.bins, bb.hiveBinsDataSize);
    const rootCell = this.space.cell(bb.rootCellOffset, `${name}: root key`);
    const rootNk = decodeNk(rootCell.data);
    if ((rootNk.flags & NK_FLAGS.HIVE_ENTRY) === 0) {
      this.finding(
        'HIVE_CELL',
        `${name}: root key at ${hex(bb.rootCellOffset)} lacks the HIVE_ENTRY flag`,
        rootCell.data.base,
      );
    }
    this.root = new KeyImpl(this, rootCell.offset, rootNk, null, '\\', 0);
  }

  private checkBaseBlock(bb: BaseBlock): void {
    const fail = (what: string, at: number): never => {
      throw new BootprobeError('HIVE_BASE_BLOCK', `${this.name}: base block ${what}`, {
        offset: at,
        structure: 'regf.base-block',
        hint: 'the hive is damaged or this is not a primary hive file',
      });
    };
    if (bb.majorVersion !== 1) fail(`major version ${bb.majorVersion}, expected 1`, 20);
    if (bb.fileType !== HIVE_FILE_TYPE.PRIMARY) {
      fail(`file type ${bb.fileType}: this is a transaction log, not a primary hive`, 28);
    }
    if (bb.hiveBinsDataSize === 0 || bb.hiveBinsDataSize % 4096 !== 0) {
      fail(`hive bins data size ${hex(bb.hiveBinsDataSize)} is not a non-zero multiple of 4096`, 40);
    }
    if (bb.minorVersion > 6)
      this.finding('HIVE_BASE_BLOCK', `${this.name}: unknown minor version ${bb.minorVersion}`, 24);
    if (bb.fileFormat !== 1)
      this.finding('HIVE_BASE_BLOCK', `${this.name}: file format ${bb.fileFormat}, expected 1`, 32);
  }

  /** Records a non-fatal finding, or throws it when the hive was opened strict. */
  finding(code: 'HIVE_CELL' | 'HIVE_BASE_BLOCK', message: string, offset: number): void {
    if (this.strict) {
      throw new BootprobeError(code, message, { offset, hint: 'opened strict: damaged data is refused' });
    }
    this.warnings.push({ code, message, offset });
  }

  getKey(path: string): HiveKey | null {
    let key: HiveKey | null = this.root;
    for (const part of path.split('\\')) {
      if (part === '') continue;
      key = key.subkey(part);
      if (!key) return null;
    }
    return key;
  }
}

interface ListEntry {
  readonly offset: number;
  readonly kind: SubkeyListKind;
  readonly hint: number;
}

class KeyImpl implements HiveKey {
  readonly name: string;
  readonly lastWritten: Date | null;
  private entries: ListEntry[] | null = null;
  private valueCache: RegistryValue[] | null = null;
  private childCache = new Map<number, KeyImpl>();

  constructor(
    private readonly hive: HiveImpl,
    readonly offset: CellOffset,
    readonly nk: NkRecord,
    readonly parent: KeyImpl | null,
    readonly path: string,
    private readonly depth: number,
  ) {
    this.name = nk.name;
    this.lastWritten = nk.lastWritten;
  }

  private fail(what: string, at: number): never {
    throw new BootprobeError('HIVE_CELL', `${this.hive.name}: key ${this.path}: ${what}`, {
      offset: at,
      structure: 'regf.nk',
      hint: HIVE_DAMAGED,
    });
  }

  get className(): string | null {
    const { classNameOffset, classNameLength } = this.nk;
    if (classNameOffset === NO_CELL || classNameLength === 0) return null;
    const cell = this.hive.space.cell(classNameOffset, `${this.hive.name}: class name of key ${this.path}`);
    let n = classNameLength;
    if (n > cell.data.length) {
      this.hive.finding(
        'HIVE_CELL',
        `key ${this.path}: class name length ${n} exceeds its cell`,
        cell.data.base,
      );
      n = cell.data.length;
    }
    return cell.data.utf16le(0, n & ~1);
  }

  /** Every element of the subkey list(s), ri flattened one level (regf.md §5.5: ri never points to ri). */
  private listEntries(): ListEntry[] {
    if (this.entries) return this.entries;
    const { subkeyCount, subkeyListOffset } = this.nk;
    const space = this.hive.space;
    const entries: ListEntry[] = [];
    if (subkeyCount !== 0) {
      const nkAt = space.cell(this.offset, 'key').data.base;
      if (subkeyCount > space.binsSize / MIN_NK_CELL) {
        this.fail(
          `subkey count ${subkeyCount} cannot fit in ${hex(space.binsSize)} bytes of bins`,
          nkAt + 20,
        );
      }
      const what = `${this.hive.name}: subkey list of key ${this.path}`;
      const top = space.cell(subkeyListOffset, what);
      const list = decodeSubkeyList(top.data);
      const take = (
        kind: SubkeyListKind,
        offsets: readonly number[],
        hints: readonly number[],
        at: number,
      ) => {
        if (entries.length + offsets.length > subkeyCount) {
          this.fail(`lists hold more than the ${subkeyCount} subkeys the key records`, at);
        }
        offsets.forEach((offset, i) => {
          entries.push({ offset, kind, hint: hints[i] ?? 0 });
        });
      };
      if (list.kind === 'ri') {
        const visited = new Set<number>([subkeyListOffset]);
        for (const leafOff of list.offsets) {
          if (visited.has(leafOff))
            this.fail(`index root lists the list at ${hex(leafOff)} twice (a loop)`, top.data.base);
          visited.add(leafOff);
          const leafCell = space.cell(leafOff, `${what} (ri element)`);
          const leaf = decodeSubkeyList(leafCell.data);
          if (leaf.kind === 'ri')
            this.fail(`index root points to another index root at ${hex(leafOff)}`, leafCell.data.base);
          take(leaf.kind, leaf.offsets, leaf.hints, leafCell.data.base);
        }
      } else {
        take(list.kind, list.offsets, list.hints, top.data.base);
      }
      if (entries.length !== subkeyCount) {
        this.fail(`records ${subkeyCount} subkeys but its lists hold ${entries.length}`, nkAt + 20);
      }
    }
    this.entries = entries;
    return entries;
  }

  private child(offset: number): KeyImpl {
    const cached = this.childCache.get(offset);
    if (cached) return cached;
    // A subkey pointing back at an ancestor would make every walk endless.
    for (let k: KeyImpl | null = this; k; k = k.parent) {
      if (k.offset === offset)
        this.fail(`subkey ${hex(offset)} is one of its own ancestors (a loop)`, BASE_BLOCK_SIZE + offset);
    }
    if (this.depth + 1 > MAX_KEY_DEPTH)
      this.fail(`keys nest deeper than ${MAX_KEY_DEPTH} levels`, BASE_BLOCK_SIZE + offset);
    const cell = this.hive.space.cell(offset, `${this.hive.name}: subkey of key ${this.path}`);
    const nk = decodeNk(cell.data);
    const path = this.path === '\\' ? `\\${nk.name}` : `${this.path}\\${nk.name}`;
    const key = new KeyImpl(this.hive, cell.offset, nk, this, path, this.depth + 1);
    this.childCache.set(offset, key);
    return key;
  }

  subkeys(): HiveKey[] {
    return this.listEntries().map((e) => this.child(e.offset));
  }

  subkey(name: string): HiveKey | null {
    const want = upcaseName(name);
    // lh hashes are of the upper-cased name (regf.md §5.5). Writers agree on ASCII names only (hivex hashes the
    // UTF-8 bytes as signed chars: fixture types-v13 "café"), so the hash only filters ASCII names.
    const hash = /^[\x00-\x7f]*$/.test(name) ? lhHash(name) : null;
    for (const e of this.listEntries()) {
      if (hash !== null && e.kind === 'lh' && e.hint !== hash) continue;
      const k = this.child(e.offset);
      if (upcaseName(k.name) === want) return k;
    }
    return null;
  }

  values(): RegistryValue[] {
    if (this.valueCache) return this.valueCache;
    const { valueCount, valueListOffset } = this.nk;
    const out: RegistryValue[] = [];
    if (valueCount !== 0) {
      const space = this.hive.space;
      const list = space.cell(valueListOffset, `${this.hive.name}: value list of key ${this.path}`);
      if (valueCount * 4 > list.data.length) {
        this.fail(
          `value count ${valueCount} does not fit in its ${list.data.length}-byte value list`,
          list.data.base,
        );
      }
      const seen = new Set<number>();
      for (let i = 0; i < valueCount; i++) {
        const vkOff = list.data.u32le(i * 4);
        if (seen.has(vkOff))
          this.fail(`value list names the value at ${hex(vkOff)} twice`, list.data.base + i * 4);
        seen.add(vkOff);
        const cell = space.cell(vkOff, `${this.hive.name}: value ${i} of key ${this.path}`);
        const vk = decodeVk(cell.data);
        out.push({ name: vk.name, type: vk.type, data: this.valueData(vk, cell.data) });
      }
    }
    this.valueCache = out;
    return out;
  }

  value(name: string): RegistryValue | null {
    const want = upcaseName(name);
    return this.values().find((v) => upcaseName(v.name) === want) ?? null;
  }

  /** Value data (regf.md §5.2, §5.3): inline, one cell, or db segments; sizes larger than the storage are clamped. */
  private valueData(vk: VkRecord, at: ByteView): Uint8Array {
    const where = `key ${this.path} value "${vk.name}"`;
    if (vk.inline) {
      if (vk.dataSize > 4) {
        this.hive.finding(
          'HIVE_CELL',
          `${where}: inline data size ${vk.dataSize} > 4, clamped to 4`,
          at.base + 4,
        );
      }
      return vk.inlineBytes.slice(0, Math.min(4, vk.dataSize));
    }
    if (vk.dataSize === 0) return new Uint8Array(0);
    const space = this.hive.space;
    const cell = space.cell(vk.dataOffset, `${this.hive.name}: data of ${where}`);
    if (vk.dataSize <= cell.data.length) return cell.data.slice(0, vk.dataSize).slice();
    if (isDb(cell.data)) return this.bigData(vk, cell.data, where);
    this.hive.finding(
      'HIVE_CELL',
      `${where}: data size ${vk.dataSize} exceeds its ${cell.data.length}-byte cell, clamped`,
      cell.data.base,
    );
    return cell.data.bytes.slice();
  }

  private bigData(vk: VkRecord, dbView: ByteView, where: string): Uint8Array {
    const space = this.hive.space;
    const db = decodeDb(dbView);
    const list = space.cell(db.segmentListOffset, `${this.hive.name}: segment list of ${where}`);
    if (db.segmentCount * 4 > list.data.length) {
      this.fail(
        `${where}: ${db.segmentCount} segments do not fit in the ${list.data.length}-byte segment list`,
        list.data.base,
      );
    }
    const pieces: Uint8Array[] = [];
    const seen = new Set<number>();
    let total = 0;
    for (let i = 0; i < db.segmentCount && total < vk.dataSize; i++) {
      const segOff = list.data.u32le(i * 4);
      if (seen.has(segOff))
        this.fail(`${where}: segment ${hex(segOff)} listed twice`, list.data.base + i * 4);
      seen.add(segOff);
      const seg = space.cell(segOff, `${this.hive.name}: segment ${i} of ${where}`);
      const n = Math.min(DB_SEGMENT_DATA_SIZE, vk.dataSize - total, seg.data.length);
      pieces.push(seg.data.slice(0, n));
      total += n;
    }
    if (total < vk.dataSize) {
      this.hive.finding(
        'HIVE_CELL',
        `${where}: big data holds ${total} of ${vk.dataSize} bytes, clamped`,
        dbView.base,
      );
    }
    const out = new Uint8Array(total);
    let pos = 0;
    for (const p of pieces) {
      out.set(p, pos);
      pos += p.length;
    }
    return out;
  }
}
