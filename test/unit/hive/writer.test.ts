import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../src/errors.js';
import {
  compareKeyNames,
  createHive,
  DEFAULT_SECURITY_DESCRIPTOR,
  type EditableHive,
  type EditableKey,
  editableFromHive,
  editableFromKey,
  NK_KEPT_FLAGS,
} from '../../../src/hive/edit.js';
import {
  decodeNk,
  decodeSubkeyList,
  decodeVk,
  exportRegBytes,
  type Hive,
  type HiveKey,
  openHive,
  patchBaseBlock,
  REG,
  regfChecksum,
} from '../../../src/hive/index.js';
import {
  DB_SEGMENT_CELL_SIZE,
  encodeHive,
  hiveWriteSteps,
  MAX_LEAF_ELEMENTS,
  nextHiveSequence,
} from '../../../src/hive/writer.js';
import { FIXTURES } from '../../helpers/env.js';
import { parseRegText } from '../../helpers/reg-text.js';
import { fixture, fixtureText, getU32, PREFIX } from './fixtures.js';
import { lintHive } from './regf-lint.js';

const STRICT = { leafBound: true, exactLargest: true, noLeaks: true, binTimestamp: true };
const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Everything a reader can see of a hive, timestamps and security descriptors included. */
function dump(h: Hive): string[] {
  const out: string[] = [];
  const walk = (k: HiveKey) => {
    const sd = hexOf(
      h.space
        .cell(k.nk.securityOffset, 'sk')
        .data.slice(20, h.space.cell(k.nk.securityOffset, 'sk').data.u32le(16)),
    );
    out.push(
      `K ${k.path} class=${k.className} t=${k.nk.lastWrittenRaw} sd=${sd} f=${k.nk.flags & NK_KEPT_FLAGS}`,
    );
    for (const v of k.values()) out.push(`V ${k.path} "${v.name}" ${v.type} ${hexOf(v.data)}`);
    for (const c of k.subkeys()) walk(c);
  };
  walk(h.root);
  return out;
}

/** The same view of an editable tree. */
function dumpEditable(e: EditableHive): string[] {
  const out: string[] = [];
  const walk = (k: EditableKey) => {
    out.push(`K ${k.path} class=${k.className} t=${k.lastWrittenRaw} sd=${hexOf(k.security)} f=${k.flags}`);
    for (const v of k.values()) out.push(`V ${k.path} "${v.name}" ${v.type} ${hexOf(v.data)}`);
    for (const c of k.subkeys()) walk(c);
  };
  walk(e.root);
  return out;
}

const FIXTURE_HIVES = ['types-v13.hiv', 'types-v15.hiv', 'many-v13.hiv.gz', 'many-v15.hiv.gz'];

describe('round trip of the hivex-made fixtures — regf.md §8 step 8 (rewrite compactly)', () => {
  for (const name of FIXTURE_HIVES) {
    it(`${name}: every key, value, class, timestamp and descriptor survives; export equals hivexregedit's`, () => {
      const src = openHive(fixture(name));
      const out = encodeHive(editableFromHive(src));
      const back = openHive(out, { strict: true });
      expect(dump(back)).toEqual(dump(src));
      expect(back.baseBlock.minorVersion).toBe(src.baseBlock.minorVersion);
      const expected = fixtureText(name.replace(/\.hiv(\.gz)?$/, '.reg'));
      expect(Buffer.from(exportRegBytes(back, { prefix: PREFIX })).equals(expected)).toBe(true);
      expect(lintHive(out, STRICT)).toEqual([]);
    });
  }

  it('known-answers-1.BCD (the §1 store, hivex-made) round-trips', () => {
    const file = path.join(FIXTURES, 'bcd/known-answers-1.BCD');
    const src = openHive(new Uint8Array(readFileSync(file)));
    const out = encodeHive(editableFromHive(src));
    expect(dump(openHive(out))).toEqual(dump(src));
    const expected = readFileSync(`${file}.hivex.reg`);
    expect(
      Buffer.from(exportRegBytes(openHive(out), { prefix: 'HKEY_LOCAL_MACHINE\\BCD00000000' })).equals(
        expected,
      ),
    ).toBe(true);
    expect(lintHive(out, STRICT)).toEqual([]);
  });

  it('writing is deterministic and a second round trip is byte-identical', () => {
    for (const name of FIXTURE_HIVES) {
      const once = encodeHive(editableFromHive(openHive(fixture(name))), { sequence: 9, timestamp: 5n });
      const twice = encodeHive(editableFromHive(openHive(once)), { sequence: 9, timestamp: 5n });
      expect(Buffer.from(twice).equals(Buffer.from(once))).toBe(true);
    }
  });

  it('the base block keeps bytes 48..507 and 512..4095 of the source and gets a fresh checksum (§2, §8.3)', () => {
    const srcBytes = fixture('types-v13.hiv');
    srcBytes.set([1, 2, 3, 4], 200); // a remnant in the reserved area
    srcBytes.set([9, 8, 7], 3000);
    patchBaseBlock(srcBytes, {});
    const out = encodeHive(editableFromHive(openHive(srcBytes)));
    expect(Buffer.from(out.subarray(48, 508)).equals(Buffer.from(srcBytes.subarray(48, 508)))).toBe(true);
    expect(Buffer.from(out.subarray(512, 4096)).equals(Buffer.from(srcBytes.subarray(512, 4096)))).toBe(true);
    expect(getU32(out, 508)).toBe(regfChecksum(out.subarray(0, 512)));
    expect(getU32(out, 4096 + 20)).toBe(getU32(out, 12)); // first bin repeats the timestamp (§3)
  });
});

