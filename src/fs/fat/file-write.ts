// FAT12/16/32, write: replace the whole content of an existing file (\EFI\Microsoft\Boot\BCD on the EFI system
// partition). Sources: fatgen103 ("FAT Data Structure", "FAT Directory Structure", "FAT32 FSInfo Sector Structure").
// The chain keeps the clusters it has and grows from free clusters (searched from FSInfo's next-free hint, wrapping
// to cluster 2) or shrinks with the tail freed; every FAT copy gets the same bytes; end of chain is all ones with
// FAT32's reserved high nibble kept; FSInfo's free count and next-free hint follow; the directory entry gets the
// size, first cluster and write time. Mistakes of npm `fatfs` this avoids, one by one: it wrote only the first FAT,
// dropped FAT32's high bits, left a truncated chain's new last cluster pointing at freed clusters (no end marker),
// kept the first cluster of a file truncated to 0 bytes, never updated FSInfo, searched for free clusters only
// below the cluster count (missing the last two) without wrapping, and linked clusters before writing their data.
import { BootprobeError, hex } from '../../errors.js';
import { type BlockDevice, ByteView, bytesEqual } from '../../io/index.js';
import {
  type FsPatch,
  type FsWriteOptions,
  type FsWritePlan,
  PatchPlan,
  verifyFileContent,
} from '../file-system.js';
import { bootSectorDirty, type FatBpb } from './bpb.js';
import { DIR_ENTRY_SIZE, DIR_FIELD, encodeDosDateTime } from './dir-entry.js';
import type { FatEntry, FatFileSystem } from './fat.js';
import {
  classifyFatEntry,
  decodeFatEntry,
  END_OF_CHAIN,
  encodeFatEntry,
  fatEntryLength,
  fatEntryOffset,
} from './fat-table.js';
import { decodeFsInfo } from './fsinfo.js';

/** FAT bytes read per request. */
const PAGE = 4096;
/** Dirty bytes closer than this are written as one patch. */
const MERGE_GAP = 16;
/** 0x1E8: FSInfo free count and next-free hint (fatgen103). */
const FSINFO_FREE = 0x1e8;
const FSINFO_UNKNOWN = 0xffffffff;

export interface FatWriteContext {
  fs: FatFileSystem;
  dev: BlockDevice;
  reopen(): Promise<FatFileSystem>;
}

/**
 * The active FAT with pending changes laid over it. Changes are collected in phases; each phase becomes patches of
 * the changed bytes in every copy the volume keeps in step (all of them unless FAT32 mirroring is disabled).
 */
class FatEdit {
  private readonly orig = new Map<number, Uint8Array>();
  private readonly cur = new Map<number, Uint8Array>();
  private dirty = new Set<number>();
  private readonly activeBase: number;

  constructor(
    private readonly dev: BlockDevice,
    private readonly bpb: FatBpb,
  ) {
    this.activeBase = bpb.fatOffset + bpb.activeFat * bpb.fatBytes;
  }

  private async page(n: number): Promise<Uint8Array> {
    let p = this.cur.get(n);
    if (p) return p;
    const start = n * PAGE;
    const len = Math.min(PAGE, this.bpb.fatBytes - start);
    // Copies (new Uint8Array), never views: a device may return a view of its memory (a Node Buffer's slice() is one).
    const o = new Uint8Array(await this.dev.read(this.activeBase + start, len));
    this.orig.set(n, o);
    p = new Uint8Array(o);
    this.cur.set(n, p);
    return p;
  }

  private async bytes(off: number, len: number): Promise<Uint8Array> {
    const b = new Uint8Array(len);
    for (let i = 0; i < len; i++) b[i] = (await this.page(Math.floor((off + i) / PAGE)))[(off + i) % PAGE]!;
    return b;
  }

  async get(c: number): Promise<number> {
    const t = this.bpb.type;
    return decodeFatEntry(t, c, await this.bytes(fatEntryOffset(t, c), fatEntryLength(t)));
  }

  async set(c: number, value: number): Promise<void> {
    const t = this.bpb.type;
    const off = fatEntryOffset(t, c);
    const len = fatEntryLength(t);
    const b = await this.bytes(off, len);
    encodeFatEntry(t, c, b, value);
    for (let i = 0; i < len; i++) {
      // A FAT12 entry of the last cluster may end at the FAT's last byte: never write past it.
      if (off + i >= this.bpb.fatBytes) continue;
      (await this.page(Math.floor((off + i) / PAGE)))[(off + i) % PAGE] = b[i]!;
      this.dirty.add(off + i);
    }
  }

