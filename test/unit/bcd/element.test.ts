import { describe, expect, it } from 'vitest';
import { type DeviceDisplayContext, decodeElementValue, formatElementValue } from '../../../src/bcd/index.js';
import { BootprobeError } from '../../../src/errors.js';
import { REG } from '../../../src/hive/key.js';

const bytes = (...b: number[]) => new Uint8Array(b);
const utf16 = (s: string) => new Uint8Array(new Uint16Array([...s].map((c) => c.charCodeAt(0))).buffer);
const ctx: DeviceDisplayContext = {
  verbose: false,
  elementText: () => null,
  reference: (g) => (g === '{9dea862c-5cdd-4e70-acc1-f32b344d4795}' ? '{bootmgr}' : g),
};
/** Decode then display, as the renderer does; `name` null = a custom: element. */
const show = (type: number, reg: number, data: Uint8Array, name: string | null) =>
  formatElementValue(decodeElementValue(type, reg, data), data, name, ctx);

function expectInvalid(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(BootprobeError);
    expect((e as BootprobeError).code).toBe('BCD_INVALID');
    return;
  }
  throw new Error('expected BCD_INVALID');
}

describe('String elements (format 2) — bcd.md §4', () => {
  it('is cut at the first NUL (values with two NULs occur)', () => {
    expect(show(0x12000004, REG.SZ, utf16('Windows Recovery Environment\0\0'), 'description')).toEqual([
      'Windows Recovery Environment',
    ]);
  });
});

describe('Object elements (format 3) — bcd.md §4', () => {
  it('prints the alias of a well-known GUID, the GUID in lower case otherwise', () => {
    expect(show(0x23000003, REG.SZ, utf16('{9DEA862C-5CDD-4E70-ACC1-F32B344D4795}\0'), 'default')).toEqual([
      '{bootmgr}',
    ]);
    expect(show(0x23000003, REG.SZ, utf16('{AAAAAAAA-5cdd-4e70-acc1-f32b344d4795}\0'), 'default')).toEqual([
      '{aaaaaaaa-5cdd-4e70-acc1-f32b344d4795}',
    ]);
  });
  it('a reference that is not a GUID is BCD_INVALID', () => {
    expectInvalid(() => decodeElementValue(0x23000003, REG.SZ, utf16('bootmgr\0')));
  });
});

describe('Object list elements (format 4) — bcd.md §4', () => {
  it('one entry per line', () => {
    const data = utf16('{9dea862c-5cdd-4e70-acc1-f32b344d4795}\0{b2721d73-1db4-4c62-bf78-c548a880142d}\0\0');
    expect(show(0x24000001, REG.MULTI_SZ, data, 'displayorder')).toEqual([
      '{bootmgr}',
      '{b2721d73-1db4-4c62-bf78-c548a880142d}',
    ]);
  });
  it('an empty list (one NUL, win10pe) prints an empty value', () => {
    expect(show(0x24000010, REG.MULTI_SZ, bytes(0, 0), 'toolsdisplayorder')).toEqual(['']);
  });
  it('an entry that is not a GUID is BCD_INVALID', () => {
    expectInvalid(() => decodeElementValue(0x24000001, REG.MULTI_SZ, utf16('{x}\0\0')));
  });
});

