// BCD device elements: decode, encode and display (docs/bcd.md §7).
// Layout: §7.1 outer wrapper (16-byte AdditionalOptions GUID + one descriptor); §7.2 descriptor header
// {u32 DeviceType, u32 Flags, u32 Size (incl. header), u32 reserved}; payloads per DeviceType in §7.3–§7.7.
// Descriptors nest (ramdisk/file → parent, vhd → file → parent, locate → parent); §7.8: every nested Size and
// Length is bounded by what contains it, nesting depth ≤ 4, unknown DeviceType/BlockType decode to an `unknown`
// (or `block`) descriptor that keeps its bytes, and encode reproduces the input exactly (flags, reserved fields,
// the ramdisk ImageBase/ImageSize/ImageOffset and any unexplained tail bytes are kept as found).
import { BootprobeError, hex } from '../errors.js';
import {
  ByteView,
  decodeUtf16,
  encodeUtf16le,
  formatGuid,
  isAllZero,
  parseGuid,
  toHex,
} from '../io/index.js';
import { hex8 } from './element-types.js';

/** Binary DeviceType (bcd.md §7.2 [C], ReactOS BL_DEVICE_TYPE — not the WMI numbering). */
export const BCD_DEVICE_TYPE = {
  BLOCK_IO: 0,
  LEGACY_PARTITION: 2,
  SERIAL: 3,
  UDP: 4,
  BOOT: 5,
  PARTITION: 6,
  LOCATE: 8,
} as const;
/** BlockType (bcd.md §7.2 [C]): first u32 of a DeviceType-0 payload, and the u32 at partition +0x20. */
export const BCD_BLOCK_TYPE = {
  HARD_DISK: 0,
  FLOPPY: 1,
  CDROM: 2,
  RAMDISK: 3,
  FILE: 5,
  VIRTUAL_DISK: 6,
} as const;
/** Partition style (bcd.md §7.2 [C]). */
export const BCD_PARTITION_STYLE = { GPT: 0, MBR: 1, RAW: 2 } as const;
/** LocateType (bcd.md §7.5 [C]). */
export const BCD_LOCATE_TYPE = { ELEMENT: 0, STRING: 1, ELEMENT_CHILD: 2 } as const;

export const DEVICE_HEADER_SIZE = 16;
const OPTIONS_SIZE = 16;
/** Partition payload fields before the tail: partition id 16, BlockType 4, style 4, disk id 16 (§7.3). */
const PARTITION_FIXED = 40;
/** Locate payload fields before the path: LocateType, element type, parent offset (§7.5). */
const LOCATE_FIXED = 12;
/** Ramdisk payload fields before Version: BlockType 4, ImageBase 8, ImageSize 8, ImageOffset 4 (§7.6, packed). */
const RAMDISK_FIXED = 24;
/** Version, Length and PathType, the block that starts a ramdisk/file path (§7.6). */
const PATH_BLOCK_FIXED = 12;
/** Virtual-disk block payload: BlockType + 20 bytes (§7.7 [I]). */
const VIRTUAL_DISK_FIXED = 24;
/** bcd.md §7.8: no real device nests deeper than vhd → file → partition; 4 leaves room and stops hostile chains. */
export const MAX_DEVICE_DEPTH = 4;

interface DescriptorHeader {
  readonly deviceType: number;
  readonly flags: number;
  /** The u32 at header +0xC, 0 in every corpus descriptor; kept for round-trip. */
  readonly reserved: number;
}

/** `boot`: the partition the boot manager was loaded from (§7.4). Payload is 56 zero bytes in the corpus. */
export interface BcdBootDescriptor extends DescriptorHeader {
  readonly kind: 'boot';
  readonly payload: Uint8Array;
}