  /**
   * The bytes changed since the last call, as patches of every kept copy. Each other copy must hold the same bytes
   * as the active one there before the write (they are meant to be identical: else refuse, nothing is written).
   */
  async patches(phase: string): Promise<FsPatch[]> {
    const offs = [...this.dirty].sort((a, b) => a - b);
    this.dirty = new Set();
    const spans: [number, number][] = [];
    for (const o of offs) {
      const last = spans[spans.length - 1];
      if (last && o - last[1] <= MERGE_GAP) last[1] = o + 1;
      else spans.push([o, o + 1]);
    }
    const b = this.bpb;
    const copies = b.mirroringDisabled ? [b.activeFat] : Array.from({ length: b.fatCount }, (_, k) => k);
    const out: FsPatch[] = [];
    for (const [lo, hi] of spans) {
      const cur = new Uint8Array(hi - lo);
      const orig = new Uint8Array(hi - lo);
      for (let i = lo; i < hi; i++) {
        const n = Math.floor(i / PAGE);
        await this.page(n);
        cur[i - lo] = this.cur.get(n)![i % PAGE]!;
        orig[i - lo] = this.orig.get(n)![i % PAGE]!;
      }
      for (const k of copies) {
        const base = b.fatOffset + k * b.fatBytes;
        if (k !== b.activeFat && !bytesEqual(await this.dev.read(base + lo, hi - lo), orig))
          throw new BootprobeError(
            'FAT_COPIES_DIFFER',
            `FAT copy ${k + 1} differs from copy ${b.activeFat + 1} at FAT byte ${hex(lo)}, where the write would change it`,
            {
              kind: 'unsafe',
              offset: base + lo,
              structure: 'fat.table',
              hint: 'run chkdsk /f (or fsck.fat -a) on the volume first',
            },
          );
        out.push({
          offset: base + lo,
          data: cur.slice(),
          kind: 'metadata',
          what: `FAT copy ${k + 1} bytes ${hex(lo)}.. (${phase})`,
        });
      }
    }
    return out;
  }
}

/** Checks (FAT_DIRTY, FAT_COPIES_DIFFER; kind 'unsafe') that the volume may be written. */
async function assertFatWritable(fs: FatFileSystem, dev: BlockDevice): Promise<void> {
  const vi = fs.volumeInfo;
  const hint = 'let Windows check it (chkdsk /f) or run fsck.fat -a, then repair again';
  if (vi.fatCopiesDiffer)
    throw new BootprobeError(
      'FAT_COPIES_DIFFER',
      'the FAT copies of this volume differ: a write would keep one wrong',
      {
        kind: 'unsafe',
        structure: 'fat.table',
        hint,
      },
    );
  if (vi.cleanShutdown === false || vi.hardErrors === true)
    throw new BootprobeError(
      'FAT_DIRTY',
      vi.hardErrors
        ? 'FAT[1] records disk I/O errors on this volume (HrdErrBit clear)'
        : 'FAT[1] says this volume was not unmounted cleanly (ClnShutBit clear)',
      { kind: 'unsafe', offset: fs.bpb.fatOffset, structure: 'fat.table', hint },
    );
  if (bootSectorDirty(new ByteView(await dev.read(0, 512), 0, 'fat.bpb'), fs.bpb.type))
    throw new BootprobeError('FAT_DIRTY', 'the boot sector marks this volume dirty (not unmounted cleanly)', {
      kind: 'unsafe',
      offset: fs.bpb.type === 'fat32' ? 0x41 : 0x25,
      structure: 'fat.bpb',
      hint,
    });
}

