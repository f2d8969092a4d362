// FAT12/16/32 volumes, read: the FileSystem of src/fs/file-system.ts over the BPB, the FAT, directories with long
// names and file data. Sources: fatgen103 (Microsoft FAT specification); docs/boot-sectors.md §4.2.
// Reads are lazy: the FAT in cached pages, a directory up to its end marker, a file's clusters as asked, each
// run of contiguous clusters in one device read.
import { BootprobeError, type Finding, hex } from '../../errors.js';
import { type BlockDevice, ByteView } from '../../io/index.js';
import {
  FILE_ATTRIBUTE,
  type FileReader,
  type FileSystem,
  type FsEntry,
  type FsWriteOptions,
  type FsWritePlan,
  type FsWriteResult,
  joinPath,
  splitPath,
} from '../file-system.js';
import { decodeFatBpb, type FatBpb, type FatType } from './bpb.js';
import type { OemCodePage } from './code-page.js';
import { attributeNames, FAT_ATTR, NT_LOWER_BASE, NT_LOWER_EXT } from './dir-entry.js';
import { DirectoryDecoder, type FatDirEntry, MAX_DIR_BYTES, type VolumeLabelEntry } from './directory.js';
import { type ClusterRun, compareFatCopies, FatTable, MAX_FAT_COMPARE } from './fat-table.js';
import { planFatReplace } from './file-write.js';
import { decodeFsInfo, type FatFsInfo } from './fsinfo.js';

/** Directory bytes are read in chunks of at most this size, so a directory is read only up to its end marker. */
const DIR_CHUNK = 64 * 1024;

export interface FatOpenOptions {
  /** OEM code page of 8.3 names (default 437; mtools writes 850). */
  codePage?: OemCodePage;
}

export interface FatEntry extends FsEntry {
  /** The directory entry; null for the root. */
  dirent: FatDirEntry | null;
}

export interface FatVolumeInfo {
  type: FatType;
  oemName: string;
  /** The extended BPB's type string ("FAT32"), which does not decide the type. */
  typeString: string | null;
  bytesPerSector: number;
  sectorsPerCluster: number;
  clusterSize: number;
  clusterCount: number;
  totalSectors: number;
  fatCount: number;
  fatSectors: number;
  activeFat: number;
  mirroringDisabled: boolean;
  serial: string | null;
  /** The label shown: the root label entry, else the BPB's. */
  label: string | null;
  bpbLabel: string | null;
  rootLabel: string | null;
  /** FAT32 FSInfo; null on FAT12/16 or when it is missing or invalid (a warning says which). */
  fsInfo: FatFsInfo | null;
  fsInfoFreeClusters: number | null;
  fsInfoNextFree: number | null;
  /** FAT[1] ClnShutBit (FAT16/32): false when the volume was not unmounted cleanly; null on FAT12. */
  cleanShutdown: boolean | null;
  /** FAT[1] HrdErrBit (FAT16/32): true when a disk I/O error was recorded; null on FAT12. */
  hardErrors: boolean | null;
  /** Bytes of each FAT copy compared with the active one. */
  fatBytesCompared: number;
  fatCopiesDiffer: boolean;
}

/** Windows compares names upper-cased character by character (no 'ß' → 'SS' expansions). */
export function fatUpper(s: string): string {
  let out = '';
  for (const ch of s) {
    const u = ch.toUpperCase();
    out += u.length === ch.length ? u : ch;
  }
  return out;
}

export class FatFileSystem implements FileSystem {
  readonly type: FatType;
  readonly warnings: Finding[] = [];
  private readonly fat: FatTable;
  private rootLabel: VolumeLabelEntry | null = null;
  private fsInfo: FatFsInfo | null = null;
  private fat1: number | null = null;
  private copiesDiffer = false;

  private constructor(
    private readonly dev: BlockDevice,
    readonly bpb: FatBpb,
    private readonly codePage: OemCodePage,
  ) {
    this.type = bpb.type;
    this.fat = new FatTable(dev, bpb);
  }

