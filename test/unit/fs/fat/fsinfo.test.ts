// fatgen103 "FAT32 FSInfo Sector Structure"; docs/boot-sectors.md §4.2 ("RRaA" at 0, "rrAa" at 0x1E4).
import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../../src/errors.js';
import { decodeFsInfo } from '../../../../src/fs/fat/fsinfo.js';
import { ByteView } from '../../../../src/io/index.js';
import { fatAnswer, fatImage } from './fat-fixtures.js';

const sector = () => fatImage('fat32').slice(512, 1024);
const decode = (b: Uint8Array) => decodeFsInfo(new ByteView(b, 512, 'fat.fsinfo'));

describe('FSInfo — fatgen103', () => {
  it('fat32 fixture: free count and next-free as mkfs.fat + mtools left them', () => {
    const fi = decode(sector());
    const a = fatAnswer('fat32');
    expect(fi.freeClusters).not.toBeNull();
    expect(fi.freeClusters!).toBeLessThan(a.clusterCount);
    expect(fi.freeClusters!).toBeGreaterThan(a.clusterCount - 2000);
    expect(fi.trailSignatureValid).toBe(true);
  });

  it('0xFFFFFFFF means unknown', () => {
    const b = sector();
    b.fill(0xff, 0x1e8, 0x1f0);
    expect(decode(b)).toMatchObject({ freeClusters: null, nextFree: null });
  });

  it('a wrong lead signature is FAT_BPB at the sector, a wrong structure signature at 0x1E4', () => {
    const b = sector();
    b[0] = 0;
    expect(() => decode(b)).toThrow(BootprobeError);
    try {
      decode(b);
    } catch (e) {
      expect((e as BootprobeError).offset).toBe(512);
    }
    const c = sector();
    c[0x1e4] = 0;
    try {
      decode(c);
      throw new Error('no error');
    } catch (e) {
      expect((e as BootprobeError).code).toBe('FAT_BPB');
      expect((e as BootprobeError).offset).toBe(512 + 0x1e4);
    }
  });

  it('a short sector is TRUNCATED', () => {
    expect(() => decode(sector().subarray(0, 0x1e6))).toThrow(BootprobeError);
  });
});
