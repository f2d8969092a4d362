// NTFS, read: the $MFT through its own runlist, attribute lists, $I30 index lookups (never an MFT scan), streams,
// sparse and LZNT1-compressed data. Layouts and procedures: docs/ntfs.md.
import { BootprobeError, type Finding, hex } from '../../errors.js';
import { type BlockDevice, ByteView } from '../../io/index.js';
import {
  FILE_ATTRIBUTE,
  type FileReader,
  type FileSystem,
  type FsEntry,
  type FsStreamInfo,
  joinPath,
  splitPath,
} from '../file-system.js';
import {
  ATTR,
  ATTR_NAMES,
  decodeAttributes,
  isCompressed,
  isEncrypted,
  isSparse,
  type NtfsAttribute,
} from './attribute.js';
import { decodeNtfsBootSector, type NtfsBootSector } from './boot-sector.js';
import { decodeFileName, decodeStandardInformation, NAMESPACE } from './file-name.js';
import { decodeIndexNode, decodeIndexRoot, type IndexEntry } from './index-node.js';
import { lznt1Decompress } from './lznt1.js';
import { applyFixups, decodeMftRecordHeader, type MftRecordHeader, splitReference } from './record.js';
import { decodeRunlist, type Run } from './runlist.js';

const RECORD = { MFT: 0, VOLUME: 3, ROOT: 5, UPCASE: 10 } as const;
let asciiUpcase: Uint16Array | null = null;
/** §4 step 4: bound the B-tree depth. */
const MAX_INDEX_DEPTH = 32;
const RECORDS_KEPT = 1024;
/** Extension records one file may use (an attribute list of 4096 entries is far past anything Windows makes). */
const MAX_EXTENSIONS = 4096;

interface MftRecord {
  number: number;
  header: MftRecordHeader;
  attributes: NtfsAttribute[];
}

/** One attribute with all its extents merged (§5 steps 4-5). */
export interface NtfsStream {
  type: number;
  name: string;
  flags: number;
  resident: boolean;
  value: Uint8Array | null;
  runs: Run[];
  dataSize: number;
  initializedSize: number;
  allocatedSize: number;
  compressionUnit: number;
}

export interface NtfsEntry extends FsEntry {
  sequence: number;
}

export interface NtfsVolumeInfo {
  major: number;
  minor: number;
  flags: number;
  dirty: boolean;
}

export class NtfsFileSystem implements FileSystem {
  readonly type = 'ntfs' as const;
  label: string | null = null;
  readonly warnings: Finding[] = [];
  volumeInfo: NtfsVolumeInfo | null = null;
  private mftRuns: Run[] = [];
  private readonly records = new Map<number, MftRecord>();
  private upcase: Uint16Array | null = null;
  readonly clusterCount: number;

  private constructor(
    private readonly dev: BlockDevice,
    readonly boot: NtfsBootSector,
  ) {
    this.clusterCount = Math.floor(
      Math.min(boot.totalSectors * boot.bytesPerSector, dev.size) / boot.clusterSize,
    );
  }

  static async open(dev: BlockDevice): Promise<NtfsFileSystem> {
    if (dev.size < 512)
      throw new BootprobeError('NTFS_BOOT_SECTOR', `volume of ${dev.size} bytes is too small for NTFS`, {
        offset: 0,
      });
    const boot = decodeNtfsBootSector(new ByteView(await dev.read(0, 512), 0, 'NTFS boot sector'));
    const fs = new NtfsFileSystem(dev, boot);
    await fs.loadMft();
    await fs.loadVolume();
    return fs;
  }