  static async open(dev: BlockDevice, options: FatOpenOptions = {}): Promise<FatFileSystem> {
    if (dev.size < 512)
      throw new BootprobeError('FAT_BPB', `a volume of ${dev.size} bytes is too small for FAT`, {
        offset: 0,
        structure: 'fat.bpb',
        hint: 'the volume is truncated',
      });
    const bpb = decodeFatBpb(new ByteView(await dev.read(0, 512), 0, 'fat.bpb'), dev.size);
    const fs = new FatFileSystem(dev, bpb, options.codePage ?? 437);
    if (bpb.totalSectors * bpb.bytesPerSector > dev.size)
      fs.warnings.push({
        code: 'FAT_BPB',
        message: `the BPB gives ${bpb.totalSectors * bpb.bytesPerSector} bytes but the volume has ${dev.size}: clusters past its end cannot be read`,
        offset: 0x13,
      });
    await fs.readFsInfo();
    const diff = await compareFatCopies(dev, bpb);
    fs.copiesDiffer = diff.length > 0;
    fs.warnings.push(...diff);
    if (bpb.type !== 'fat12') fs.fat1 = await fs.fat.entry(1);
    fs.rootLabel = (await fs.readDirectory(null, '/')).label;
    return fs;
  }

  private async readFsInfo(): Promise<void> {
    const b = this.bpb;
    if (b.type !== 'fat32' || b.fsInfoSector === 0) return;
    const at = b.fsInfoSector * b.bytesPerSector;
    try {
      this.fsInfo = decodeFsInfo(new ByteView(await this.dev.read(at, 512), at, 'fat.fsinfo'));
    } catch (e) {
      if (!(e instanceof BootprobeError)) throw e;
      this.warnings.push({ code: e.code, message: e.message, offset: e.offset });
      return;
    }
    const free = this.fsInfo.freeClusters;
    if (free !== null && free > b.clusterCount)
      this.warnings.push({
        code: 'FAT_BPB',
        message: `FSInfo free count ${free} exceeds the ${b.clusterCount} clusters of the volume (a stale hint)`,
        offset: at + 0x1e8,
      });
  }

  get label(): string | null {
    return this.rootLabel?.label ?? this.bpb.bpbLabel;
  }

  /** Forgets cached FAT pages and re-reads FSInfo and FAT[1]: after the volume was written. */
  async refresh(): Promise<void> {
    this.fat.clear();
    this.fsInfo = null;
    // The findings of the first read stay; a re-read would only repeat them.
    const known = this.warnings.length;
    await this.readFsInfo();
    this.warnings.splice(known);
    if (this.bpb.type !== 'fat12') this.fat1 = await this.fat.entry(1);
  }

  /** Plans replacing the content of the file at `path` (fs/fat/file-write.ts). */
  planReplaceFile(path: string, data: Uint8Array, options: FsWriteOptions = {}): Promise<FsWritePlan> {
    return planFatReplace(
      { fs: this, dev: this.dev, reopen: () => FatFileSystem.open(this.dev, { codePage: this.codePage }) },
      path,
      data,
      options,
    );
  }

  async replaceFile(path: string, data: Uint8Array, options: FsWriteOptions = {}): Promise<FsWriteResult> {
    return (await this.planReplaceFile(path, data, options)).commit();
  }

  get volumeInfo(): FatVolumeInfo {
    const b = this.bpb;
    const f1 = this.fat1;
    const clean = b.type === 'fat32' ? 0x08000000 : 0x8000;
    const noErr = b.type === 'fat32' ? 0x04000000 : 0x4000;
    return {
      type: b.type,
      oemName: b.oemName,
      typeString: b.typeString,
      bytesPerSector: b.bytesPerSector,
      sectorsPerCluster: b.sectorsPerCluster,
      clusterSize: b.clusterSize,
      clusterCount: b.clusterCount,
      totalSectors: b.totalSectors,
      fatCount: b.fatCount,
      fatSectors: b.fatSectors,
      activeFat: b.activeFat,
      mirroringDisabled: b.mirroringDisabled,
      serial: b.serial,
      label: this.label,
      bpbLabel: b.bpbLabel,
      rootLabel: this.rootLabel?.label ?? null,
      fsInfo: this.fsInfo,
      fsInfoFreeClusters: this.fsInfo?.freeClusters ?? null,
      fsInfoNextFree: this.fsInfo?.nextFree ?? null,
      cleanShutdown: f1 === null ? null : (f1 & clean) !== 0,
      hardErrors: f1 === null ? null : (f1 & noErr) === 0,
      fatBytesCompared: b.fatCount < 2 || b.mirroringDisabled ? 0 : Math.min(b.fatBytes, MAX_FAT_COMPARE),
      fatCopiesDiffer: this.copiesDiffer,
    };
  }

