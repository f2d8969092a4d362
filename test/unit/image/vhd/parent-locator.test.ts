// VHD parent locator data (docs/vhd-vhdx.md §1.4 "Parent locator entry"): the text encodings per platform code and
// the bounds of the data an entry points at.
import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../../src/errors.js';
import {
  decodeVhdLocatorPath,
  decodeWi2,
  readVhdParentLocator,
} from '../../../../src/image/vhd/parent-locator.js';
import { MemoryDevice } from '../../../../src/io/index.js';

const utf16le = (s: string) => {
  const b = new Uint8Array(s.length * 2);
  for (let i = 0; i < s.length; i++) new DataView(b.buffer).setUint16(2 * i, s.charCodeAt(i), true);
  return b;
};
const bytes8 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

describe('W2ru/W2ku — vhd-vhdx.md §1.4: UTF-16 little-endian, no terminator, length = exact bytes', () => {
  it('the corpus Windows strings (dfvfs-fat-differential.vhd: 84 and 32 bytes)', () => {
    const abs = utf16le('C:\\Projects\\dfvfs\\test_data\\fat-parent.vhd');
    expect(abs.length).toBe(84);
    expect(decodeVhdLocatorPath('W2ku', abs)).toBe('C:\\Projects\\dfvfs\\test_data\\fat-parent.vhd');
    const rel = utf16le('.\\fat-parent.vhd');
    expect(rel.length).toBe(32);
    expect(decodeVhdLocatorPath('W2ru', rel)).toBe('.\\fat-parent.vhd');
  });
  it('non-ASCII names and a trailing NUL some writers add', () => {
    expect(decodeVhdLocatorPath('W2ru', utf16le('.\\Diskété.vhd\0'))).toBe('.\\Diskété.vhd');
  });
});

describe('Wi2r/Wi2k — vhd-vhdx.md §1.4 [?] settled: 8-bit or UTF-16LE, told apart by the zero bytes', () => {
  it('8-bit text up to the first NUL', () => {
    expect(decodeWi2(bytes8('..\\base.vhd\0\0'))).toBe('..\\base.vhd');
    expect(decodeVhdLocatorPath('Wi2r', bytes8('..\\base.vhd'))).toBe('..\\base.vhd');
  });
  it('UTF-16LE (a zero in every odd byte), as reported for Virtual PC XP Mode disks', () => {
    expect(decodeWi2(utf16le('C:\\VM\\base.vhd\0'))).toBe('C:\\VM\\base.vhd');
    expect(decodeVhdLocatorPath('Wi2k', utf16le('C:\\VM\\base.vhd'))).toBe('C:\\VM\\base.vhd');
  });
  it('a one-byte path stays 8-bit', () => {
    expect(decodeWi2(Uint8Array.of(0x61))).toBe('a');
  });
});

describe('MacX and Mac — vhd-vhdx.md §1.4', () => {
  it('MacX is a UTF-8 file URL, %-escapes decoded', () => {
    const url = new TextEncoder().encode('file://localhost/Users/me/VMs/base%20disk.vhd');
    expect(decodeVhdLocatorPath('MacX', url)).toBe('/Users/me/VMs/base disk.vhd');
  });
  it('a malformed %-escape keeps the path as stored (no URIError)', () => {
    expect(decodeVhdLocatorPath('MacX', new TextEncoder().encode('file:///a%zz.vhd'))).toBe('/a%zz.vhd');
  });
  it('"Mac " (an alias record) and unknown codes hold no path', () => {
    expect(decodeVhdLocatorPath('Mac ', bytes8('alias'))).toBeNull();
    expect(decodeVhdLocatorPath('XXXX', bytes8('x'))).toBeNull();
  });
});

describe('locator data bounds — vhd-vhdx.md §1.4 step 1', () => {
  const dev = new MemoryDevice(new Uint8Array(4096));
  const entry = { code: 'W2ru', dataSpace: 512, dataLength: 32, dataOffset: 1024, entryOffset: 1088 };

  it('data inside the file is read from data offset for data length (data space ignored)', async () => {
    const b = new Uint8Array(4096);
    b.set(utf16le('.\\fat-parent.vhd'), 1024);
    expect(await readVhdParentLocator(new MemoryDevice(b), { ...entry, dataSpace: 0xffffffff })).toBe(
      '.\\fat-parent.vhd',
    );
  });

  for (const [name, change] of [
    ['length 0', { dataLength: 0 }],
    ['length 0xFFFFFFFF', { dataLength: 0xffffffff }],
    ['data past EOF', { dataOffset: 4090 }],
    ['offset far past EOF', { dataOffset: 2 ** 40 }],
  ] as const) {
    it(`${name}: VHD_DYNAMIC_HEADER at the entry`, async () => {
      try {
        await readVhdParentLocator(dev, { ...entry, ...change });
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(BootprobeError);
        expect((e as BootprobeError).code).toBe('VHD_DYNAMIC_HEADER');
        expect((e as BootprobeError).offset).toBe(1088);
      }
    });
  }
});