  /** Record 0 read where the boot sector says, then $MFT's own runlist (incl. its attribute list) maps the rest. */
  private async loadMft(): Promise<void> {
    const { recordSize, clusterSize, mftLcn } = this.boot;
    const at = mftLcn * clusterSize;
    if (mftLcn >= this.clusterCount || at + recordSize > this.dev.size) {
      throw new BootprobeError('NTFS_BOOT_SECTOR', `$MFT cluster ${mftLcn} lies outside the volume`, {
        offset: 0x30,
        structure: 'ntfs.boot_sector',
        hint: 'the boot sector is damaged',
      });
    }
    // Bootstrap: one run covering record 0, so readRecord can read it.
    this.mftRuns = [{ vcn: 0, length: Math.ceil(recordSize / clusterSize), lcn: mftLcn }];
    const rec0 = await this.readRecord(0, false);
    const data = rec0.attributes.filter((a) => a.type === ATTR.DATA && a.name === '' && a.nonResident);
    const first = data.find((a) => a.lowestVcn === 0);
    if (!first)
      throw new BootprobeError('NTFS_RECORD', `$MFT (record 0 at ${hex(at)}) has no non-resident $DATA`, {
        offset: at,
        structure: 'ntfs.file',
        hint: 'the MFT is damaged',
      });
    this.mftRuns = decodeRunlist(first.runlist!, 0, this.clusterCount, first.offset);
    this.records.clear();
    if (rec0.attributes.some((a) => a.type === ATTR.ATTRIBUTE_LIST)) {
      const s = await this.stream(0, ATTR.DATA, '');
      if (s) this.mftRuns = s.runs;
      this.records.clear();
    }
  }

  private async loadVolume(): Promise<void> {
    const attrs = await this.allAttributes(RECORD.VOLUME);
    const name = attrs.find((a) => a.type === ATTR.VOLUME_NAME && !a.nonResident);
    if (name?.value)
      this.label = new ByteView(name.value, name.offset, 'NTFS volume name').utf16le(
        0,
        name.value.length & ~1,
      );
    const vi = attrs.find((a) => a.type === ATTR.VOLUME_INFORMATION && !a.nonResident);
    if (vi?.value && vi.value.length >= 12) {
      const v = new ByteView(vi.value, vi.offset, 'NTFS volume information');
      const flags = v.u16le(10);
      this.volumeInfo = { major: v.u8(8), minor: v.u8(9), flags, dirty: (flags & 0x4001) !== 0 };
      if (this.volumeInfo.dirty) {
        this.warnings.push({
          code: 'NTFS_RECORD',
          message: `NTFS volume is marked dirty (flags ${hex(flags)}): Windows will run chkdsk at its next boot`,
        });
      }
    }
  }

  /** Reads `length` bytes at byte `offset` of an attribute mapped by `runs` (coalescing contiguous clusters). */
  private async readRuns(runs: Run[], offset: number, length: number, where: string): Promise<Uint8Array> {
    const cs = this.boot.clusterSize;
    const out = new Uint8Array(length);
    let pos = offset;
    const end = offset + length;
    let ri = findRun(runs, Math.floor(pos / cs));
    while (pos < end) {
      const vcn = Math.floor(pos / cs);
      while (ri < runs.length && runs[ri]!.vcn + runs[ri]!.length <= vcn) ri++;
      const run = runs[ri];
      if (!run || run.vcn > vcn) {
        throw new BootprobeError(
          'NTFS_RUNLIST',
          `${where}: byte ${pos} (cluster ${vcn}) is not mapped by its runlist`,
          { structure: 'ntfs.runlist', hint: 'the MFT record is damaged' },
        );
      }
      const runEnd = (run.vcn + run.length) * cs;
      const n = Math.min(end, runEnd) - pos;
      if (run.lcn !== null) {
        const at = run.lcn * cs + (pos - run.vcn * cs);
        if (at + n > this.dev.size) {
          throw new BootprobeError(
            'NTFS_RUNLIST',
            `${where}: cluster ${run.lcn} lies past the end of the volume`,
            { offset: at, structure: 'ntfs.runlist', hint: 'the volume is truncated' },
          );
        }
        out.set(await this.dev.read(at, n), pos - offset);
      }
      pos += n;
    }
    return out;
  }

