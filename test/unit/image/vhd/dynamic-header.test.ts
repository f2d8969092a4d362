// The VHD dynamic disk header, parent locators and the BAT (docs/vhd-vhdx.md §1.4, §1.5).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { VHD_BAT_UNUSED, VhdBat } from '../../../../src/image/vhd/bat.js';
import { decodeVhdDynamicHeader } from '../../../../src/image/vhd/dynamic-header.js';
import { openVhd } from '../../../../src/image/vhd/vhd-image.js';
import { ByteView, MemoryDevice, newIoStats } from '../../../../src/io/index.js';
import { FIXTURES } from '../../../helpers/env.js';
import { gunzipFile } from '../../../helpers/gunzip.js';
import { buildVhd, idFromSeed, idString, write } from '../../../helpers/vhd-builder.js';

const fixture = (name: string) => gunzipFile(path.join(FIXTURES, 'vhd', `${name}.gz`));
const headerOf = (b: Uint8Array, at = 512) =>
  decodeVhdDynamicHeader(new ByteView(b.subarray(at, at + 1024), at, 'VHD dynamic header'));

describe('VHD dynamic header — vhd-vhdx.md §1.4', () => {
  it('qemu dynamic disk: BAT at 1536, 2 MiB blocks, max table entries = ceil(size / block size)', () => {
    const h = headerOf(fixture('vpc-dynamic.vhd'));
    expect(h).toMatchObject({
      cookie: 'cxsparse',
      tableOffset: 1536,
      headerVersion: 0x00010000,
      maxTableEntries: Math.ceil(10514432 / 2097152),
      blockSize: 2097152,
      parentName: '',
      locators: [],
    });
    expect(h.checksum).toBe(h.computedChecksum);
  });

  it('differencing header: parent id, UTF-16BE parent name, locators with code, length and absolute offset', () => {
    const parentId = idFromSeed(3);
    const built = buildVhd({
      type: 'differencing',
      size: 1 << 20,
      blockSize: 65536,
      parent: {
        uniqueId: parentId,
        name: 'C:\\VMs\\Base disk é.vhd',
        timestamp: 12345,
        locators: [
          { code: 'W2ru', path: '.\\Base disk é.vhd' },
          { code: 'W2ku', path: 'C:\\VMs\\Base disk é.vhd' },
        ],
      },
    });
    const h = headerOf(built.bytes);
    expect(h.parentUniqueId).toBe(idString(parentId));
    expect(h.parentTimestamp).toBe(12345);
    expect(h.parentName).toBe('C:\\VMs\\Base disk é.vhd');
    expect(h.locators).toEqual([
      {
        code: 'W2ru',
        dataSpace: 512,
        dataLength: 34,
        dataOffset: built.layout.locatorsAt[0],
        entryOffset: 512 + 576,
      },
      {
        code: 'W2ku',
        dataSpace: 512,
        dataLength: 44,
        dataOffset: built.layout.locatorsAt[1],
        entryOffset: 512 + 600,
      },
    ]);
    expect(h.checksum).toBe(h.computedChecksum);
  });

  it('entries with platform code 0 are not locators', () => {
    const b = buildVhd({ type: 'dynamic', size: 1 << 20, blockSize: 65536 }).bytes;
    b[512 + 576 + 24 + 8] = 0x55; // a length in an entry whose code is 0
    expect(headerOf(b).locators).toEqual([]);
  });
});

describe('VHD BAT — vhd-vhdx.md §1.5', () => {
  it('entries are big-endian sector numbers of the bitmap; 0xFFFFFFFF is unallocated', async () => {
    const built = buildVhd({
      type: 'dynamic',
      size: 4 << 20,
      blockSize: 1 << 20,
      writes: [write(3 << 20, 512, 1), write(0, 512, 2)],
    });
    const bat = new VhdBat(new MemoryDevice(built.bytes), 1536, 4);
    expect(await bat.entry(0)).toBe(built.layout.blocks.get(0)! / 512);
    expect(await bat.entry(1)).toBe(VHD_BAT_UNUSED);
    expect(await bat.entry(3)).toBe(built.layout.blocks.get(3)! / 512);
    expect(await bat.countAllocated()).toBe(2);
  });

  it('a large BAT is not read at open: a 2 TiB disk (1 Mi entries, 4 MiB BAT) opens reading < 8 KiB', async () => {
    const size = 2 * 1024 ** 4;
    const built = buildVhd({ type: 'dynamic', size, writes: [write(size - 4096, 4096, 9)] });
    const stats = newIoStats();
    const img = await openVhd(new MemoryDevice(built.bytes, { stats }), {});
    expect(img.size).toBe(size);
    expect(stats.bytesRead).toBeLessThan(8192);
    const before = stats.bytesRead;
    expect(await img.read(size - 4096, 4096)).toEqual(write(size - 4096, 4096, 9).data);
    // One 4 KiB BAT page, one bitmap, the data.
    expect(stats.bytesRead - before).toBeLessThanOrEqual(4096 + 512 + 4096);
  });
});
