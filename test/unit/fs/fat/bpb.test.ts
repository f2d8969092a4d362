// docs/boot-sectors.md §4.2 and fatgen103 "Boot Sector and BPB", "FAT Type Determination".
import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../../src/errors.js';
import { decodeFatBpb } from '../../../../src/fs/fat/bpb.js';
import { ByteView } from '../../../../src/io/index.js';
import { FAT_FIXTURES, fatAnswer, fatImage } from './fat-fixtures.js';

interface Geometry {
  bps?: number;
  spc?: number;
  reserved?: number;
  fats?: number;
  rootEntries?: number;
  total: number;
  fat16?: number;
  fat32?: number;
  rootCluster?: number;
  typeString?: string;
}

/** A boot sector with the given BPB fields (FAT32 layout when fat32 is given). */
function bootSector(g: Geometry): Uint8Array {
  const b = new Uint8Array(512);
  const dv = new DataView(b.buffer);
  b.set([0xeb, 0x58, 0x90], 0);
  b.set(new TextEncoder().encode('TESTOEM '), 3);
  dv.setUint16(0x0b, g.bps ?? 512, true);
  b[0x0d] = g.spc ?? 1;
  dv.setUint16(0x0e, g.reserved ?? (g.fat32 ? 32 : 1), true);
  b[0x10] = g.fats ?? 2;
  dv.setUint16(0x11, g.rootEntries ?? (g.fat32 ? 0 : 512), true);
  if (g.total < 0x10000) dv.setUint16(0x13, g.total, true);
  else dv.setUint32(0x20, g.total, true);
  b[0x15] = 0xf8;
  dv.setUint16(0x16, g.fat16 ?? 0, true);
  const ext = g.fat32 ? 0x40 : 0x24;
  if (g.fat32) {
    dv.setUint32(0x24, g.fat32, true);
    dv.setUint32(0x2c, g.rootCluster ?? 2, true);
    dv.setUint16(0x30, 1, true);
    dv.setUint16(0x32, 6, true);
  }
  b[ext + 2] = 0x29;
  dv.setUint32(ext + 3, 0x1234abcd, true);
  b.set(new TextEncoder().encode('MY LABEL   '), ext + 7);
  b.set(new TextEncoder().encode((g.typeString ?? 'FAT16').padEnd(8)), ext + 0x12);
  b[510] = 0x55;
  b[511] = 0xaa;
  return b;
}

const decode = (b: Uint8Array, volumeSize = 1 << 30) =>
  decodeFatBpb(new ByteView(b, 0, 'fat.bpb'), volumeSize);

function expectBpbError(b: Uint8Array, offset: number, volumeSize?: number): BootprobeError {
  try {
    decode(b, volumeSize);
  } catch (e) {
    expect(e).toBeInstanceOf(BootprobeError);
    const err = e as BootprobeError;
    expect(err.code).toBe('FAT_BPB');
    expect(err.offset).toBe(offset);
    expect(err.hint).toBeTruthy();
    return err;
  }
  throw new Error('expected FAT_BPB');
}

describe('BPB known answers — mkfs.fat volumes against fsck.fat -v and minfo (scripts/fixtures/fat.sh)', () => {
  for (const name of FAT_FIXTURES) {
    it(`${name}: type, cluster size, cluster count, serial and BPB label`, () => {
      const a = fatAnswer(name);
      const img = fatImage(name);
      const bpb = decode(img.subarray(0, 512), img.length);
      expect(bpb.type).toBe(a.type);
      expect(bpb.clusterSize).toBe(a.clusterSize);
      expect(bpb.clusterCount).toBe(a.clusterCount);
      expect(bpb.serial).toBe(a.serial);
      expect(bpb.bpbLabel).toBe(a.label);
      expect(bpb.oemName).toBe('mkfs.fat');
      expect(bpb.fatCount).toBe(2);
      expect(bpb.dataOffset).toBeLessThan(img.length);
    });
  }

  it('fat32: root cluster 2, FSInfo at sector 1, backup boot sector at 6, FAT mirrored', () => {
    const bpb = decode(fatImage('fat32').subarray(0, 512));
    expect(bpb).toMatchObject({
      rootCluster: 2,
      fsInfoSector: 1,
      backupBootSector: 6,
      rootEntryCount: 0,
      rootDirSize: 0,
      mirroringDisabled: false,
      activeFat: 0,
      typeString: 'FAT32',
    });
  });

  it('fat16-4k: 4096-byte sectors', () => {
    const bpb = decode(fatImage('fat16-4k').subarray(0, 512));
    expect(bpb.bytesPerSector).toBe(4096);
    expect(bpb.fatOffset % 4096).toBe(0);
  });
});

