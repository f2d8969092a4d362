// NTFS, write: replace the whole unnamed $DATA of an existing file (what `repair` needs for \Boot\BCD).
// Procedure: docs/ntfs.md §9, extended with allocation through $Bitmap (§8) and resident → non-resident conversion.
// Preconditions (§9): the volume passes §7 (volume-state.ts); the file is a plain user file whose $DATA is one
// uncompressed, unencrypted, non-sparse extent. Everything is laid out in memory first: the data in clusters, the
// $Bitmap bits, the MFT record(s) with their fixups (and $MFTMirr for the records it mirrors), the parent directories'
// $I30 entries; PatchPlan (file-system.ts) then writes data, allocation, records, index entries, freed bits, in that
// order, and re-opens the volume to read the file back.
import { BootprobeError, hex } from '../../errors.js';
import { type BlockDevice, ByteView } from '../../io/index.js';
import {
  FILE_ATTRIBUTE,
  type FsPatch,
  type FsWriteOptions,
  type FsWritePlan,
  PatchPlan,
  verifyFileContent,
} from '../file-system.js';
import {
  ATTR,
  decodeAttributes,
  isCompressed,
  isEncrypted,
  isSparse,
  type NtfsAttribute,
} from './attribute.js';
import { BITMAP_RECORD, ClusterBitmap, type ClusterExtent } from './bitmap.js';
import {
  decodeFileName,
  encodeFiletime,
  FILE_NAME_FIELD,
  type FileNameAttr,
  NAMESPACE_NAMES,
} from './file-name.js';
import { RECORD_DAMAGED } from './hints.js';
import { decodeIndexNode, type IndexEntry } from './index-node.js';
import { decodeIndexRecord, INDX_NODE_OFFSET } from './index-record.js';
import {
  COLLATION_FILE_NAME,
  decodeIndexRoot,
  INDEX_ROOT_NODE_OFFSET,
  indexVcnToOffset,
} from './index-root.js';
import type { NtfsFileSystem, NtfsStream } from './ntfs.js';
import { applyFixups, decodeMftRecordHeader, protectFixups, RECORD_FLAG } from './record.js';
import { type DevicePiece, decodeRunlist, encodeRunlist, type Run, runPieces } from './runlist.js';
import { collateFileNames } from './upcase.js';
import { assertNtfsWritable } from './volume-state.js';

/** The reader's B-tree depth bound (ntfs.ts MAX_INDEX_DEPTH, §4 step 4). */
const MAX_INDEX_DEPTH = 32;
/** §2: records 0-15 are the metadata files and reserved ones; a user file is never among them. */
export const FIRST_USER_RECORD = 16;
/** §2 well-known records. */
const MFT_MIRR_RECORD = 1;
/** §3 non-resident header without the compressed-size field; where a new runlist starts. */
const NON_RESIDENT_HEADER = 0x40;
/** §3.2 $STANDARD_INFORMATION: modified and MFT-modified times. */
const SI_MODIFIED = 0x08;
const SI_CHANGED = 0x10;

export interface NtfsWriteContext {
  fs: NtfsFileSystem;
  dev: BlockDevice;
  /** A fresh file system on the same device, for the read-back. */
  reopen(): Promise<NtfsFileSystem>;
}

/** An MFT or INDX record read for editing: its plain (fixed-up) bytes and where its on-disk form lives. */
interface EditRecord {
  what: string;
  plain: Uint8Array;
  pieces: DevicePiece[];
  /** $MFTMirr slot of records 0..mirror count-1 (§9 step 4). */
  mirror: DevicePiece[] | null;
}

const align8 = (n: number) => (n + 7) & ~7;
const u16 = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8);
const u32 = (b: Uint8Array, at: number) =>
  (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
function w16(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >> 8) & 0xff;
}
function w32(b: Uint8Array, at: number, v: number): void {
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(at, v >>> 0, true);
}
function w64(b: Uint8Array, at: number, v: bigint | number): void {
  new DataView(b.buffer, b.byteOffset, b.byteLength).setBigUint64(at, BigInt.asUintN(64, BigInt(v)), true);
}

