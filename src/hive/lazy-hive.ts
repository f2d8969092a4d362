// A hive read cell by cell from where it lies (an NTFS file inside a 127 GB image), for the few lookups pre-flight
// makes in SYSTEM and SOFTWARE (tens of MB each): base block, then only the nk/list/vk/data cells on the path asked
// for (regf.md §4–§5). The same record decoders as openHive (nk.ts, vk.ts, subkey-list.ts, big-data.ts) parse each
// cell; what this reader cannot check without reading every bin is whether a cell crosses its bin, so it checks the
// cell against the hive bins size instead, and bounds every size by what the record type can hold.
// A dirty hive is not read this way (its logs must be replayed over the whole image: hive.ts); `openLazyHive`
// reports it and the caller falls back to openHive.
import { BootprobeError, hex } from '../errors.js';
import { ByteView } from '../io/index.js';
import { BASE_BLOCK_SIZE, type BaseBlock, HIVE_FILE_TYPE, tryDecodeBaseBlock } from './base-block.js';
import { DB_SEGMENT_DATA_SIZE, decodeDb, isDb } from './big-data.js';
import { NO_CELL } from './cell.js';
import { HIVE_DAMAGED } from './hints.js';
import { MAX_KEY_DEPTH } from './hive.js';
import type { RegistryValue } from './key.js';
import { lhHash, upcaseName } from './name.js';
import { decodeNk, type NkRecord } from './nk.js';
import { decodeSubkeyList, type SubkeyListKind } from './subkey-list.js';
import { decodeVk } from './vk.js';

/** Random access to the hive file's bytes. */
export interface HiveSource {
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** No record pre-flight reads is larger than a big-data segment list or a value (regf.md §5.3: 16344 per cell). */
const MAX_CELL = 1024 * 1024;
/** A value is read whole; pre-flight reads strings and DWORDs, this stops a hostile size from allocating. */
const MAX_VALUE = 16 * 1024 * 1024;

export interface LazyKey {
  readonly name: string;
  readonly path: string;
  readonly nk: NkRecord;
  readonly lastWritten: Date | null;
  subkey(name: string): Promise<LazyKey | null>;
  subkeyNames(): Promise<string[]>;
  values(): Promise<RegistryValue[]>;
  value(name: string): Promise<RegistryValue | null>;
}

export interface LazyHive {
  readonly name: string;
  readonly baseBlock: BaseBlock;
  readonly root: LazyKey;
  /** Backslash-separated path from the root, case-insensitive; null if absent. */
  getKey(path: string): Promise<LazyKey | null>;
}

export type LazyHiveResult = { hive: LazyHive } | { dirty: string };

/** Opens a clean hive for cell-by-cell reading; a dirty one is reported (with why) for the caller to read whole. */
export async function openLazyHive(source: HiveSource, name: string): Promise<LazyHiveResult> {
  if (source.size < BASE_BLOCK_SIZE + 4096) {
    throw new BootprobeError(
      'HIVE_BASE_BLOCK',
      `${name}: ${source.size} bytes, too short for a registry hive`,
      {
        offset: 0,
        structure: 'regf.base-block',
        hint: 'the file is truncated or not a hive',
      },
    );
  }
  const head = await source.read(0, BASE_BLOCK_SIZE);
  const bb = tryDecodeBaseBlock(head);
  if (!bb) {
    throw new BootprobeError('HIVE_BASE_BLOCK', `${name}: no regf base block`, {
      offset: 0,
      structure: 'regf.base-block',
      hint: 'the file is not a registry hive',
    });
  }
  if (!bb.checksumValid)
    return { dirty: `base block checksum ${hex(bb.checksum)} ≠ ${hex(bb.computedChecksum)}` };
  if (bb.primarySequence !== bb.secondarySequence)
    return { dirty: `sequence numbers ${bb.primarySequence} ≠ ${bb.secondarySequence}` };
  if (bb.majorVersion !== 1 || bb.fileType !== HIVE_FILE_TYPE.PRIMARY) {
    throw new BootprobeError(
      'HIVE_BASE_BLOCK',
      `${name}: base block version ${bb.majorVersion}.${bb.minorVersion}, file type ${bb.fileType}: not a primary hive`,
      { offset: 20, structure: 'regf.base-block', hint: 'the file is not a primary registry hive' },
    );
  }
  const binsSize = Math.min(bb.hiveBinsDataSize, source.size - BASE_BLOCK_SIZE);
  const reader = new CellReader(source, name, binsSize);
  const root = await reader.key(bb.rootCellOffset, null, 0);
  const hive: LazyHive = {
    name,
    baseBlock: bb,
    root,
    async getKey(path: string) {
      let key: LazyKey | null = root;
      for (const part of path.split('\\')) {
        if (part === '') continue;
        key = await key.subkey(part);
        if (!key) return null;
      }
      return key;
    },
  };
  return { hive };
}

class CellReader {
  constructor(
    private readonly source: HiveSource,
    readonly name: string,
    private readonly binsSize: number,
  ) {}