describe('sequence numbers — regf.md §2 (clean), §8 step 2 (T + 2)', () => {
  it('both numbers are equal; by default the source’s latest + 2', () => {
    const src = fixture('types-v13.hiv');
    patchBaseBlock(src, { primarySequence: 41, secondarySequence: 41 });
    const out = encodeHive(editableFromHive(openHive(src)));
    expect([getU32(out, 4), getU32(out, 8)]).toEqual([43, 43]);
    expect(nextHiveSequence(src)).toBe(43);
    expect(encodeHive(createHive({ rootName: 'R' })).subarray(4, 12)).toEqual(
      Uint8Array.of(1, 0, 0, 0, 1, 0, 0, 0),
    );
  });

  it('nextHiveSequence counts log base blocks and HvLE entries, with 32-bit wrap-around', () => {
    const src = fixture('types-v13.hiv');
    patchBaseBlock(src, { primarySequence: 0xffffffff, secondarySequence: 0xffffffff });
    expect(nextHiveSequence(src)).toBe(1);
    // A log whose base block is at 0xffffffff + 3 = 2 (later under wrap-around) and one HvLE entry at 6.
    const log = new Uint8Array(1024);
    log.set(src.subarray(0, 512));
    patchBaseBlock(log, { primarySequence: 2, secondarySequence: 2, fileType: 6 });
    log.set([0x48, 0x76, 0x4c, 0x45], 512); // "HvLE"
    new DataView(log.buffer).setUint32(516, 512, true);
    new DataView(log.buffer).setUint32(524, 6, true);
    expect(nextHiveSequence(src, [log, new Uint8Array(0)])).toBe(8);
  });

  it('hiveWriteSteps: dirty base block, bins, clean base block; a torn write reads as dirty (§8 step 9)', () => {
    const old = fixture('types-v13.hiv');
    const next = encodeHive(editableFromHive(openHive(old)));
    const steps = hiveWriteSteps(next);
    expect(steps.map((s) => s.offset)).toEqual([0, 4096, 0]);
    const torn = new Uint8Array(Math.max(old.length, next.length));
    torn.set(old);
    torn.set(steps[0]!.bytes, 0);
    torn.set(steps[1]!.bytes.subarray(0, 100), 4096);
    // Visibly dirty: a strict open refuses it, whatever the bins hold (no stale log can be replayed over it).
    expect(getU32(torn, 4)).toBe(getU32(torn, 8) + 1);
    expect(() => openHive(torn, { strict: true })).toThrowError(
      expect.objectContaining({ code: 'HIVE_DIRTY' }),
    );
    const done = new Uint8Array(next.length);
    for (const s of steps) done.set(s.bytes, s.offset);
    expect(Buffer.from(done).equals(Buffer.from(next))).toBe(true);
  });
});

