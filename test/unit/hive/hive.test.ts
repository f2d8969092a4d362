import { describe, expect, it } from 'vitest';
import {
  decodeNk,
  decodeSk,
  decodeSubkeyList,
  decodeVk,
  exportReg,
  lfHint,
  lhHash,
  NK_FLAGS,
  openHive,
  REG,
  upcaseName,
} from '../../../src/hive/index.js';
import { cellData, fixture, getU32, i32, PREFIX, u16, u32 } from './fixtures.js';

const utf16z = (s: string) => new Uint8Array(Buffer.from(`${s}\0`, 'utf16le'));
const bigData = () => Uint8Array.from({ length: 20000 }, (_, i) => (i * 7 + 3) & 0xff);

for (const name of ['types-v13.hiv', 'types-v15.hiv']) {
  describe(`values of ${name} — regf.md §5.2, §6 (written by hivexregedit --merge)`, () => {
    const h = openHive(fixture(name));
    const t = h.getKey('\\Types')!;
    const data = (n: string) => Array.from(t.value(n)!.data);

    it('every REG_* type keeps its type number and bytes', () => {
      expect(t.value('')!.type).toBe(REG.SZ);
      expect(t.value('')!.data).toEqual(utf16z('default value'));
      expect(t.value('sz')!.data).toEqual(utf16z('hello'));
      expect(t.value('expand')!.type).toBe(REG.EXPAND_SZ);
      expect(t.value('expand')!.data).toEqual(utf16z('%SystemRoot%'));
      expect([t.value('binary')!.type, data('binary')]).toEqual([
        REG.BINARY,
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      ]);
      expect([t.value('dword')!.type, data('dword')]).toEqual([REG.DWORD, [0x78, 0x56, 0x34, 0x12]]);
      expect([t.value('dword be')!.type, data('dword be')]).toEqual([
        REG.DWORD_BIG_ENDIAN,
        [0x12, 0x34, 0x56, 0x78],
      ]);
      expect(t.value('link')!.type).toBe(REG.LINK);
      expect(t.value('multi')!.type).toBe(REG.MULTI_SZ);
      expect(data('multi')).toEqual([0x61, 0, 0, 0, 0x62, 0, 0x63, 0, 0, 0, 0, 0]);
      expect(t.value('resource list')!.type).toBe(REG.RESOURCE_LIST);
      expect(t.value('full resource')!.type).toBe(REG.FULL_RESOURCE_DESCRIPTOR);
      expect(t.value('requirements')!.type).toBe(REG.RESOURCE_REQUIREMENTS_LIST);
      expect([t.value('qword')!.type, data('qword')]).toEqual([
        REG.QWORD,
        [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11],
      ]);
      expect([t.value('none')!.type, data('none')]).toEqual([REG.NONE, []]);
      expect([t.value('type 0x1234')!.type, data('type 0x1234')]).toEqual([0x1234, [0xaa, 0xbb]]);
      expect([t.value('type ffffffff')!.type, data('type ffffffff')]).toEqual([0xffffffff, [0xcc]]);
    });

    it('data of ≤ 4 bytes is inline in the offset field, lowest address first (bit 31 set)', () => {
      const list = h.space.cell(t.nk.valueListOffset, 'values');
      const vks = Array.from({ length: t.nk.valueCount }, (_, i) =>
        decodeVk(h.space.cell(list.data.u32le(i * 4), 'vk').data),
      );
      const byName = new Map(vks.map((v) => [v.name, v]));
      for (const n of ['binary 1', 'binary 3', 'dword', 'dword short', 'sz empty', 'binary empty']) {
        expect(byName.get(n)!.inline).toBe(true);
      }
      expect(byName.get('dword long')!.inline).toBe(false);
      expect(data('binary 1')).toEqual([0xff]);
      expect(data('binary 3')).toEqual([1, 2, 3]);
      expect(data('dword short')).toEqual([1, 2, 3]);
      expect(data('dword long')).toEqual([1, 2, 3, 4, 5]);
      expect(data('binary empty')).toEqual([]);
      expect(data('sz empty')).toEqual([0, 0]);
    });

    it('a 20000-byte value reads whole (one big cell: hivex writes no db)', () => {
      expect(t.value('big')!.data).toEqual(bigData());
    });

    it('value lookup is case-insensitive, "" is the default value, absent is null', () => {
      expect(t.value('ZEBRA')!.data).toEqual(new Uint8Array([2, 0, 0, 0]));
      expect(t.value('quote "and" back\\slash')).not.toBeNull();
      expect(t.value('missing')).toBeNull();
      expect(h.getKey('\\Types\\Sub1')!.value('')).toBeNull();
    });

    it('Latin-1 (COMP_NAME) and UTF-16 value names', () => {
      expect(t.value('CAFÉ')!.data).toEqual(new Uint8Array([0xc0, 0xff, 0xee]));
      expect(t.value('ключ')!.data).toEqual(new Uint8Array([1]));
      expect(t.value('日本')!.data).toEqual(new Uint8Array([2]));
    });
  });

  describe(`keys of ${name} — regf.md §5.1, §5.5, §5.6`, () => {
    const h = openHive(fixture(name));

    it('root: HIVE_ENTRY flag, name, class name', () => {
      expect(h.root.nk.flags & NK_FLAGS.HIVE_ENTRY).toBe(NK_FLAGS.HIVE_ENTRY);
      expect(h.root.name).toBe('ROOT');
      expect(h.root.path).toBe('\\');
      expect(h.root.className).toBe('RootClass');
      expect(h.getKey('\\Types')!.className).toBeNull();
    });

    it('subkeys come in stored order: sorted by upper-cased name', () => {
      const names = h
        .getKey('Names')!
        .subkeys()
        .map((k) => k.name);
      expect(names).toEqual(['alpha', 'Beta', 'café', '[bracket', '_under', 'Über', 'Ключ', '日本']);
      const up = names.map(upcaseName);
      expect([...up].sort()).toEqual(up);
    });

    it('Latin-1 names carry COMP_NAME, others are UTF-16', () => {
      const names = h.getKey('Names')!;
      expect(names.subkey('CAFÉ')!.nk.flags & NK_FLAGS.COMP_NAME).toBe(NK_FLAGS.COMP_NAME);
      expect(names.subkey('КЛЮЧ')!.nk.flags & NK_FLAGS.COMP_NAME).toBe(0);
      expect(names.subkey('ключ')!.value('v')!.data).toEqual(new Uint8Array([2, 0, 0, 0]));
    });

    it('getKey: backslash paths, case-insensitive, root for "" and "\\", null when absent', () => {
      expect(h.getKey('')).toBe(h.root);
      expect(h.getKey('\\')).toBe(h.root);
      expect(h.getKey('types\\SUB1')!.path).toBe('\\Types\\Sub1');
      expect(h.getKey('\\Types\\nope')).toBeNull();
    });

    it('the nk records parent, counts and the sk every key shares (§5.4)', () => {
      const sub = h.getKey('\\Types\\Sub1')!;
      expect(sub.nk.parentOffset).toBe(sub.parent!.offset);
      expect(sub.nk.valueCount).toBe(1);
      expect(decodeNk(h.space.cell(sub.offset, 'nk').data).name).toBe('Sub1');
      const sk = decodeSk(h.space.cell(sub.nk.securityOffset, 'sk').data);
      expect(sub.nk.securityOffset).toBe(h.root.nk.securityOffset);
      expect(sk.flink).toBe(sub.nk.securityOffset);
      expect(sk.referenceCount).toBe(13); // every key of the hive
    });

    it('lh elements hold the hash of the upper-cased name (§5.5)', () => {
      const names = h.getKey('Names')!;
      const list = decodeSubkeyList(h.space.cell(names.nk.subkeyListOffset, 'list').data);
      expect(list.kind).toBe('lh'); // hivex writes lh even into a 1.3 hive
      const subs = names.subkeys();
      subs.forEach((k, i) => {
        if (/^[\x00-\x7f]*$/.test(k.name)) expect(list.hints[i]).toBe(lhHash(k.name));
      });
      // Settled here: hivex hashes the upper-cased ASCII of the name's UTF-8 bytes taken as signed chars ("café"
      // → C A F 0xC3 0xA9 as −61 −87), not what Windows does (regf.md §5.5), so a reader must not reject a
      // non-ASCII name on its hash alone.
      const cafe = subs.findIndex((k) => k.name === 'café');
      const signedUtf8 = [67, 65, 70, 0xc3 - 256, 0xa9 - 256];
      expect(list.hints[cafe]).toBe(signedUtf8.reduce((h, c) => (Math.imul(h, 37) + c) | 0, 0) >>> 0);
      expect(names.subkey('CAFÉ')!.name).toBe('café');
    });
  });
}