/** `partition=` (§7.3): MBR (signature + byte offset) or GPT (disk GUID + partition GUID). */
export interface BcdPartitionDescriptor extends DescriptorHeader {
  readonly kind: 'partition';
  /** 0 hard disk; 6 when the partition lies inside a VHD (§7.7). */
  readonly blockType: number;
  /** 0 GPT, 1 MBR, 2 raw. */
  readonly style: number;
  readonly partitionId: Uint8Array;
  readonly diskId: Uint8Array;
  /** MBR: the disk signature as at MBR 0x1B8; else null. */
  readonly diskSignature: number | null;
  /** MBR: partition start in bytes (LBA × 512); else null. */
  readonly partitionOffset: bigint | null;
  /** GPT: disk GUID and unique partition GUID ('{…}' lower case); else null. */
  readonly diskGuid: string | null;
  readonly partitionGuid: string | null;
  /** VHD form: the file descriptor of the .vhd(x) holding this partition (§7.7); else null. */
  readonly vhdFile: BcdDeviceDescriptor | null;
  /** Bytes after the fixed fields (and after vhdFile): 16 zero bytes in the plain form. */
  readonly rest: Uint8Array;
}

/** `locate=` (§7.5). */
export interface BcdLocateDescriptor extends DescriptorHeader {
  readonly kind: 'locate';
  readonly locateType: number;
  /** Element whose value is the probe path (0x12000002 `path`, 0x22000002 `systemroot`/`filepath`). */
  readonly elementType: number;
  /** Custom path (LocateType 1), '' when unused. */
  readonly path: string;
  /** False when the stored path had no NUL terminator (kept so encode reproduces it). */
  readonly pathTerminated: boolean;
  /** Bytes after the path's NUL inside the path field. */
  readonly pathExtra: Uint8Array;
  readonly parent: BcdDeviceDescriptor | null;
  /** Bytes after the parent inside this descriptor. */
  readonly rest: Uint8Array;
}

/** The Version/Length/PathType + parent + path block shared by ramdisk and file descriptors (§7.6). */
export interface BcdPathBlock {
  readonly version: number;
  readonly pathType: number;
  readonly parent: BcdDeviceDescriptor;
  readonly path: string;
  readonly pathTerminated: boolean;
  readonly pathExtra: Uint8Array;
}

/** `ramdisk=[parent]path,{options}` (§7.6): DeviceType 0, BlockType 3. */
export interface BcdRamdiskDescriptor extends DescriptorHeader, BcdPathBlock {
  readonly kind: 'ramdisk';
  readonly imageBase: bigint;
  readonly imageSize: bigint;
  readonly imageOffset: number;
  readonly rest: Uint8Array;
}

/** `file=[parent]path` (§7.6 [I]): DeviceType 0, BlockType 5. */
export interface BcdFileDescriptor extends DescriptorHeader, BcdPathBlock {
  readonly kind: 'file';
  readonly rest: Uint8Array;
}

/** DeviceType 0, BlockType 6: the virtual-disk block of the locate VHD form (§7.7 [I]). */
export interface BcdVirtualDiskDescriptor extends DescriptorHeader {
  readonly kind: 'virtualDisk';
  /** The 20 bytes after BlockType (zero in the documented form). */
  readonly fields: Uint8Array;
  /** The file descriptor of the .vhd(x), when it sits inside this descriptor. */
  readonly file: BcdDeviceDescriptor | null;
  readonly rest: Uint8Array;
}

/** DeviceType 0 with another BlockType (hard disk, floppy, CD-ROM, unknown): kept as bytes, shown `unknown`. */
export interface BcdBlockDescriptor extends DescriptorHeader {
  readonly kind: 'block';
  readonly blockType: number;
  readonly payload: Uint8Array;
}

/** Any other DeviceType (serial, UDP, legacy partition, unknown): kept as bytes, shown `unknown` (§7.8). */
export interface BcdUnknownDescriptor extends DescriptorHeader {
  readonly kind: 'unknown';
  readonly payload: Uint8Array;
}

export type BcdDeviceDescriptor =
  | BcdBootDescriptor
  | BcdPartitionDescriptor
  | BcdLocateDescriptor
  | BcdRamdiskDescriptor
  | BcdFileDescriptor
  | BcdVirtualDiskDescriptor
  | BcdBlockDescriptor
  | BcdUnknownDescriptor;

/** A decoded device element value (§7.1). */
export interface BcdDevice {
  /** AdditionalOptions object ('{…}' lower case), null when the 16 bytes are zero. */
  readonly options: string | null;
  readonly descriptor: BcdDeviceDescriptor;
  /** Bytes after the outer descriptor (none in the corpus: outer Size + 16 = value length). */
  readonly trailing: Uint8Array;
}