describe('edits — keys, values of every type, classes, security descriptors', () => {
  const build = () => {
    const h = createHive({ rootName: 'ROOT', clock: 133000000000000000n });
    const a = h.root.addKey('Alpha', { className: 'AlphaClass' });
    a.setString('sz', 'hello');
    a.setString('expand', '%SystemRoot%', REG.EXPAND_SZ);
    a.setMultiString('multi', ['a', 'bc']);
    a.setMultiString('multi empty', []);
    a.setDword('dword', 0x12345678);
    a.setDwordBigEndian('dword be', 0x12345678);
    a.setQword('qword', 0x1122334455667788n);
    a.setBinary('binary', Uint8Array.of(1, 2, 3));
    a.setBinary('empty', new Uint8Array(0));
    a.setValue('', REG.SZ, Uint8Array.of(0x41, 0, 0, 0));
    a.setValue('link', REG.LINK, Uint8Array.of(0x5c, 0));
    a.setValue('odd type', 0xdeadbeef, Uint8Array.of(7, 7, 7, 7, 7));
    a.setValue('none', REG.NONE, new Uint8Array(0));
    a.setValue('resource', REG.RESOURCE_LIST, Uint8Array.of(1, 0, 0, 0, 5));
    a.setValue('Ключ', REG.BINARY, Uint8Array.of(1));
    const secret = Uint8Array.from(DEFAULT_SECURITY_DESCRIPTOR);
    secret[0x20] = 0x19; // Administrators: KEY_READ only
    const s = h.root.addKey('Secret', { security: secret });
    s.addKey('Inherits').setDword('x', 1);
    h.root.ensureKey('Deep\\A\\B\\C').setString('leaf', 'deep');
    return h;
  };

  it('what was set reads back identically, with exact layout (§5, §8)', () => {
    const h = build();
    const out = encodeHive(h);
    expect(lintHive(out, STRICT)).toEqual([]);
    const back = openHive(out, { strict: true });
    expect(dump(back)).toEqual(dumpEditable(h));
    const a = back.getKey('\\Alpha')!;
    expect(a.className).toBe('AlphaClass');
    expect(Array.from(a.value('dword')!.data)).toEqual([0x78, 0x56, 0x34, 0x12]);
    expect(Array.from(a.value('dword be')!.data)).toEqual([0x12, 0x34, 0x56, 0x78]);
    expect(Buffer.from(a.value('multi')!.data).toString('utf16le')).toBe('a\0bc\0\0');
    expect(a.value('multi empty')!.data.length).toBe(2);
    // New subkeys take the parent's descriptor (§5.4): Secret\Inherits shares Secret's sk.
    expect(back.getKey('\\Secret\\Inherits')!.nk.securityOffset).toBe(
      back.getKey('\\Secret')!.nk.securityOffset,
    );
    expect(back.getKey('\\Secret')!.nk.securityOffset).not.toBe(back.root.nk.securityOffset);
    expect(back.getKey('\\Deep\\A\\B\\C')!.value('leaf')).not.toBeNull();
  });

  it('deletes and renames keep lists sorted and counts exact', () => {
    const h = build();
    expect(h.root.deleteKey('deep')).toBe(true); // case-insensitive
    expect(h.root.deleteKey('nothing')).toBe(false);
    const a = h.root.subkey('ALPHA')!;
    expect(a.deleteValue('SZ')).toBe(true);
    expect(a.deleteValue('sz')).toBe(false);
    a.rename('Zeta');
    a.setClassName(null);
    const back = openHive(encodeHive(h), { strict: true });
    expect(back.root.subkeys().map((k) => k.name)).toEqual(['Secret', 'Zeta']);
    expect(back.getKey('\\Zeta')!.className).toBeNull();
    expect(back.getKey('\\Zeta')!.value('sz')).toBeNull();
    expect(dump(back)).toEqual(dumpEditable(h));
  });

  it('replacing a value keeps its place and stored spelling', () => {
    const h = createHive({ rootName: 'R' });
    h.root.setDword('One', 1);
    h.root.setDword('Two', 2);
    h.root.setDword('ONE', 3);
    expect(h.root.values().map((v) => [v.name, v.data[0]])).toEqual([
      ['One', 3],
      ['Two', 2],
    ]);
  });

  it('stamps changed keys with the clock and leaves the others (§5.1 last written)', () => {
    const src = editableFromHive(openHive(fixture('types-v13.hiv')), { clock: 999n });
    const before = src.root.subkey('Names')!.lastWrittenRaw;
    src.root.subkey('Types')!.setDword('new', 1);
    expect(src.root.subkey('Types')!.lastWrittenRaw).toBe(999n);
    expect(src.root.subkey('Names')!.lastWrittenRaw).toBe(before);
    const copy = src.clone();
    copy.root.subkey('Names')!.setDword('x', 1);
    expect(src.root.subkey('Names')!.value('x')).toBeNull(); // clones are independent
  });

  it('subkeys sort by upper-cased name, ordinal, a prefix first (§5.5)', () => {
    const h = createHive({ rootName: 'R' });
    for (const n of ['b', 'A', '_under', '[bracket', 'ab', 'a1', 'Über', 'café', 'Ключ', 'Z'])
      h.root.addKey(n);
    const names = h.root.subkeys().map((k) => k.name);
    expect(names).toEqual(['A', 'a1', 'ab', 'b', 'café', 'Z', '[bracket', '_under', 'Über', 'Ключ']);
    const back = openHive(encodeHive(h))
      .root.subkeys()
      .map((k) => k.name);
    expect(back).toEqual(names);
    expect(compareKeyNames('abc', 'ABC')).toBe(0);
  });

  it('rejects bad names and duplicates with HIVE_EDIT', () => {
    const h = createHive({ rootName: 'R' });
    h.root.addKey('K');
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof BootprobeError ? e.code : String(e);
      }
      return 'no error';
    };
    expect(code(() => h.root.addKey('k'))).toBe('HIVE_EDIT');
    expect(code(() => h.root.addKey(''))).toBe('HIVE_EDIT');
    expect(code(() => h.root.addKey('a\\b'))).toBe('HIVE_EDIT');
    expect(code(() => h.root.addKey('x'.repeat(256)))).toBe('HIVE_EDIT');
    expect(code(() => h.root.setValue('v'.repeat(16384), 1, new Uint8Array(0)))).toBe('HIVE_EDIT');
    expect(code(() => h.root.setMultiString('m', ['a', '']))).toBe('HIVE_EDIT');
    expect(code(() => encodeHive(h, { minorVersion: 2 }))).toBe('HIVE_EDIT');
    expect(code(() => h.root.subkey('K')!.rename('K'))).toBe('no error');
  });
});

