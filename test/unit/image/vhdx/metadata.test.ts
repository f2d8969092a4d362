// VHDX metadata region and parent locator — vhd-vhdx.md §2.4: table, the six known items, refusal of unknown
// required items, the locator's key/value layout and the order its paths are tried in.
import { describe, expect, it } from 'vitest';
import {
  decodeFileParameters,
  decodeMetadataTable,
  decodeSectorSize,
  decodeVirtualSize,
  METADATA_ITEM,
  readMetadata,
} from '../../../../src/image/vhdx/metadata.js';
import {
  acceptedLinkages,
  decodeParentLocator,
  parentCandidates,
  stripWin32Prefix,
} from '../../../../src/image/vhdx/parent-locator.js';
import { ByteView } from '../../../../src/io/byte-view.js';
import { MemoryDevice } from '../../../../src/io/memory-device.js';
import {
  encodeMetadataRegion,
  encodeParentLocator,
  guidBytes,
  ITEM_GUID,
  type ItemSpec,
  le32,
  le64,
  MiB,
  memoryFiles,
  typedError,
} from '../../../helpers/vhdx-builder.js';

const u32 = (n: number) => {
  const b = new Uint8Array(4);
  le32(b, 0, n);
  return b;
};
const u64 = (n: number) => {
  const b = new Uint8Array(8);
  le64(b, 0, n);
  return b;
};
const fp = (bs: number, flags: number) => {
  const b = new Uint8Array(8);
  le32(b, 0, bs);
  le32(b, 4, flags);
  return b;
};
const PAGE83 = 'e07babe0-6226-4cbc-8d5b-8daa78417e9b';

function items(over: Partial<Record<keyof typeof ITEM_GUID, Uint8Array | null>> = {}): ItemSpec[] {
  const base: Record<string, [Uint8Array, number]> = {
    FILE_PARAMETERS: [fp(32 * MiB, 0), 4],
    VIRTUAL_DISK_SIZE: [u64(10 * MiB), 6],
    PAGE83: [guidBytes(PAGE83), 6],
    LOGICAL_SECTOR_SIZE: [u32(512), 6],
    PHYSICAL_SECTOR_SIZE: [u32(4096), 6],
  };
  const out: ItemSpec[] = [];
  for (const [k, [data, flags]] of Object.entries(base)) {
    const o = over[k as keyof typeof ITEM_GUID];
    if (o === null) continue;
    out.push({ guid: ITEM_GUID[k as keyof typeof ITEM_GUID], data: o ?? data, flags });
  }
  if (over.PARENT_LOCATOR) out.push({ guid: ITEM_GUID.PARENT_LOCATOR, data: over.PARENT_LOCATOR, flags: 4 });
  return out;
}

/** A file whose metadata region (1 MiB) sits at 1 MiB. */
function metaFile(list: ItemSpec[]): {
  dev: MemoryDevice;
  region: { guid: string; fileOffset: number; length: number; required: boolean };
} {
  const b = new Uint8Array(2 * MiB);
  b.set(encodeMetadataRegion(list), MiB);
  return { dev: new MemoryDevice(b), region: { guid: '', fileOffset: MiB, length: MiB, required: true } };
}
const read = (list: ItemSpec[]) => {
  const { dev, region } = metaFile(list);
  return readMetadata(dev, region);
};