function fail(at: number, message: string, data?: Record<string, unknown>): never {
  throw new BootprobeError('BCD_DEVICE', `BCD device at +${hex(at)} of the element value: ${message}`, {
    offset: at,
    structure: 'bcd.device',
    hint: 'the device element is damaged; rewrite it (bcdedit /set … device …) or restore the store',
    data,
  });
}

/** Decodes a device element value (§7). Throws BCD_DEVICE when a size or length does not fit. */
export function decodeBcdDevice(bytes: Uint8Array): BcdDevice {
  const v = new ByteView(bytes, 0, 'bcd.device');
  if (bytes.length < OPTIONS_SIZE + DEVICE_HEADER_SIZE) {
    fail(0, `${bytes.length} bytes, too short for the options GUID and a descriptor header (32)`, {
      expected: OPTIONS_SIZE + DEVICE_HEADER_SIZE,
      actual: bytes.length,
    });
  }
  const optionsBytes = v.slice(0, OPTIONS_SIZE);
  const descriptor = decodeDescriptor(v, OPTIONS_SIZE, bytes.length, 0);
  const end = OPTIONS_SIZE + descriptorSize(v, OPTIONS_SIZE);
  return {
    options: isAllZero(optionsBytes) ? null : `{${formatGuid(optionsBytes)}}`,
    descriptor,
    trailing: copy(v.slice(end, bytes.length - end)),
  };
}

/** True when a nested descriptor header (non-zero Size) starts at `at`; the plain forms hold zero bytes there. */
const holdsDescriptor = (v: ByteView, at: number, end: number): boolean =>
  end - at >= DEVICE_HEADER_SIZE && v.u32le(at + 8) !== 0;
const copy = (b: Uint8Array): Uint8Array => new Uint8Array(b);
const descriptorSize = (v: ByteView, at: number): number => v.u32le(at + 8);

/** Decodes the descriptor at `at`, which must end at or before `limit`. */
function decodeDescriptor(v: ByteView, at: number, limit: number, depth: number): BcdDeviceDescriptor {
  if (depth > MAX_DEVICE_DEPTH) fail(at, `devices nested deeper than ${MAX_DEVICE_DEPTH}`);
  if (limit - at < DEVICE_HEADER_SIZE) {
    fail(at, `${limit - at} bytes left, too few for a descriptor header (16)`, {
      expected: DEVICE_HEADER_SIZE,
      actual: limit - at,
    });
  }
  const deviceType = v.u32le(at);
  const flags = v.u32le(at + 4);
  const size = v.u32le(at + 8);
  const reserved = v.u32le(at + 12);
  if (size < DEVICE_HEADER_SIZE || size > limit - at) {
    fail(at + 8, `descriptor Size ${hex(size)} does not fit the ${limit - at} bytes that hold it`, {
      expected: `16..${limit - at}`,
      actual: size,
    });
  }
  const end = at + size;
  const p = at + DEVICE_HEADER_SIZE;
  const header = { deviceType, flags, reserved };
  switch (deviceType) {
    case BCD_DEVICE_TYPE.BOOT:
      return { kind: 'boot', ...header, payload: copy(v.slice(p, end - p)) };
    case BCD_DEVICE_TYPE.PARTITION:
      return decodePartition(v, at, end, depth, header);
    case BCD_DEVICE_TYPE.LOCATE:
      return decodeLocate(v, at, end, depth, header);
    case BCD_DEVICE_TYPE.BLOCK_IO:
      return decodeBlockIo(v, at, end, depth, header);
    default:
      return { kind: 'unknown', ...header, payload: copy(v.slice(p, end - p)) };
  }
}