  private clusterOffset(c: number): number {
    return this.bpb.dataOffset + (c - 2) * this.bpb.clusterSize;
  }

  /** Throws unless every cluster of `runs` lies inside the volume (a truncated image). */
  private checkRuns(runs: readonly ClusterRun[], where: string): void {
    for (const r of runs) {
      const end = this.clusterOffset(r.cluster) + r.count * this.bpb.clusterSize;
      if (end > this.dev.size)
        throw new BootprobeError(
          'FAT_CHAIN',
          `${where}: clusters ${r.cluster}..${r.cluster + r.count - 1} end at byte ${hex(end)}, past the ${this.dev.size}-byte volume`,
          { offset: this.clusterOffset(r.cluster), structure: 'fat.chain', hint: 'the volume is truncated' },
        );
    }
  }

  /** Bytes [offset, offset+length) of the data held by `runs`, one device read per run touched. */
  private async readRuns(runs: readonly ClusterRun[], offset: number, length: number): Promise<Uint8Array> {
    const cs = this.bpb.clusterSize;
    const out = new Uint8Array(length);
    let pos = 0;
    for (const r of runs) {
      if (pos >= offset + length) break;
      const len = r.count * cs;
      const from = Math.max(offset, pos);
      const to = Math.min(offset + length, pos + len);
      if (from < to)
        out.set(await this.dev.read(this.clusterOffset(r.cluster) + (from - pos), to - from), from - offset);
      pos += len;
    }
    return out;
  }

  private maxDirClusters(): number {
    return Math.ceil(MAX_DIR_BYTES / this.bpb.clusterSize);
  }

  /** The chain of directory `first`, bounded by fatgen103's 65536 entries. */
  private async dirChain(first: number, path: string, origin?: number): Promise<ClusterRun[]> {
    const { runs, more } = await this.fat.chain(first, this.maxDirClusters(), `directory ${path}`, origin);
    if (more)
      throw new BootprobeError(
        'FAT_CHAIN',
        `directory ${path}: cluster chain longer than ${this.maxDirClusters()} clusters, past the 65536 entries a FAT directory can hold`,
        {
          offset: origin ?? this.clusterOffset(first),
          structure: 'fat.chain',
          hint: 'the FAT is damaged; run chkdsk',
        },
      );
    this.checkRuns(runs, `directory ${path}`);
    return runs;
  }

  /**
   * Decodes a directory up to its end marker: the root when `dir` is null, else the directory whose entry it is.
   */
  private async readDirectory(dir: FatDirEntry | null, path: string): Promise<DirectoryDecoder> {
    const b = this.bpb;
    const d = new DirectoryDecoder(b.type === 'fat32', this.codePage, dir === null);
    const feed = async (at: number, len: number) => {
      for (let o = 0; o < len && !d.ended; o += DIR_CHUNK) {
        const n = Math.min(DIR_CHUNK, len - o);
        d.feed(new ByteView(await this.dev.read(at + o, n), at + o, 'fat.dirent'));
      }
    };
    if (dir === null && b.type !== 'fat32') {
      await feed(b.rootDirOffset, b.rootDirSize); // fixed region, inside the volume (BPB check)
      return d;
    }
    const first = dir === null ? b.rootCluster : dir.firstCluster;
    if (first === 0)
      throw new BootprobeError('FAT_DIRENT', `directory ${path}: its entry gives no first cluster`, {
        offset: dir?.offset,
        structure: 'fat.dirent',
        hint: 'the directory entry is damaged; run chkdsk',
      });
    for (const r of await this.dirChain(first, path, dir?.offset)) {
      if (d.ended) break;
      await feed(this.clusterOffset(r.cluster), r.count * b.clusterSize);
    }
    return d;
  }