describe('VHDX metadata table — vhd-vhdx.md §2.4', () => {
  it('decodes entries: GUID, offset, length, IsUser/IsVirtualDisk/IsRequired flags (qemu layout, known answer)', () => {
    const region = encodeMetadataRegion(items());
    const t = decodeMetadataTable(new ByteView(region, MiB), MiB);
    expect(t.map((e) => [e.guid, e.offset, e.length, e.isVirtualDisk, e.isRequired])).toEqual([
      [METADATA_ITEM.FILE_PARAMETERS, 0x10000, 8, false, true],
      [METADATA_ITEM.VIRTUAL_DISK_SIZE, 0x11000, 8, true, true],
      [METADATA_ITEM.PAGE83, 0x12000, 16, true, true],
      [METADATA_ITEM.LOGICAL_SECTOR_SIZE, 0x13000, 4, true, true],
      [METADATA_ITEM.PHYSICAL_SECTOR_SIZE, 0x14000, 4, true, true],
    ]);
    expect(t[0]!.entryAt).toBe(MiB + 32);
  });

  it('reads every known item', async () => {
    const m = await read(items());
    expect(m).toMatchObject({
      blockSize: 32 * MiB,
      leaveBlocksAllocated: false,
      hasParent: false,
      virtualSize: 10 * MiB,
      logicalSectorSize: 512,
      physicalSectorSize: 4096,
      page83: PAGE83,
      parentLocator: null,
    });
  });

  it('reads only the table header, its entries and the items (not the whole 64 KiB table)', async () => {
    const { dev, region } = metaFile(items());
    const stats = { bytesRead: 0, reads: 0, bytesWritten: 0, writes: 0 };
    await readMetadata(new MemoryDevice(dev.data, { stats }), region);
    expect(stats.bytesRead).toBeLessThan(512);
  });

  it('an unknown item marked IsRequired is refused; an unknown optional item is ignored', async () => {
    const unknown = '99999999-8888-7777-6666-555555555555';
    await read([...items(), { guid: unknown, data: u32(1), flags: 0 }]);
    const e = await typedError(
      read([...items(), { guid: unknown, data: u32(1), flags: 4 }]),
      'VHDX_METADATA',
    );
    expect(e.kind).toBe('unsupported');
  });

  it('a missing required item, an item listed twice, or an item outside the region is VHDX_METADATA', async () => {
    for (const k of [
      'FILE_PARAMETERS',
      'VIRTUAL_DISK_SIZE',
      'LOGICAL_SECTOR_SIZE',
      'PHYSICAL_SECTOR_SIZE',
    ] as const)
      await typedError(read(items({ [k]: null })), 'VHDX_METADATA');
    const twice = items();
    twice.push(twice[1]!);
    await typedError(read(twice), 'VHDX_METADATA');
    const region = encodeMetadataRegion(items());
    le32(region, 32 + 16, 1000); // item inside the 64 KiB table
    expect(() => decodeMetadataTable(new ByteView(region), MiB)).toThrow(/outside/);
    le32(region, 32 + 16, MiB - 4); // runs past the region
    expect(() => decodeMetadataTable(new ByteView(region), MiB)).toThrow(/outside/);
    const sig = encodeMetadataRegion(items());
    sig[0] = 0x4d;
    expect(() => decodeMetadataTable(new ByteView(sig), MiB)).toThrow(/no VHDX metadata table/);
  });

  it('the page 83 id may be absent (reported as null)', async () => {
    expect((await read(items({ PAGE83: null }))).page83).toBeNull();
  });
});

describe('VHDX metadata items — vhd-vhdx.md §2.4 table', () => {
  const v = (b: Uint8Array) => new ByteView(b, 0x1000);
  it('file parameters: block size a power of two from 1 to 256 MiB; bit0 LeaveBlocksAllocated, bit1 HasParent', () => {
    expect(decodeFileParameters(v(fp(MiB, 1)))).toEqual({
      blockSize: MiB,
      leaveBlocksAllocated: true,
      hasParent: false,
    });
    expect(decodeFileParameters(v(fp(256 * MiB, 2)))).toEqual({
      blockSize: 256 * MiB,
      leaveBlocksAllocated: false,
      hasParent: true,
    });
    for (const bad of [0, MiB / 2, 3 * MiB, 512 * MiB])
      expect(() => decodeFileParameters(v(fp(bad, 0)))).toThrow(/block size/);
  });
  it('sector sizes are 512 or 4096', () => {
    expect(decodeSectorSize(v(u32(4096)), 'logical')).toBe(4096);
    for (const bad of [0, 1024, 520])
      expect(() => decodeSectorSize(v(u32(bad)), 'physical')).toThrow(/512 or 4096/);
  });
  it('virtual size: non-zero, a multiple of the logical sector, at most 64 TB', () => {
    expect(decodeVirtualSize(v(u64(64 * 1024 ** 4)), 4096)).toBe(64 * 1024 ** 4);
    for (const [bad, ss] of [
      [0, 512],
      [1000, 512],
      [512, 4096],
      [64 * 1024 ** 4 + 4096, 4096],
    ] as const)
      expect(() => decodeVirtualSize(v(u64(bad)), ss)).toThrow(/virtual size/);
  });
});