  /** The allocated cell at `off`: its data after the size field, checked against the hive bins. */
  async cell(off: number, what: string): Promise<ByteView> {
    const at = BASE_BLOCK_SIZE + off;
    const fail = (msg: string): never => {
      throw new BootprobeError(
        'HIVE_CELL',
        `${this.name}: ${what}: cell ${hex(off)} (file offset ${hex(at)}) ${msg}`,
        {
          offset: at,
          structure: 'regf.cell',
          hint: HIVE_DAMAGED,
        },
      );
    };
    if (!Number.isInteger(off) || off < 0 || off % 4 !== 0 || off + 8 > this.binsSize)
      fail('lies outside the hive bins');
    const sizeBytes = await this.source.read(at, 4);
    const raw = new ByteView(sizeBytes, at, 'regf.cell').i32le(0);
    if (raw >= 0) fail(`is free (size ${raw}), not allocated`);
    const size = -raw;
    if (size < 8) fail(`has size ${size}, below the 8-byte minimum`);
    if (size > MAX_CELL || off + size > this.binsSize) fail(`size ${hex(size)} runs past the hive bins`);
    return new ByteView(await this.source.read(at + 4, size - 4), at + 4, 'regf.cell');
  }

  async key(off: number, parent: LazyKeyImpl | null, depth: number): Promise<LazyKeyImpl> {
    if (depth > MAX_KEY_DEPTH) {
      throw new BootprobeError('HIVE_CELL', `${this.name}: keys nest deeper than ${MAX_KEY_DEPTH} levels`, {
        offset: BASE_BLOCK_SIZE + off,
        structure: 'regf.nk',
        hint: 'the hive is damaged (a subkey loop)',
      });
    }
    const nk = decodeNk(await this.cell(off, parent ? `subkey of ${parent.path}` : 'root key'));
    const full =
      parent === null ? '\\' : parent.path === '\\' ? `\\${nk.name}` : `${parent.path}\\${nk.name}`;
    return new LazyKeyImpl(this, off, nk, full, depth);
  }
}

interface Entry {
  offset: number;
  kind: SubkeyListKind;
  hint: number;
}

class LazyKeyImpl implements LazyKey {
  private entries: Entry[] | null = null;
  private valueCache: RegistryValue[] | null = null;

  constructor(
    private readonly r: CellReader,
    readonly offset: number,
    readonly nk: NkRecord,
    readonly path: string,
    private readonly depth: number,
  ) {}

  get name(): string {
    return this.nk.name;
  }
  get lastWritten(): Date | null {
    return this.nk.lastWritten;
  }

  private fail(what: string, at: number): never {
    throw new BootprobeError('HIVE_CELL', `${this.r.name}: key ${this.path}: ${what}`, {
      offset: at,
      structure: 'regf.nk',
      hint: HIVE_DAMAGED,
    });
  }

  /** The subkey list flattened through one ri level (regf.md §5.5). */
  private async listEntries(): Promise<Entry[]> {
    if (this.entries) return this.entries;
    const { subkeyCount, subkeyListOffset } = this.nk;
    const out: Entry[] = [];
    if (subkeyCount !== 0 && subkeyListOffset !== NO_CELL) {
      const what = `subkey list of ${this.path}`;
      const top = decodeSubkeyList(await this.r.cell(subkeyListOffset, what));
      const take = (kind: SubkeyListKind, offsets: readonly number[], hints: readonly number[]) => {
        if (out.length + offsets.length > subkeyCount)
          this.fail(
            `lists hold more than the ${subkeyCount} subkeys the key records`,
            BASE_BLOCK_SIZE + this.offset,
          );
        offsets.forEach((offset, i) => {
          out.push({ offset, kind, hint: hints[i] ?? 0 });
        });
      };
      if (top.kind === 'ri') {
        const seen = new Set<number>();
        for (const leafOff of top.offsets) {
          if (seen.has(leafOff))
            this.fail(`index root lists ${hex(leafOff)} twice`, BASE_BLOCK_SIZE + leafOff);
          seen.add(leafOff);
          const leaf = decodeSubkeyList(await this.r.cell(leafOff, `${what} (ri element)`));
          if (leaf.kind === 'ri')
            this.fail(`index root points to another index root`, BASE_BLOCK_SIZE + leafOff);
          take(leaf.kind, leaf.offsets, leaf.hints);
        }
      } else take(top.kind, top.offsets, top.hints);
    }
    this.entries = out;
    return out;
  }