  /** Reads and checks MFT record `n` (fixups, header, attributes). */
  private async readRecord(n: number, cache = true): Promise<MftRecord> {
    const hit = this.records.get(n);
    if (hit) return hit;
    const rs = this.boot.recordSize;
    const bytes = (await this.readRuns(this.mftRuns, n * rs, rs, `MFT record ${n}`)).slice();
    const base = this.mftRuns.length ? this.recordOffset(n) : 0;
    applyFixups(bytes, 'FILE', base);
    const v = new ByteView(bytes, base, `MFT record ${n}`);
    const header = decodeMftRecordHeader(v);
    const attributes = decodeAttributes(v, header.firstAttribute, header.usedSize, n);
    const rec = { number: n, header, attributes };
    if (cache) {
      if (this.records.size >= RECORDS_KEPT) this.records.delete(this.records.keys().next().value!);
      this.records.set(n, rec);
    }
    return rec;
  }

  /** Absolute volume offset of record n (for messages). */
  private recordOffset(n: number): number {
    const cs = this.boot.clusterSize;
    const byte = n * this.boot.recordSize;
    const vcn = Math.floor(byte / cs);
    const r = this.mftRuns[findRun(this.mftRuns, vcn)];
    return r?.lcn != null && r.vcn <= vcn ? r.lcn * cs + (byte - r.vcn * cs) : byte;
  }

  /** Attributes of a file: its base record plus the extension records its $ATTRIBUTE_LIST names (§5). */
  async allAttributes(n: number): Promise<NtfsAttribute[]> {
    const rec = await this.readRecord(n);
    const list = rec.attributes.find((a) => a.type === ATTR.ATTRIBUTE_LIST);
    if (!list) return rec.attributes;
    const value = list.nonResident
      ? await this.readRuns(
          decodeRunlist(list.runlist!, 0, this.clusterCount, list.offset),
          0,
          list.dataSize,
          `attribute list of record ${n}`,
        )
      : list.value!;
    const v = new ByteView(value, list.offset, 'NTFS attribute list');
    const out = [...rec.attributes];
    const visited = new Set<number>([n]);
    let at = 0;
    for (let i = 0; at + 0x1a <= value.length; i++) {
      if (i > MAX_EXTENSIONS * 4) break;
      const len = v.u16le(at + 4);
      if (len < 0x1a || at + len > value.length) {
        throw new BootprobeError(
          'NTFS_ATTRIBUTE',
          `attribute list of record ${n}: entry at +${at} has length ${len}`,
          { offset: list.offset, structure: 'ntfs.attribute_list', hint: 'the MFT record is damaged' },
        );
      }
      const ref = splitReference(v.u64le(at + 0x10));
      at += len;
      if (visited.has(ref.record)) continue;
      if (visited.size > MAX_EXTENSIONS)
        throw new BootprobeError(
          'NTFS_ATTRIBUTE',
          `record ${n} uses more than ${MAX_EXTENSIONS} extension records`,
          { structure: 'ntfs.attribute_list' },
        );
      visited.add(ref.record);
      const ext = await this.readRecord(ref.record);
      if ((ref.sequence && ext.header.sequence !== ref.sequence) || ext.header.baseRecord !== n) {
        this.warnings.push({
          code: 'NTFS_ATTRIBUTE',
          message: `record ${n}: attribute list names record ${ref.record}, which does not belong to it`,
        });
        continue;
      }
      out.push(...ext.attributes);
    }
    return out;
  }