describe('Integer elements (format 5) — bcd.md §4, §4.1', () => {
  it('reads 1-, 3- and 8-byte values little-endian, zero-extended (media stores)', () => {
    expect(show(0x25000004, REG.BINARY, bytes(0x1e), 'timeout')).toEqual(['30']);
    expect(show(0x15000014, REG.BINARY, bytes(0x00, 0xc2, 0x01), 'baudrate')).toEqual(['115200']);
    expect(show(0x25000004, REG.BINARY, bytes(3, 0, 0, 0, 0, 0, 0, 0), 'timeout')).toEqual(['3']);
  });
  it('prints enum names (nx OptOut, debugtype Serial/Local, displaymessage Recovery)', () => {
    expect(show(0x25000020, REG.BINARY, bytes(1, 0, 0, 0, 0, 0, 0, 0), 'nx')).toEqual(['OptOut']);
    expect(show(0x15000011, REG.BINARY, bytes(0), 'debugtype')).toEqual(['Serial']);
    expect(show(0x15000011, REG.BINARY, bytes(4, 0, 0, 0, 0, 0, 0, 0), 'debugtype')).toEqual(['Local']);
    expect(show(0x15000065, REG.BINARY, bytes(3, 0, 0, 0, 0, 0, 0, 0), 'displaymessage')).toEqual([
      'Recovery',
    ]);
    expect(show(0x250000c2, REG.BINARY, bytes(0, 0, 0, 0, 0, 0, 0, 0), 'bootmenupolicy')).toEqual(['Legacy']);
  });
  it('an unlisted enum value prints in decimal', () => {
    expect(show(0x25000020, REG.BINARY, bytes(9, 0, 0, 0, 0, 0, 0, 0), 'nx')).toEqual(['9']);
  });
  it('a custom: integer prints in decimal even when its value would be an enum', () => {
    expect(show(0x45000001, REG.BINARY, bytes(2, 0, 0, 0, 0, 0, 0, 0), null)).toEqual(['2']);
  });
  it('hostip prints as a dotted IPv4 address', () => {
    expect(show(0x1500001a, REG.BINARY, bytes(192, 168, 1, 10, 0, 0, 0, 0), 'hostip')).toEqual([
      '192.168.1.10',
    ]);
  });
  it('prints the full u64 range', () => {
    expect(show(0x25000004, REG.BINARY, bytes(255, 255, 255, 255, 255, 255, 255, 255), 'timeout')).toEqual([
      '18446744073709551615',
    ]);
  });
  it('0 or more than 8 bytes is BCD_INVALID', () => {
    expectInvalid(() => decodeElementValue(0x25000004, REG.BINARY, bytes()));
    expectInvalid(() => decodeElementValue(0x25000004, REG.BINARY, new Uint8Array(9)));
  });
});

describe('Boolean elements (format 6) — bcd.md §4', () => {
  it('1 byte 0/1 prints No/Yes; any non-zero byte of a 4-byte form is Yes', () => {
    expect(show(0x16000009, REG.BINARY, bytes(1), 'recoveryenabled')).toEqual(['Yes']);
    expect(show(0x16000009, REG.BINARY, bytes(0), 'recoveryenabled')).toEqual(['No']);
    expect(show(0x16000009, REG.BINARY, bytes(0, 1, 0, 0), 'recoveryenabled')).toEqual(['Yes']);
  });
  it('an empty boolean is BCD_INVALID', () => {
    expectInvalid(() => decodeElementValue(0x16000009, REG.BINARY, bytes()));
  });
});

describe('Integer list elements (format 7) — bcd.md §4', () => {
  it('named lists print 0x%x one per line, custom: lists decimal', () => {
    const data = bytes(0x75, 0, 0, 0x15, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0);
    expect(show(0x17000077, REG.BINARY, data, 'allowedinmemorysettings')).toEqual(['0x15000075', '0x10']);
    expect(show(0x47000005, REG.BINARY, data, null)).toEqual(['352321653', '16']);
  });
  it('a length that is not a multiple of 8 is BCD_INVALID', () => {
    expectInvalid(() => decodeElementValue(0x17000077, REG.BINARY, new Uint8Array(12)));
  });
});

describe('Registry type per format — bcd.md §4 table', () => {
  it('a value stored with the wrong registry type is BCD_INVALID', () => {
    expectInvalid(() => decodeElementValue(0x12000004, REG.BINARY, utf16('x\0')));
    expectInvalid(() => decodeElementValue(0x25000004, REG.DWORD, bytes(1, 0, 0, 0)));
    expectInvalid(() =>
      decodeElementValue(0x14000006, REG.SZ, utf16('{9dea862c-5cdd-4e70-acc1-f32b344d4795}\0')),
    );
  });
  it('an unknown format keeps the bytes and prints them in hex', () => {
    expect(show(0x18000001, REG.BINARY, bytes(0xab, 0xcd), null)).toEqual(['abcd']);
  });
});
