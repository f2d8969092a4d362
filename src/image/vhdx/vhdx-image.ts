// VHDX fixed, dynamic and differencing images, read (docs/vhd-vhdx.md Part 2). Open order (§2.6 "When to
// replay"): file identifier, current header, log replay into an in-memory overlay, region table, metadata, BAT.
import { BootprobeError, type Finding, hex } from '../../errors.js';
import { type BlockDevice, ByteView, checkRange, inRange, readInto } from '../../io/index.js';
import { OverlayDevice } from '../../io/overlay-device.js';
import type { DiskImage, Extent, ImageInfo, OpenImageOptions, ParentLocatorEntry } from '../disk-image.js';
import { openParent } from '../open-image.js';
import { pushSegment, readSegmentsInto, type Segment, segmentsToExtents } from '../segments.js';
import { type BatEntry, batGeometry, PAYLOAD_STATE, SB_STATE, VhdxBat } from './bat.js';
import { decodeCreator, hasLog, readCurrentHeader, VHDX_SIGNATURE, type VhdxHeader } from './header.js';
import { type LogState, replayLog, replayLogInPlace } from './log.js';
import { readMetadata, type VhdxMetadata } from './metadata.js';
import { acceptedLinkages, parentCandidates } from './parent-locator.js';
import { REGION, readRegionTable } from './region-table.js';

const MiB = 1024 * 1024;

export class VhdxImage implements DiskImage {
  readonly size: number;
  readonly sectorSize: number;
  private readonly bs: number;
  private readonly differencing: boolean;

  /** Set by the write layer (vhdx-writer.ts) when the image was opened for writing. */
  write?: (offset: number, data: Uint8Array) => Promise<void>;

  constructor(
    /** The file seen through the replayed log (the file itself when there was nothing to replay). */
    private readonly dev: BlockDevice,
    readonly header: VhdxHeader,
    readonly metadata: VhdxMetadata,
    readonly bat: VhdxBat,
    readonly parent: DiskImage | null,
    readonly warnings: Finding[],
    readonly info: ImageInfo,
    /** The container file itself (what `dev` overlays); the write layer writes here. */
    readonly file: BlockDevice = dev,
  ) {
    this.size = metadata.virtualSize;
    this.sectorSize = metadata.logicalSectorSize;
    this.bs = metadata.blockSize;
    this.differencing = metadata.hasParent;
  }

  private blockError(b: number, e: BatEntry, why: string): BootprobeError {
    return new BootprobeError(
      'VHDX_BLOCK',
      `VHDX BAT entry for block ${b} (at ${hex(this.bat.entryOffset(b))}): ${why}`,
      {
        offset: this.bat.entryOffset(b),
        structure: 'vhdx.bat',
        data: { state: e.state, fileOffset: e.fileOffset },
        hint: 'the image is truncated or its BAT is corrupt',
      },
    );
  }

  /** Sector-bitmap bytes covering sectors [s0, s1) of block b's chunk (LSB-first bits, §2.5). */
  private async bitmapBits(b: number, s0: number, s1: number): Promise<{ bits: Uint8Array; first: number }> {
    const { chunkRatio } = this.bat.geometry;
    const k = Math.floor(b / chunkRatio);
    const sb = await this.bat.bitmap(k);
    if (sb.state !== SB_STATE.PRESENT || sb.fileOffset < MiB || sb.fileOffset + MiB > this.dev.size) {
      throw new BootprobeError(
        'VHDX_BAT',
        `VHDX sector bitmap of chunk ${k} is not present (state ${sb.state}) although block ${b} is partially present`,
        {
          offset: this.bat.offset + 8 * (k * (chunkRatio + 1) + chunkRatio),
          structure: 'vhdx.bat',
          hint: 'the BAT is corrupt',
        },
      );
    }
    const base = (b % chunkRatio) * (this.bs / this.sectorSize);
    const firstByte = (base + s0) >> 3;
    const lastByte = (base + s1 - 1) >> 3;
    const bits = await this.dev.read(sb.fileOffset + firstByte, lastByte - firstByte + 1);
    return { bits, first: base + s0 - firstByte * 8 };
  }

