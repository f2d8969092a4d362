// FAT12/16/32, read: BPB, cluster chains (loop-checked), long file names, volume label, FSInfo, both FAT copies
// compared (fatgen103; docs/boot-sectors.md §4.2).
import { BootprobeError, type Finding, hex } from '../../errors.js';
import { type BlockDevice, ByteView, bytesEqual } from '../../io/index.js';
import {
  FILE_ATTRIBUTE,
  type FileReader,
  type FileSystem,
  type FsEntry,
  joinPath,
  splitPath,
} from '../file-system.js';
import { decodeFatBpb, type FatBpb } from './bpb.js';
import {
  ATTR_DIRECTORY,
  ATTR_LFN,
  ATTR_VOLUME_ID,
  decodeShortEntry,
  type FatDirEntry,
  lfnChecksum,
  lfnPart,
} from './dir-entry.js';

/** fatgen103: a directory holds at most 65536 entries (2 MiB). */
const MAX_DIR_BYTES = 65536 * 32;
/** FAT copies are compared up to this many bytes each (a 2 TB FAT32 volume has a 1 GB FAT). */
const MAX_FAT_COMPARE = 16 * 1024 * 1024;

interface Extent {
  cluster: number;
  count: number;
}

export interface FatEntry extends FsEntry {
  dirent: FatDirEntry | null;
}

export interface FatVolumeInfo {
  type: string;
  clusterSize: number;
  clusterCount: number;
  serial: string | null;
  fsInfoFreeClusters: number | null;
  fsInfoNextFree: number | null;
}

export class FatFileSystem implements FileSystem {
  readonly type: FatBpb['type'];
  label: string | null;
  readonly warnings: Finding[] = [];
  volumeInfo: FatVolumeInfo;

  private constructor(
    private readonly dev: BlockDevice,
    readonly bpb: FatBpb,
  ) {
    this.type = bpb.type;
    this.label = bpb.bpbLabel;
    this.volumeInfo = {
      type: bpb.type,
      clusterSize: bpb.clusterSize,
      clusterCount: bpb.clusterCount,
      serial: bpb.serial,
      fsInfoFreeClusters: null,
      fsInfoNextFree: null,
    };
  }

  static async open(dev: BlockDevice): Promise<FatFileSystem> {
    if (dev.size < 512)
      throw new BootprobeError('FAT_BPB', `volume of ${dev.size} bytes is too small for FAT`, { offset: 0 });
    const bpb = decodeFatBpb(new ByteView(await dev.read(0, 512), 0, 'FAT boot sector'), dev.size);
    const fs = new FatFileSystem(dev, bpb);
    await fs.readFsInfo();
    await fs.compareFats();
    await fs.readRootLabel();
    return fs;
  }

  private async readFsInfo(): Promise<void> {
    const b = this.bpb;
    if (
      b.type !== 'fat32' ||
      b.fsInfoSector === 0 ||
      b.fsInfoSector === 0xffff ||
      (b.fsInfoSector + 1) * b.bytesPerSector > this.dev.size
    )
      return;
    const v = new ByteView(
      await this.dev.read(b.fsInfoSector * b.bytesPerSector, 512),
      b.fsInfoSector * b.bytesPerSector,
      'FAT32 FSInfo',
    );
    if (v.u32le(0) !== 0x41615252 || v.u32le(484) !== 0x61417272) {
      this.warnings.push({
        code: 'FAT_BPB',
        message: `FAT32 FSInfo sector ${b.fsInfoSector} has no valid signatures`,
        offset: v.base,
      });
      return;
    }
    const free = v.u32le(488);
    const next = v.u32le(492);
    this.volumeInfo.fsInfoFreeClusters = free === 0xffffffff ? null : free;
    this.volumeInfo.fsInfoNextFree = next === 0xffffffff ? null : next;
  }