describe('list and data forms by version — regf.md §5.3, §5.5', () => {
  const manyKeys = (minor: number) => {
    const h = createHive({ rootName: 'R', minorVersion: minor });
    const k = h.root.addKey('Many');
    for (let i = 1199; i >= 0; i--) k.addKey(`Key${i.toString().padStart(4, '0')}`);
    return h;
  };

  for (const minor of [3, 5]) {
    it(`1.${minor}: 1200 subkeys go into an ri over ${minor >= 5 ? 'lh' : 'lf'} leaves of ≤ ${MAX_LEAF_ELEMENTS}`, () => {
      const out = encodeHive(manyKeys(minor));
      expect(lintHive(out, STRICT)).toEqual([]);
      const h = openHive(out, { strict: true });
      const many = h.getKey('\\Many')!;
      const top = decodeSubkeyList(h.space.cell(many.nk.subkeyListOffset, 'list').data);
      expect(top.kind).toBe('ri');
      expect(top.offsets.length).toBe(3);
      for (const off of top.offsets) {
        const leaf = decodeSubkeyList(h.space.cell(off, 'leaf').data);
        expect(leaf.kind).toBe(minor >= 5 ? 'lh' : 'lf');
        expect(leaf.offsets.length).toBe(400);
      }
      expect(many.subkeys().map((k) => k.name)).toEqual(
        Array.from({ length: 1200 }, (_, i) => `Key${i.toString().padStart(4, '0')}`),
      );
      expect(many.subkey('key0777')!.name).toBe('Key0777');
    });
  }

  const big = Uint8Array.from({ length: 40000 }, (_, i) => (i * 13 + 1) & 0xff);
  it('1.3 has no db: a 40000-byte value is one cell in a bin enlarged to fit', () => {
    const h = createHive({ rootName: 'R', minorVersion: 3 });
    h.root.setBinary('big', big);
    const out = encodeHive(h);
    expect(lintHive(out, STRICT)).toEqual([]);
    const back = openHive(out, { strict: true });
    expect(Buffer.from(back.root.value('big')!.data).equals(Buffer.from(big))).toBe(true);
    expect(back.bins.some((b) => b.size === 40960)).toBe(true);
  });

  for (const minor of [4, 5]) {
    it(`1.${minor}: values over 16344 bytes go into a db with 16352-byte segment cells`, () => {
      const h = createHive({ rootName: 'R', minorVersion: minor });
      h.root.setBinary('big', big);
      h.root.setBinary('edge', big.subarray(0, 16344)); // exactly 16344: one plain cell
      const out = encodeHive(h);
      expect(lintHive(out, STRICT)).toEqual([]);
      const back = openHive(out, { strict: true });
      expect(Buffer.from(back.root.value('big')!.data).equals(Buffer.from(big))).toBe(true);
      expect(back.root.value('edge')!.data.length).toBe(16344);
      const list = back.space.cell(back.root.nk.valueListOffset, 'values');
      const vk = decodeVk(back.space.cell(list.data.u32le(0), 'vk').data);
      const db = back.space.cell(vk.dataOffset, 'db');
      expect(db.data.ascii(0, 2)).toBe('db');
      expect(db.data.u16le(2)).toBe(3);
      const segs = back.space.cell(db.data.u32le(4), 'segments');
      for (let i = 0; i < 3; i++)
        expect(back.space.cell(segs.data.u32le(i * 4), 'seg').size).toBe(DB_SEGMENT_CELL_SIZE);
    });
  }

  it('a source hive can be written in another minor version (1.5 → 1.3 turns lh into lf, db into one cell)', () => {
    const out = encodeHive(editableFromHive(openHive(fixture('types-v15.hiv'))), { minorVersion: 3 });
    expect(lintHive(out, STRICT)).toEqual([]);
    const back = openHive(out);
    expect(back.baseBlock.minorVersion).toBe(3);
    expect(dump(back)).toEqual(dump(openHive(fixture('types-v15.hiv'))));
  });

  it('values of ≤ 4 bytes are inline with bit 31, the empty one as 0x80000000 (§5.2)', () => {
    const h = createHive({ rootName: 'R' });
    h.root.setBinary('e', new Uint8Array(0));
    h.root.setBinary('one', Uint8Array.of(0xff));
    h.root.setDword('d', 7);
    const back = openHive(encodeHive(h));
    const list = back.space.cell(back.root.nk.valueListOffset, 'values');
    const raw = [0, 1, 2].map((i) => decodeVk(back.space.cell(list.data.u32le(i * 4), 'vk').data));
    expect(raw.map((v) => v.dataSizeRaw >>> 0)).toEqual([0x80000000, 0x80000001, 0x80000004]);
    expect(Array.from(raw[1]!.inlineBytes)).toEqual([0xff, 0, 0, 0]);
  });

  it('names: Latin-1 names compressed (COMP_NAME), others UTF-16; "largest" fields counted in UTF-16 bytes', () => {
    const h = createHive({ rootName: 'R' });
    h.root.addKey('café');
    h.root.addKey('日本');
    h.root.setDword('ünï', 1);
    const back = openHive(encodeHive(h));
    const nks = back.root.subkeys().map((k) => k.nk);
    expect(nks.map((n) => (n.flags & 0x20) !== 0)).toEqual([true, false]);
    expect(back.root.nk.largestSubkeyNameLength).toBe(8);
    expect(back.root.nk.largestValueNameLength).toBe(6);
    expect(decodeNk(back.space.cell(back.root.offset, 'root').data).name).toBe('R');
  });
});