function decodePartition(
  v: ByteView,
  at: number,
  end: number,
  depth: number,
  header: DescriptorHeader,
): BcdPartitionDescriptor {
  const p = at + DEVICE_HEADER_SIZE;
  if (end - p < PARTITION_FIXED) {
    fail(
      at + 8,
      `partition descriptor of ${end - at} bytes, needs at least ${DEVICE_HEADER_SIZE + PARTITION_FIXED}`,
    );
  }
  const partitionId = copy(v.slice(p, 16));
  const blockType = v.u32le(p + 16);
  const style = v.u32le(p + 20);
  const diskId = copy(v.slice(p + 24, 16));
  let vhdFile: BcdDeviceDescriptor | null = null;
  let restAt = p + PARTITION_FIXED;
  // VHD form (§7.7): the file descriptor of the virtual disk follows the fixed fields.
  if (blockType === BCD_BLOCK_TYPE.VIRTUAL_DISK && holdsDescriptor(v, restAt, end)) {
    vhdFile = decodeDescriptor(v, restAt, end, depth + 1);
    restAt += descriptorSize(v, restAt);
  }
  const mbr = style === BCD_PARTITION_STYLE.MBR;
  const gpt = style === BCD_PARTITION_STYLE.GPT;
  return {
    kind: 'partition',
    ...header,
    blockType,
    style,
    partitionId,
    diskId,
    diskSignature: mbr ? v.u32le(p + 24) : null,
    partitionOffset: mbr ? v.u64le(p) : null,
    diskGuid: gpt ? `{${formatGuid(diskId)}}` : null,
    partitionGuid: gpt ? `{${formatGuid(partitionId)}}` : null,
    vhdFile,
    rest: copy(v.slice(restAt, end - restAt)),
  };
}

/** A NUL-terminated UTF-16LE string filling [at, end): text, whether it was terminated, bytes after the NUL. */
function decodePath(
  v: ByteView,
  at: number,
  end: number,
): { path: string; pathTerminated: boolean; pathExtra: Uint8Array } {
  const b = v.slice(at, end - at);
  let nul = -1;
  for (let i = 0; i + 1 < b.length; i += 2) {
    if (b[i] === 0 && b[i + 1] === 0) {
      nul = i;
      break;
    }
  }
  if (nul < 0)
    return { path: decodeUtf16(b, true), pathTerminated: false, pathExtra: copy(b.subarray(b.length & ~1)) };
  return {
    path: decodeUtf16(b.subarray(0, nul), true),
    pathTerminated: true,
    pathExtra: copy(b.subarray(nul + 2)),
  };
}

function decodeLocate(
  v: ByteView,
  at: number,
  end: number,
  depth: number,
  header: DescriptorHeader,
): BcdLocateDescriptor {
  const p = at + DEVICE_HEADER_SIZE;
  if (end - p < LOCATE_FIXED) {
    fail(
      at + 8,
      `locate descriptor of ${end - at} bytes, needs at least ${DEVICE_HEADER_SIZE + LOCATE_FIXED}`,
    );
  }
  const locateType = v.u32le(p);
  const elementType = v.u32le(p + 4);
  const parentOffset = v.u32le(p + 8);
  const pathAt = p + LOCATE_FIXED;
  let pathEnd = end;
  let parent: BcdDeviceDescriptor | null = null;
  let restAt = end;
  if (parentOffset !== 0) {
    // [I] bcd.md §7.5: counted from the start of this descriptor's header.
    if (parentOffset < pathAt - at || parentOffset >= end - at) {
      fail(
        p + 8,
        `locate parent offset ${hex(parentOffset)} lies outside the descriptor's ${end - at} bytes`,
      );
    }
    pathEnd = at + parentOffset;
    parent = decodeDescriptor(v, pathEnd, end, depth + 1);
    restAt = pathEnd + descriptorSize(v, pathEnd);
  }
  return {
    kind: 'locate',
    ...header,
    locateType,
    elementType,
    ...decodePath(v, pathAt, pathEnd),
    parent,
    rest: copy(v.slice(restAt, end - restAt)),
  };
}