  private async compareFats(): Promise<void> {
    const b = this.bpb;
    if (b.fatCount < 2) return;
    const size = Math.min(b.fatSectors * b.bytesPerSector, MAX_FAT_COMPARE);
    const step = 1024 * 1024;
    for (let at = 0; at < size; at += step) {
      const n = Math.min(step, size - at);
      const first = (await this.dev.read(b.fatOffset + at, n)).slice();
      for (let k = 1; k < b.fatCount; k++) {
        const other = await this.dev.read(b.fatOffset + k * b.fatSectors * b.bytesPerSector + at, n);
        if (!bytesEqual(first, other)) {
          this.warnings.push({
            code: 'FAT_CHAIN',
            message: `FAT copy ${k + 1} differs from the first (from byte ${at} of the FAT); the first copy is used`,
            offset: b.fatOffset + k * b.fatSectors * b.bytesPerSector + at,
          });
          return;
        }
      }
    }
  }

  private async readRootLabel(): Promise<void> {
    const { label } = await this.readDirectory(null, '/');
    if (label !== null) this.label = label;
  }

  /** The FAT entry of cluster c. */
  private async next(c: number): Promise<number> {
    const b = this.bpb;
    if (b.type === 'fat32') {
      const x = await this.dev.read(b.fatOffset + c * 4, 4);
      return (x[0]! | (x[1]! << 8) | (x[2]! << 16) | (x[3]! << 24)) & 0x0fffffff;
    }
    if (b.type === 'fat16') {
      const x = await this.dev.read(b.fatOffset + c * 2, 2);
      return x[0]! | (x[1]! << 8);
    }
    const at = b.fatOffset + Math.floor((c * 3) / 2);
    const x = await this.dev.read(at, 2);
    const w = x[0]! | (x[1]! << 8);
    return c & 1 ? w >> 4 : w & 0x0fff;
  }

  private isEnd(v: number): boolean {
    const t = this.bpb.type;
    return t === 'fat32' ? v >= 0x0ffffff8 : t === 'fat16' ? v >= 0xfff8 : v >= 0xff8;
  }

  /** The cluster chain from `start` as runs of contiguous clusters, bounded by `maxClusters` (loop check). */
  async chain(start: number, maxClusters: number, where: string): Promise<Extent[]> {
    const b = this.bpb;
    const out: Extent[] = [];
    let c = start;
    const limit = Math.min(maxClusters, b.clusterCount);
    for (let n = 0; ; n++) {
      if (c < 2 || c > b.clusterCount + 1) {
        throw new BootprobeError('FAT_CHAIN', `${where}: cluster ${c} is outside 2..${b.clusterCount + 1}`, {
          offset: b.fatOffset,
          structure: 'fat.chain',
          hint: 'the FAT or the directory entry is damaged; run chkdsk',
        });
      }
      if (n >= limit) {
        throw new BootprobeError(
          'FAT_CHAIN',
          `${where}: cluster chain longer than ${limit} clusters (a loop)`,
          { structure: 'fat.chain', hint: 'the FAT is damaged; run chkdsk' },
        );
      }
      const last = out[out.length - 1];
      if (last && last.cluster + last.count === c) last.count++;
      else out.push({ cluster: c, count: 1 });
      const nx = await this.next(c);
      if (this.isEnd(nx)) return out;
      if (nx === (b.type === 'fat32' ? 0x0ffffff7 : b.type === 'fat16' ? 0xfff7 : 0xff7)) {
        throw new BootprobeError(
          'FAT_CHAIN',
          `${where}: chain reaches bad cluster marker after cluster ${c}`,
          { structure: 'fat.chain', hint: 'the volume has bad sectors' },
        );
      }
      if (nx < 2) {
        throw new BootprobeError('FAT_CHAIN', `${where}: chain reaches a free cluster after cluster ${c}`, {
          structure: 'fat.chain',
          hint: 'the FAT is damaged; run chkdsk',
        });
      }
      c = nx;
    }
  }

  private clusterOffset(c: number): number {
    return this.bpb.dataOffset + (c - 2) * this.bpb.clusterSize;
  }