  /** One attribute (type, name) with its extents merged; null when absent. */
  async stream(n: number, type: number, name: string, attrs?: NtfsAttribute[]): Promise<NtfsStream | null> {
    const all = (attrs ?? (await this.allAttributes(n))).filter(
      (a) => a.type === type && a.name.toLowerCase() === name.toLowerCase(),
    );
    if (all.length === 0) return null;
    const exact = all.filter((a) => a.name === name);
    const parts = (exact.length ? exact : all).sort((a, b) => a.lowestVcn - b.lowestVcn);
    const first = parts[0]!;
    if (!first.nonResident) {
      return {
        type,
        name: first.name,
        flags: first.flags,
        resident: true,
        value: first.value,
        runs: [],
        dataSize: first.dataSize,
        initializedSize: first.dataSize,
        allocatedSize: first.dataSize,
        compressionUnit: 0,
      };
    }
    const runs: Run[] = [];
    let next = 0;
    for (const p of parts) {
      if (p.lowestVcn !== next) {
        throw new BootprobeError(
          'NTFS_ATTRIBUTE',
          `record ${n}: ${ATTR_NAMES[type] ?? hex(type)} extents are not contiguous (VCN ${p.lowestVcn}, expected ${next})`,
          { offset: p.offset, structure: 'ntfs.attribute', hint: 'the MFT record is damaged' },
        );
      }
      runs.push(...decodeRunlist(p.runlist!, p.lowestVcn, this.clusterCount, p.offset));
      next = p.highestVcn + 1;
    }
    return {
      type,
      name: first.name,
      flags: first.flags | parts.reduce((f, p) => f | (p.flags & 0x8000), 0),
      resident: false,
      value: null,
      runs,
      dataSize: first.dataSize,
      initializedSize: Math.min(first.initializedSize, first.dataSize),
      allocatedSize: first.allocatedSize,
      compressionUnit: first.compressionUnit,
    };
  }

  /** A reader over a stream's bytes: resident, plain, sparse or LZNT1-compressed (§6). */
  reader(s: NtfsStream, where: string): FileReader {
    const size = s.dataSize;
    if (s.resident) {
      const value = s.value!;
      return { size, read: async (o, l) => value.slice(o, o + l) };
    }
    if (isEncrypted(s)) {
      throw new BootprobeError('NTFS_ATTRIBUTE', `${where} is encrypted (EFS) and cannot be read offline`, {
        kind: 'unsupported',
        structure: 'ntfs.attribute',
      });
    }
    const check = (o: number, l: number) => {
      if (o < 0 || l < 0 || o + l > size)
        throw new BootprobeError(
          'READ_OUT_OF_RANGE',
          `${where}: read of ${l} bytes at ${o} past its ${size} bytes`,
        );
    };
    if (!isCompressed(s)) {
      return {
        size,
        read: async (o, l) => {
          check(o, l);
          const init = s.initializedSize;
          const n = Math.max(0, Math.min(l, init - o));
          if (n === l) return this.readRuns(s.runs, o, l, where);
          const out = new Uint8Array(l);
          if (n > 0) out.set(await this.readRuns(s.runs, o, n, where));
          return out; // bytes past the initialized size read as zeros (§3)
        },
      };
    }
    const cs = this.boot.clusterSize;
    const unitClusters = 2 ** (s.compressionUnit || 4);
    const unitBytes = unitClusters * cs;
    let cached: { unit: number; data: Uint8Array } | null = null;
    const unit = async (u: number): Promise<Uint8Array> => {
      if (cached?.unit === u) return cached.data;
      const v0 = u * unitClusters;
      const pieces: Run[] = [];
      for (const r of s.runs) {
        const a = Math.max(r.vcn, v0);
        const b = Math.min(r.vcn + r.length, v0 + unitClusters);
        if (a < b) pieces.push({ vcn: a, length: b - a, lcn: r.lcn === null ? null : r.lcn + (a - r.vcn) });
      }
      const allocated = pieces.filter((p) => p.lcn !== null).reduce((n, p) => n + p.length, 0);
      let data: Uint8Array;
      if (allocated === 0) data = new Uint8Array(unitBytes);
      else if (allocated >= unitClusters) data = await this.readRuns(s.runs, v0 * cs, unitBytes, where);
      else {
        const comp = new Uint8Array(allocated * cs);
        let at = 0;
        for (const p of pieces) {
          if (p.lcn === null) continue;
          comp.set(await this.dev.read(p.lcn * cs, p.length * cs), at);
          at += p.length * cs;
        }
        data = lznt1Decompress(comp, unitBytes, v0 * cs);
      }
      cached = { unit: u, data };
      return data;
    };
    return {
      size,
      read: async (o, l) => {
        check(o, l);
        const out = new Uint8Array(l);
        let pos = o;
        while (pos < o + l) {
          const u = Math.floor(pos / unitBytes);
          const d = await unit(u);
          const inUnit = pos - u * unitBytes;
          const n = Math.min(unitBytes - inUnit, o + l - pos);
          out.set(d.subarray(inUnit, inUnit + n), pos - o);
          pos += n;
        }
        const init = s.initializedSize;
        if (init < o + l) out.fill(0, Math.max(0, init - o));
        return out;
      },
    };
  }