describe('FAT type determination by cluster count — fatgen103 (boot-sectors.md §4.2 [I], settled here)', () => {
  // Reserved 1 + 2 FATs of 32 sectors + 32 root-directory sectors = 97 sectors before the data.
  const small = (clusters: number) => bootSector({ total: clusters + 97, fat16: 32 });
  // Reserved 32 + 2 FATs of 512 sectors, FAT32 layout.
  const big = (clusters: number) =>
    bootSector({ total: clusters + 32 + 1024, fat32: 512, typeString: 'FAT32' });

  it('4084 clusters is FAT12, 4085 is FAT16', () => {
    expect(decode(small(4084)).type).toBe('fat12');
    expect(decode(small(4085)).type).toBe('fat16');
  });

  it('65524 clusters is FAT16, 65525 is FAT32', () => {
    expect(decode(bootSector({ total: 65524 + 1 + 512 + 32, fat16: 256 })).type).toBe('fat16');
    expect(decode(big(65525)).type).toBe('fat32');
  });

  it('the type string does not decide: a FAT16 volume whose string says FAT32 stays FAT16', () => {
    const img = fatImage('fat16');
    img.set(new TextEncoder().encode('FAT32   '), 0x36);
    const bpb = decode(img.subarray(0, 512));
    expect(bpb.type).toBe('fat16');
    expect(bpb.typeString).toBe('FAT32');
  });

  it('the OEM name does not decide either', () => {
    const b = small(4085);
    b.set(new TextEncoder().encode('MSDOS5.0'), 3);
    expect(decode(b).type).toBe('fat16');
  });

  it('a FAT32-style BPB with too few clusters for FAT32 has no root directory: FAT_BPB', () => {
    expectBpbError(big(65524), 0x11);
  });

  it('a FAT16-style BPB with FAT32 cluster counts: FAT_BPB', () => {
    expectBpbError(bootSector({ total: 70000 + 1 + 1100 + 32, fat16: 550 }), 0x11);
  });
});

describe('BPB validation — every bad field is FAT_BPB at its offset', () => {
  const good = () => bootSector({ total: 8000, fat16: 32 });

  it('the baseline is valid', () => {
    expect(decode(good()).type).toBe('fat16');
  });

  for (const bps of [0, 256, 513, 3000, 8192]) {
    it(`bytes per sector ${bps}`, () => {
      const b = good();
      new DataView(b.buffer).setUint16(0x0b, bps, true);
      expectBpbError(b, 0x0b);
    });
  }

  for (const spc of [0, 3, 6, 255]) {
    it(`sectors per cluster ${spc}`, () => {
      const b = good();
      b[0x0d] = spc;
      expectBpbError(b, 0x0d);
    });
  }

  it('reserved sectors 0', () => {
    const b = good();
    b[0x0e] = 0;
    expectBpbError(b, 0x0e);
  });

  for (const fats of [0, 9, 255]) {
    it(`FAT count ${fats}`, () => {
      const b = good();
      b[0x10] = fats;
      expectBpbError(b, 0x10);
    });
  }

  it('total sectors 0', () => {
    const b = good();
    new DataView(b.buffer).setUint16(0x13, 0, true);
    expectBpbError(b, 0x20);
  });

  it('FAT size 0 in both the 16-bit and the 32-bit field', () => {
    const b = good();
    new DataView(b.buffer).setUint16(0x16, 0, true);
    new DataView(b.buffer).setUint32(0x24, 0, true);
    expectBpbError(b, 0x24);
  });

  it('a FAT too small for the cluster count', () => {
    expectBpbError(bootSector({ total: 60000, fat16: 8 }), 0x16);
  });

  it('a data region past the total sector count', () => {
    expectBpbError(bootSector({ total: 90, fat16: 32 }), 0x13);
  });

  it('FATs and root directory past the end of the volume', () => {
    const err = expectBpbError(good(), 0x16, 20 * 512);
    expect(err.data).toMatchObject({ expected: 20 * 512 });
  });

  it('FAT32 root cluster outside the data clusters', () => {
    for (const rootCluster of [0, 1, 65525 + 2, 0x0fffffff]) {
      expectBpbError(bootSector({ total: 65525 + 32 + 1024, fat32: 512, rootCluster }), 0x2c);
    }
  });

  it('FAT32 active FAT beyond the FAT count (mirroring disabled)', () => {
    const b = bootSector({ total: 65525 + 32 + 1024, fat32: 512 });
    new DataView(b.buffer).setUint16(0x28, 0x83, true);
    expectBpbError(b, 0x28);
    new DataView(b.buffer).setUint16(0x28, 0x81, true);
    expect(decode(b)).toMatchObject({ mirroringDisabled: true, activeFat: 1 });
  });

  it('a boot sector cut short is TRUNCATED, not a RangeError', () => {
    for (const len of [0, 11, 20, 0x24, 0x40]) {
      const b = fatImage('fat32').subarray(0, len);
      expect(() => decode(b)).toThrow(BootprobeError);
    }
  });

  it('"NO NAME" and a missing extended BPB give no label', () => {
    const b = good();
    b.set(new TextEncoder().encode('NO NAME    '), 0x2b);
    expect(decode(b).bpbLabel).toBeNull();
    b[0x26] = 0;
    expect(decode(b)).toMatchObject({ bpbLabel: null, serial: null, typeString: null });
  });
});
