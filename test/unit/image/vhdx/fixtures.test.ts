// qemu-img/qemu-io fixtures (scripts/fixtures/vhdx.sh) read back as qemu and libvhdi read them: virtual size, block
// size, disk type, the current header's DataWriteGuid, and the sha256 of every byte (vhd-vhdx.md Part 2).
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { openVhdx } from '../../../../src/image/vhdx/vhdx-image.js';
import { newIoStats } from '../../../../src/io/block-device.js';
import { FileDevice } from '../../../../src/io/file-device.js';
import { FIXTURES, tempDir } from '../../../helpers/env.js';
import { MiB, readAll, sha256 } from '../../../helpers/vhdx-builder.js';

interface Entry {
  virtualSize: number;
  blockSize: number;
  fileSize: number;
  rawSha256: string;
  libvhdiDiskType: string;
  libvhdiIdentifier: string;
}
const DIR = path.join(FIXTURES, 'vhdx');
const manifest = JSON.parse(readFileSync(path.join(DIR, 'manifest.json'), 'utf8')) as Record<
  string,
  Entry | string
>;
const names = Object.keys(manifest).filter((k) => !k.startsWith('_'));
const t = tempDir();
afterAll(() => t.cleanup());

/** Inflates a fixture to a temp file (the 256 MiB-block ones are 300 MB: streamed, not held in memory). */
async function fixture(name: string): Promise<string> {
  const out = path.join(t.dir, name);
  await pipeline(createReadStream(path.join(DIR, `${name}.gz`)), createGunzip(), createWriteStream(out));
  return out;
}

describe('qemu-img VHDX fixtures — manifest.json (qemu-img info, qemu-img convert -O raw, vhdiinfo)', () => {
  it('the manifest lists the fixed and dynamic files with 1, 32 and 256 MiB blocks', () => {
    expect(names.sort()).toEqual(
      expect.arrayContaining([
        'fixed-1m.vhdx',
        'fixed-32m.vhdx',
        'fixed-256m.vhdx',
        'dynamic-1m.vhdx',
        'dynamic-32m.vhdx',
        'dynamic-256m.vhdx',
      ]),
    );
  });

  for (const name of names) {
    const want = manifest[name] as Entry;
    it(`${name}: info equals qemu-img and vhdiinfo, every byte equals qemu-img convert`, async () => {
      const stats = newIoStats();
      const img = await openVhdx(await FileDevice.open(await fixture(name), { stats }), { path: name });
      try {
        expect(img.info).toMatchObject({
          format: 'vhdx',
          variant: want.libvhdiDiskType.toLowerCase(),
          virtualSize: want.virtualSize,
          blockSize: want.blockSize,
          logicalSectorSize: 512,
          creator: expect.stringMatching(/^QEMU v/),
          fileSize: want.fileSize,
          parent: null,
        });
        expect(img.info.details).toMatchObject({
          dataWriteGuid: want.libvhdiIdentifier,
          logState: 'clean',
          leaveBlocksAllocated: want.libvhdiDiskType === 'Fixed',
        });
        expect(img.warnings).toEqual([]);
        const data = await readAll(img);
        expect(sha256(data)).toBe(want.rawSha256);
        // The qemu-io writes (vhdx.sh) are where the script put them.
        expect(data[0]).toBe(0x11);
        expect(data[1044480 + 8191]).toBe(0x22);
        expect(data[5 * MiB + 12345]).toBe(0x33);
        expect(data[want.virtualSize - 1]).toBe(0x55);
        expect(data[20 * MiB]).toBe(0);
      } finally {
        await img.close();
      }
    });
  }

  it('fixed (block_state_zero=off): every block is FULLY_PRESENT: the whole disk is data and allocated', async () => {
    for (const name of ['fixed-1m.vhdx', 'fixed-32m.vhdx', 'fixed-256m.vhdx']) {
      const img = await openVhdx(await FileDevice.open(await fixture(name)), {});
      expect(await img.mapRange(0, img.size)).toEqual([{ offset: 0, length: img.size, kind: 'data' }]);
      // The last block is partial (the file even ends inside it): it counts up to the end of the disk only.
      expect(await img.allocatedSize()).toBe(img.size);
      await img.close();
    }
  });

  it("fixed with qemu's default block_state_zero=on: unwritten blocks are ZERO, so the disk is variant fixed but sparse", async () => {
    const img = await openVhdx(await FileDevice.open(await fixture('fixed-1m-zerostate.vhdx')), {});
    expect(img.info.variant).toBe('fixed');
    expect(await img.mapRange(2 * MiB, MiB)).toEqual([{ offset: 2 * MiB, length: MiB, kind: 'zero' }]);
    expect(await img.allocatedSize()).toBe(6 * MiB + 1536);
    await img.close();
  });

  it('dynamic: unwritten blocks map as zero, written ones as data, and only those count as allocated', async () => {
    for (const name of ['dynamic-1m.vhdx', 'dynamic-1m-notpresent.vhdx']) {
      const img = await openVhdx(await FileDevice.open(await fixture(name)), {});
      // Blocks 0, 1 (the 0x22 run crosses into it), 5, 7, 8 (0x44 crosses 8 MiB), 23 and 24 (the tail) are written.
      expect(await img.allocatedSize()).toBe(6 * MiB + 1536);
      expect(await img.mapRange(2 * MiB, 3 * MiB)).toEqual([
        { offset: 2 * MiB, length: 3 * MiB, kind: 'zero' },
      ]);
      expect(await img.mapRange(4 * MiB, 2 * MiB)).toEqual([
        { offset: 4 * MiB, length: MiB, kind: 'zero' },
        { offset: 5 * MiB, length: MiB, kind: 'data' },
      ]);
      await img.close();
    }
  });

  it('a read inside one allocated block is one device read (contiguous ranges coalesce)', async () => {
    const stats = newIoStats();
    const img = await openVhdx(await FileDevice.open(await fixture('fixed-32m.vhdx'), { stats }), {});
    await img.read(0, 64 * 1024); // loads the BAT page
    const reads = stats.reads;
    await img.read(4096, 20 * MiB);
    expect(stats.reads - reads).toBe(1);
    await img.close();
  });
});