  /** Splits [offset, offset+length) into file, parent and zero segments (shared by read and mapRange). */
  private async segments(offset: number, length: number): Promise<Segment[]> {
    const segs: Segment[] = [];
    const push = (x: Segment) => pushSegment(segs, x);
    const bs = this.bs;
    let pos = offset;
    const end = offset + length;
    while (pos < end) {
      const b = Math.floor(pos / bs);
      const inBlock = pos - b * bs;
      const n = Math.min(bs - inBlock, end - pos);
      const outAt = pos - offset;
      const e = await this.bat.payload(b);
      switch (e.state) {
        case PAYLOAD_STATE.FULLY_PRESENT: {
          if (e.fileOffset < MiB || e.fileOffset + inBlock + n > this.dev.size) {
            throw this.blockError(
              b,
              e,
              `data at ${hex(e.fileOffset)} lies outside the ${this.dev.size}-byte file`,
            );
          }
          push({ kind: 'file', at: e.fileOffset + inBlock, n, outAt });
          break;
        }
        case PAYLOAD_STATE.PARTIALLY_PRESENT: {
          if (!this.differencing)
            throw this.blockError(b, e, 'PARTIALLY_PRESENT in a disk that has no parent');
          if (e.fileOffset < MiB || e.fileOffset + inBlock + n > this.dev.size) {
            throw this.blockError(
              b,
              e,
              `data at ${hex(e.fileOffset)} lies outside the ${this.dev.size}-byte file`,
            );
          }
          const ss = this.sectorSize;
          const s0 = Math.floor(inBlock / ss);
          const s1 = Math.ceil((inBlock + n) / ss);
          const { bits, first } = await this.bitmapBits(b, s0, s1);
          let p = inBlock;
          while (p < inBlock + n) {
            const s = Math.floor(p / ss);
            const bitAt = (i: number) => {
              const j = first + (i - s0);
              return ((bits[j >> 3]! >> (j & 7)) & 1) === 1;
            };
            const present = bitAt(s);
            let q = (s + 1) * ss;
            while (q < inBlock + n && bitAt(q / ss) === present) q += ss;
            q = Math.min(q, inBlock + n);
            const o = outAt + (p - inBlock);
            if (present) push({ kind: 'file', at: e.fileOffset + p, n: q - p, outAt: o });
            else push({ kind: 'parent', at: b * bs + p, n: q - p, outAt: o });
            p = q;
          }
          break;
        }
        case PAYLOAD_STATE.NOT_PRESENT:
          push(this.parent ? { kind: 'parent', at: pos, n, outAt } : { kind: 'zero', at: pos, n, outAt });
          break;
        case PAYLOAD_STATE.UNDEFINED:
        case PAYLOAD_STATE.ZERO:
        case PAYLOAD_STATE.UNMAPPED:
        case PAYLOAD_STATE.UNMAPPED_V095:
          // All read as zeros, in differencing disks too (§2.5; whether Hyper-V falls through to the parent for
          // UNMAPPED is [?] there; the spec defines the content as zeros or old data, never the parent's).
          push({ kind: 'zero', at: pos, n, outAt });
          break;
        default:
          throw this.blockError(b, e, `payload state ${e.state} is reserved`);
      }
      pos += n;
    }
    return segs;
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    const at = this.presentAt(offset, length);
    return at >= 0 ? this.dev.read(at, length) : this.readMapped(offset, length);
  }

  readInto(offset: number, target: Uint8Array): Promise<void> {
    const at = this.presentAt(offset, target.length);
    return at >= 0 ? readInto(this.dev, at, target) : this.readIntoMapped(offset, target);
  }

  /**
   * The common case, straight to the file: the file offset of a read inside one FULLY_PRESENT block whose BAT page is
   * loaded, else -1 (issue 7: no segment list, and no async frame of its own, for each of a listing's thousands of
   * small reads).
   */
  private presentAt(offset: number, length: number): number {
    const b = Math.floor(offset / this.bs);
    const inBlock = offset - b * this.bs;
    if (inBlock + length > this.bs || !inRange(this.size, offset, length)) return -1;
    const at = this.bat.presentOffset(b);
    return at >= MiB && at + inBlock + length <= this.dev.size ? at + inBlock : -1;
  }

  private async readMapped(offset: number, length: number): Promise<Uint8Array> {
    checkRange('VHDX virtual disk', this.size, offset, length); // before allocating
    const out = new Uint8Array(length);
    await this.readIntoMapped(offset, out);
    return out;
  }

  private async readIntoMapped(offset: number, target: Uint8Array): Promise<void> {
    checkRange('VHDX virtual disk', this.size, offset, target.length);
    await readSegmentsInto(this.dev, this.parent, await this.segments(offset, target.length), target);
  }

  async mapRange(offset: number, length: number): Promise<Extent[]> {
    checkRange('VHDX virtual disk', this.size, offset, length);
    return segmentsToExtents(this.parent, offset, await this.segments(offset, length));
  }