function refuse(path: string, why: string, hint: string, offset?: number): BootprobeError {
  return new BootprobeError('FS_WRITE_REFUSED', `${path}: ${why}`, { kind: 'unsafe', offset, hint });
}

/** Everything one write plan reads and changes; patches come out of it in the safe order. */
class NtfsWrite {
  private readonly records = new Map<string, EditRecord>();
  private readonly fileRecords: string[] = [];
  private readonly indexRecords: string[] = [];
  readonly dataPatches: FsPatch[] = [];
  readonly allocPatches: FsPatch[] = [];
  readonly freePatches: FsPatch[] = [];
  readonly changes: string[] = [];
  private mirror: { runs: Run[]; count: number } | null = null;

  constructor(
    private readonly fs: NtfsFileSystem,
    private readonly dev: BlockDevice,
  ) {}

  private async readPieces(pieces: DevicePiece[]): Promise<Uint8Array> {
    const total = pieces.reduce((n, p) => n + p.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of pieces) {
      out.set(await this.dev.read(p.offset, p.length), at);
      at += p.length;
    }
    return out;
  }

  private async mirrorLayout(): Promise<{ runs: Run[]; count: number }> {
    if (this.mirror) return this.mirror;
    const s = await this.fs.stream(MFT_MIRR_RECORD, ATTR.DATA, '');
    this.mirror =
      s && !s.resident
        ? { runs: s.runs, count: Math.floor(s.dataSize / this.fs.boot.recordSize) }
        : { runs: [], count: 0 };
    return this.mirror;
  }

  /** MFT record n for editing, once per plan; `file` says whether it belongs to the file or to a directory. */
  async mftRecord(n: number, file: boolean): Promise<EditRecord> {
    const key = `mft:${n}`;
    const hit = this.records.get(key);
    if (hit) return hit;
    const rs = this.fs.boot.recordSize;
    const cs = this.fs.boot.clusterSize;
    const { runs, records } = this.fs.mftLayout;
    if (n < 0 || n >= records)
      throw new BootprobeError('NTFS_RECORD', `MFT record ${n} lies past the ${records} records of $MFT`, {
        structure: 'ntfs.file',
        hint: 'a file reference is damaged; run chkdsk',
      });
    const pieces = runPieces(runs, n * rs, rs, cs, `MFT record ${n}`);
    const plain = await this.readPieces(pieces); // a fresh copy: fixups are applied in place
    applyFixups(plain, 'FILE', pieces[0]!.offset);
    const mirror = await this.mirrorLayout();
    const rec: EditRecord = {
      what: `MFT record ${n}`,
      plain,
      pieces,
      mirror: n < mirror.count ? runPieces(mirror.runs, n * rs, rs, cs, `$MFTMirr slot ${n}`) : null,
    };
    this.records.set(key, rec);
    (file ? this.fileRecords : this.indexRecords).push(key);
    return rec;
  }

  /** INDX record of directory `dir` at child VCN `vcn` (§4 step 4), once per plan. */
  async indexRecord(dir: number, alloc: NtfsStream, recordSize: number, vcn: number) {
    const key = `indx:${dir}:${vcn}`;
    const hit = this.records.get(key);
    const cs = this.fs.boot.clusterSize;
    if (!hit) {
      const at = indexVcnToOffset(vcn, recordSize, cs);
      if (at % recordSize !== 0 || at + recordSize > alloc.dataSize)
        throw new BootprobeError(
          'NTFS_INDEX',
          `record ${dir}: child VCN ${vcn} lies outside its ${alloc.dataSize}-byte index allocation`,
          { structure: 'ntfs.index', hint: 'the directory index is damaged; run chkdsk' },
        );
      const pieces = runPieces(alloc.runs, at, recordSize, cs, `index of record ${dir}`);
      const plain = await this.readPieces(pieces);
      decodeIndexRecord(plain, vcn, 0); // fixups and VCN check, in place
      this.records.set(key, {
        what: `INDX record VCN ${vcn} of directory record ${dir}`,
        plain,
        pieces,
        mirror: null,
      });
      this.indexRecords.push(key);
    }
    const rec = this.records.get(key)!;
    return {
      rec,
      entries: decodeIndexNode(new ByteView(rec.plain, 0, 'NTFS INDX record'), INDX_NODE_OFFSET),
    };
  }