function decodeBlockIo(
  v: ByteView,
  at: number,
  end: number,
  depth: number,
  header: DescriptorHeader,
): BcdDeviceDescriptor {
  const p = at + DEVICE_HEADER_SIZE;
  if (end - p < 4) fail(at + 8, `block device descriptor of ${end - at} bytes has no BlockType`);
  const blockType = v.u32le(p);
  switch (blockType) {
    case BCD_BLOCK_TYPE.RAMDISK: {
      if (end - p < RAMDISK_FIXED + PATH_BLOCK_FIXED) {
        fail(at + 8, `ramdisk descriptor of ${end - at} bytes is shorter than its fixed fields`);
      }
      const block = decodePathBlock(v, p + RAMDISK_FIXED, end, depth);
      return {
        kind: 'ramdisk',
        ...header,
        imageBase: v.u64le(p + 4),
        imageSize: v.u64le(p + 12),
        imageOffset: v.u32le(p + 20),
        ...block.value,
        rest: copy(v.slice(block.end, end - block.end)),
      };
    }
    case BCD_BLOCK_TYPE.FILE: {
      if (end - p < 4 + PATH_BLOCK_FIXED)
        fail(at + 8, `file descriptor of ${end - at} bytes is shorter than its fixed fields`);
      const block = decodePathBlock(v, p + 4, end, depth);
      return { kind: 'file', ...header, ...block.value, rest: copy(v.slice(block.end, end - block.end)) };
    }
    case BCD_BLOCK_TYPE.VIRTUAL_DISK: {
      if (end - p < VIRTUAL_DISK_FIXED) {
        return { kind: 'block', ...header, blockType, payload: copy(v.slice(p + 4, end - p - 4)) };
      }
      let restAt = p + VIRTUAL_DISK_FIXED;
      let file: BcdDeviceDescriptor | null = null;
      if (holdsDescriptor(v, restAt, end)) {
        file = decodeDescriptor(v, restAt, end, depth + 1);
        restAt += descriptorSize(v, restAt);
      }
      return {
        kind: 'virtualDisk',
        ...header,
        fields: copy(v.slice(p + 4, 20)),
        file,
        rest: copy(v.slice(restAt, end - restAt)),
      };
    }
    default:
      return { kind: 'block', ...header, blockType, payload: copy(v.slice(p + 4, end - p - 4)) };
  }
}

/** Version/Length/PathType at `at`; Length counts from Version to the end of the path (§7.6 [C]). */
function decodePathBlock(
  v: ByteView,
  at: number,
  end: number,
  depth: number,
): { value: BcdPathBlock; end: number } {
  const version = v.u32le(at);
  const length = v.u32le(at + 4);
  const pathType = v.u32le(at + 8);
  if (length < PATH_BLOCK_FIXED + DEVICE_HEADER_SIZE || length > end - at) {
    fail(at + 4, `path block Length ${hex(length)} does not fit the ${end - at} bytes that hold it`, {
      expected: `${PATH_BLOCK_FIXED + DEVICE_HEADER_SIZE}..${end - at}`,
      actual: length,
    });
  }
  const blockEnd = at + length;
  const parentAt = at + PATH_BLOCK_FIXED;
  const parent = decodeDescriptor(v, parentAt, blockEnd, depth + 1);
  const pathAt = parentAt + descriptorSize(v, parentAt);
  return { value: { version, pathType, parent, ...decodePath(v, pathAt, blockEnd) }, end: blockEnd };
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding: the same layouts, Size and Length recomputed from the parts.

class Writer {
  private readonly parts: Uint8Array[] = [];
  length = 0;
  bytes(b: Uint8Array): void {
    this.parts.push(b);
    this.length += b.length;
  }
  u32(n: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n >>> 0, true);
    this.bytes(b);
  }
  u64(n: bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, n), true);
    this.bytes(b);
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** Encodes a device element value; decodeBcdDevice(encodeBcdDevice(d)) equals d and the reverse holds too. */
export function encodeBcdDevice(device: BcdDevice): Uint8Array {
  const w = new Writer();
  const options = device.options === null ? new Uint8Array(16) : parseGuid(device.options);
  if (!options) {
    throw new BootprobeError('BCD_DEVICE', `BCD device options ${device.options} is not a GUID`, {
      structure: 'bcd.device',
      hint: 'give the options object as a braced GUID, {8-4-4-4-12 hex digits}',
      kind: 'usage',
    });
  }
  w.bytes(options);
  w.bytes(encodeDescriptor(device.descriptor));
  w.bytes(device.trailing);
  return w.finish();
}

function encodePath(path: string, terminated: boolean, extra: Uint8Array): Uint8Array {
  const w = new Writer();
  w.bytes(encodeUtf16le(path));
  if (terminated) w.bytes(new Uint8Array(2));
  w.bytes(extra);
  return w.finish();
}

