import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../src/errors.js';
import { openHive, regfChecksum } from '../../../src/hive/index.js';
import { cellData, fixture, getU32, i32, readAll, u16, u32 } from './fixtures.js';

/** Opens and reads everything; any failure must be a BootprobeError with a code. */
function expectBootprobeError(bytes: Uint8Array, code?: string): BootprobeError {
  try {
    readAll(openHive(bytes));
  } catch (e) {
    expect(e).toBeInstanceOf(BootprobeError);
    if (code) expect((e as BootprobeError).code).toBe(code);
    return e as BootprobeError;
  }
  throw new Error('expected a BootprobeError');
}

const fixChecksum = (b: Uint8Array) => u32(b, 508, regfChecksum(b));

describe('hostile hives — every failure is a BootprobeError with an offset (regf.md §1–§5)', () => {
  it('truncated anywhere before the end of the bins', () => {
    const full = fixture('types-v13.hiv');
    for (const cut of [0, 3, 300, 511, 4095, 4096, 4100, 4096 + 31, 8192, 20000, full.length - 1]) {
      const e = expectBootprobeError(full.slice(0, cut));
      expect(['HIVE_BASE_BLOCK', 'HIVE_BIN', 'TRUNCATED', 'HIVE_DIRTY']).toContain(e.code);
    }
  });

  it('a transaction log opened as a hive is refused (file type ≠ 0)', () => {
    const b = fixture('types-v13.hiv');
    u32(b, 28, 6);
    fixChecksum(b);
    expectBootprobeError(b, 'HIVE_BASE_BLOCK');
  });

  it('a bins size past the end of the file → HIVE_BIN', () => {
    const b = fixture('types-v13.hiv');
    u32(b, 40, 0x7ffff000);
    fixChecksum(b);
    expect(expectBootprobeError(b, 'HIVE_BIN').offset).toBeGreaterThanOrEqual(4096);
  });

  it('bad hbin signature, wrong offset field, zero size → HIVE_BIN', () => {
    const second = 4096 + 4096;
    for (const patch of [
      (b: Uint8Array) => b.set([0x78], second),
      (b: Uint8Array) => u32(b, second + 4, 0),
      (b: Uint8Array) => u32(b, second + 8, 0),
      (b: Uint8Array) => u32(b, second + 8, 0xfffff000),
    ]) {
      const b = fixture('types-v13.hiv');
      if (getU32(b, second) !== 0x6e696268)
        throw new Error('fixture layout changed: no second bin at 0x2000');
      patch(b);
      const e = expectBootprobeError(b, 'HIVE_BIN');
      expect(e.offset).toBeGreaterThanOrEqual(second);
    }
  });

  it('root offset past the bins, into a bin header, unaligned → HIVE_CELL', () => {
    for (const off of [0xfffffff0, 0x100000, 0, 4, 0x21]) {
      const b = fixture('types-v13.hiv');
      u32(b, 36, off);
      fixChecksum(b);
      expectBootprobeError(b, 'HIVE_CELL');
    }
  });

  it('corrupted cell sizes: free, tiny, crossing the bin → HIVE_CELL', () => {
    const h = openHive(fixture('types-v13.hiv'));
    const typesOff = h.getKey('Types')!.offset;
    for (const size of [0x100, 0, -4, -0x7fffffff, -0x10000]) {
      const b = fixture('types-v13.hiv');
      i32(b, 4096 + typesOff, size);
      expectBootprobeError(b, 'HIVE_CELL');
    }
  });

  it('a name length past its cell → HIVE_CELL', () => {
    const h = openHive(fixture('types-v13.hiv'));
    const b = fixture('types-v13.hiv');
    u16(b, cellData(h.getKey('Types')!.offset) + 72, 0xffff);
    expectBootprobeError(b, 'HIVE_CELL');
  });

  it('subkey count larger than the list, or than the bins could hold → HIVE_CELL', () => {
    const h = openHive(fixture('types-v13.hiv'));
    const at = cellData(h.getKey('Names')!.offset) + 20;
    for (const n of [9, 7, 0xffffffff]) {
      const b = fixture('types-v13.hiv');
      u32(b, at, n);
      expectBootprobeError(b, 'HIVE_CELL');
    }
  });

  it('list count larger than its cell → HIVE_CELL', () => {
    const h = openHive(fixture('types-v13.hiv'));
    const b = fixture('types-v13.hiv');
    u16(b, cellData(h.getKey('Names')!.nk.subkeyListOffset) + 2, 0xffff);
    expectBootprobeError(b, 'HIVE_CELL');
  });

  it('list loops: an ri listing itself, an ri → ri, a subkey that is its own ancestor → HIVE_CELL, no hang', () => {
    const h = openHive(fixture('types-v13.hiv'));
    const names = h.getKey('Names')!;
    const listOff = names.nk.subkeyListOffset;
    // ri whose elements point at the ri itself
    let b = fixture('types-v13.hiv');
    b.set([0x72, 0x69], cellData(listOff));
    u16(b, cellData(listOff) + 2, 2);
    u32(b, cellData(listOff) + 4, listOff);
    u32(b, cellData(listOff) + 8, listOff);
    expectBootprobeError(b, 'HIVE_CELL');
    // a subkey entry pointing at the root (an ancestor)
    b = fixture('types-v13.hiv');
    u32(b, cellData(listOff) + 4, h.root.offset);
    expectBootprobeError(b, 'HIVE_CELL');
    // a subkey entry pointing at the key itself
    b = fixture('types-v13.hiv');
    u32(b, cellData(listOff) + 4, names.offset);
    expectBootprobeError(b, 'HIVE_CELL');
  });

  it('a subkey entry that is not an nk → HIVE_CELL', () => {
    const h = openHive(fixture('types-v13.hiv'));
    const b = fixture('types-v13.hiv');
    u32(b, cellData(h.getKey('Names')!.nk.subkeyListOffset) + 4, h.root.nk.securityOffset);
    expectBootprobeError(b, 'HIVE_CELL');
  });

  it('value count past its list, value offsets past the end, duplicated values → HIVE_CELL', () => {
    const h = openHive(fixture('types-v13.hiv'));
    const t = h.getKey('Types')!;
    let b = fixture('types-v13.hiv');
    u32(b, cellData(t.offset) + 36, 0x40000000);
    expectBootprobeError(b, 'HIVE_CELL');
    b = fixture('types-v13.hiv');
    u32(b, cellData(t.nk.valueListOffset), 0x7ffffff8);
    expectBootprobeError(b, 'HIVE_CELL');
    b = fixture('types-v13.hiv');
    u32(b, cellData(t.nk.valueListOffset) + 4, getU32(b, cellData(t.nk.valueListOffset)));
    expectBootprobeError(b, 'HIVE_CELL');
  });

  it('value data larger than its cell is clamped with a warning; strict refuses it', () => {
    const h0 = openHive(fixture('types-v13.hiv'));
    const t = h0.getKey('Types')!;
    const vl = cellData(t.nk.valueListOffset);
    const b = fixture('types-v13.hiv');
    // find the "binary" value (10 bytes, in its own cell) and claim 100000 bytes
    for (let i = 0; i < t.nk.valueCount; i++) {
      const vk = cellData(getU32(b, vl + i * 4));
      if (Buffer.from(b.subarray(vk + 20, vk + 26)).toString('latin1') === 'binary' && b[vk + 2] === 6) {
        u32(b, vk + 4, 100000);
      }
    }
    const h = openHive(b);
    expect(h.getKey('Types')!.value('binary')!.data.length).toBeLessThan(100000);
    expect(h.warnings.map((w) => w.code)).toEqual(['HIVE_CELL']);
    expect(() => openHive(b, { strict: true }).getKey('Types')!.values()).toThrow(BootprobeError);
  });

  it('a bad base-block checksum reads as dirty with warnings; strict throws HIVE_DIRTY', () => {
    const b = fixture('types-v13.hiv');
    b[60] = b[60]! ^ 0xff;
    const h = openHive(b);
    expect(h.warnings.map((w) => w.code)).toEqual(['HIVE_DIRTY', 'HIVE_CHECKSUM']);
    expect(() => openHive(b, { strict: true })).toThrow(expect.objectContaining({ code: 'HIVE_DIRTY' }));
  });

  it('fuzz: 400 hives with random bytes changed in the bins fail only with BootprobeError', () => {
    const base = fixture('types-v13.hiv');
    let seed = 0x12345678;
    const rnd = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 0x100000000;
    };
    let failures = 0;
    for (let n = 0; n < 400; n++) {
      const b = base.slice();
      const flips = 1 + Math.floor(rnd() * 8);
      for (let i = 0; i < flips; i++) {
        const at = 4096 + Math.floor(rnd() * (b.length - 4096));
        b[at] = rnd() < 0.5 ? Math.floor(rnd() * 256) : b[at]! ^ 0x80;
      }
      try {
        readAll(openHive(b));
      } catch (e) {
        if (!(e instanceof BootprobeError)) throw e;
        failures++;
      }
    }
    expect(failures).toBeGreaterThan(0);
  });
});