  /** Protected bytes of every edited record as patches: the file's records (and mirrors), then the directories'. */
  recordPatches(): { file: FsPatch[]; index: FsPatch[] } {
    const emit = (keys: string[]) => {
      const out: FsPatch[] = [];
      for (const key of keys) {
        const r = this.records.get(key)!;
        const raw = r.plain.slice();
        protectFixups(raw);
        for (const [pieces, what] of [
          [r.pieces, r.what],
          [r.mirror, `$MFTMirr copy of ${r.what}`],
        ] as const) {
          if (!pieces) continue;
          let at = 0;
          for (const p of pieces) {
            out.push({ offset: p.offset, data: raw.slice(at, at + p.length), kind: 'metadata', what });
            at += p.length;
          }
        }
      }
      return out;
    };
    return { file: emit(this.fileRecords), index: emit(this.indexRecords) };
  }
}

/** The attributes of a plain record, with offsets relative to the record. */
function recordAttributes(rec: EditRecord, n: number): NtfsAttribute[] {
  const v = new ByteView(rec.plain, 0, rec.what);
  const h = decodeMftRecordHeader(v);
  return decodeAttributes(v, h.firstAttribute, h.usedSize, n);
}

/**
 * Replaces the attribute of `oldLen` bytes at `at` by `attr`, moving the attributes after it and the end marker, and
 * updating the used size (§9 step 2, resident case). FS_NO_SPACE when the record cannot hold the result.
 */
function replaceAttribute(rec: EditRecord, at: number, oldLen: number, attr: Uint8Array, path: string): void {
  const p = rec.plain;
  const used = u32(p, 0x18);
  const allocated = Math.min(u32(p, 0x1c), p.length);
  const newUsed = used - oldLen + attr.length;
  if (newUsed > allocated)
    throw new BootprobeError(
      'FS_NO_SPACE',
      `${path}: the new $DATA attribute (${attr.length} bytes) does not fit ${rec.what} (${used - oldLen} of ${allocated} bytes used by the rest)`,
      {
        kind: 'unsafe',
        structure: 'ntfs.file',
        hint: 'the file would need an attribute list, which bootprobe does not create; defragment the volume or write the file from Windows',
      },
    );
  p.copyWithin(at + attr.length, at + oldLen, used);
  p.set(attr, at);
  if (newUsed < used) p.fill(0, newUsed, used);
  w32(p, 0x18, newUsed);
}

/** A resident $DATA holding `data`, keeping the old header (name, flags, id) up to its value offset (§3). */
function residentAttribute(old: Uint8Array, data: Uint8Array): Uint8Array {
  const vo = u16(old, 0x14);
  const out = new Uint8Array(align8(vo + data.length));
  out.set(old.subarray(0, vo));
  w32(out, 0x04, out.length);
  w32(out, 0x10, data.length);
  out.set(data, vo);
  return out;
}

/**
 * A non-resident $DATA (§3) with `runs` and `size` bytes: the old non-resident header is kept up to its runlist
 * offset (name, flags, id, compression unit), or a fresh 0x40-byte header is made for a resident one (unnamed).
 */
