import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../src/errors.js';
import {
  decodeBaseBlock,
  filetimeToDate,
  regfChecksum,
  tryDecodeBaseBlock,
} from '../../../src/hive/index.js';
import { ByteView } from '../../../src/io/index.js';
import { fixture, u32 } from './fixtures.js';

describe('base block — regf.md §2', () => {
  it('decodes the fields of a hive hivex wrote (known answers from scripts/fixtures/hive.sh)', () => {
    const bb = decodeBaseBlock(new ByteView(fixture('types-v13.hiv').subarray(0, 4096)));
    expect(bb).toMatchObject({
      signature: 'regf',
      primarySequence: 2, // mkbase wrote 1/1; hivex's commit adds one to both
      secondarySequence: 2,
      lastWrittenRaw: 132000000000000000n,
      majorVersion: 1,
      minorVersion: 3,
      fileType: 0,
      fileFormat: 1,
      rootCellOffset: 0x20,
      hiveBinsDataSize: 32768,
      clusteringFactor: 1,
      fileName: 'fixture.hiv',
      checksumValid: true,
    });
    expect(bb.lastWritten?.toISOString()).toBe('2019-04-17T18:40:00.000Z');
    expect(decodeBaseBlock(new ByteView(fixture('types-v15.hiv'))).minorVersion).toBe(5);
  });

  it('checksum = XOR of the 127 words before offset 508', () => {
    const b = fixture('types-v13.hiv');
    let x = 0;
    for (let i = 0; i < 508; i += 4) x ^= new DataView(b.buffer).getUint32(i, true);
    expect(regfChecksum(b)).toBe(x >>> 0);
    expect(new DataView(b.buffer).getUint32(508, true)).toBe(x >>> 0);
  });

  it('checksum 0 is stored as 1 and 0xFFFFFFFF as 0xFFFFFFFE', () => {
    const zero = new Uint8Array(512);
    expect(regfChecksum(zero)).toBe(1);
    const ones = new Uint8Array(512);
    u32(ones, 0, 0xffffffff);
    expect(regfChecksum(ones)).toBe(0xfffffffe);
  });

  it('a wrong checksum decodes with checksumValid false', () => {
    const b = fixture('types-v13.hiv');
    b[100] = b[100]! ^ 1;
    const bb = decodeBaseBlock(new ByteView(b));
    expect(bb.checksumValid).toBe(false);
    expect(bb.checksum).not.toBe(bb.computedChecksum);
  });

  it('a wrong signature throws HIVE_BASE_BLOCK; tryDecode returns null', () => {
    const b = fixture('types-v13.hiv');
    b[0] = 0x52;
    expect(() => decodeBaseBlock(new ByteView(b))).toThrow(
      expect.objectContaining({ code: 'HIVE_BASE_BLOCK', offset: 0 }),
    );
    expect(tryDecodeBaseBlock(b)).toBeNull();
  });

  it('fewer than 512 bytes throw TRUNCATED', () => {
    const b = fixture('types-v13.hiv').subarray(0, 300);
    expect(() => decodeBaseBlock(new ByteView(b))).toThrow(BootprobeError);
    expect(tryDecodeBaseBlock(b)).toBeNull();
  });

  it('FILETIME 0 is no date', () => {
    expect(filetimeToDate(0n)).toBeNull();
    expect(filetimeToDate(116444736000000000n)?.toISOString()).toBe('1970-01-01T00:00:00.000Z');
  });
});