function encodePathBlock(b: BcdPathBlock): Uint8Array {
  const parent = encodeDescriptor(b.parent);
  const path = encodePath(b.path, b.pathTerminated, b.pathExtra);
  const w = new Writer();
  w.u32(b.version);
  w.u32(PATH_BLOCK_FIXED + parent.length + path.length);
  w.u32(b.pathType);
  w.bytes(parent);
  w.bytes(path);
  return w.finish();
}

function payloadOf(d: BcdDeviceDescriptor): Uint8Array {
  const w = new Writer();
  switch (d.kind) {
    case 'boot':
    case 'unknown':
      w.bytes(d.payload);
      break;
    case 'partition':
      w.bytes(fixed(d.partitionId, 16, 'partition id'));
      w.u32(d.blockType);
      w.u32(d.style);
      w.bytes(fixed(d.diskId, 16, 'disk id'));
      if (d.vhdFile) w.bytes(encodeDescriptor(d.vhdFile));
      w.bytes(d.rest);
      break;
    case 'locate': {
      const path = encodePath(d.path, d.pathTerminated, d.pathExtra);
      w.u32(d.locateType);
      w.u32(d.elementType);
      w.u32(d.parent ? DEVICE_HEADER_SIZE + LOCATE_FIXED + path.length : 0);
      w.bytes(path);
      if (d.parent) w.bytes(encodeDescriptor(d.parent));
      w.bytes(d.rest);
      break;
    }
    case 'ramdisk':
      w.u32(BCD_BLOCK_TYPE.RAMDISK);
      w.u64(d.imageBase);
      w.u64(d.imageSize);
      w.u32(d.imageOffset);
      w.bytes(encodePathBlock(d));
      w.bytes(d.rest);
      break;
    case 'file':
      w.u32(BCD_BLOCK_TYPE.FILE);
      w.bytes(encodePathBlock(d));
      w.bytes(d.rest);
      break;
    case 'virtualDisk':
      w.u32(BCD_BLOCK_TYPE.VIRTUAL_DISK);
      w.bytes(fixed(d.fields, 20, 'virtual disk fields'));
      if (d.file) w.bytes(encodeDescriptor(d.file));
      w.bytes(d.rest);
      break;
    case 'block':
      w.u32(d.blockType);
      w.bytes(d.payload);
      break;
  }
  return w.finish();
}

function fixed(b: Uint8Array, n: number, what: string): Uint8Array {
  if (b.length !== n) {
    throw new BootprobeError('BCD_DEVICE', `BCD device ${what} must be ${n} bytes, got ${b.length}`, {
      structure: 'bcd.device',
      hint: 'build the descriptor with the field sizes of bcd.md §7',
      kind: 'usage',
    });
  }
  return b;
}

export function encodeDescriptor(d: BcdDeviceDescriptor): Uint8Array {
  const payload = payloadOf(d);
  const w = new Writer();
  w.u32(d.deviceType);
  w.u32(d.flags);
  w.u32(DEVICE_HEADER_SIZE + payload.length);
  w.u32(d.reserved);
  w.bytes(payload);
  return w.finish();
}

// ---------------------------------------------------------------------------------------------------------------
// Builders for the forms a writer needs (bcd.md §7.3–§7.5, §9 generalize).

/** An MBR `partition=` device (§7.3): disk signature and partition start in bytes. */
export function mbrPartitionDevice(diskSignature: number, partitionOffset: bigint): BcdDevice {
  const partitionId = new Uint8Array(16);
  new DataView(partitionId.buffer).setBigUint64(0, partitionOffset, true);
  const diskId = new Uint8Array(16);
  new DataView(diskId.buffer).setUint32(0, diskSignature >>> 0, true);
  return partitionDevice(BCD_PARTITION_STYLE.MBR, partitionId, diskId);
}

/** A GPT `partition=` device (§7.3): disk GUID and unique partition GUID. */
export function gptPartitionDevice(diskGuid: string, partitionGuid: string): BcdDevice {
  const d = parseGuid(diskGuid);
  const p = parseGuid(partitionGuid);
  if (!d || !p) {
    throw new BootprobeError('BCD_DEVICE', `not GUIDs: ${diskGuid}, ${partitionGuid}`, {
      structure: 'bcd.device',
      hint: 'give GUIDs as a braced GUID, {8-4-4-4-12 hex digits}',
      kind: 'usage',
    });
  }
  return partitionDevice(BCD_PARTITION_STYLE.GPT, p, d);
}