function nonResidentAttribute(old: Uint8Array, wasResident: boolean, runs: Run[], size: number, cs: number) {
  const rl = encodeRunlist(runs);
  const header = wasResident ? NON_RESIDENT_HEADER : u16(old, 0x20);
  const out = new Uint8Array(align8(header + rl.length));
  if (wasResident) {
    w32(out, 0x00, ATTR.DATA);
    out[0x08] = 1; // non-resident
    out[0x09] = 0; // unnamed
    w16(out, 0x0a, NON_RESIDENT_HEADER);
    w16(out, 0x0c, 0); // flags: not compressed, encrypted or sparse
    w16(out, 0x0e, u16(old, 0x0e)); // attribute id kept: an attribute list entry may name it
    w16(out, 0x20, NON_RESIDENT_HEADER);
  } else out.set(old.subarray(0, header));
  const clusters = runs.reduce((n, r) => n + r.length, 0);
  w32(out, 0x04, out.length);
  w64(out, 0x10, 0);
  w64(out, 0x18, clusters - 1); // -1 (all ones) when empty
  w64(out, 0x28, clusters * cs);
  w64(out, 0x30, size);
  w64(out, 0x38, size);
  out.set(rl, header);
  return out;
}

/** The first `clusters` clusters of `runs`, and what is left over. */
function splitRuns(runs: readonly Run[], clusters: number): { keep: Run[]; free: ClusterExtent[] } {
  const keep: Run[] = [];
  const free: ClusterExtent[] = [];
  for (const r of runs) {
    const k = Math.max(0, Math.min(r.length, clusters - r.vcn));
    if (k > 0) keep.push({ vcn: r.vcn, lcn: r.lcn, length: k });
    if (k < r.length) free.push({ lcn: r.lcn! + k, length: r.length - k });
  }
  return { keep, free };
}