describe('sources — regf.md §8 step 1', () => {
  it('a dirty hive read without logs is refused (HIVE_DIRTY, unsafe)', () => {
    const src = fixture('types-v13.hiv');
    patchBaseBlock(src, { primarySequence: 5, secondarySequence: 4 });
    const h = openHive(src);
    expect(() => editableFromHive(h)).toThrowError(
      expect.objectContaining({ code: 'HIVE_DIRTY', kind: 'unsafe' }),
    );
  });

  it('any RegistryKey tree (a .reg export) becomes a hive with the default descriptor', () => {
    const reg = fixtureText('types-v13.Names.reg').toString('latin1');
    const tree = parseRegText(reg);
    const h = editableFromKey(tree);
    const out = encodeHive(h);
    expect(lintHive(out, STRICT)).toEqual([]);
    const back = openHive(out);
    expect(back.baseBlock.minorVersion).toBe(3);
    const sk = back.space.cell(back.root.nk.securityOffset, 'sk');
    expect(
      Buffer.from(sk.data.slice(20, sk.data.u32le(16))).equals(Buffer.from(DEFAULT_SECURITY_DESCRIPTOR)),
    ).toBe(true);
    expect(back.root.subkeys().map((k) => k.name)).toEqual(
      tree
        .subkeys()
        .map((k) => k.name)
        .sort(compareKeyNames),
    );
  });
});
