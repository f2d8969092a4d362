import { describe, expect, it } from 'vitest';
import {
  compareCodePoints,
  exportReg,
  exportRegBytes,
  openHive,
  REG_HEADER,
} from '../../../src/hive/index.js';
import { fixture, fixtureText, PREFIX } from './fixtures.js';

/** hivexregedit prints Latin-1-only pieces as Latin-1 and the rest as UTF-8: decode each line the way it was made. */
const decodeOracle = (b: Buffer) =>
  b
    .toString('latin1')
    .split('\n')
    .map((line) => {
      const bytes = Buffer.from(line, 'latin1');
      const utf8 = bytes.toString('utf8');
      return Buffer.from(utf8, 'utf8').equals(bytes) ? utf8 : line;
    })
    .join('\n');

describe('exportReg — the exact output of hivexregedit --export (fixtures saved by scripts/fixtures/hive.sh)', () => {
  for (const [hive, reg] of [
    ['types-v13.hiv', 'types-v13.reg'],
    ['types-v15.hiv', 'types-v15.reg'],
    ['many-v13.hiv.gz', 'many-v13.reg'],
    ['many-v15.hiv.gz', 'many-v15.reg'],
  ] as const) {
    it(`${hive}: bytes equal ${reg}`, () => {
      const h = openHive(fixture(hive));
      const expected = fixtureText(reg);
      expect(Buffer.from(exportRegBytes(h, { prefix: PREFIX })).equals(expected)).toBe(true);
      expect(exportReg(h, { prefix: PREFIX })).toBe(decodeOracle(expected));
    });
  }

  it('a sub-key export prints full paths from the root (types-v13.Names.reg)', () => {
    const h = openHive(fixture('types-v13.hiv'));
    const expected = fixtureText('types-v13.Names.reg');
    expect(Buffer.from(exportRegBytes(h, { prefix: PREFIX, keyPath: 'names' })).equals(expected)).toBe(true);
  });

  it('one trailing backslash of the prefix is dropped; an empty prefix prints bare paths', () => {
    const h = openHive(fixture('types-v13.hiv'));
    expect(exportReg(h, { prefix: `${PREFIX}\\` })).toBe(exportReg(h, { prefix: PREFIX }));
    expect(exportReg(h, { prefix: '', keyPath: '\\Types\\Sub1' })).toBe(
      `${REG_HEADER}[\\Types\\Sub1]\n"x"=dword:00000000\n\n`,
    );
  });

  it('Latin-1 names come out as Latin-1 bytes, wider ones as UTF-8 (Perl print without a layer)', () => {
    const h = openHive(fixture('types-v13.hiv'));
    const b = Buffer.from(exportRegBytes(h, { prefix: PREFIX, keyPath: 'Names' }));
    expect(b.includes(Buffer.from('\\caf\xe9]', 'latin1'))).toBe(true);
    expect(b.includes(Buffer.from('\\Ключ]', 'utf8'))).toBe(true);
  });

  it('an absent key path throws KEY_NOT_FOUND', () => {
    const h = openHive(fixture('types-v13.hiv'));
    expect(() => exportReg(h, { prefix: PREFIX, keyPath: '\\Nope' })).toThrow(
      expect.objectContaining({ code: 'KEY_NOT_FOUND' }),
    );
  });

  it('sorting is Perl cmp: code points, not UTF-16 units, not case-folded', () => {
    expect(compareCodePoints('Z', 'a')).toBeLessThan(0);
    expect(compareCodePoints('\u{1F600}', '\uFFFD')).toBeGreaterThan(0); // JS '<' says the opposite
    expect('\u{1F600}' < '\uFFFD').toBe(true);
    expect(compareCodePoints('ab', 'a')).toBeGreaterThan(0);
    expect(compareCodePoints('a', 'a')).toBe(0);
  });
});