  private child(off: number): Promise<LazyKeyImpl> {
    if (off === this.offset)
      this.fail(`subkey ${hex(off)} is the key itself (a loop)`, BASE_BLOCK_SIZE + off);
    return this.r.key(off, this, this.depth + 1);
  }

  async subkey(name: string): Promise<LazyKey | null> {
    const want = upcaseName(name);
    const ascii = /^[\x00-\x7f]*$/.test(name);
    const hash = ascii ? lhHash(name) : null;
    // lf hints hold the first four characters as stored (regf.md §5.5): compare them case-insensitively.
    const prefix = ascii ? want.slice(0, 4) : null;
    for (const e of await this.listEntries()) {
      if (hash !== null && e.kind === 'lh' && e.hint !== hash) continue;
      if (prefix !== null && e.kind === 'lf' && e.hint !== 0 && hintText(e.hint) !== prefix) continue;
      const k = await this.child(e.offset);
      if (upcaseName(k.name) === want) return k;
    }
    return null;
  }

  async subkeyNames(): Promise<string[]> {
    const out: string[] = [];
    for (const e of await this.listEntries()) out.push((await this.child(e.offset)).name);
    return out;
  }

  async values(): Promise<RegistryValue[]> {
    if (this.valueCache) return this.valueCache;
    const { valueCount, valueListOffset } = this.nk;
    const out: RegistryValue[] = [];
    if (valueCount !== 0) {
      const list = await this.r.cell(valueListOffset, `value list of ${this.path}`);
      if (valueCount * 4 > list.length)
        this.fail(`value count ${valueCount} does not fit in its ${list.length}-byte value list`, list.base);
      for (let i = 0; i < valueCount; i++) {
        const cell = await this.r.cell(list.u32le(i * 4), `value ${i} of ${this.path}`);
        const vk = decodeVk(cell);
        out.push({ name: vk.name, type: vk.type, data: await this.data(vk, cell) });
      }
    }
    this.valueCache = out;
    return out;
  }

  async value(name: string): Promise<RegistryValue | null> {
    const want = upcaseName(name);
    return (await this.values()).find((v) => upcaseName(v.name) === want) ?? null;
  }

  /** Value data (regf.md §5.2, §5.3), clamped to what its storage holds as openHive does. */
  private async data(vk: ReturnType<typeof decodeVk>, at: ByteView): Promise<Uint8Array> {
    if (vk.inline) return vk.inlineBytes.slice(0, Math.min(4, vk.dataSize));
    if (vk.dataSize === 0) return new Uint8Array(0);
    if (vk.dataSize > MAX_VALUE) this.fail(`value "${vk.name}" claims ${vk.dataSize} bytes`, at.base + 4);
    const what = `data of ${this.path} value "${vk.name}"`;
    const cell = await this.r.cell(vk.dataOffset, what);
    if (vk.dataSize <= cell.length) return cell.slice(0, vk.dataSize).slice();
    if (!isDb(cell)) return cell.bytes.slice();
    const db = decodeDb(cell);
    const list = await this.r.cell(db.segmentListOffset, `segment list of ${what}`);
    if (db.segmentCount * 4 > list.length)
      this.fail(`${db.segmentCount} segments do not fit in their segment list`, list.base);
    const out = new Uint8Array(vk.dataSize);
    let total = 0;
    for (let i = 0; i < db.segmentCount && total < vk.dataSize; i++) {
      const seg = await this.r.cell(list.u32le(i * 4), `segment ${i} of ${what}`);
      const n = Math.min(DB_SEGMENT_DATA_SIZE, vk.dataSize - total, seg.length);
      out.set(seg.slice(0, n), total);
      total += n;
    }
    return out.subarray(0, total);
  }
}

/** The upper-cased text of an lf hint (first four characters, Latin-1, NUL padded). */
function hintText(hint: number): string {
  let s = '';
  for (let i = 0; i < 4; i++) {
    const c = (hint >>> (8 * i)) & 0xff;
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return upcaseName(s);
}
