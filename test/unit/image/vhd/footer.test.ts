// The VHD footer and CHS geometry (docs/vhd-vhdx.md §1.2, §1.3): known answers from qemu-made fixtures and from
// the test builder, the checksum rule, and the creator string `info` prints.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../../src/errors.js';
import {
  decodeVhdFooter,
  describeCreator,
  VHD_DISK_TYPE,
  vhdChecksum,
} from '../../../../src/image/vhd/footer.js';
import { chsForSize, chsSize } from '../../../../src/image/vhd/geometry.js';
import { ByteView } from '../../../../src/io/index.js';
import { FIXTURES } from '../../../helpers/env.js';
import { gunzipFile } from '../../../helpers/gunzip.js';
import { buildVhd, idFromSeed, idString } from '../../../helpers/vhd-builder.js';

const fixture = (name: string) => gunzipFile(path.join(FIXTURES, 'vhd', `${name}.gz`));
const footerOf = (b: Uint8Array, at = b.length - 512) =>
  decodeVhdFooter(new ByteView(b.subarray(at, at + 512), at, 'VHD footer'));

describe('VHD footer — vhd-vhdx.md §1.2', () => {
  it('qemu dynamic disk: every field as qemu-img writes it', () => {
    const b = fixture('vpc-dynamic.vhd');
    const f = footerOf(b);
    expect(f).toMatchObject({
      cookie: 'conectix',
      features: 2,
      formatVersion: 0x00010000,
      dataOffset: 512,
      creatorApp: 'qemu',
      creatorVersion: 0x00050003,
      creatorHostOs: 'Wi2k',
      originalSize: 10514432,
      currentSize: 10514432,
      cylinders: 302,
      heads: 4,
      sectorsPerTrack: 17,
      diskType: VHD_DISK_TYPE.DYNAMIC,
      savedState: 0,
    });
    expect(f.checksum).toBe(f.computedChecksum);
    expect(f.uniqueId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(describeCreator(f)).toBe('qemu 5.3 (Wi2k)');
  });

  it('a dynamic disk carries a byte-identical footer copy at offset 0 (§1.1)', () => {
    const b = fixture('vpc-dynamic.vhd');
    expect(footerOf(b, 0).raw).toEqual(footerOf(b).raw);
  });

  it('a fixed disk has data offset all ones (null) and no copy at offset 0', () => {
    const b = fixture('vpc-fixed.vhd');
    const f = footerOf(b);
    expect(f.dataOffset).toBeNull();
    expect(f.diskType).toBe(VHD_DISK_TYPE.FIXED);
    expect(String.fromCharCode(...b.subarray(0, 8))).not.toBe('conectix');
  });

  it('force_size=on: creator "qem2" and the maximum geometry 65535/16/255 (§1.2 "Virtual size")', () => {
    const f = footerOf(fixture('vpc-dynamic-forcesize.vhd'));
    expect(f.creatorApp).toBe('qem2');
    expect([f.cylinders, f.heads, f.sectorsPerTrack]).toEqual([65535, 16, 255]);
    expect(f.currentSize).toBe(20483 * 1024);
  });

  it('builder footer: unique id bytes in stored order, creator "win 10.0 (Wi2k)", differencing type 4', () => {
    const id = idFromSeed(7);
    const { bytes } = buildVhd({
      type: 'differencing',
      size: 1 << 20,
      blockSize: 65536,
      uniqueId: id,
      parent: { uniqueId: idFromSeed(8), name: 'p.vhd', locators: [] },
    });
    const f = footerOf(bytes);
    expect(f.uniqueId).toBe(idString(id));
    expect(f.uniqueIdBytes).toEqual(id);
    expect(f.diskType).toBe(VHD_DISK_TYPE.DIFFERENCING);
    expect(describeCreator(f)).toBe('win 10.0 (Wi2k)');
  });

  it('checksum: one’s complement of the byte sum with the field taken as zero', () => {
    const b = new Uint8Array(512);
    b[0] = 1;
    b[511] = 2;
    b[64] = 0xff; // inside the field: ignored
    expect(vhdChecksum(b, 64)).toBe(~3 >>> 0);
    const f = footerOf(fixture('vpc-fixed.vhd'));
    const flipped = f.raw.slice();
    flipped[100] = flipped[100]! ^ 1;
    expect(vhdChecksum(flipped, 64)).not.toBe(f.checksum);
  });

  it('a footer shorter than 512 bytes is TRUNCATED at its absolute offset', () => {
    const raw = footerOf(fixture('vpc-fixed.vhd')).raw.subarray(0, 300);
    try {
      decodeVhdFooter(new ByteView(raw, 4096, 'VHD footer'));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(BootprobeError);
      expect((e as BootprobeError).code).toBe('TRUNCATED');
      expect((e as BootprobeError).offset).toBe(4096);
    }
  });
});

describe('VHD CHS geometry — vhd-vhdx.md §1.3', () => {
  it('the spec algorithm gives the corpus geometries 121/4/17, 120/4/17 and 3/4/17', () => {
    // dfvfs-ext2-dynamic.vhd: 4,212,736 bytes; dfvfs-fat-differential.vhd: 4 MiB; dfvfs-image-*.vhd: 104,448.
    expect(chsForSize(4212736)).toEqual({ cylinders: 121, heads: 4, sectorsPerTrack: 17 });
    expect(chsForSize(4 * 1024 * 1024)).toEqual({ cylinders: 120, heads: 4, sectorsPerTrack: 17 });
    expect(chsForSize(104448)).toEqual({ cylinders: 3, heads: 4, sectorsPerTrack: 17 });
  });

  it('qemu (without force_size) stores current size = C×H×S×512 of the spec geometry', () => {
    for (const name of ['vpc-dynamic.vhd', 'vpc-fixed.vhd']) {
      const f = footerOf(fixture(name));
      expect(chsForSize(f.currentSize)).toEqual({
        cylinders: f.cylinders,
        heads: f.heads,
        sectorsPerTrack: f.sectorsPerTrack,
      });
      expect(chsSize(f)).toBe(f.currentSize);
    }
  });

  it('sizes past 65535×16×63 sectors switch to 255 sectors per track; the maximum caps at 65535/16/255', () => {
    expect(chsForSize(65535 * 16 * 63 * 512).sectorsPerTrack).toBe(255);
    expect(chsForSize(65535 * 16 * 63 * 512 - 512).sectorsPerTrack).toBe(63);
    expect(chsForSize(4 * 1024 ** 4)).toEqual({ cylinders: 65535, heads: 16, sectorsPerTrack: 255 });
  });
});