  private async loadUpcase(): Promise<Uint16Array> {
    if (this.upcase) return this.upcase;
    const s = await this.stream(RECORD.UPCASE, ATTR.DATA, '');
    const table = new Uint16Array(65536);
    for (let i = 0; i < 65536; i++) table[i] = i;
    if (s && s.dataSize >= 131072) {
      const b = await this.reader(s, '$UpCase').read(0, 131072);
      for (let i = 0; i < 65536; i++) table[i] = b[2 * i]! | (b[2 * i + 1]! << 8);
    } else {
      this.warnings.push({
        code: 'NTFS_RECORD',
        message: '$UpCase is missing or short; names are compared with ASCII case folding only',
      });
      for (let c = 0x61; c <= 0x7a; c++) table[c] = c - 32;
    }
    this.upcase = table;
    return table;
  }

  /** COLLATION_FILENAME without the final case-sensitive tie-break (§4 steps 1-3): -1, 0, 1. */
  private collate(up: Uint16Array, a: string, b: string): number {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const x = up[a.charCodeAt(i)]!;
      const y = up[b.charCodeAt(i)]!;
      if (x !== y) return x < y ? -1 : 1;
    }
    return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
  }

  /** The nodes of directory n's $I30 B-tree: root entries, and a loader for child nodes by VCN. */
  private async index(n: number) {
    const attrs = await this.allAttributes(n);
    const root = attrs.find((a) => a.type === ATTR.INDEX_ROOT && a.name === '$I30' && !a.nonResident);
    if (!root?.value) {
      throw new BootprobeError('NOT_A_DIRECTORY', `MFT record ${n} has no $I30 index: not a directory`, {
        structure: 'ntfs.index',
      });
    }
    const rv = new ByteView(root.value, root.offset, 'NTFS $INDEX_ROOT');
    const ir = decodeIndexRoot(rv);
    if (ir.indexedType !== ATTR.FILE_NAME || ir.collation !== 1) {
      throw new BootprobeError(
        'NTFS_INDEX',
        `record ${n}: $I30 index of type ${hex(ir.indexedType)} / collation ${ir.collation} is not a file-name index`,
        { offset: root.offset, structure: 'ntfs.index' },
      );
    }
    const rootEntries = decodeIndexNode(rv, 16);
    const alloc = await this.stream(n, ATTR.INDEX_ALLOCATION, '$I30', attrs);
    const rs = ir.recordSize;
    if (rs < 256 || rs > 65536 || rs % 512 !== 0) {
      throw new BootprobeError(
        'NTFS_INDEX',
        `record ${n}: index record size ${rs} is not a multiple of 512 up to 64 KiB`,
        { offset: root.offset, structure: 'ntfs.index' },
      );
    }
    const cs = this.boot.clusterSize;
    const child = async (vcn: number): Promise<IndexEntry[]> => {
      if (!alloc)
        throw new BootprobeError(
          'NTFS_INDEX',
          `record ${n}: index entry points to child VCN ${vcn} but there is no $INDEX_ALLOCATION`,
          { structure: 'ntfs.index' },
        );
      const at = rs >= cs ? vcn * cs : vcn * 512;
      if (at + rs > alloc.dataSize)
        throw new BootprobeError(
          'NTFS_INDEX',
          `record ${n}: child VCN ${vcn} lies past the index allocation`,
          { structure: 'ntfs.index' },
        );
      const bytes = (await this.readRuns(alloc.runs, at, rs, `index of record ${n}`)).slice();
      applyFixups(bytes, 'INDX', at);
      const v = new ByteView(bytes, at, 'NTFS INDX record');
      if (v.u64le(0x10) !== BigInt(vcn)) {
        throw new BootprobeError(
          'NTFS_INDEX',
          `record ${n}: INDX record at VCN ${vcn} says it is VCN ${v.u64le(0x10)}`,
          { offset: at, structure: 'ntfs.index', hint: 'the directory index is damaged' },
        );
      }
      return decodeIndexNode(v, 0x18);
    };
    return { rootEntries, child };
  }

  /**
   * The collation table a lookup of `name` needs. An ASCII-only name does not need $UpCase (128 KiB): $UpCase maps
   * ASCII letters as ASCII does and maps no other unit into ASCII (ntfs.md §4: it has no multi-character or
   * cross-range mappings), so comparing an ASCII name with any key gives the same order with an ASCII-only table.
   */
  private async collationFor(name: string): Promise<Uint16Array> {
    if (!/^[\u0000-\u007f]*$/.test(name)) return this.loadUpcase();
    if (!asciiUpcase) {
      asciiUpcase = new Uint16Array(65536);
      for (let i = 0; i < 65536; i++) asciiUpcase[i] = i >= 0x61 && i <= 0x7a ? i - 32 : i;
    }
    return asciiUpcase;
  }

  /** Looks up one name in directory n through its B-tree (§4 "Lookup"). */
  private async findInDir(n: number, name: string): Promise<IndexEntry | null> {
    const up = await this.collationFor(name);
    const { rootEntries, child } = await this.index(n);
    const visited = new Set<number>();
    let entries = rootEntries;
    for (let depth = 0; depth <= MAX_INDEX_DEPTH; depth++) {
      let descend: number | null = null;
      let found: IndexEntry | null = null;
      for (const e of entries) {
        if (!e.key) {
          descend = e.child;
          break;
        }
        const c = this.collate(up, name, e.key.name);
        if (c === 0) {
          if (e.key.name === name) return e;
          found ??= e;
          continue;
        }
        if (found) return found;
        if (c < 0) {
          descend = e.child;
          break;
        }
      }
      if (found) return found;
      if (descend === null) return null;
      if (visited.has(descend))
        throw new BootprobeError('NTFS_INDEX', `record ${n}: index B-tree loops back to VCN ${descend}`, {
          structure: 'ntfs.index',
          hint: 'the directory index is damaged',
        });
      visited.add(descend);
      entries = await child(descend);
    }
    throw new BootprobeError('NTFS_INDEX', `record ${n}: index B-tree deeper than ${MAX_INDEX_DEPTH}`, {
      structure: 'ntfs.index',
      hint: 'the directory index is damaged',
    });
  }

  /** Builds the entry for record `n` as named in its directory. */
  private async entry(n: number, name: string, path: string, sequence: number): Promise<NtfsEntry> {
    const attrs = await this.allAttributes(n);
    const rec = await this.readRecord(n);
    if (sequence && rec.header.sequence !== sequence) {
      throw new BootprobeError(
        'NTFS_INDEX',
        `${path}: the directory entry names record ${n} sequence ${sequence}, the record has sequence ${rec.header.sequence}`,
        { structure: 'ntfs.index', hint: 'a stale directory entry; run chkdsk' },
      );
    }
    const si = attrs.find((a) => a.type === ATTR.STANDARD_INFORMATION && !a.nonResident);
    const std =
      si?.value && si.value.length >= 0x24
        ? decodeStandardInformation(new ByteView(si.value, si.offset, '$STANDARD_INFORMATION'))
        : null;
    const names = attrs
      .filter((a) => a.type === ATTR.FILE_NAME && a.value)
      .map((a) => decodeFileName(new ByteView(a.value!, a.offset, '$FILE_NAME')));
    const dos = names.find((f) => f.namespace === NAMESPACE.DOS);
    const isDirectory = (rec.header.flags & 2) !== 0;
    const streams: FsStreamInfo[] = [];
    let size = 0;
    let allocatedSize: number | null = null;
    const dataAttrs = attrs.filter((a) => a.type === ATTR.DATA);
    for (const a of dataAttrs) {
      if (a.lowestVcn !== 0) continue;
      if (a.name === '') {
        size = a.dataSize;
        allocatedSize = a.allocatedSize;
      } else streams.push({ name: a.name, size: a.dataSize });
    }
    let attributes = std?.attributes ?? 0;
    if (isDirectory) attributes |= FILE_ATTRIBUTE.DIRECTORY;
    return {
      name,
      shortName: dos && dos.name !== name ? dos.name : null,
      path,
      isDirectory,
      size: isDirectory ? 0 : size,
      allocatedSize,
      created: std?.created ?? null,
      modified: std?.modified ?? null,
      accessed: std?.accessed ?? null,
      changed: std?.changed ?? null,
      attributes,
      id: n,
      streams,
      sequence: rec.header.sequence,
    };
  }

  async root(): Promise<NtfsEntry> {
    return this.entry(RECORD.ROOT, '', '/', 0);
  }

  async lookup(path: string): Promise<NtfsEntry> {
    const parts = splitPath(path);
    let cur = await this.root();
    for (const part of parts) {
      if (!cur.isDirectory)
        throw new BootprobeError('NOT_A_DIRECTORY', `${cur.path} is not a directory`, {
          hint: 'check the path',
        });
      const e = await this.findInDir(cur.id, part);
      if (!e?.key)
        throw new BootprobeError('PATH_NOT_FOUND', `${joinPath(cur.path, part)}: no such file or directory`, {
          hint: 'list the directory with `bootprobe ls`',
        });
      cur = await this.entry(e.record, e.key.name, joinPath(cur.path, e.key.name), e.sequence);
    }
    return cur;
  }

  async list(dir: FsEntry): Promise<NtfsEntry[]> {
    if (!dir.isDirectory) throw new BootprobeError('NOT_A_DIRECTORY', `${dir.path} is not a directory`);
    const { rootEntries, child } = await this.index(dir.id);
    const keys: IndexEntry[] = [];
    const visited = new Set<number>();
    const walk = async (entries: IndexEntry[], depth: number): Promise<void> => {
      if (depth > MAX_INDEX_DEPTH)
        throw new BootprobeError('NTFS_INDEX', `${dir.path}: index B-tree deeper than ${MAX_INDEX_DEPTH}`, {
          structure: 'ntfs.index',
        });
      for (const e of entries) {
        if (e.child !== null) {
          if (visited.has(e.child))
            throw new BootprobeError('NTFS_INDEX', `${dir.path}: index B-tree loops back to VCN ${e.child}`, {
              structure: 'ntfs.index',
              hint: 'the directory index is damaged',
            });
          visited.add(e.child);
          await walk(await child(e.child), depth + 1);
        }
        if (e.key) keys.push(e);
      }
    };
    await walk(rootEntries, 0);
    const out: NtfsEntry[] = [];
    for (const e of keys) {
      const k = e.key!;
      // One line per name a user sees: the DOS 8.3 alias of a Win32 name is shown as its shortName instead; the root's
      // entry for itself is not a child.
      if (k.namespace === NAMESPACE.DOS) continue;
      if (e.record === dir.id) continue;
      out.push(await this.entry(e.record, k.name, joinPath(dir.path, k.name), e.sequence));
    }
    return out;
  }

  async openFile(entry: FsEntry, streamName = ''): Promise<FileReader> {
    if (entry.isDirectory && streamName === '')
      throw new BootprobeError('NOT_A_FILE', `${entry.path} is a directory`, { hint: 'use `bootprobe ls`' });
    const s = await this.stream(entry.id, ATTR.DATA, streamName);
    if (!s) {
      throw new BootprobeError(
        'PATH_NOT_FOUND',
        streamName ? `${entry.path} has no stream '${streamName}'` : `${entry.path} has no data`,
        { hint: 'see its streams with `bootprobe stat`' },
      );
    }
    return this.reader(s, `${entry.path}${streamName ? `:${streamName}` : ''}`);
  }

  async stat(entry: FsEntry): Promise<Record<string, unknown>> {
    const rec = await this.readRecord(entry.id);
    const attrs = await this.allAttributes(entry.id);
    const iso = (d: Date | null) => d?.toISOString() ?? null;
    return {
      record: entry.id,
      sequence: rec.header.sequence,
      linkCount: rec.header.linkCount,
      recordFlags: hex(rec.header.flags),
      attributes: attrs.map((a) => {
        const base: Record<string, unknown> = {
          type: ATTR_NAMES[a.type] ?? hex(a.type),
          typeCode: hex(a.type),
          name: a.name,
          id: a.id,
          record: a.record,
          resident: !a.nonResident,
          flags: hex(a.flags),
          compressed: isCompressed(a),
          sparse: isSparse(a),
          encrypted: isEncrypted(a),
        };
        if (a.nonResident) {
          const runs = decodeRunlist(a.runlist!, a.lowestVcn, this.clusterCount, a.offset);
          Object.assign(base, {
            lowestVcn: a.lowestVcn,
            highestVcn: a.highestVcn,
            allocatedSize: a.allocatedSize,
            dataSize: a.dataSize,
            initializedSize: a.initializedSize,
            compressionUnit: a.compressionUnit,
            runs: runs.slice(0, 64).map((r) => ({ vcn: r.vcn, lcn: r.lcn, length: r.length })),
            runCount: runs.length,
          });
        } else {
          base.valueLength = a.value!.length;
          const v = new ByteView(a.value!, a.offset, ATTR_NAMES[a.type] ?? 'attribute');
          if (a.type === ATTR.STANDARD_INFORMATION && a.value!.length >= 0x24) {
            const s = decodeStandardInformation(v);
            Object.assign(base, {
              created: iso(s.created),
              modified: iso(s.modified),
              mftChanged: iso(s.changed),
              accessed: iso(s.accessed),
              dosAttributes: hex(s.attributes),
            });
          } else if (a.type === ATTR.FILE_NAME) {
            const f = decodeFileName(v);
            Object.assign(base, {
              fileName: f.name,
              namespace: ['POSIX', 'Win32', 'DOS', 'Win32+DOS'][f.namespace] ?? f.namespace,
              parentRecord: f.parentRecord,
              realSize: f.realSize,
              created: iso(f.created),
              modified: iso(f.modified),
            });
          } else if (a.type === ATTR.VOLUME_NAME) {
            base.volumeName = v.utf16le(0, a.value!.length & ~1);
          }
        }
        return base;
      }),
    };
  }
}

/** Index of the run holding `vcn` (binary search; runs are sorted by VCN), or the insertion point. */
function findRun(runs: Run[], vcn: number): number {
  let lo = 0;
  let hi = runs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = runs[mid]!;
    if (vcn < r.vcn) hi = mid - 1;
    else if (vcn >= r.vcn + r.length) lo = mid + 1;
    else return mid;
  }
  return lo;
}

export function openNtfs(dev: BlockDevice): Promise<NtfsFileSystem> {
  return NtfsFileSystem.open(dev);
}