  /** Reads bytes [offset, offset+length) of a chain (coalescing contiguous clusters into one read). */
  private async readExtents(extents: Extent[], offset: number, length: number): Promise<Uint8Array> {
    const cs = this.bpb.clusterSize;
    const out = new Uint8Array(length);
    let pos = 0; // byte position in the chain of the current extent
    for (const e of extents) {
      const eLen = e.count * cs;
      const from = Math.max(offset, pos);
      const to = Math.min(offset + length, pos + eLen);
      if (from < to) {
        const at = this.clusterOffset(e.cluster) + (from - pos);
        if (at + (to - from) > this.dev.size)
          throw new BootprobeError('FAT_CHAIN', `cluster ${e.cluster} lies past the end of the volume`, {
            offset: at,
            structure: 'fat.chain',
            hint: 'the volume is truncated',
          });
        out.set(await this.dev.read(at, to - from), from - offset);
      }
      pos += eLen;
      if (pos >= offset + length) break;
    }
    return out;
  }

  /** Parses a directory: entries with long names resolved, and the volume label entry when present. */
  private async readDirectory(
    cluster: number | null,
    path: string,
  ): Promise<{ entries: FatDirEntry[]; label: string | null }> {
    const b = this.bpb;
    let bytes: Uint8Array;
    let base: number;
    if (cluster === null && b.type !== 'fat32') {
      bytes = await this.dev.read(b.rootDirOffset, b.rootDirSize);
      base = b.rootDirOffset;
    } else {
      const start = cluster ?? b.rootCluster;
      const ext = await this.chain(start, Math.ceil(MAX_DIR_BYTES / b.clusterSize) + 1, `directory ${path}`);
      const total = ext.reduce((n, e) => n + e.count, 0) * b.clusterSize;
      bytes = await this.readExtents(ext, 0, Math.min(total, MAX_DIR_BYTES));
      base = this.clusterOffset(start);
    }
    const v = new ByteView(bytes, base, 'FAT directory');
    const entries: FatDirEntry[] = [];
    let label: string | null = null;
    let lfn: { parts: string[]; count: number; checksum: number } | null = null;
    for (let at = 0; at + 32 <= bytes.length; at += 32) {
      const first = bytes[at]!;
      if (first === 0) break;
      const attr = bytes[at + 11]!;
      if (first === 0xe5) {
        lfn = null;
        continue;
      }
      if ((attr & 0x3f) === ATTR_LFN) {
        const seq = first & 0x1f;
        if (first & 0x40) lfn = { parts: [], count: seq, checksum: bytes[at + 13]! };
        if (lfn && seq >= 1 && seq <= 20 && bytes[at + 13] === lfn.checksum)
          lfn.parts[seq - 1] = lfnPart(v, at);
        else lfn = null;
        continue;
      }
      if (attr & ATTR_VOLUME_ID) {
        if (cluster === null)
          label = String.fromCharCode(...bytes.subarray(at, at + 11)).replace(/ +$/, '') || null;
        lfn = null;
        continue;
      }
      let longName: string | null = null;
      if (
        lfn &&
        lfn.parts.length === lfn.count &&
        lfn.parts.every((p) => p !== undefined) &&
        lfnChecksum(bytes.subarray(at, at + 11)) === lfn.checksum
      ) {
        longName = lfn.parts.join('');
      }
      lfn = null;
      const e = decodeShortEntry(v, at, longName, b.type === 'fat32');
      if (e.shortName === '.' || e.shortName === '..') continue;
      entries.push(e);
    }
    return { entries, label };
  }

  private toEntry(e: FatDirEntry, dirPath: string): FatEntry {
    const name = e.longName ?? e.shortName;
    const isDirectory = (e.attributes & ATTR_DIRECTORY) !== 0;
    return {
      name,
      shortName: e.longName && e.longName !== e.shortName ? e.shortName : null,
      path: joinPath(dirPath, name),
      isDirectory,
      size: isDirectory ? 0 : e.size,
      allocatedSize: null,
      created: e.created,
      modified: e.modified,
      accessed: e.accessed,
      changed: null,
      attributes: e.attributes & 0x37,
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
      id: this.bpb.type === 'fat32' ? this.bpb.rootCluster : 0,
      streams: [],
      dirent: null,
    };
  }