  /**
   * FULLY/PARTIALLY_PRESENT blocks × block size, the last block cut at the end of the disk. Computed only when asked
   * (never at open): it streams the whole BAT (VhdxBat.allocatedBytes), 16 MiB of reads for 64 TB in 32 MiB blocks.
   */
  async allocatedSize(): Promise<number> {
    return this.bat.allocatedBytes(this.size, this.bs);
  }

  /** The write layer changed the BAT or a sector bitmap in the file: forget cached BAT pages. */
  noteWrite(): void {
    this.bat.forgetAll();
  }

  async flush(): Promise<void> {
    await this.file.flush?.();
  }

  async close(): Promise<void> {
    await this.parent?.close();
    await this.dev.close();
  }
}

/**
 * Finds and opens the parent through the shared finder (§2.4 "Procedure"): candidates from the locator, accepted only
 * when the parent's current header DataWriteGuid is parent_linkage or parent_linkage2. When none is found the error
 * names every path tried (from openParent) and carries the locators in its data, for `info --json`.
 */
async function openVhdxParent(
  meta: VhdxMetadata,
  childPath: string,
  options: OpenImageOptions,
): Promise<{ image: DiskImage; info: NonNullable<ImageInfo['parent']> }> {
  const loc = meta.parentLocator!;
  const accepted = acceptedLinkages(loc);
  const locators: ParentLocatorEntry[] = loc.entries.map((e) => ({ kind: e.key, value: e.value }));
  let opened: Awaited<ReturnType<typeof openParent>>;
  try {
    opened = await openParent({
      childPath,
      candidates: parentCandidates(loc, childPath, options.files),
      options,
      offset: loc.offset,
      missingCode: 'VHDX_PARENT_MISSING',
      mismatchCode: 'VHDX_PARENT_MISMATCH',
      check: (p) => {
        if (p.info.format !== 'vhdx') return `it is ${p.info.format}, not VHDX`;
        const dw = String(p.info.details.dataWriteGuid ?? '');
        return accepted.includes(dw.toLowerCase())
          ? null
          : `DataWriteGuid {${dw}}, expected {${accepted.join('} or {')}}`;
      },
    });
  } catch (e) {
    if (e instanceof BootprobeError && e.code === 'VHDX_PARENT_MISSING') {
      throw new BootprobeError(e.code, e.message, {
        offset: e.offset,
        structure: 'vhdx.parent_locator',
        hint: e.hint,
        data: { ...e.data, expectedId: accepted[0], locators },
        kind: e.kind,
      });
    }
    throw e;
  }
  const image = opened.image;
  // The logical sector size is the same in parent and child (§2.4 table); a chain that differs is not one disk.
  if (image.sectorSize !== meta.logicalSectorSize) {
    await image.close();
    throw new BootprobeError(
      'VHDX_PARENT_MISMATCH',
      `parent ${opened.path} has ${image.sectorSize}-byte sectors, the child ${meta.logicalSectorSize}`,
      { offset: loc.offset, structure: 'vhdx.parent_locator', hint: 'the chain is inconsistent' },
    );
  }
  return { image, info: { path: opened.path, expectedId: accepted[0]!, locators, info: image.info } };
}