describe('lists with many subkeys — regf.md §5.5', () => {
  const many = () => fixture('many-v15.hiv.gz');
  const keyNames = Array.from({ length: 700 }, (_, i) => `Key${String(i).padStart(4, '0')}`);

  it('700 subkeys in one lh list, each value found through its key', () => {
    for (const f of ['many-v13.hiv.gz', 'many-v15.hiv.gz']) {
      const h = openHive(fixture(f));
      const m = h.getKey('Many')!;
      expect(m.subkeys().map((k) => k.name)).toEqual(keyNames);
      expect(m.subkey('key0123')!.value('n')!.data).toEqual(new Uint8Array([0x40, 0x02, 0, 0])); // 699 − 123
      expect(h.getKey('deep\\a\\b\\c\\d\\e')!.value('leaf')!.data).toEqual(utf16z('deep'));
    }
  });

  it('the same list rewritten as ri → two li leaves reads the same keys', () => {
    const b = many();
    const h0 = openHive(b);
    const m = h0.getKey('Many')!;
    const listOff = m.nk.subkeyListOffset;
    const cellSize = -new DataView(b.buffer).getInt32(4096 + listOff, true);
    const offsets = m.subkeys().map((k) => k.offset);
    // Carve the lh cell into: ri (16 bytes) | li 350 (1408) | li 350 (1408) | free rest.
    const riAt = listOff;
    const liA = listOff + 16;
    const liB = liA + 1408;
    const put = (at: number, size: number, sig: string, elems: number[]) => {
      i32(b, 4096 + at, -size);
      b.set(Buffer.from(sig, 'latin1'), cellData(at));
      u16(b, cellData(at) + 2, elems.length);
      elems.forEach((e, i) => {
        u32(b, cellData(at) + 4 + i * 4, e);
      });
    };
    put(riAt, 16, 'ri', [liA, liB]);
    put(liA, 1408, 'li', offsets.slice(0, 350));
    put(liB, 1408, 'li', offsets.slice(350));
    i32(b, 4096 + liB + 1408, cellSize - 16 - 2 * 1408);
    const h = openHive(b);
    expect(
      h
        .getKey('Many')!
        .subkeys()
        .map((k) => k.name),
    ).toEqual(keyNames);
    expect(h.getKey('many\\KEY0699')!.value('n')!.data).toEqual(new Uint8Array([0, 0, 0, 0]));
  });

  it('the same list rewritten as lf with name hints reads the same keys', () => {
    const b = many();
    const h0 = openHive(b);
    const m = h0.getKey('Many')!;
    const at = cellData(m.nk.subkeyListOffset);
    b.set(Buffer.from('lf', 'latin1'), at);
    m.subkeys().forEach((k, i) => {
      u32(b, at + 8 + i * 8, lfHint(k.name));
    });
    const h = openHive(b);
    const list = decodeSubkeyList(h.space.cell(m.nk.subkeyListOffset, 'lf').data);
    expect(list.kind).toBe('lf');
    expect(list.hints[0]).toBe(getU32(Buffer.from('Key0'), 0));
    expect(
      h
        .getKey('Many')!
        .subkeys()
        .map((k) => k.name),
    ).toEqual(keyNames);
    expect(h.getKey('Many')!.subkey('KEY0500')).not.toBeNull();
  });

  it('lfHint: first 4 chars as stored, NUL padded, 0 when one is above U+00FF', () => {
    expect(lfHint('ab')).toBe(0x6261);
    expect(lfHint('Ключ')).toBe(0);
    expect(lhHash('abc')).toBe(lhHash('ABC'));
    expect(lhHash('A')).toBe(0x41);
    expect(lhHash('AB')).toBe(0x41 * 37 + 0x42);
  });
});