  async list(dir: FsEntry): Promise<FatEntry[]> {
    if (!dir.isDirectory) throw new BootprobeError('NOT_A_DIRECTORY', `${dir.path} is not a directory`);
    const fe = dir as FatEntry;
    const cluster = fe.dirent === null ? null : fe.id;
    if (cluster === 0) return []; // an empty directory entry that points nowhere
    const { entries } = await this.readDirectory(cluster, dir.path);
    return entries.map((e) => this.toEntry(e, dir.path));
  }

  async lookup(path: string): Promise<FatEntry> {
    const parts = splitPath(path);
    let cur = await this.root();
    for (const part of parts) {
      if (!cur.isDirectory)
        throw new BootprobeError('NOT_A_DIRECTORY', `${cur.path} is not a directory`, {
          hint: 'check the path',
        });
      const want = part.toUpperCase();
      const found = (await this.list(cur)).find(
        (e) => e.name.toUpperCase() === want || (e.dirent?.shortName.toUpperCase() ?? '') === want,
      );
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

  async openFile(entry: FsEntry, stream?: string): Promise<FileReader> {
    if (stream)
      throw new BootprobeError('PATH_NOT_FOUND', `${entry.path}: FAT has no alternate data streams`);
    if (entry.isDirectory)
      throw new BootprobeError('NOT_A_FILE', `${entry.path} is a directory`, { hint: 'use `bootprobe ls`' });
    const size = entry.size;
    if (size === 0) return { size: 0, read: async () => new Uint8Array(0) };
    const cs = this.bpb.clusterSize;
    const needed = Math.ceil(size / cs);
    const ext = await this.chain(entry.id, needed + 1, entry.path);
    const have = ext.reduce((n, e) => n + e.count, 0);
    if (have < needed) {
      throw new BootprobeError(
        'FAT_CHAIN',
        `${entry.path}: ${size} bytes need ${needed} clusters, the chain has ${have}`,
        {
          offset: (entry as FatEntry).dirent?.offset,
          structure: 'fat.dirent',
          hint: 'the FAT or directory entry is damaged; run chkdsk',
        },
      );
    }
    return {
      size,
      read: async (o, l) => {
        if (o < 0 || l < 0 || o + l > size)
          throw new BootprobeError(
            'READ_OUT_OF_RANGE',
            `${entry.path}: read of ${l} bytes at ${o} past its ${size} bytes`,
          );
        return this.readExtents(ext, o, l);
      },
    };
  }

  async stat(entry: FsEntry): Promise<Record<string, unknown>> {
    const e = (entry as FatEntry).dirent;
    if (!e)
      return { root: true, type: this.type, rootCluster: this.bpb.rootCluster || null, label: this.label };
    const attrs = ['readOnly', 'hidden', 'system', 'volumeId', 'directory', 'archive'].filter(
      (_, i) => e.attributes & (1 << i),
    );
    let chain: { cluster: number; count: number }[] = [];
    if (e.firstCluster >= 2) {
      const limit = entry.isDirectory
        ? Math.ceil(MAX_DIR_BYTES / this.bpb.clusterSize) + 1
        : Math.ceil(e.size / this.bpb.clusterSize) + 1;
      chain = await this.chain(e.firstCluster, limit, entry.path);
    }
    return {
      shortName: e.shortName,
      longName: e.longName,
      attributes: hex(e.attributes),
      attributeNames: attrs,
      firstCluster: e.firstCluster,
      size: e.size,
      created: e.created?.toISOString() ?? null,
      modified: e.modified?.toISOString() ?? null,
      accessed: e.accessed?.toISOString().slice(0, 10) ?? null,
      entryOffset: e.offset,
      clusterRuns: chain.slice(0, 64),
      clusters: chain.reduce((n, x) => n + x.count, 0),
    };
  }
}

export function openFat(dev: BlockDevice): Promise<FatFileSystem> {
  return FatFileSystem.open(dev);
}