/** Plans the write; nothing touches the device before the plan's commit(). */
export async function planFatReplace(
  ctx: FatWriteContext,
  path: string,
  data: Uint8Array,
  options: FsWriteOptions,
): Promise<FsWritePlan> {
  const { fs, dev } = ctx;
  if (!dev.write)
    throw new BootprobeError('READ_ONLY', `${path}: the FAT volume was opened read-only`, {
      hint: 'open the image for writing',
    });
  await assertFatWritable(fs, dev);
  const entry = (await fs.lookup(path)) as FatEntry;
  const where = entry.path;
  const e = entry.dirent;
  if (entry.isDirectory || e === null)
    throw new BootprobeError('NOT_A_FILE', `${where} is a directory`, { hint: 'name a file to replace' });
  const b = fs.bpb;
  const cs = b.clusterSize;
  const size = data.length;
  if (size > 0xffffffff)
    throw new BootprobeError(
      'FS_NO_SPACE',
      `${where}: ${size} bytes exceed FAT's 4 GiB - 1 file size limit`,
      {
        kind: 'unsafe',
      },
    );
  const fat = new FatEdit(dev, b);
  const changes: string[] = [];

  // The current chain, whole (not only what the size needs): a longer chain is an inconsistency fsck would cut.
  const old: number[] = [];
  if (e.firstCluster !== 0) {
    const seen = new Set<number>();
    // At most clusterCount steps: a longer walk revisits a cluster, which `seen` catches first.
    for (let c = e.firstCluster; ; ) {
      if (c < 2 || c > b.clusterCount + 1 || seen.has(c))
        throw new BootprobeError(
          'FAT_CHAIN',
          `${where}: its cluster chain ${seen.has(c) ? 'loops back to' : 'reaches'} cluster ${c}`,
          {
            offset: e.offset,
            structure: 'fat.chain',
            hint: 'the FAT is damaged; run chkdsk',
          },
        );
      seen.add(c);
      old.push(c);
      const v = await fat.get(c);
      const kind = classifyFatEntry(b.type, v, b.clusterCount);
      if (kind === 'end') break;
      if (kind !== 'next')
        throw new BootprobeError(
          'FAT_CHAIN',
          `${where}: the FAT entry of cluster ${c} is ${hex(v)} (${kind}) inside its chain`,
          {
            offset: e.offset,
            structure: 'fat.chain',
            hint: 'the FAT is damaged; run chkdsk',
          },
        );
      c = v;
    }
  }
  const oldNeed = Math.ceil(e.size / cs);
  if (old.length !== oldNeed)
    throw new BootprobeError(
      'FAT_CHAIN',
      `${where}: ${e.size} bytes need ${oldNeed} clusters but its chain has ${old.length}`,
      {
        kind: 'unsafe',
        offset: e.offset,
        structure: 'fat.chain',
        hint: 'the volume is inconsistent; run chkdsk /f (or fsck.fat -a) before writing to it',
        data: { expected: oldNeed, actual: old.length },
      },
    );

  const need = Math.ceil(size / cs);
  const keep = old.slice(0, Math.min(need, old.length));
  const freed = old.slice(keep.length);
  const added: number[] = [];
  if (need > keep.length) {
    // Free clusters from FSInfo's next-free hint (FAT32) or after the file's last cluster, wrapping to 2; a cluster
    // past the end of a truncated volume is never taken.
    let hint = keep.length ? keep[keep.length - 1]! + 1 : 2;
    const fsNext = fs.volumeInfo.fsInfoNextFree;
    if (fsNext !== null && fsNext >= 2 && fsNext <= b.clusterCount + 1) hint = fsNext;
    if (hint > b.clusterCount + 1) hint = 2;
    let free = 0;
    for (let i = 0, c = hint; i < b.clusterCount && added.length < need - keep.length; i++) {
      if ((await fat.get(c)) === 0 && b.dataOffset + (c - 1) * cs <= dev.size) {
        added.push(c);
        free++;
      }
      c = c === b.clusterCount + 1 ? 2 : c + 1;
    }
    if (added.length < need - keep.length)
      throw new BootprobeError(
        'FS_NO_SPACE',
        `${where}: ${need - keep.length} more clusters are needed, the volume has ${free} free`,
        { kind: 'unsafe', structure: 'fat.table', hint: 'free space on the volume and try again' },
      );
  }
  const chain = [...keep, ...added];

  // Data first: every cluster of the new chain, the tail of the last one zeroed.
  const patches: FsPatch[] = [];
  for (let i = 0; i < chain.length; ) {
    let j = i + 1;
    while (j < chain.length && chain[j] === chain[j - 1]! + 1) j++;
    const chunk = new Uint8Array((j - i) * cs);
    chunk.set(data.subarray(i * cs, Math.min(size, j * cs)));
    patches.push({
      offset: b.dataOffset + (chain[i]! - 2) * cs,
      data: chunk,
      kind: 'data',
      what: `${where} clusters ${chain[i]}..${chain[j - 1]}`,
    });
    i = j;
  }

  // Phase A: the new clusters linked and ended, then joined to the kept chain.
  const eoc = END_OF_CHAIN[b.type];
  for (let i = 0; i < added.length; i++) await fat.set(added[i]!, i + 1 < added.length ? added[i + 1]! : eoc);
  if (keep.length && added.length) await fat.set(keep[keep.length - 1]!, added[0]!);
  patches.push(...(await fat.patches('clusters allocated')));
  if (added.length)
    changes.push(
      `${where}: ${added.length} clusters allocated (${added[0]}..${added[added.length - 1]}), in every FAT copy`,
    );

  // The directory entry: size, first cluster, write time (and access date).
  const raw = new Uint8Array(await dev.read(e.offset, DIR_ENTRY_SIZE)); // a copy, edited below
  if (!bytesEqual(raw.subarray(0, 11), e.name11))
    throw new BootprobeError('FS_WRITE_STALE', `${where}: its directory entry at ${hex(e.offset)} changed`, {
      offset: e.offset,
      hint: 'try again',
    });
  const v = new DataView(raw.buffer);
  const first = chain[0] ?? 0;
  const { date, time } = encodeDosDateTime(options.time ?? new Date());
  v.setUint32(DIR_FIELD.SIZE, size, true);
  v.setUint16(DIR_FIELD.CLUSTER_LOW, first & 0xffff, true);
  // FAT12/16 keep their own use of the high word (OS/2 EA handle): only FAT32 numbers clusters with it.
  if (b.type === 'fat32') v.setUint16(DIR_FIELD.CLUSTER_HIGH, first >>> 16, true);
  v.setUint16(DIR_FIELD.WRITE_TIME, time, true);
  v.setUint16(DIR_FIELD.WRITE_DATE, date, true);
  v.setUint16(DIR_FIELD.ACCESS_DATE, date, true);
  patches.push({ offset: e.offset, data: raw, kind: 'metadata', what: `directory entry of ${where}` });
  changes.push(
    `${where}: ${e.size} → ${size} bytes, first cluster ${first}, written ${(options.time ?? new Date()).toISOString()} (directory entry at ${hex(e.offset)})`,
  );

  // Phase B: the chain cut after its new last cluster, the rest freed.
  if (freed.length) {
    if (keep.length) await fat.set(keep[keep.length - 1]!, eoc);
    for (const c of freed) await fat.set(c, 0);
    patches.push(...(await fat.patches('clusters freed')));
    changes.push(`${where}: ${freed.length} clusters freed, in every FAT copy`);
  }

  // FSInfo (FAT32): free count by the difference, next-free hint after what was taken.
  if (b.type === 'fat32' && b.fsInfoSector !== 0) {
    const at = b.fsInfoSector * b.bytesPerSector;
    try {
      const info = decodeFsInfo(new ByteView(await dev.read(at, 512), at, 'fat.fsinfo'));
      const delta = freed.length - added.length;
      const buf = new Uint8Array(8);
      const dv = new DataView(buf.buffer);
      let free = info.freeClusters;
      if (free !== null) free = free + delta >= 0 && free + delta <= b.clusterCount ? free + delta : null;
      dv.setUint32(0, free ?? FSINFO_UNKNOWN, true);
      dv.setUint32(4, added.length ? added[added.length - 1]! : (info.nextFree ?? FSINFO_UNKNOWN), true);
      if (delta !== 0 || added.length) {
        patches.push({
          offset: at + FSINFO_FREE,
          data: buf,
          kind: 'metadata',
          what: 'FSInfo free count and next free',
        });
        changes.push(
          `FSInfo: free clusters ${info.freeClusters ?? 'unknown'} → ${free ?? 'unknown'}${added.length ? `, next free ${added[added.length - 1]}` : ''}`,
        );
      }
    } catch (err) {
      // No valid FSInfo: nothing to keep in step (the reader warned about it).
      if (!(err instanceof BootprobeError)) throw err;
    }
  }

  return PatchPlan.create(
    dev,
    { path: where, oldSize: e.size, newSize: size, changes },
    patches,
    async () => {
      await fs.refresh();
      const fresh = await ctx.reopen();
      const differ = fresh.warnings.find((w) => w.code === 'FAT_COPIES_DIFFER');
      if (differ)
        throw new BootprobeError('FS_WRITE_VERIFY', `${where}: after the write ${differ.message}`, {
          offset: differ.offset,
          hint: 'restore the undo record and run chkdsk',
        });
      await verifyFileContent(fresh, where, data);
    },
  );
}