function partitionDevice(style: number, partitionId: Uint8Array, diskId: Uint8Array): BcdDevice {
  const v = new ByteView(diskId);
  const mbr = style === BCD_PARTITION_STYLE.MBR;
  return {
    options: null,
    trailing: new Uint8Array(0),
    descriptor: {
      kind: 'partition',
      deviceType: BCD_DEVICE_TYPE.PARTITION,
      flags: 0,
      reserved: 0,
      blockType: BCD_BLOCK_TYPE.HARD_DISK,
      style,
      partitionId,
      diskId,
      diskSignature: mbr ? v.u32le(0) : null,
      partitionOffset: mbr ? new ByteView(partitionId).u64le(0) : null,
      diskGuid: mbr ? null : `{${formatGuid(diskId)}}`,
      partitionGuid: mbr ? null : `{${formatGuid(partitionId)}}`,
      vhdFile: null,
      rest: new Uint8Array(16),
    },
  };
}

/** The generalized `locate=` form sysprep writes (§7.5, §9): LocateType 0, the element naming the probe path. */
export function locateDevice(elementType: number): BcdDevice {
  return {
    options: null,
    trailing: new Uint8Array(0),
    descriptor: {
      kind: 'locate',
      deviceType: BCD_DEVICE_TYPE.LOCATE,
      flags: 0,
      reserved: 0,
      locateType: BCD_LOCATE_TYPE.ELEMENT,
      elementType,
      path: '',
      pathTerminated: true,
      pathExtra: new Uint8Array(0),
      parent: null,
      rest: new Uint8Array(0),
    },
  };
}