  private toEntry(e: FatDirEntry, dirPath: string): FatEntry {
    const name = e.longName ?? e.shortName;
    const isDirectory = (e.attributes & FAT_ATTR.DIRECTORY) !== 0;
    return {
      name,
      shortName: e.longName !== null && e.longName !== e.shortName ? e.shortName : null,
      path: joinPath(dirPath, name),
      isDirectory,
      size: isDirectory ? 0 : e.size,
      allocatedSize: null,
      created: e.created,
      modified: e.modified,
      accessed: e.accessed,
      changed: null,
      attributes: e.attributes & 0x37, // the FILE_ATTRIBUTE_* bits FAT shares with Windows (not VOLUME_ID)
      id: e.firstCluster,
      streams: [],
      dirent: e,
    };
  }

  async root(): Promise<FatEntry> {
    return {
      name: '',
      shortName: null,
      path: '/',
      isDirectory: true,
      size: 0,
      allocatedSize: null,
      created: null,
      modified: null,
      accessed: null,
      changed: null,
      attributes: FILE_ATTRIBUTE.DIRECTORY,
      id: this.bpb.rootCluster,
      streams: [],
      dirent: null,
    };
  }

  private own(entry: FsEntry): FatEntry {
    if (!('dirent' in entry))
      throw new BootprobeError('NOT_A_FILE', `${entry.path} is not an entry of this FAT volume`, {
        kind: 'usage',
        hint: 'pass entries returned by this file system',
      });
    return entry as FatEntry;
  }

  async list(dir: FsEntry): Promise<FatEntry[]> {
    if (!dir.isDirectory)
      throw new BootprobeError('NOT_A_DIRECTORY', `${dir.path} is not a directory`, {
        hint: 'check the path',
      });
    const d = await this.readDirectory(this.own(dir).dirent, dir.path);
    return d.entries.map((e) => this.toEntry(e, dir.path));
  }

  async lookup(path: string): Promise<FatEntry> {
    let cur = await this.root();
    for (const part of splitPath(path)) {
      if (!cur.isDirectory)
        throw new BootprobeError('NOT_A_DIRECTORY', `${cur.path} is not a directory`, {
          hint: 'check the path',
        });
      const want = fatUpper(part);
      const entries = await this.list(cur);
      // Windows matches the long name first, then the 8.3 name (both upper-cased).
      const found =
        entries.find((e) => fatUpper(e.name) === want) ??
        entries.find((e) => e.dirent !== null && fatUpper(e.dirent.shortName) === want);
      if (!found)
        throw new BootprobeError(
          'PATH_NOT_FOUND',
          `${cur.path === '/' ? '' : cur.path}/${part}: no such file or directory`,
          { hint: 'list the directory with `bootprobe ls`' },
        );
      cur = found;
    }
    return cur;
  }

  /** The clusters holding a file's data: exactly as many as its size needs (a longer chain is tolerated). */
  private async fileRuns(e: FatDirEntry, path: string): Promise<{ runs: ClusterRun[]; longer: boolean }> {
    if (e.size === 0) return { runs: [], longer: e.firstCluster !== 0 };
    if (e.firstCluster === 0)
      throw new BootprobeError('FAT_DIRENT', `${path}: ${e.size} bytes but no first cluster`, {
        offset: e.offset,
        structure: 'fat.dirent',
        hint: 'the directory entry is damaged; run chkdsk',
      });
    const needed = Math.ceil(e.size / this.bpb.clusterSize);
    const { runs, clusters, more } = await this.fat.chain(e.firstCluster, needed, path, e.offset);
    if (clusters < needed)
      throw new BootprobeError(
        'FAT_CHAIN',
        `${path}: ${e.size} bytes need ${needed} clusters, the chain has ${clusters}`,
        {
          offset: e.offset,
          structure: 'fat.dirent',
          hint: 'the FAT or the directory entry is damaged; run chkdsk',
          data: { expected: needed, actual: clusters },
        },
      );
    this.checkRuns(runs, path);
    return { runs, longer: more };
  }