describe('big data (db) — regf.md §5.3', () => {
  it('a 20000-byte value moved into db segments (16344 + 3656) in a new bin reads the same bytes', () => {
    const src = fixture('types-v15.hiv');
    const h0 = openHive(src);
    const t = h0.getKey('Types')!;
    const list = h0.space.cell(t.nk.valueListOffset, 'vl');
    let vkOff = -1;
    for (let i = 0; i < t.nk.valueCount; i++) {
      const off = list.data.u32le(i * 4);
      if (decodeVk(h0.space.cell(off, 'vk').data).name === 'big') vkOff = off;
    }
    const binsSize = h0.baseBlock.hiveBinsDataSize;
    const newBin = 24576;
    const b = new Uint8Array(4096 + binsSize + newBin);
    b.set(src.subarray(0, 4096 + binsSize));
    const binAt = 4096 + binsSize;
    b.set(Buffer.from('hbin', 'latin1'), binAt);
    u32(b, binAt + 4, binsSize);
    u32(b, binAt + 8, newBin);
    const dbOff = binsSize + 32;
    const segList = dbOff + 16;
    const seg1 = segList + 16;
    const seg2 = seg1 + 16352;
    const data = bigData();
    i32(b, 4096 + dbOff, -16);
    b.set(Buffer.from('db', 'latin1'), cellData(dbOff));
    u16(b, cellData(dbOff) + 2, 2);
    u32(b, cellData(dbOff) + 4, segList);
    i32(b, 4096 + segList, -16);
    u32(b, cellData(segList), seg1);
    u32(b, cellData(segList) + 4, seg2);
    i32(b, 4096 + seg1, -16352);
    b.set(data.subarray(0, 16344), cellData(seg1));
    i32(b, 4096 + seg2, -3664);
    b.set(data.subarray(16344), cellData(seg2));
    i32(b, 4096 + seg2 + 3664, newBin - 32 - 16 - 16 - 16352 - 3664);
    u32(b, cellData(vkOff) + 8, dbOff);
    u32(b, 40, binsSize + newBin);
    u32(b, 508, 0);
    u32(
      b,
      508,
      (() => {
        let x = 0;
        for (let i = 0; i < 508; i += 4) x ^= getU32(b, i);
        return x >>> 0;
      })(),
    );
    const h = openHive(b, { strict: true });
    expect(h.getKey('Types')!.value('big')!.data).toEqual(data);
    expect(exportReg(h, { prefix: PREFIX })).toBe(exportReg(h0, { prefix: PREFIX }));
  });
});