/** The `boot` device (§7.4): header {5, 0, 0x48, 0} and 56 zero bytes. */
export function bootDevice(): BcdDevice {
  return {
    options: null,
    trailing: new Uint8Array(0),
    descriptor: {
      kind: 'boot',
      deviceType: BCD_DEVICE_TYPE.BOOT,
      flags: 0,
      reserved: 0,
      payload: new Uint8Array(56),
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Display (bcd.md §4 table, §7.3–§7.7 "bcdedit prints").

export interface DeviceDisplayContext {
  readonly verbose: boolean;
  /** A name for a partition device (e.g. the partition's place inside the image), or null when not found. */
  readonly resolvePartition?: ((device: BcdPartitionDescriptor) => string | null) | undefined;
  /** The text of another element of the same object (locate devices print the value they probe for). */
  readonly elementText: (type: number) => string | null;
  /** How a GUID reference prints (alias or '{guid}'). */
  readonly reference: (guid: string) => string;
}

/** How a partition prints when nobody resolved it: bcdedit's `unknown`, or our detail in verbose mode (§7.3). */
export function describePartition(d: BcdPartitionDescriptor): string {
  if (d.diskSignature !== null && d.partitionOffset !== null) {
    return `{disk sig 0x${hex8(d.diskSignature)}, offset ${d.partitionOffset}}`;
  }
  if (d.diskGuid !== null && d.partitionGuid !== null)
    return `{disk ${d.diskGuid}, partition ${d.partitionGuid}}`;
  return `{style ${d.style}, disk ${toHex(d.diskId)}, partition ${toHex(d.partitionId)}}`;
}

function partitionName(d: BcdPartitionDescriptor, ctx: DeviceDisplayContext): string | null {
  const name = ctx.resolvePartition?.(d) ?? null;
  if (name !== null) return name;
  return ctx.verbose ? describePartition(d) : null;
}

/** The text inside `[...]` for a parent device: `boot`, a partition name, `unknown`, … (§7.6). */
function bracket(d: BcdDeviceDescriptor, ctx: DeviceDisplayContext): string {
  if (d.kind === 'partition' && !d.vhdFile) return partitionName(d, ctx) ?? 'unknown';
  return formatDescriptor(d, ctx);
}

/** The `vhd=[host]path` text of a VHD form, or null when `d` is not one (§7.7). */
function vhdText(d: BcdDeviceDescriptor, ctx: DeviceDisplayContext): string | null {
  const file = d.kind === 'partition' ? d.vhdFile : d.kind === 'virtualDisk' ? d.file : null;
  if (!file || file.kind !== 'file') return null;
  return `vhd=[${bracket(file.parent, ctx)}]${file.path}`;
}

function unknownText(d: BcdDeviceDescriptor, ctx: DeviceDisplayContext): string {
  return ctx.verbose ? `unknown (${toHex(encodeDescriptor(d))})` : 'unknown';
}

export function formatDescriptor(d: BcdDeviceDescriptor, ctx: DeviceDisplayContext): string {
  switch (d.kind) {
    case 'boot':
      return 'boot';
    case 'partition': {
      const vhd = vhdText(d, ctx);
      if (vhd) return vhd;
      const name = partitionName(d, ctx);
      // Offline, bcdedit prints `unknown` for a disk it cannot find (known-answers.md §1).
      return name === null ? 'unknown' : `partition=${name}`;
    }
    case 'locate': {
      const vhd = d.parent ? vhdText(d.parent, ctx) : null;
      if (vhd) return `${vhd},locate=custom:${hex8(d.elementType)}`;
      if (d.locateType === BCD_LOCATE_TYPE.STRING) return `locate=${d.path}`; // [I] §7.5
      if (d.locateType === BCD_LOCATE_TYPE.ELEMENT || d.locateType === BCD_LOCATE_TYPE.ELEMENT_CHILD) {
        return `locate=${ctx.elementText(d.elementType) ?? 'unknown'}`;
      }
      return 'locate=unknown';
    }
    case 'ramdisk':
      return `ramdisk=[${bracket(d.parent, ctx)}]${d.path}`;
    case 'file':
      return `file=[${bracket(d.parent, ctx)}]${d.path}`;
    case 'virtualDisk':
      return vhdText(d, ctx) ?? unknownText(d, ctx);
    case 'block':
    case 'unknown':
      return unknownText(d, ctx);
  }
}

/** The text bcdedit prints for a device element value. */
export function formatBcdDevice(device: BcdDevice, ctx: DeviceDisplayContext): string {
  const text = formatDescriptor(device.descriptor, ctx);
  // Only ramdisks carry an options object (§7.1); bcdedit appends it, aliased when well known (§7.6).
  if (device.descriptor.kind === 'ramdisk' && device.options !== null)
    return `${text},${ctx.reference(device.options)}`;
  return text;
}

/** A plain JSON view of a device (for --json). */
export function deviceToJson(d: BcdDeviceDescriptor): Record<string, unknown> {
  const base = { kind: d.kind, deviceType: d.deviceType, flags: d.flags };
  switch (d.kind) {
    case 'boot':
      return base;
    case 'partition':
      return {
        ...base,
        blockType: d.blockType,
        style:
          d.style === BCD_PARTITION_STYLE.MBR ? 'mbr' : d.style === BCD_PARTITION_STYLE.GPT ? 'gpt' : d.style,
        ...(d.diskSignature !== null ? { diskSignature: `0x${hex8(d.diskSignature)}` } : {}),
        ...(d.partitionOffset !== null ? { partitionOffset: jsonInteger(d.partitionOffset) } : {}),
        ...(d.diskGuid !== null ? { diskGuid: d.diskGuid, partitionGuid: d.partitionGuid } : {}),
        ...(d.vhdFile ? { vhdFile: deviceToJson(d.vhdFile) } : {}),
      };
    case 'locate':
      return {
        ...base,
        locateType: d.locateType,
        element: `0x${hex8(d.elementType)}`,
        path: d.path,
        parent: d.parent ? deviceToJson(d.parent) : null,
      };
    case 'ramdisk':
    case 'file':
      return { ...base, path: d.path, parent: deviceToJson(d.parent) };
    case 'virtualDisk':
      return { ...base, file: d.file ? deviceToJson(d.file) : null };
    case 'block':
      return { ...base, blockType: d.blockType, payload: toHex(d.payload) };
    case 'unknown':
      return { ...base, payload: toHex(d.payload) };
  }
}

/** A u64 for JSON: a number when safe, else its decimal string (never a silently rounded number). */
export const jsonInteger = (n: bigint): number | string =>
  n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