/** Plans the write; nothing touches the device before the plan's commit(). */
export async function planNtfsReplace(
  ctx: NtfsWriteContext,
  path: string,
  data: Uint8Array,
  options: FsWriteOptions,
): Promise<FsWritePlan> {
  const { fs, dev } = ctx;
  if (!dev.write)
    throw new BootprobeError('READ_ONLY', `${path}: the NTFS volume was opened read-only`, {
      hint: 'open the image for writing',
    });
  await assertNtfsWritable(fs);
  const entry = await fs.lookup(path);
  const where = entry.path;
  if (entry.isDirectory)
    throw new BootprobeError('NOT_A_FILE', `${where} is a directory`, { hint: 'name a file to replace' });
  const n = entry.id;
  if (n < FIRST_USER_RECORD)
    throw refuse(where, `is NTFS metadata file record ${n}`, 'bootprobe only rewrites ordinary files');
  if (entry.reparseTag !== null)
    throw refuse(where, `is a reparse point (tag ${hex(entry.reparseTag)})`, 'replace the file it points to');
  const attrs = await fs.allAttributes(n);
  const parts = attrs.filter((a) => a.type === ATTR.DATA && a.name === '');
  if (parts.length === 0) throw refuse(where, 'has no unnamed $DATA attribute', 'run chkdsk on the volume');
  if (parts.length > 1)
    throw refuse(
      where,
      `its data is split over ${parts.length} attribute extents in several MFT records (an attribute list)`,
      'bootprobe rewrites only data held by one attribute; defragment the file in Windows first',
    );
  const d = parts[0]!;
  // §9 precondition 2: the $DATA flags decide; the DOS attributes and an $EFS stream say the same in other places.
  const a = entry.attributes;
  const kind =
    isCompressed(d) || a & FILE_ATTRIBUTE.COMPRESSED
      ? 'compressed'
      : isSparse(d) || a & FILE_ATTRIBUTE.SPARSE_FILE
        ? 'sparse'
        : isEncrypted(d) ||
            a & FILE_ATTRIBUTE.ENCRYPTED ||
            attrs.some((x) => x.type === ATTR.LOGGED_UTILITY_STREAM && x.name === '$EFS')
          ? 'encrypted'
          : null;
  if (kind)
    throw refuse(
      where,
      `is ${kind} ($DATA flags ${hex(d.flags)}, file attributes ${hex(a)})`,
      'bootprobe writes only plain files; uncompress or decrypt it in Windows first',
      d.offset,
    );

  const w = new NtfsWrite(fs, dev);
  const cs = fs.boot.clusterSize;
  const time = options.time ?? new Date();
  const ft = encodeFiletime(time);
  const oldSize = d.dataSize;
  const size = data.length;

  // --- the $DATA attribute, in the record that holds it --------------------------------------------------------
  const dataRec = await w.mftRecord(d.record, true);
  const local = recordAttributes(dataRec, d.record).find(
    (a) => a.type === ATTR.DATA && a.name === '' && a.id === d.id,
  );
  if (!local)
    throw refuse(where, `${dataRec.what} no longer holds its $DATA`, 'the volume changed; try again');
  const oldAttr = dataRec.plain.slice(local.offset, local.offset + u32(dataRec.plain, local.offset + 4));
  const used = u32(dataRec.plain, 0x18);
  const limit = Math.min(u32(dataRec.plain, 0x1c), dataRec.plain.length);
  let attr: Uint8Array;
  let indexAllocated: number;
  if (!local.nonResident && used - oldAttr.length + align8(u16(oldAttr, 0x14) + size) <= limit) {
    // §9 step 2, resident: the value stays in the record.
    attr = residentAttribute(oldAttr, data);
    indexAllocated = align8(size); // the allocated size Windows records for a resident value (§9 step 5)
    w.changes.push(`${where}: ${oldSize} → ${size} bytes, resident in ${dataRec.what}`);
  } else {
    const old = local.nonResident
      ? decodeRunlist(local.runlist!, 0, fs.clusterCount, local.offset, local.highestVcn)
      : [];
    if (old.some((r) => r.lcn === null))
      throw refuse(where, 'has sparse runs', 'bootprobe writes only plain files');
    const have = old.reduce((s, r) => s + r.length, 0);
    if (local.nonResident && local.allocatedSize !== have * cs)
      throw new BootprobeError(
        'NTFS_ATTRIBUTE',
        `${where}: allocated size ${local.allocatedSize} disagrees with its ${have} clusters`,
        { structure: 'ntfs.attribute', hint: RECORD_DAMAGED },
      );
    const need = Math.ceil(size / cs);
    const bitmapStream = await fs.stream(BITMAP_RECORD, ATTR.DATA, '');
    if (!bitmapStream || bitmapStream.resident)
      throw new BootprobeError('NTFS_RECORD', '$Bitmap (record 6) has no non-resident $DATA', {
        structure: 'ntfs.bitmap',
        hint: 'the volume is damaged; run chkdsk',
      });
    const bitmap = new ClusterBitmap(dev, bitmapStream.runs, bitmapStream.dataSize, cs, fs.clusterCount);
    let runs: Run[];
    if (need <= have) {
      const { keep, free } = splitRuns(old, need);
      runs = keep;
      for (const e of free) w.freePatches.push(...(await bitmap.mark(e, false, 'freed')));
      const freed = free.reduce((s, e) => s + e.length, 0);
      w.changes.push(
        `${where}: ${oldSize} → ${size} bytes in ${need} of its ${have} clusters${freed ? `; ${freed} clusters freed in $Bitmap` : ''}`,
      );
    } else {
      const last = old[old.length - 1];
      const goal = last ? last.lcn! + last.length : 0;
      const got = await bitmap.findFree(need - have, goal);
      runs = [...old];
      let vcn = have;
      for (const e of got) {
        w.allocPatches.push(...(await bitmap.mark(e, true, 'allocated')));
        const prev = runs[runs.length - 1];
        if (prev && prev.lcn! + prev.length === e.lcn)
          runs[runs.length - 1] = { vcn: prev.vcn, lcn: prev.lcn, length: prev.length + e.length };
        else runs.push({ vcn, lcn: e.lcn, length: e.length });
        vcn += e.length;
      }
      w.changes.push(
        `${where}: ${oldSize} → ${size} bytes; ${need - have} clusters allocated in $Bitmap (${got.map((e) => `${e.lcn}..${e.lcn + e.length - 1}`).join(', ')})${local.nonResident ? '' : ', moved out of the MFT record (non-resident now)'}`,
      );
    }
    attr = nonResidentAttribute(oldAttr, !local.nonResident, runs, size, cs);
    indexAllocated = need * cs;
    // §9 procedure step 1: the content, cluster-sized, the tail of the last cluster zeroed.
    for (const r of runs) {
      const chunk = new Uint8Array(r.length * cs);
      chunk.set(data.subarray(r.vcn * cs, Math.min(size, (r.vcn + r.length) * cs)));
      w.dataPatches.push({
        offset: r.lcn! * cs,
        data: chunk,
        kind: 'data',
        what: `${where} clusters ${r.lcn}..${r.lcn! + r.length - 1}`,
      });
    }
  }
  replaceAttribute(dataRec, local.offset, oldAttr.length, attr, where);

  // --- §9 step 3: $STANDARD_INFORMATION times, in the base record -------------------------------------------------
  const baseRec = await w.mftRecord(n, true);
  const baseHeader = decodeMftRecordHeader(new ByteView(baseRec.plain, 0, baseRec.what));
  if ((baseHeader.flags & RECORD_FLAG.IN_USE) === 0 || baseHeader.sequence !== entry.sequence)
    throw refuse(where, `${baseRec.what} changed since it was looked up`, 'try again');
  const si = recordAttributes(baseRec, n).find((a) => a.type === ATTR.STANDARD_INFORMATION && !a.nonResident);
  if (!si || (si.value?.length ?? 0) < 0x18)
    throw new BootprobeError('NTFS_ATTRIBUTE', `${where}: no $STANDARD_INFORMATION in ${baseRec.what}`, {
      structure: 'ntfs.standard_information',
      hint: RECORD_DAMAGED,
    });
  w64(baseRec.plain, si.valueOffset + SI_MODIFIED, ft);
  w64(baseRec.plain, si.valueOffset + SI_CHANGED, ft);
  w.changes.push(`${where}: modified and MFT-changed times of ${baseRec.what} set to ${time.toISOString()}`);

  // --- §9 step 5: the $I30 entry of every name (hard links, DOS alias) ---------------------------------------------
  const names = attrs
    .filter((a) => a.type === ATTR.FILE_NAME && a.value)
    .map((a) => decodeFileName(new ByteView(a.value!, a.valueOffset, '$FILE_NAME')));
  for (const fn of names) {
    const loc = await findIndexEntry(w, fs, fn, n, entry.sequence, where);
    const key = loc.offset + 0x10; // the $FILE_NAME key follows the 16-byte entry header (§4)
    w64(loc.rec.plain, key + FILE_NAME_FIELD.MODIFIED, ft);
    w64(loc.rec.plain, key + FILE_NAME_FIELD.CHANGED, ft);
    w64(loc.rec.plain, key + FILE_NAME_FIELD.ALLOCATED_SIZE, indexAllocated);
    w64(loc.rec.plain, key + FILE_NAME_FIELD.REAL_SIZE, size);
    w.changes.push(
      `$I30 entry "${fn.name}" (${NAMESPACE_NAMES[fn.namespace] ?? fn.namespace}) in ${loc.rec.what}: sizes ${indexAllocated}/${size}, times updated`,
    );
  }
  const { file, index } = w.recordPatches();
  if (file.some((p) => p.what.startsWith('$MFTMirr')) || index.some((p) => p.what.startsWith('$MFTMirr')))
    w.changes.push('$MFTMirr updated with the mirrored records');
  w.changes.push('$LogFile and $UsnJrnl are not written: the change is invisible to USN journal readers');

  const patches = [...w.dataPatches, ...w.allocPatches, ...file, ...index, ...w.freePatches];
  return PatchPlan.create(
    dev,
    { path: where, oldSize, newSize: size, changes: w.changes },
    patches,
    async () => {
      fs.dropCaches();
      const fresh = await ctx.reopen();
      await assertNtfsWritable(fresh);
      await verifyFileContent(fresh, where, data);
    },
  );
}