  async openFile(entry: FsEntry, stream?: string): Promise<FileReader> {
    if (stream)
      throw new BootprobeError(
        'PATH_NOT_FOUND',
        `${entry.path}:${stream}: FAT has no alternate data streams`,
      );
    if (entry.isDirectory)
      throw new BootprobeError('NOT_A_FILE', `${entry.path} is a directory`, { hint: 'use `bootprobe ls`' });
    const e = this.own(entry).dirent;
    if (e === null) throw new BootprobeError('NOT_A_FILE', `${entry.path} is the root directory`);
    const { runs } = await this.fileRuns(e, entry.path);
    const size = e.size;
    return {
      size,
      read: async (o, l) => {
        if (!Number.isSafeInteger(o) || !Number.isSafeInteger(l) || o < 0 || l < 0 || o + l > size)
          throw new BootprobeError(
            'READ_OUT_OF_RANGE',
            `${entry.path}: read of ${l} bytes at ${o} is outside its ${size} bytes`,
            { hint: 'read within the file size' },
          );
        return this.readRuns(runs, o, l);
      },
    };
  }

  private runsJson(runs: readonly ClusterRun[]) {
    return runs.map((r) => ({ cluster: r.cluster, count: r.count, offset: this.clusterOffset(r.cluster) }));
  }

  async stat(entry: FsEntry): Promise<Record<string, unknown>> {
    const e = this.own(entry).dirent;
    const cs = this.bpb.clusterSize;
    if (e === null) {
      const fixed = this.bpb.type !== 'fat32';
      const runs = fixed ? [] : await this.dirChain(this.bpb.rootCluster, '/');
      return {
        root: true,
        type: this.type,
        label: this.label,
        rootCluster: fixed ? null : this.bpb.rootCluster,
        rootDirOffset: fixed ? this.bpb.rootDirOffset : null,
        rootDirSize: fixed ? this.bpb.rootDirSize : null,
        rootEntryCount: fixed ? this.bpb.rootEntryCount : null,
        clusterRuns: this.runsJson(runs),
        clusters: runs.reduce((n, r) => n + r.count, 0),
      };
    }
    let runs: ClusterRun[] = [];
    let longer = false;
    if (entry.isDirectory) runs = await this.dirChain(e.firstCluster, entry.path, e.offset);
    else ({ runs, longer } = await this.fileRuns(e, entry.path));
    const clusters = runs.reduce((n, r) => n + r.count, 0);
    return {
      shortName: e.shortName,
      longName: e.longName,
      attributes: hex(e.attributes),
      attributeNames: attributeNames(e.attributes),
      ntCaseFlags: {
        value: hex(e.ntFlags),
        lowerBase: (e.ntFlags & NT_LOWER_BASE) !== 0,
        lowerExt: (e.ntFlags & NT_LOWER_EXT) !== 0,
      },
      firstCluster: e.firstCluster,
      size: e.size,
      created: e.created?.toISOString() ?? null,
      modified: e.modified?.toISOString() ?? null,
      accessed: e.accessed?.toISOString().slice(0, 10) ?? null,
      entryOffset: e.offset,
      lfnEntries: e.lfnEntries,
      lfnOffset: e.lfnOffset,
      clusters,
      allocatedSize: clusters * cs,
      clusterRuns: this.runsJson(runs),
      // A file whose chain goes on past the clusters its size needs (fsck.fat would truncate the chain).
      chainLongerThanSize: longer,
    };
  }
}

export function openFat(dev: BlockDevice, options?: FatOpenOptions): Promise<FatFileSystem> {
  return FatFileSystem.open(dev, options);
}