export async function openVhdx(file: BlockDevice, options: OpenImageOptions = {}): Promise<DiskImage> {
  const warnings: Finding[] = [];
  const childPath = options.path ?? 'image';
  if (file.size < 1024 * 1024) {
    throw new BootprobeError(
      'VHDX_SIGNATURE',
      `VHDX file is ${file.size} bytes, smaller than its 1 MiB header area`,
      {
        offset: 0,
        structure: 'vhdx.file_identifier',
        hint: 'the file is truncated',
      },
    );
  }
  const ident = new ByteView(await file.read(0, 520), 0, 'VHDX file identifier');
  if (ident.ascii(0, 8) !== VHDX_SIGNATURE) {
    throw new BootprobeError('VHDX_SIGNATURE', 'no "vhdxfile" signature at offset 0x0', {
      offset: 0,
      structure: 'vhdx.file_identifier',
    });
  }
  const creator = decodeCreator(ident);
  let header = await readCurrentHeader(file, warnings);
  let logState: LogState = 'clean';
  if (options.writable && hasLog(header)) {
    // §2.6 reader policy: never write a VHDX with a pending log. Replaying it into the file is itself a change,
    // done only when the caller asked for it (replayLog), with the spec's header protocol (log.ts).
    if (!options.replayLog) {
      throw new BootprobeError(
        'VHDX_LOG_PENDING',
        `VHDX header at ${hex(header.offset)}: log {${header.logGuid}} has not been replayed; refusing to write`,
        {
          offset: header.offset + 48,
          structure: 'vhdx.header',
          kind: 'unsafe',
          hint: 'replay it first (Hyper-V, `qemu-img check -r all`, or bootprobe with log replay allowed)',
        },
      );
    }
    const r = await replayLogInPlace(file, header);
    header = r.header;
    logState = 'clean';
    warnings.push({
      code: 'VHDX_LOG_PENDING',
      message: `VHDX log was replayed into the file (${r.entries} entr${r.entries === 1 ? 'y' : 'ies'}); LogGuid is now zero`,
      offset: header.offset + 48,
    });
  }
  // A writable image reads the file directly: its log is clean (above), and new blocks grow the file.
  const overlay = options.writable ? null : new OverlayDevice(file);
  if (overlay && hasLog(header)) {
    if (options.strict) {
      throw new BootprobeError(
        'VHDX_LOG_PENDING',
        `VHDX header at ${hex(header.offset)}: log {${header.logGuid}} is pending`,
        {
          offset: header.offset + 48,
          structure: 'vhdx.header',
          kind: 'corrupt',
          hint: 'without --strict it is replayed in memory; `qemu-img check -r all` replays it into the file',
        },
      );
    }
    const r = await replayLog(file, header, overlay);
    logState = r.state;
    warnings.push({
      code: 'VHDX_LOG_PENDING',
      message:
        r.state === 'replayed in memory'
          ? `VHDX log {${header.logGuid}} was not empty: ${r.entries} entr${r.entries === 1 ? 'y' : 'ies'} replayed in memory (the file is unchanged)`
          : `VHDX log {${header.logGuid}} is set but holds no valid entry: nothing replayed`,
      offset: header.offset + 48,
    });
  }
  // Nothing replayed: the file itself, one layer fewer on every read.
  const view: BlockDevice = overlay && (overlay.patchCount > 0 || overlay.size > file.size) ? overlay : file;
  const regions = await readRegionTable(view, warnings);
  const meta = await readMetadata(view, regions.get(REGION.METADATA)!);
  const batRegion = regions.get(REGION.BAT)!;
  const geometry = batGeometry(meta.virtualSize, meta.blockSize, meta.logicalSectorSize, meta.hasParent);
  if (geometry.totalEntries * 8 > batRegion.length) {
    throw new BootprobeError(
      'VHDX_BAT',
      `VHDX BAT region at ${hex(batRegion.fileOffset)} holds ${batRegion.length / 8} entries; ${geometry.totalEntries} are needed`,
      {
        offset: batRegion.fileOffset,
        structure: 'vhdx.bat',
        hint: 'the metadata or region table is corrupt',
      },
    );
  }
  const bat = new VhdxBat(view, batRegion.fileOffset, geometry);

  let parent: DiskImage | null = null;
  let parentInfo: ImageInfo['parent'] = null;
  if (meta.hasParent) {
    const opened = await openVhdxParent(meta, childPath, options);
    parent = opened.image;
    parentInfo = opened.info;
  }

  const info: ImageInfo = {
    format: 'vhdx',
    variant: meta.hasParent ? 'differencing' : meta.leaveBlocksAllocated ? 'fixed' : 'dynamic',
    virtualSize: meta.virtualSize,
    logicalSectorSize: meta.logicalSectorSize,
    physicalSectorSize: meta.physicalSectorSize,
    blockSize: meta.blockSize,
    creator: creator || null,
    fileSize: file.size,
    allocatedSize: null,
    uniqueId: meta.page83,
    parent: parentInfo,
    details: {
      headerSlot: header.slot,
      headerSequence: header.sequenceNumber.toString(),
      fileWriteGuid: header.fileWriteGuid,
      dataWriteGuid: header.dataWriteGuid,
      logGuid: header.logGuid,
      logState,
      logOffset: header.logOffset,
      logLength: header.logLength,
      batOffset: batRegion.fileOffset,
      batEntries: geometry.totalEntries,
      chunkRatio: geometry.chunkRatio,
      metadataOffset: regions.get(REGION.METADATA)!.fileOffset,
      leaveBlocksAllocated: meta.leaveBlocksAllocated,
    },
  };
  return new VhdxImage(view, header, meta, bat, parent, warnings, info, file);
}