/**
 * The $I30 entry naming file `n` as `fn` in its parent directory (§4 "Lookup", with the full COLLATION_FILENAME
 * since the exact name is known), inside the record or INDX record being edited.
 */
async function findIndexEntry(
  w: NtfsWrite,
  fs: NtfsFileSystem,
  fn: FileNameAttr,
  n: number,
  sequence: number,
  path: string,
): Promise<{ rec: EditRecord; offset: number }> {
  const dir = fn.parentRecord;
  const fail = (msg: string) =>
    new BootprobeError('NTFS_INDEX', `${path}: ${msg}`, {
      structure: 'ntfs.index',
      hint: 'the directory index is damaged; run chkdsk /f before writing',
    });
  const dirAttrs = await fs.allAttributes(dir);
  const dirBase = await w.mftRecord(dir, false);
  const dh = decodeMftRecordHeader(new ByteView(dirBase.plain, 0, dirBase.what));
  if (dh.sequence !== fn.parentSequence || (dh.flags & RECORD_FLAG.DIRECTORY) === 0)
    throw fail(
      `its name "${fn.name}" points to directory record ${dir} sequence ${fn.parentSequence}, which is not that directory`,
    );
  const root = dirAttrs.find((a) => a.type === ATTR.INDEX_ROOT && a.name === '$I30' && !a.nonResident);
  if (!root) throw fail(`directory record ${dir} has no $I30 index root`);
  const rootRec = root.record === dir ? dirBase : await w.mftRecord(root.record, false);
  const local = recordAttributes(rootRec, root.record).find(
    (a) => a.type === ATTR.INDEX_ROOT && a.name === '$I30' && a.id === root.id,
  );
  if (!local?.value) throw fail(`${rootRec.what} no longer holds the $I30 index root`);
  const v = new ByteView(rootRec.plain, 0, rootRec.what);
  const ir = decodeIndexRoot(v.sub(local.valueOffset, local.value.length));
  if (ir.indexedType !== ATTR.FILE_NAME || ir.collation !== COLLATION_FILE_NAME)
    throw fail(`directory record ${dir} has an $I30 index that is not a file-name index`);
  const alloc = await fs.stream(dir, ATTR.INDEX_ALLOCATION, '$I30', dirAttrs);
  const up = await fs.collationTable(fn.name);
  let rec = rootRec;
  let entries: IndexEntry[] = decodeIndexNode(v, local.valueOffset + INDEX_ROOT_NODE_OFFSET);
  const visited = new Set<number>();
  for (let depth = 0; depth <= MAX_INDEX_DEPTH; depth++) {
    let child: number | null = null;
    for (const e of entries) {
      if (e.key) {
        const c = collateFileNames(up, fn.name, e.key.name);
        if (c > 0) continue;
        if (c === 0) {
          if (e.record === n && e.sequence === sequence && e.key.namespace === fn.namespace)
            return { rec, offset: e.offset };
          throw fail(
            `the $I30 entry "${e.key.name}" of directory record ${dir} names record ${e.record}, not ${n}`,
          );
        }
      }
      child = e.child;
      break;
    }
    if (child === null) break;
    if (visited.has(child) || !alloc || alloc.resident)
      throw fail(`the $I30 index of directory record ${dir} is damaged at VCN ${child}`);
    visited.add(child);
    ({ rec, entries } = await w.indexRecord(dir, alloc, ir.recordSize, child));
  }
  throw fail(`the $I30 index of directory record ${dir} has no entry for "${fn.name}"`);
}