describe('VHDX parent locator — vhd-vhdx.md §2.4 "Parent locator"', () => {
  const pairs: [string, string][] = [
    ['parent_linkage', '{83EDB5A3-9F4B-4A2F-8D1E-2C3B4A5D6E7F}'],
    ['relative_path', '..\\base\\p.vhdx'],
    ['volume_path', '\\\\?\\Volume{26A21BDA-A627-11D7-9931-806E6F6E6963}\\VMs\\p.vhdx'],
    ['absolute_win32_path', '\\\\?\\C:\\VMs\\base\\p.vhdx'],
  ];
  it('decodes the key/value pairs in stored order (known answer)', () => {
    const loc = decodeParentLocator(new ByteView(encodeParentLocator(pairs), 0x30000));
    expect(loc.offset).toBe(0x30000);
    expect(loc.entries).toEqual(pairs.map(([key, value]) => ({ key, value })));
    expect(acceptedLinkages(loc)).toEqual(['83edb5a3-9f4b-4a2f-8d1e-2c3b4a5d6e7f']);
  });

  it('parent_linkage2 is a second accepted DataWriteGuid; parent_linkage is required and must be a GUID', () => {
    const loc = decodeParentLocator(
      new ByteView(
        encodeParentLocator([...pairs, ['parent_linkage2', '{00000000-1111-2222-3333-444444444444}']]),
      ),
    );
    expect(acceptedLinkages(loc)).toHaveLength(2);
    expect(() =>
      acceptedLinkages(decodeParentLocator(new ByteView(encodeParentLocator(pairs.slice(1))))),
    ).toThrow(/no parent_linkage/);
    expect(() =>
      acceptedLinkages(decodeParentLocator(new ByteView(encodeParentLocator([['parent_linkage', 'nope']])))),
    ).toThrow(/not a GUID/);
  });

  it('keys are unique, lengths even and non-zero, strings inside the item; the type GUID must be the VHDX one', () => {
    expect(() => decodeParentLocator(new ByteView(encodeParentLocator([...pairs, pairs[1]!])))).toThrow(
      /twice/,
    );
    const odd = encodeParentLocator(pairs);
    odd[28] = 3; // key length of entry 0
    expect(() => decodeParentLocator(new ByteView(odd))).toThrow(/empty, odd or outside/);
    const out = encodeParentLocator(pairs);
    le32(out, 24, 60000); // value offset of entry 0
    expect(() => decodeParentLocator(new ByteView(out))).toThrow(/outside/);
    const many = encodeParentLocator(pairs);
    many[18] = 0xff;
    expect(() => decodeParentLocator(new ByteView(many))).toThrow(/do not fit/);
    const type = encodeParentLocator(pairs);
    type[0]! ^= 1;
    expect(() => decodeParentLocator(new ByteView(type))).toThrow(/not the VHDX locator type/);
  });

  it('candidates: relative_path beside the child, volume_path, absolute_win32_path without \\\\?\\, then file names beside', () => {
    const loc = decodeParentLocator(new ByteView(encodeParentLocator(pairs)));
    const c = parentCandidates(loc, '/vms/child/c.avhdx', memoryFiles({}));
    expect(c).toEqual([
      { path: '/vms/base/p.vhdx', via: 'relative_path' },
      { path: pairs[2]![1], via: 'volume_path' },
      { path: 'C:\\VMs\\base\\p.vhdx', via: 'absolute_win32_path' },
      { path: '/vms/child/p.vhdx', via: 'relative_path file name beside the child' },
      { path: '/vms/child/p.vhdx', via: 'volume_path file name beside the child' },
      { path: '/vms/child/p.vhdx', via: 'absolute_win32_path file name beside the child' },
    ]);
  });

  it('the Win32 long-path prefix is stripped from drive and UNC paths, not from volume paths', () => {
    expect(stripWin32Prefix('\\\\?\\C:\\p.vhdx')).toBe('C:\\p.vhdx');
    expect(stripWin32Prefix('\\\\?\\UNC\\srv\\share\\p.vhdx')).toBe('\\\\srv\\share\\p.vhdx');
    expect(stripWin32Prefix('\\\\?\\Volume{x}\\p.vhdx')).toBe('\\\\?\\Volume{x}\\p.vhdx');
    expect(stripWin32Prefix('D:\\p.vhdx')).toBe('D:\\p.vhdx');
  });

  it('a differencing disk (HasParent) must carry the locator item', async () => {
    await typedError(read(items({ FILE_PARAMETERS: fp(MiB, 2) })), 'VHDX_METADATA');
    const m = await read(items({ FILE_PARAMETERS: fp(MiB, 2), PARENT_LOCATOR: encodeParentLocator(pairs) }));
    expect(m.parentLocator?.entries).toHaveLength(4);
  });
});
