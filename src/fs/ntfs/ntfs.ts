// NTFS, read: the $MFT through its own runlist (and attribute list), update-sequence fixups, resident and
// non-resident attributes, attribute lists, $I30 B-tree lookups with $UpCase collation (never an MFT scan), named
// streams, sparse and LZNT1-compressed data, $Volume label and flags, reparse points. Layouts and procedures:
// docs/ntfs.md (section numbers below refer to it).
import { BootprobeError, type Finding, hex } from '../../errors.js';
import { type BlockDevice, ByteView, readInto } from '../../io/index.js';
import {
  FILE_ATTRIBUTE,
  type FileReader,
  type FileSystem,
  type FsEntry,
  type FsStreamInfo,
  type FsWriteOptions,
  type FsWritePlan,
  type FsWriteResult,
  joinPath,
  type NameList,
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
import { decodeAttributeList, MAX_ATTRIBUTE_LIST_SIZE } from './attribute-list.js';
import { decodeNtfsBootSector, type NtfsBootSector } from './boot-sector.js';
import {
  decodeFileName,
  decodeFileNameKey,
  FILE_NAME_DIRECTORY,
  type FileNameKey,
  NAMESPACE,
  NAMESPACE_NAMES,
} from './file-name.js';
import { planNtfsReplace } from './file-write.js';
import { INDEX_DAMAGED, MFT_DAMAGED, RECORD_DAMAGED } from './hints.js';
import {
  type IndexEntry,
  type IndexNodeView,
  indexEntryAt,
  indexEntryChild,
  indexEntryIsLast,
  indexEntryName,
  indexEntryNameFlags,
  indexEntryNamespace,
  indexEntryRecord,
  scanIndexNode,
} from './index-node.js';
import { scanIndexRecord } from './index-record.js';
import {
  COLLATION_FILE_NAME,
  decodeIndexRoot,
  INDEX_ROOT_NODE_OFFSET,
  indexVcnToOffset,
} from './index-root.js';
import { lznt1Decompress } from './lznt1.js';
import { applyFixups, decodeMftRecordHeader, type MftRecordHeader, RECORD_FLAG } from './record.js';
import { decodeReparsePoint } from './reparse-point.js';
import { coalesceRuns, decodeRunlist, findRun, type Run } from './runlist.js';
import { decodeStandardInformation } from './standard-information.js';
import {
  type Collation,
  collateFileNames,
  compareUpcase,
  decodeUpcase,
  isAsciiCompatible,
  UPCASE_BYTES,
} from './upcase.js';
import { decodeVolumeInformation, decodeVolumeName, type VolumeInformation } from './volume-information.js';

/** Well-known records (§2). */
export const MFT_RECORD = { MFT: 0, MFT_MIRR: 1, LOG_FILE: 2, VOLUME: 3, ROOT: 5, UPCASE: 10 } as const;
/** §4 step 4: bound the B-tree depth (a real $I30 tree of millions of names is under 10 levels deep). */
export const MAX_INDEX_DEPTH = 32;
/** Extension records one file may use: a 256 KiB attribute list of 32-byte entries names at most 8192. */
export const MAX_EXTENSION_RECORDS = 8192;
/** $I30 $BITMAP read whole: 1 MiB of bits maps 8 M index records, far past any directory. */
const MAX_INDEX_BITMAP = 1024 * 1024;
// Cache sizes: small, enough for a path walk plus a directory listing without re-reading.
const RECORDS_KEPT = 1024;
const FILES_KEPT = 256;
const DIRECTORIES_KEPT = 64;
const INDEX_BLOCKS_KEPT = 256;
const UNITS_KEPT = 4;
const MAX_COMPRESSION_UNIT_BYTES = 1024 * 1024;
/** A directory's $INDEX_ALLOCATION up to this size is read in one go by a whole-directory walk (walkIndex). */
const WHOLE_INDEX_BYTES = 256 * 1024;
// Read-ahead of MFT records for a directory listing (issue 7): a directory's children were mostly created together, so
// their records are neighbours in the MFT. Records at most AHEAD_GAP apart are read in one request (the few between
// are read through), a request never exceeds AHEAD_SPAN bytes, and at most AHEAD_BYTES of records wait at a time.
const AHEAD_GAP = 8;
const AHEAD_SPAN = 256 * 1024;
const AHEAD_BYTES = 2 * 1024 * 1024;

/** Whether readRecord caches a record: always, only directories (false), or never. */
type Keep = boolean | 'never';

function kept(keep: Keep, directory: boolean): boolean {
  return keep === true || (keep === false && directory);
}

/** A tiny least-recently-used map. */
class Lru<K, V> {
  private readonly m = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(k: K): V | undefined {
    const v = this.m.get(k);
    if (v !== undefined) {
      this.m.delete(k);
      this.m.set(k, v);
    }
    return v;
  }
  /** Whether `k` is kept, without marking it used. */
  has(k: K): boolean {
    return this.m.has(k);
  }
  set(k: K, v: V): void {
    this.m.delete(k);
    if (this.m.size >= this.max) this.m.delete(this.m.keys().next().value as K);
    this.m.set(k, v);
  }
  clear(): void {
    this.m.clear();
  }
}

interface MftRecord {
  number: number;
  /** Absolute volume offset of the record. */
  offset: number;
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
  /** Coalesced runs covering VCN 0 .. last. */
  runs: Run[];
  dataSize: number;
  initializedSize: number;
  allocatedSize: number;
  compressedSize: number | null;
  compressionUnit: number;
  /** Absolute offset of the first extent's attribute header, for messages. */
  offset: number;
}

export interface NtfsEntry extends FsEntry {
  /** Sequence number of the MFT record (the file reference's high 16 bits). */
  sequence: number;
  /** Record of the directory this name was found in (-1 for the root). */
  parent: number;
  /** Namespace of the name shown (§3.3). */
  namespace: number;
  /** Reparse tag when the file is a reparse point (symlink, junction, dedup...), else null. */
  reparseTag: number | null;
}

export type NtfsVolumeInfo = VolumeInformation;

interface DirIndex {
  record: number;
  /** Volume offset of the directory's MFT record (for messages). */
  recordOffset: number;
  /** The $INDEX_ROOT node, scanned. */
  root: IndexNodeView;
  recordSize: number;
  alloc: NtfsStream | null;
  bitmap: Uint8Array | null;
}

/** Whether a record carries an $ATTRIBUTE_LIST (its attributes continue in extension records, §5). */
function hasAttributeList(rec: MftRecord): boolean {
  for (const a of rec.attributes) if (a.type === ATTR.ATTRIBUTE_LIST) return true;
  return false;
}

const FILE_NAME_NS_ORDER = [NAMESPACE.WIN32_AND_DOS, NAMESPACE.WIN32, NAMESPACE.POSIX];

export class NtfsFileSystem implements FileSystem {
  readonly type = 'ntfs' as const;
  private volumeLabel: string | null = null;
  readonly warnings: Finding[] = [];
  private volInfo: NtfsVolumeInfo | null = null;
  /** Clusters of the volume: the boot sector's count, cut to what the device holds. */
  readonly clusterCount: number;
  private mftRuns: Run[] = [];
  private mftRecords = 0;
  private readonly records = new Lru<number, MftRecord>(RECORDS_KEPT);
  /** Raw records read ahead by list() (private copies, not yet fixed up), consumed once by readRecord. */
  private readonly ahead = new Map<number, Uint8Array>();
  private readonly files = new Lru<number, NtfsAttribute[]>(FILES_KEPT);
  private readonly dirs = new Lru<number, DirIndex>(DIRECTORIES_KEPT);
  private readonly indexBlocks = new Lru<string, IndexNodeView>(INDEX_BLOCKS_KEPT);
  private upcase: Uint16Array | null = null;
  private upcaseAsciiCompatible = true;

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
        structure: 'ntfs.boot_sector',
        hint: 'the volume is not NTFS or is truncated',
      });
    const boot = decodeNtfsBootSector(new ByteView(await dev.read(0, 512), 0, 'NTFS boot sector'));
    const fs = new NtfsFileSystem(dev, boot);
    await fs.loadMft();
    await fs.loadVolume();
    return fs;
  }

  get label(): string | null {
    return this.volumeLabel;
  }

  /** Where $MFT lives: its coalesced runs and record count (for the writer, which maps records to volume bytes). */
  get mftLayout(): { runs: readonly Run[]; records: number } {
    return { runs: this.mftRuns, records: this.mftRecords };
  }

  /** Forgets every cached record, attribute set and index node: after the volume was written. */
  dropCaches(): void {
    this.records.clear();
    this.files.clear();
    this.dirs.clear();
    this.indexBlocks.clear();
  }

  /** The table $I30 collation of `name` needs (§4): $UpCase, or the ASCII rule (null) when that gives the same order. */
  collationTable(name: string): Promise<Collation> {
    return this.collationFor(name);
  }

  /** Plans replacing the unnamed $DATA of the file at `path` (fs/ntfs/file-write.ts; docs/ntfs.md §7-§9). */
  planReplaceFile(path: string, data: Uint8Array, options: FsWriteOptions = {}): Promise<FsWritePlan> {
    return planNtfsReplace(
      { fs: this, dev: this.dev, reopen: () => NtfsFileSystem.open(this.dev) },
      path,
      data,
      options,
    );
  }

  async replaceFile(path: string, data: Uint8Array, options: FsWriteOptions = {}): Promise<FsWriteResult> {
    return (await this.planReplaceFile(path, data, options)).commit();
  }

  /** $VOLUME_INFORMATION: NTFS version and flags (§7.1); null when $Volume has none. */
  get volumeInfo(): NtfsVolumeInfo | null {
    return this.volInfo;
  }

  /** Record 0 read where the boot sector says, then $MFT's own runlist (incl. its attribute list) maps the rest. */
  private async loadMft(): Promise<void> {
    const { recordSize, clusterSize, mftLcn } = this.boot;
    const at = mftLcn * clusterSize;
    const clusters = Math.ceil(recordSize / clusterSize);
    if (mftLcn + clusters > this.clusterCount)
      throw new BootprobeError('NTFS_BOOT_SECTOR', `$MFT cluster ${mftLcn} lies outside the volume`, {
        offset: 0x30,
        structure: 'ntfs.boot_sector',
        hint: 'the boot sector is damaged or the volume truncated',
      });
    // Bootstrap: one run covering record 0 so readRecord can read it.
    this.mftRuns = [{ vcn: 0, length: clusters, lcn: mftLcn }];
    this.mftRecords = 1;
    const rec0 = await this.readRecord(MFT_RECORD.MFT);
    const first = rec0.attributes.find(
      (a) => a.type === ATTR.DATA && a.name === '' && a.nonResident && a.lowestVcn === 0,
    );
    if (!first)
      throw new BootprobeError('NTFS_RECORD', `$MFT (record 0 at ${hex(at)}) has no non-resident $DATA`, {
        offset: at,
        structure: 'ntfs.file',
        hint: MFT_DAMAGED,
      });
    // §5 step 6: the first extent (in record 0) must map the records that hold the rest. [I] in the doc; the
    // fixture ntfs-c has no $MFT attribute list, so this path is exercised only by the hostile tests.
    this.mftRuns = coalesceRuns(
      decodeRunlist(first.runlist!, 0, this.clusterCount, first.offset, first.highestVcn),
    );
    this.mftRecords = Math.floor(first.dataSize / recordSize);
    this.records.clear();
    if (rec0.attributes.some((a) => a.type === ATTR.ATTRIBUTE_LIST)) {
      const s = await this.stream(MFT_RECORD.MFT, ATTR.DATA, '');
      if (s && !s.resident) this.mftRuns = s.runs;
      this.records.clear();
      this.files.clear();
    }
  }

  private async loadVolume(): Promise<void> {
    const attrs = await this.allAttributes(MFT_RECORD.VOLUME);
    const name = attrs.find((a) => a.type === ATTR.VOLUME_NAME && !a.nonResident);
    if (name?.value)
      this.volumeLabel = decodeVolumeName(new ByteView(name.value!, name.valueOffset, 'NTFS $VOLUME_NAME'));
    const vi = attrs.find((a) => a.type === ATTR.VOLUME_INFORMATION && !a.nonResident);
    if (vi?.value) {
      this.volInfo = decodeVolumeInformation(
        new ByteView(vi.value!, vi.valueOffset, 'NTFS $VOLUME_INFORMATION'),
      );
      if (this.volInfo.dirty)
        this.warnings.push({
          code: 'NTFS_DIRTY',
          message: `NTFS volume is marked dirty (flags ${hex(this.volInfo.flags)}): Windows will run chkdsk at its next boot`,
          offset: vi.offset,
        });
    }
  }

  /** Volume offset of byte `pos` of an attribute mapped by `runs`; null when sparse or unmapped. */
  private runOffset(runs: readonly Run[], pos: number): number | null {
    const cs = this.boot.clusterSize;
    const vcn = Math.floor(pos / cs);
    const r = runs[findRun(runs, vcn)];
    return r && r.lcn !== null && r.vcn <= vcn ? r.lcn * cs + (pos - r.vcn * cs) : null;
  }

  /**
   * Reads `length` bytes at byte `offset` of an attribute mapped by `runs` into a new private buffer (fixups may be
   * applied to it in place): one device read per run touched (runs are coalesced), zeros for sparse runs. `at` is the
   * attribute's volume offset for messages.
   */
  private async readRuns(runs: readonly Run[], offset: number, length: number, where: string, at: number) {
    const out = new Uint8Array(length);
    await this.readRunsInto(runs, offset, out, where, at);
    return out;
  }

  /**
   * The volume offset of `length` bytes at `offset` of an attribute when one allocated run holds them all (nearly
   * every MFT record and index block: one device read, no piece list, the device's promise handed back as it is;
   * issue 7), else -1.
   */
  private inOneRun(runs: readonly Run[], offset: number, length: number): number {
    const cs = this.boot.clusterSize;
    const run = runs[findRun(runs, Math.floor(offset / cs))];
    if (!run || run.lcn === null || run.vcn * cs > offset || offset + length > (run.vcn + run.length) * cs)
      return -1;
    const from = run.lcn * cs + (offset - run.vcn * cs);
    return from + length <= this.dev.size ? from : -1;
  }

  /** readRuns into the caller's buffer (`target.length` bytes at `offset`): sparse runs become zeros there. */
  private readRunsInto(
    runs: readonly Run[],
    offset: number,
    target: Uint8Array,
    where: string,
    at: number,
  ): Promise<void> {
    const from = this.inOneRun(runs, offset, target.length);
    return from >= 0
      ? readInto(this.dev, from, target)
      : this.readRunPiecesInto(runs, offset, target, where, at);
  }

  private async readRunPiecesInto(
    runs: readonly Run[],
    offset: number,
    target: Uint8Array,
    where: string,
    at: number,
  ) {
    for (const p of this.runPieces(runs, offset, target.length, where, at)) {
      const part = target.subarray(p.pos - offset, p.pos - offset + p.n);
      if (p.from === null) part.fill(0);
      else await readInto(this.dev, p.from, part);
    }
  }

  /**
   * Where the `length` bytes at `offset` of an attribute mapped by `runs` lie: per run touched, its volume offset
   * (null for a sparse run) and length, checked against the runlist and the volume; no I/O.
   */
  private runPieces(runs: readonly Run[], offset: number, length: number, where: string, at: number) {
    const cs = this.boot.clusterSize;
    const end = offset + length;
    let pos = offset;
    let ri = findRun(runs, Math.floor(pos / cs));
    const pieces: { pos: number; from: number | null; n: number }[] = [];
    while (pos < end) {
      const vcn = Math.floor(pos / cs);
      while (ri < runs.length && runs[ri]!.vcn + runs[ri]!.length <= vcn) ri++;
      const run = runs[ri];
      if (!run || run.vcn > vcn)
        throw new BootprobeError(
          'NTFS_RUNLIST',
          `${where}: byte ${pos} (VCN ${vcn}) is not mapped by its runlist`,
          {
            offset: at,
            structure: 'ntfs.runlist',
            hint: RECORD_DAMAGED,
          },
        );
      const n = Math.min(end, (run.vcn + run.length) * cs) - pos;
      if (run.lcn === null) pieces.push({ pos, from: null, n });
      else {
        const from = run.lcn * cs + (pos - run.vcn * cs);
        if (from + n > this.dev.size)
          throw new BootprobeError(
            'NTFS_RUNLIST',
            `${where}: cluster ${run.lcn} lies past the end of the volume`,
            {
              offset: from,
              structure: 'ntfs.runlist',
              hint: 'the volume is truncated',
            },
          );
        pieces.push({ pos, from, n });
      }
      pos += n;
    }
    return pieces;
  }

  /**
   * Reads the records `numbers` that are neither cached nor waiting, in MFT order, one request per cluster of near
   * records, and leaves their bytes for readRecord (which still checks each one). Numbers outside $MFT are left to
   * readRecord, which reports them.
   */
  private async readAhead(numbers: readonly number[]): Promise<void> {
    const rs = this.boot.recordSize;
    const want = numbers
      .filter((n) => n >= 0 && n < this.mftRecords && !this.records.has(n) && !this.ahead.has(n))
      .sort((a, b) => a - b);
    for (let i = 0; i < want.length; ) {
      let j = i;
      while (
        j + 1 < want.length &&
        want[j + 1]! - want[j]! <= AHEAD_GAP &&
        (want[j + 1]! - want[i]! + 1) * rs <= AHEAD_SPAN
      )
        j++;
      const first = want[i]!;
      const last = want[j]!;
      if (last > first) {
        const at = this.runOffset(this.mftRuns, first * rs) ?? this.boot.mftLcn * this.boot.clusterSize;
        // One private buffer per span (fixups are applied in place); each record is a view into it.
        const span = await this.readRuns(
          this.mftRuns,
          first * rs,
          (last - first + 1) * rs,
          `MFT records ${first}-${last}`,
          at,
        );
        for (let k = i; k <= j; k++) {
          const from = (want[k]! - first) * rs;
          this.ahead.set(want[k]!, span.subarray(from, from + rs));
        }
      }
      i = j + 1;
    }
  }

  /**
   * Reads and checks MFT record `n` (fixups, header, attributes), through the cache. With `keep` false (a listing's
   * children, each needed once) the record is cached only when it is a directory, the one kind read again soon; with
   * 'never' (a directory a whole-tree walk reads once, issue 7) it is not cached at all.
   */
  private async readRecord(n: number, keep: Keep = true): Promise<MftRecord> {
    const ready = this.takeRecord(n, keep);
    if (ready) return ready;
    const rs = this.boot.recordSize;
    const offset = this.runOffset(this.mftRuns, n * rs) ?? this.boot.mftLcn * this.boot.clusterSize;
    // Private bytes, read into: fixups are applied in place, and a device's read may hand out a view of its memory.
    const bytes = new Uint8Array(rs);
    await this.readRunsInto(this.mftRuns, n * rs, bytes, `MFT record ${n}`, offset);
    return this.parseRecord(n, offset, bytes, keep);
  }

  /**
   * Record `n` without I/O when it is cached or was read ahead (list() then builds the entry synchronously: no
   * promise per entry); null when it must be read. Throws NTFS_RECORD for a number outside $MFT.
   */
  private takeRecord(n: number, keep: Keep): MftRecord | null {
    const hit = this.records.get(n);
    if (hit) return hit;
    if (!Number.isSafeInteger(n) || n < 0 || n >= this.mftRecords)
      throw new BootprobeError(
        'NTFS_RECORD',
        `MFT record ${n} lies past the ${this.mftRecords} records of $MFT`,
        {
          offset: this.boot.mftLcn * this.boot.clusterSize,
          structure: 'ntfs.file',
          hint: 'a file reference is damaged; run chkdsk on the volume',
        },
      );
    let bytes = this.ahead.get(n);
    if (!bytes) return null;
    this.ahead.delete(n);
    // A kept record must not pin the whole read-ahead span: it gets its own bytes. (0x16, the flags, is never touched
    // by the fixups.)
    if (kept(keep, ((bytes[0x16] ?? 0) & RECORD_FLAG.DIRECTORY) !== 0)) bytes = new Uint8Array(bytes);
    const rs = this.boot.recordSize;
    return this.parseRecord(
      n,
      this.runOffset(this.mftRuns, n * rs) ?? this.boot.mftLcn * this.boot.clusterSize,
      bytes,
      keep,
    );
  }

  /** Fixups, header and attributes of record `n` from its private bytes; cached as `keep` says (readRecord). */
  private parseRecord(n: number, offset: number, bytes: Uint8Array, keep: Keep): MftRecord {
    applyFixups(bytes, 'FILE', offset);
    const v = new ByteView(bytes, offset, `MFT record ${n}`);
    const header = decodeMftRecordHeader(v);
    const attributes = decodeAttributes(v, header.firstAttribute, header.usedSize, n);
    const rec = { number: n, offset, header, attributes };
    if (kept(keep, (header.flags & RECORD_FLAG.DIRECTORY) !== 0)) this.records.set(n, rec);
    return rec;
  }

  /** Attributes of a file: its base record plus the extents its $ATTRIBUTE_LIST places in other records (§5). */
  async allAttributes(n: number, keep = true, known?: MftRecord): Promise<NtfsAttribute[]> {
    const hit = this.files.get(n);
    if (hit) return hit;
    const rec = known ?? (await this.readRecord(n, keep));
    const list = rec.attributes.find((a) => a.type === ATTR.ATTRIBUTE_LIST);
    if (!list) return rec.attributes;
    let value: Uint8Array;
    if (list.nonResident) {
      if (list.dataSize > MAX_ATTRIBUTE_LIST_SIZE)
        throw new BootprobeError(
          'NTFS_ATTRIBUTE',
          `record ${n}: attribute list of ${list.dataSize} bytes is larger than ${MAX_ATTRIBUTE_LIST_SIZE}`,
          { offset: list.offset, structure: 'ntfs.attribute_list', hint: RECORD_DAMAGED },
        );
      const runs = decodeRunlist(list.runlist!, 0, this.clusterCount, list.offset, list.highestVcn);
      value = await this.readRuns(runs, 0, list.dataSize, `attribute list of record ${n}`, list.offset);
    } else value = list.value!;
    const entries = decodeAttributeList(
      new ByteView(value, list.nonResident ? list.offset : list.valueOffset, 'NTFS $ATTRIBUTE_LIST'),
    );
    const out = [...rec.attributes];
    const visited = new Set<number>([n]);
    for (const e of entries) {
      if (e.record === n) continue; // in the base record, already taken
      if (!visited.has(e.record) && visited.size > MAX_EXTENSION_RECORDS)
        throw new BootprobeError(
          'NTFS_ATTRIBUTE',
          `record ${n} uses more than ${MAX_EXTENSION_RECORDS} extension records`,
          {
            offset: list.offset,
            structure: 'ntfs.attribute_list',
            hint: RECORD_DAMAGED,
          },
        );
      visited.add(e.record);
      const ext = await this.readRecord(e.record);
      // §5 step 3: the extension must be the one referenced and must belong to this file.
      if (ext.header.sequence !== e.sequence || ext.header.baseRecord !== n)
        throw new BootprobeError(
          'NTFS_ATTRIBUTE',
          `record ${n}: attribute list names record ${e.record} (sequence ${e.sequence}), which belongs to record ${ext.header.baseRecord} (sequence ${ext.header.sequence})`,
          {
            offset: ext.offset,
            structure: 'ntfs.attribute_list',
            hint: MFT_DAMAGED,
          },
        );
      const a = ext.attributes.find((x) => x.type === e.type && x.id === e.attributeId && x.name === e.name);
      if (!a || (a.nonResident && a.lowestVcn !== e.lowestVcn))
        throw new BootprobeError(
          'NTFS_ATTRIBUTE',
          `record ${n}: attribute list names ${ATTR_NAMES[e.type] ?? hex(e.type)} id ${e.attributeId} in record ${e.record}, which does not hold it`,
          {
            offset: ext.offset,
            structure: 'ntfs.attribute_list',
            hint: MFT_DAMAGED,
          },
        );
      out.push(a);
    }
    if (keep) this.files.set(n, out);
    return out;
  }

  /** One attribute (type, name) with its extents merged in VCN order; null when absent (§5 steps 2-5). */
  async stream(n: number, type: number, name: string, attrs?: NtfsAttribute[]): Promise<NtfsStream | null> {
    const all = attrs ?? (await this.allAttributes(n));
    // One pass, one array (a directory walk asks two streams of every directory: issue 7).
    const parts: NtfsAttribute[] = [];
    for (const a of all) if (a.type === type && a.name === name) parts.push(a);
    if (parts.length === 0) {
      const lower = name.toLowerCase();
      for (const a of all) if (a.type === type && a.name.toLowerCase() === lower) parts.push(a);
    }
    if (parts.length === 0) return null;
    if (parts.length > 1) parts.sort((a, b) => a.lowestVcn - b.lowestVcn);
    const first = parts[0]!;
    if (!first.nonResident)
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
        compressedSize: null,
        compressionUnit: 0,
        offset: first.offset,
      };
    const runs: Run[] = [];
    let next = 0;
    for (const p of parts) {
      if (!p.nonResident || p.lowestVcn !== next)
        throw new BootprobeError(
          'NTFS_ATTRIBUTE',
          `record ${n}: ${ATTR_NAMES[type] ?? hex(type)} extents are not contiguous (VCN ${p.lowestVcn}, expected ${next})`,
          { offset: p.offset, structure: 'ntfs.attribute', hint: RECORD_DAMAGED },
        );
      for (const r of decodeRunlist(p.runlist!, p.lowestVcn, this.clusterCount, p.offset, p.highestVcn))
        runs.push(r);
      next = p.highestVcn + 1;
    }
    // The runs must cover the data (a lying data size would otherwise read past them).
    if (first.dataSize > next * this.boot.clusterSize)
      throw new BootprobeError(
        'NTFS_ATTRIBUTE',
        `record ${n}: ${ATTR_NAMES[type] ?? hex(type)} says ${first.dataSize} bytes but its runs cover ${next} clusters`,
        { offset: first.offset, structure: 'ntfs.attribute', hint: RECORD_DAMAGED },
      );
    return {
      type,
      name: first.name,
      // §5 step 5: flags from the first extent; ntfs-3g left the sparse flag on later extents only.
      flags: first.flags | parts.reduce((f, p) => f | (p.flags & 0x8000), 0),
      resident: false,
      value: null,
      runs: coalesceRuns(runs),
      dataSize: first.dataSize,
      initializedSize: Math.min(first.initializedSize, first.dataSize),
      allocatedSize: first.allocatedSize,
      compressedSize: first.compressedSize,
      compressionUnit: first.compressionUnit,
      offset: first.offset,
    };
  }

  /** A reader over a stream's bytes: resident, plain, sparse or LZNT1-compressed (§3, §6). */
  reader(s: NtfsStream, where: string): FileReader {
    const size = s.dataSize;
    const check = (o: number, l: number) => {
      if (!Number.isSafeInteger(o) || !Number.isSafeInteger(l) || o < 0 || l < 0 || o + l > size)
        throw new BootprobeError(
          'READ_OUT_OF_RANGE',
          `${where}: read of ${l} bytes at ${o} past its ${size} bytes`,
          {
            offset: s.offset,
            hint: 'read inside the file size',
          },
        );
    };
    if (s.resident) {
      const value = s.value!;
      return {
        size,
        read: async (o, l) => {
          check(o, l);
          return value.slice(o, o + l);
        },
      };
    }
    if (isEncrypted(s))
      throw new BootprobeError('NTFS_ATTRIBUTE', `${where} is encrypted (EFS) and cannot be read offline`, {
        kind: 'unsupported',
        offset: s.offset,
        structure: 'ntfs.attribute',
        hint: 'decrypt it on Windows first',
      });
    const init = s.initializedSize;
    if (!isCompressed(s)) {
      const readInto = async (o: number, target: Uint8Array) => {
        check(o, target.length);
        const n = Math.max(0, Math.min(target.length, init - o));
        if (n > 0) await this.readRunsInto(s.runs, o, target.subarray(0, n), where, s.offset);
        target.fill(0, n); // past the initialized size: zeros (§3)
      };
      return {
        size,
        read: async (o, l) => {
          check(o, l);
          const out = new Uint8Array(l);
          await readInto(o, out);
          return out;
        },
        readInto,
      };
    }
    if ((s.flags & 0xff) !== 1 || s.compressionUnit === 0 || s.compressionUnit > 8)
      throw new BootprobeError(
        'NTFS_COMPRESSION',
        `${where}: compression method ${s.flags & 0xff} with unit 2^${s.compressionUnit} clusters is not LZNT1`,
        {
          offset: s.offset,
          structure: 'ntfs.attribute',
          kind: 'unsupported',
          hint: 'only LZNT1 exists on NTFS',
        },
      );
    const cs = this.boot.clusterSize;
    const unitClusters = 2 ** s.compressionUnit;
    const unitBytes = unitClusters * cs;
    // Windows compresses only with clusters ≤ 4 KiB and units of 16 clusters (§6): 64 KiB. Refuse units that would
    // make us allocate more than 1 MiB per unit.
    if (unitBytes > MAX_COMPRESSION_UNIT_BYTES)
      throw new BootprobeError(
        'NTFS_COMPRESSION',
        `${where}: compression units of ${unitBytes} bytes are not NTFS's`,
        {
          offset: s.offset,
          structure: 'ntfs.attribute',
          hint: RECORD_DAMAGED,
        },
      );
    const units = new Lru<number, Uint8Array>(UNITS_KEPT);
    // §6: per unit of 16 clusters, none allocated = zeros, all = raw, fewer = an LZNT1 stream.
    const unit = async (u: number): Promise<Uint8Array> => {
      const hit = units.get(u);
      if (hit) return hit;
      const v0 = u * unitClusters;
      const pieces: Run[] = [];
      for (let i = findRun(s.runs, v0); i < s.runs.length && s.runs[i]!.vcn < v0 + unitClusters; i++) {
        const r = s.runs[i]!;
        const a = Math.max(r.vcn, v0);
        const b = Math.min(r.vcn + r.length, v0 + unitClusters);
        if (a < b && r.lcn !== null) pieces.push({ vcn: a, length: b - a, lcn: r.lcn + (a - r.vcn) });
      }
      const allocated = pieces.reduce((n, p) => n + p.length, 0);
      let data: Uint8Array;
      if (allocated === 0) data = new Uint8Array(unitBytes);
      else if (allocated >= unitClusters)
        data = await this.readRuns(s.runs, v0 * cs, unitBytes, where, s.offset);
      else {
        const comp = new Uint8Array(allocated * cs);
        let at = 0;
        for (const p of pieces) {
          comp.set(await this.dev.read(p.lcn! * cs, p.length * cs), at);
          at += p.length * cs;
        }
        data = lznt1Decompress(comp, unitBytes, pieces[0]!.lcn! * cs);
      }
      units.set(u, data);
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
        if (init < o + l) out.fill(0, Math.max(0, init - o));
        return out;
      },
    };
  }

  /** The volume's $UpCase (record 10), read once. */
  private async loadUpcase(): Promise<Uint16Array> {
    if (this.upcase) return this.upcase;
    const s = await this.stream(MFT_RECORD.UPCASE, ATTR.DATA, '');
    if (!s || s.dataSize < UPCASE_BYTES)
      throw new BootprobeError('NTFS_ATTRIBUTE', '$UpCase is missing or shorter than 128 KiB', {
        offset: (await this.readRecord(MFT_RECORD.UPCASE)).offset,
        structure: 'ntfs.upcase',
        hint: 'the $UpCase system file is damaged; run chkdsk on the volume',
      });
    this.upcase = decodeUpcase(await this.reader(s, '$UpCase').read(0, UPCASE_BYTES), s.offset);
    this.upcaseAsciiCompatible = isAsciiCompatible(this.upcase);
    return this.upcase;
  }

  /**
   * The collation table a lookup of `name` needs. An ASCII-only name does not need $UpCase (128 KiB) when the table
   * maps ASCII as ASCII and nothing else into ASCII (§4: no multi-character or cross-range mappings; pinned by the
   * tests for dfir, sdi and the mkntfs volumes). Once the table is loaded its own answer decides.
   */
  private async collationFor(name: string): Promise<Collation> {
    const ascii = /^[\u0000-\u007f]*$/.test(name);
    if (!ascii || (this.upcase && !this.upcaseAsciiCompatible)) return this.loadUpcase();
    return null;
  }

  /**
   * Directory n's $I30 index: root entries, record size, $INDEX_ALLOCATION and $BITMAP (§4 step 1). Kept for later
   * lookups unless `keep` is false (a whole-directory walk: issue 7, kept records outlive the young generation).
   */
  private async dirIndex(n: number, keep = true): Promise<DirIndex> {
    const hit = this.dirs.get(n);
    if (hit) return hit;
    // A walk reads each directory's record once, here: filing it in the record cache would only carry it through the
    // young generation's collections.
    const rec = await this.readRecord(n, keep || 'never');
    const attrs = await this.allAttributes(n, keep, rec);
    const root = attrs.find((a) => a.type === ATTR.INDEX_ROOT && a.name === '$I30' && !a.nonResident);
    if (!root?.value)
      throw new BootprobeError('NOT_A_DIRECTORY', `MFT record ${n} has no $I30 index: not a directory`, {
        offset: rec.offset,
        structure: 'ntfs.index',
      });
    const rv = new ByteView(root.value, root.valueOffset, 'NTFS $INDEX_ROOT');
    const ir = decodeIndexRoot(rv);
    if (ir.indexedType !== ATTR.FILE_NAME || ir.collation !== COLLATION_FILE_NAME)
      throw new BootprobeError(
        'NTFS_INDEX',
        `record ${n}: $I30 index of type ${hex(ir.indexedType)} / collation ${ir.collation} is not a file-name index`,
        { offset: root.offset, structure: 'ntfs.index', hint: INDEX_DAMAGED },
      );
    const alloc = await this.stream(n, ATTR.INDEX_ALLOCATION, '$I30', attrs);
    let bitmap: Uint8Array | null = null;
    const bm = await this.stream(n, ATTR.BITMAP, '$I30', attrs);
    if (alloc && bm) {
      if (bm.dataSize > MAX_INDEX_BITMAP)
        throw new BootprobeError(
          'NTFS_INDEX',
          `record ${n}: $I30 $BITMAP of ${bm.dataSize} bytes is implausible`,
          {
            offset: bm.offset,
            structure: 'ntfs.index',
            hint: INDEX_DAMAGED,
          },
        );
      // Resident (nearly always, 8 bytes): its value, without a reader.
      bitmap = bm.resident
        ? bm.value!.slice(0, bm.dataSize)
        : await this.reader(bm, `$I30 bitmap of record ${n}`).read(0, bm.dataSize);
    }
    const d: DirIndex = {
      record: n,
      recordOffset: rec.offset,
      root: scanIndexNode(rv, INDEX_ROOT_NODE_OFFSET),
      recordSize: ir.recordSize,
      alloc: alloc && !alloc.resident ? alloc : null,
      bitmap,
    };
    if (keep) this.dirs.set(n, d);
    return d;
  }

  /**
   * Child node `vcn` of directory d, scanned, through the cache: for lookups, which come back to the same nodes. A
   * whole-directory walk reads indexNodeView instead: it visits each node once, and keeping its nodes would only hold
   * them (and their 4 KiB buffers) through the young generation's collections (issue 7).
   */
  private async indexNode(d: DirIndex, vcn: number): Promise<IndexNodeView> {
    const key = `${d.record}:${vcn}`;
    const hit = this.indexBlocks.get(key);
    if (hit) return hit;
    const node = await this.indexNodeView(d, vcn);
    this.indexBlocks.set(key, node);
    return node;
  }

  /**
   * Child node `vcn` of directory d, read, checked and scanned (§4 step 4); not cached. `whole`: the directory's whole
   * $INDEX_ALLOCATION, read by the caller for this one walk (the node's bytes are fixed up in place there).
   */
  private async indexNodeView(d: DirIndex, vcn: number, whole?: Uint8Array): Promise<IndexNodeView> {
    const fail = (msg: string, offset: number) =>
      new BootprobeError('NTFS_INDEX', `record ${d.record}: ${msg}`, {
        offset,
        structure: 'ntfs.index',
        hint: INDEX_DAMAGED,
      });
    if (!d.alloc)
      throw fail(`index entry points to child VCN ${vcn} but there is no $INDEX_ALLOCATION`, d.recordOffset);
    const rs = d.recordSize;
    const at = indexVcnToOffset(vcn, rs, this.boot.clusterSize);
    if (at % rs !== 0 || at + rs > d.alloc.dataSize)
      throw fail(
        `child VCN ${vcn} lies outside the ${d.alloc.dataSize}-byte index allocation`,
        d.alloc.offset,
      );
    const index = at / rs;
    if (d.bitmap && (index >> 3 >= d.bitmap.length || (d.bitmap[index >> 3]! & (1 << (index & 7))) === 0))
      throw fail(`child VCN ${vcn} is index record ${index}, which $BITMAP marks free`, d.alloc.offset);
    const where = this.runOffset(d.alloc.runs, at) ?? d.alloc.offset;
    let bytes: Uint8Array;
    if (whole) bytes = whole.subarray(at, at + rs);
    else {
      bytes = new Uint8Array(rs); // private: fixups are applied in place (see readRecord)
      await this.readRunsInto(d.alloc.runs, at, bytes, `index of record ${d.record}`, d.alloc.offset);
    }
    return scanIndexRecord(bytes, vcn, where).node;
  }

  /**
   * Walks directory d's B-tree for `name` (§4 "Lookup"). `cmp` orders name against a key; with `lowerBound` the walk
   * returns the first key comparing equal (descending left of it for an earlier one), else any equal key.
   */
  private async walk(d: DirIndex, name: string, cmp: (a: string, b: string) => number, lowerBound: boolean) {
    const visited = new Set<number>();
    let node = d.root;
    let candidate: IndexEntry | null = null;
    for (let depth = 0; ; depth++) {
      // Keys are compared in place (indexEntryName); only an equal one becomes an IndexEntry (issue 7: a lookup
      // through a 6,000-entry directory made an object per entry of every node it visited).
      let descend: number | null = null;
      for (const p of node.offsets) {
        if (!indexEntryIsLast(node.v, p)) {
          const c = cmp(name, indexEntryName(node.v, p));
          if (c > 0) continue;
          if (c === 0) {
            const e = indexEntryAt(node.v, p);
            if (!lowerBound) return e;
            candidate = e;
          }
        }
        descend = indexEntryChild(node.v, p);
        break;
      }
      if (descend === null) return candidate;
      if (visited.has(descend))
        throw new BootprobeError(
          'NTFS_INDEX',
          `record ${d.record}: index B-tree loops back to VCN ${descend}`,
          {
            offset: d.alloc?.offset,
            structure: 'ntfs.index',
            hint: INDEX_DAMAGED,
          },
        );
      if (depth >= MAX_INDEX_DEPTH)
        throw new BootprobeError(
          'NTFS_INDEX',
          `record ${d.record}: index B-tree deeper than ${MAX_INDEX_DEPTH}`,
          {
            offset: d.alloc?.offset,
            structure: 'ntfs.index',
            hint: INDEX_DAMAGED,
          },
        );
      visited.add(descend);
      node = await this.indexNode(d, descend);
    }
  }

  /**
   * Looks up one name in directory n, case-insensitively through $UpCase: an exact-case match wins, else the first
   * name equal under $UpCase (§4 step 2: POSIX names may differ only in case).
   */
  private async findInDir(n: number, name: string): Promise<IndexEntry | null> {
    const up = await this.collationFor(name);
    const d = await this.dirIndex(n);
    const first = await this.walk(d, name, (a, b) => compareUpcase(up, a, b), true);
    if (!first || first.key!.name === name) return first;
    return (await this.walk(d, name, (a, b) => collateFileNames(up, a, b), false)) ?? first;
  }

  /** Builds the entry for record `n` as named (`key`) in directory `parent`. */
  private async entry(
    n: number,
    key: FileNameKey | null,
    parent: number,
    path: string,
    sequence: number,
    keep = true,
  ): Promise<NtfsEntry> {
    const rec = this.takeRecord(n, keep) ?? (await this.readRecord(n, keep));
    this.checkNamedRecord(rec, path, sequence);
    // With an $ATTRIBUTE_LIST (rare) allAttributes reads the record again through the record cache: what it assembles
    // is cached, so it must not hold views into a read-ahead span.
    const attrs = hasAttributeList(rec) ? await this.allAttributes(n) : rec.attributes;
    return this.buildEntry(rec, attrs, key, parent, path);
  }

  /** The directory entry must name this very record, in use (a stale entry is a damaged index). */
  private checkNamedRecord(rec: MftRecord, path: string, sequence: number): void {
    const n = rec.number;
    if (sequence && rec.header.sequence !== sequence)
      throw new BootprobeError(
        'NTFS_INDEX',
        `${path}: the directory entry names record ${n} sequence ${sequence}, the record has sequence ${rec.header.sequence}`,
        {
          offset: rec.offset + 0x10,
          structure: 'ntfs.index',
          hint: 'a stale directory entry; run chkdsk on the volume',
        },
      );
    if ((rec.header.flags & RECORD_FLAG.IN_USE) === 0)
      throw new BootprobeError(
        'NTFS_INDEX',
        `${path}: the directory entry names record ${n}, which is not in use`,
        {
          offset: rec.offset + 0x16,
          structure: 'ntfs.index',
          hint: 'a stale directory entry; run chkdsk on the volume',
        },
      );
  }

  /** The entry of record `rec` (checked, with all its attributes) as named (`key`) in directory `parent`. No I/O. */
  private buildEntry(
    rec: MftRecord,
    attrs: readonly NtfsAttribute[],
    key: FileNameKey | null,
    parent: number,
    path: string,
  ): NtfsEntry {
    const n = rec.number;
    // One pass over the attributes, no closures or intermediate arrays: this runs once per listed entry (issue 7).
    let si: NtfsAttribute | undefined;
    let rp: NtfsAttribute | undefined;
    const nameAttrs: NtfsAttribute[] = [];
    const streams: FsStreamInfo[] = [];
    let size = 0;
    let allocatedSize: number | null = null;
    for (const a of attrs) {
      if (a.type === ATTR.STANDARD_INFORMATION) {
        if (!si && !a.nonResident) si = a;
      } else if (a.type === ATTR.FILE_NAME) {
        if (a.value) nameAttrs.push(a);
      } else if (a.type === ATTR.DATA) {
        if (a.lowestVcn !== 0) continue;
        if (a.name === '') {
          size = a.dataSize;
          allocatedSize = a.nonResident ? (a.compressedSize ?? a.allocatedSize) : a.dataSize;
        } else streams.push({ name: a.name, size: a.dataSize });
      } else if (a.type === ATTR.REPARSE_POINT) rp ??= a;
    }
    const std = si?.value
      ? decodeStandardInformation(new ByteView(si.value!, si.valueOffset, '$STANDARD_INFORMATION'))
      : null;
    const here: FileNameKey[] = [];
    let dos: FileNameKey | undefined;
    for (const a of nameAttrs) {
      const f = decodeFileNameKey(new ByteView(a.value!, a.valueOffset, '$FILE_NAME'));
      if (f.parentRecord !== parent) continue;
      here.push(f);
      if (!dos && f.namespace === NAMESPACE.DOS) dos = f;
    }
    let name = key?.name ?? '';
    let namespace = key?.namespace ?? NAMESPACE.POSIX;
    if (namespace === NAMESPACE.DOS) {
      // Found by its 8.3 alias: show the long name it stands for.
      const long = FILE_NAME_NS_ORDER.map((ns) => here.find((f) => f.namespace === ns)).find((f) => f);
      if (long) {
        name = long.name;
        namespace = long.namespace;
        path = joinPath(path.slice(0, path.lastIndexOf('/')) || '/', name);
      }
    }
    const isDirectory = (rec.header.flags & RECORD_FLAG.DIRECTORY) !== 0;
    let reparseTag: number | null = null;
    if (rp?.value && rp.value.length >= 4)
      reparseTag = decodeReparsePoint(new ByteView(rp.value!, rp.valueOffset)).tag;
    else if (rp) reparseTag = key?.eaSizeOrReparseTag ?? 0;
    let attributes = std?.attributes ?? 0;
    if (isDirectory) attributes |= FILE_ATTRIBUTE.DIRECTORY;
    if (rp) attributes |= FILE_ATTRIBUTE.REPARSE_POINT;
    const entry: NtfsEntry = {
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
      parent,
      namespace,
      reparseTag,
    };
    return entry;
  }

  async root(): Promise<NtfsEntry> {
    return this.entry(MFT_RECORD.ROOT, null, -1, '/', 0);
  }

  async lookup(path: string): Promise<NtfsEntry> {
    let cur = await this.root();
    for (const part of splitPath(path)) {
      if (!cur.isDirectory)
        throw new BootprobeError('NOT_A_DIRECTORY', `${cur.path} is not a directory`, {
          hint: 'check the path',
        });
      const e = await this.findInDir(cur.id, part);
      if (!e?.key)
        throw new BootprobeError('PATH_NOT_FOUND', `${joinPath(cur.path, part)}: no such file or directory`, {
          hint: 'list the directory with `bootprobe ls`',
        });
      cur = await this.entry(e.record, e.key, cur.id, joinPath(cur.path, e.key.name), e.sequence);
    }
    return cur;
  }

  /** Every name in directory `dir`, walking its B-tree in order (§4): each file once per link, DOS aliases left out. */
  async list(dir: FsEntry): Promise<NtfsEntry[]> {
    const shown = await this.indexKeys(dir);
    const out: NtfsEntry[] = [];
    const window = Math.max(1, Math.floor(AHEAD_BYTES / this.boot.recordSize));
    for (let w = 0; w < shown.length; w += window) {
      const part = shown.slice(w, w + window);
      try {
        await this.readAhead(part.map((e) => e.record));
        for (const e of part) {
          // entry() inlined: a record read ahead without an attribute list (nearly every file) costs no promise.
          const path = joinPath(dir.path, e.key!.name);
          const rec = this.takeRecord(e.record, false) ?? (await this.readRecord(e.record, false));
          this.checkNamedRecord(rec, path, e.sequence);
          // No await unless the file has an $ATTRIBUTE_LIST (see entry()).
          const attrs = hasAttributeList(rec) ? await this.allAttributes(e.record) : rec.attributes;
          out.push(this.buildEntry(rec, attrs, e.key!, dir.id, path));
        }
      } finally {
        this.ahead.clear();
      }
    }
    return out;
  }

  /**
   * Names and types straight from the directory index, as ntfsls prints them (issue 7): no file's MFT record is read,
   * so a 50,000-file tree costs its index blocks, not its MFT. The directory bit comes from the index key's
   * $FILE_NAME flags (ntfs.md §3.3: 0x10000000); sizes and times are left out (0/null) because Windows updates them in
   * the index lazily; and a stale entry is not detected, as `list` detects it.
   */
  async listNames(dir: FsEntry): Promise<NameList> {
    const names: string[] = [];
    const ids: number[] = [];
    const directory: number[] = [];
    await this.walkIndex(dir, (v, p) => {
      names.push(indexEntryName(v, p));
      ids.push(indexEntryRecord(v, p));
      directory.push((indexEntryNameFlags(v, p) & FILE_NAME_DIRECTORY) !== 0 ? 1 : 0);
    });
    return { names, ids, directory: Uint8Array.from(directory) };
  }

  /** The named entries of a directory's $I30 B-tree in index order, as objects (see walkIndex). */
  private async indexKeys(dir: FsEntry): Promise<IndexEntry[]> {
    const keys: IndexEntry[] = [];
    await this.walkIndex(dir, (v, p) => keys.push(indexEntryAt(v, p)));
    return keys;
  }

  /**
   * Hands `each` the named entries of a directory's $I30 B-tree in index order (§4), DOS aliases and the root's
   * self-entry left out, each as its node's view and its offset there: a listing takes the name and numbers it needs
   * in place, with no object per entry (issue 7). Every node is read once and not cached.
   */
  private async walkIndex(dir: FsEntry, each: (v: ByteView, p: number) => void): Promise<void> {
    if (!dir.isDirectory)
      throw new BootprobeError('NOT_A_DIRECTORY', `${dir.path} is not a directory`, {
        hint: 'list a directory',
      });
    const d = await this.dirIndex(dir.id, false);
    // A small allocation of several index records is read whole, one request per run, instead of a request per node
    // (issue 7: most directories of a Windows tree have a few index records, contiguous on disk).
    const a = d.alloc;
    const whole =
      a && a.dataSize > d.recordSize && a.dataSize <= WHOLE_INDEX_BYTES
        ? await this.readRuns(a.runs, 0, a.dataSize, `index of record ${d.record}`, a.offset)
        : undefined;
    const visited = new Set<number>();
    const walk = async (node: IndexNodeView, depth: number): Promise<void> => {
      const { v, offsets } = node;
      for (let i = 0; i < offsets.length; i++) {
        const p = offsets[i]!;
        const child = indexEntryChild(v, p);
        if (child !== null) {
          if (visited.has(child) || depth >= MAX_INDEX_DEPTH)
            throw new BootprobeError(
              'NTFS_INDEX',
              `${dir.path}: index B-tree ${visited.has(child) ? `loops back to VCN ${child}` : `deeper than ${MAX_INDEX_DEPTH}`}`,
              {
                offset: d.alloc?.offset ?? v.base + p,
                structure: 'ntfs.index',
                hint: INDEX_DAMAGED,
              },
            );
          visited.add(child);
          await walk(await this.indexNodeView(d, child, whole), depth + 1);
        }
        // The DOS alias of a Win32 name becomes the entry's shortName; the root's entry for itself is no child.
        if (
          !indexEntryIsLast(v, p) &&
          indexEntryNamespace(v, p) !== NAMESPACE.DOS &&
          indexEntryRecord(v, p) !== dir.id
        )
          each(v, p);
      }
    };
    await walk(d.root, 0);
  }

  async openFile(entry: FsEntry, streamName = ''): Promise<FileReader> {
    if (entry.isDirectory && streamName === '')
      throw new BootprobeError('NOT_A_FILE', `${entry.path} is a directory`, { hint: 'use `bootprobe ls`' });
    const s = await this.stream(entry.id, ATTR.DATA, streamName);
    if (!s)
      throw new BootprobeError(
        'PATH_NOT_FOUND',
        streamName ? `${entry.path} has no stream '${streamName}'` : `${entry.path} has no data`,
        { hint: 'see its streams with `bootprobe stat`' },
      );
    return this.reader(s, `${entry.path}${streamName ? `:${streamName}` : ''}`);
  }

  /** Every attribute of the file's record(s), decoded, as plain JSON (64-bit values as decimal strings). */
  async stat(entry: FsEntry): Promise<Record<string, unknown>> {
    const rec = await this.readRecord(entry.id);
    const attrs = await this.allAttributes(entry.id);
    const iso = (d: Date | null) => d?.toISOString() ?? null;
    const h = rec.header;
    return {
      record: entry.id,
      recordOffset: rec.offset,
      sequence: h.sequence,
      linkCount: h.linkCount,
      recordFlags: hex(h.flags),
      inUse: (h.flags & RECORD_FLAG.IN_USE) !== 0,
      directory: (h.flags & RECORD_FLAG.DIRECTORY) !== 0,
      usedSize: h.usedSize,
      allocatedSize: h.allocatedSize,
      lsn: h.lsn.toString(),
      baseRecord: h.baseRecord,
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
          const runs = decodeRunlist(a.runlist!, a.lowestVcn, this.clusterCount, a.offset, a.highestVcn);
          Object.assign(base, {
            lowestVcn: a.lowestVcn,
            highestVcn: a.highestVcn,
            allocatedSize: a.allocatedSize,
            dataSize: a.dataSize,
            initializedSize: a.initializedSize,
            compressedSize: a.compressedSize,
            compressionUnit: a.compressionUnit,
            runCount: runs.length,
            runs: runs.map((r) => ({ vcn: r.vcn, lcn: r.lcn, length: r.length })),
          });
          return base;
        }
        const value = a.value!;
        base.valueLength = value.length;
        base.indexed = (a.residentFlags & 1) !== 0;
        const v = new ByteView(value, a.valueOffset, ATTR_NAMES[a.type] ?? 'attribute');
        if (a.type === ATTR.STANDARD_INFORMATION) {
          const s = decodeStandardInformation(v);
          Object.assign(base, {
            created: iso(s.created),
            modified: iso(s.modified),
            mftChanged: iso(s.changed),
            accessed: iso(s.accessed),
            dosAttributes: hex(s.attributes),
            maxVersions: s.maxVersions,
            version: s.version,
            classId: s.classId,
            ownerId: s.ownerId,
            securityId: s.securityId,
            quotaCharged: s.quotaCharged?.toString() ?? null,
            usn: s.usn?.toString() ?? null,
          });
        } else if (a.type === ATTR.FILE_NAME) {
          const f = decodeFileName(v);
          Object.assign(base, {
            fileName: f.name,
            namespace: NAMESPACE_NAMES[f.namespace] ?? f.namespace,
            parentRecord: f.parentRecord,
            parentSequence: f.parentSequence,
            created: iso(f.created),
            modified: iso(f.modified),
            mftChanged: iso(f.changed),
            accessed: iso(f.accessed),
            allocatedSize: f.allocatedSize,
            realSize: f.realSize,
            fileFlags: hex(f.flags),
          });
        } else if (a.type === ATTR.VOLUME_NAME) {
          base.volumeName = decodeVolumeName(v);
        } else if (a.type === ATTR.VOLUME_INFORMATION) {
          const vi = decodeVolumeInformation(v);
          Object.assign(base, {
            major: vi.major,
            minor: vi.minor,
            volumeFlags: hex(vi.flags),
            dirty: vi.dirty,
          });
        } else if (a.type === ATTR.REPARSE_POINT && value.length >= 8) {
          const r = decodeReparsePoint(v);
          Object.assign(base, { reparseTag: hex(r.tag), target: r.target, printName: r.printName });
        } else if (a.type === ATTR.ATTRIBUTE_LIST) {
          base.entries = decodeAttributeList(v).map((e) => ({
            ...e,
            type: ATTR_NAMES[e.type] ?? hex(e.type),
          }));
        } else if (a.type === ATTR.INDEX_ROOT) {
          const ir = decodeIndexRoot(v);
          Object.assign(base, {
            indexedType: hex(ir.indexedType),
            collation: ir.collation,
            indexRecordSize: ir.recordSize,
          });
        }
        return base;
      }),
    };
  }
}

export function openNtfs(dev: BlockDevice): Promise<NtfsFileSystem> {
  return NtfsFileSystem.open(dev);
}
