// The regf writer and the BCD transforms on real Windows data (../shared/corpus, MANIFEST.md): every store and hive
// rewritten keeps every key, value, class, timestamp, flag and descriptor; the layout follows regf.md §8; generalize
// gives the locate bytes Windows wrote in windeploy-uefi-locate.BCD and leaves no partition= where sysprep would not.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generalizeBcd, isPartitionDevice } from '../../src/bcd/generalize.js';
import { encodeBcdDevice, locateDevice, readBcdStore, renderBcd } from '../../src/bcd/index.js';
import { editableFromHive } from '../../src/hive/edit.js';
import { exportReg, exportRegBytes, type Hive, type HiveKey, openHive } from '../../src/hive/index.js';
import { encodeHive, nextHiveSequence } from '../../src/hive/writer.js';
import { corpus } from '../helpers/env.js';
import { lintHive } from '../unit/hive/regf-lint.js';

const STRICT = { leafBound: true, exactLargest: true, noLeaks: true, binTimestamp: true };
const read = (rel: string) => new Uint8Array(readFileSync(corpus(rel)));
const bcdDir = corpus('bcd');
const BCDS = readdirSync(bcdDir).filter((f) => /\.bcd$/i.test(f));
const PREFIX = 'HKEY_LOCAL_MACHINE\\BCD00000000';
const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Every key with what its nk keeps (timestamp, flags, access bits, offset-52 high bits, class, descriptor) and every value. */
function dump(h: Hive): string[] {
  const out: string[] = [];
  const walk = (k: HiveKey) => {
    const nk = h.space.cell(k.offset, 'nk').data;
    const sk = h.space.cell(k.nk.securityOffset, 'sk').data;
    out.push(
      `K ${k.path} t=${k.nk.lastWrittenRaw} f=${k.nk.flags} a=${k.nk.accessBits} hi=${nk.u32le(52) >>> 16} c=${k.className} sd=${hexOf(sk.slice(20, sk.u32le(16)))}`,
    );
    for (const v of k.values()) out.push(`V ${k.path} "${v.name}" ${v.type} ${hexOf(v.data)}`);
    for (const c of k.subkeys()) walk(c);
  };
  walk(h.root);
  return out;
}

describe('round trip of real hives — regf.md §8 step 8', () => {
  for (const f of BCDS) {
    it(`${f}: same content, same export as hivexregedit's, clean layout`, () => {
      const src = openHive(read(`bcd/${f}`));
      const out = encodeHive(editableFromHive(src));
      const back = openHive(out, { strict: true });
      expect(dump(back)).toEqual(dump(src));
      expect(back.baseBlock.minorVersion).toBe(3);
      expect(back.baseBlock.primarySequence).toBe(src.baseBlock.primarySequence + 2);
      expect(hexOf(out.subarray(48, 508))).toBe(hexOf(src.bytes.subarray(48, 508)));
      const expected = readFileSync(path.join(bcdDir, `${f}.hivex.reg`));
      expect(Buffer.from(exportRegBytes(back, { prefix: PREFIX })).equals(expected)).toBe(true);
      expect(lintHive(out, STRICT)).toEqual([]);
      // The corpus stores themselves pass the same checks where Windows is exact (regf.md §4, §5).
      expect(lintHive(src.bytes, { noLeaks: false })).toEqual([]);
    });
  }

  for (const rel of [
    'hives/regipy-SYSTEM',
    'hives/yarp-OldDirtyHive/RecoveredHive_Windows7',
    'hives/yarp-NewDirtyHive1/RecoveredHive_Windows10',
  ]) {
    it(`${rel}: lh, ri, li, db and class names survive a rewrite`, () => {
      const src = openHive(read(rel));
      const out = encodeHive(editableFromHive(src));
      const back = openHive(out, { strict: true });
      expect(dump(back)).toEqual(dump(src));
      expect(lintHive(out, STRICT)).toEqual([]);
    });
  }
});

describe('sequence numbers with real logs — regf.md §8 step 2', () => {
  it('hackintosh: primary 1652, .LOG at 1651, stale .LOG1 at 1377 → 1654', () => {
    const logs = ['BCD.LOG', 'BCD.LOG1', 'BCD.LOG2'].map((l) => read(`bcd/hackintosh-z590-uefi.${l}`));
    expect(nextHiveSequence(read('bcd/hackintosh-z590-uefi.BCD'), logs)).toBe(1654);
  });

  it('NewDirtyHive: entries up to 5 in .LOG2 → 7; replayed and rewritten it equals Windows 10’s recovery', () => {
    const dir = 'hives/yarp-NewDirtyHive1';
    const primary = read(`${dir}/NewDirtyHive`);
    const logs = [read(`${dir}/NewDirtyHive.LOG1`), read(`${dir}/NewDirtyHive.LOG2`)];
    expect(nextHiveSequence(primary, logs)).toBe(7);
    expect(() => editableFromHive(openHive(primary))).toThrowError(
      expect.objectContaining({ code: 'HIVE_DIRTY' }),
    );
    const replayed = openHive(primary, { logs });
    expect(() => editableFromHive(replayed)).toThrowError(expect.objectContaining({ code: 'HIVE_DIRTY' }));
    const out = encodeHive(editableFromHive(replayed, { allowRecovered: true }), {
      sequence: nextHiveSequence(primary, logs),
    });
    const back = openHive(out, { strict: true });
    expect(back.baseBlock.primarySequence).toBe(7);
    const windows = openHive(read(`${dir}/RecoveredHive_Windows10`));
    expect(exportReg(back, { prefix: 'X' })).toBe(exportReg(windows, { prefix: 'X' }));
  });
});

describe('generalize on the corpus — bcd.md §7.5, §9', () => {
  it('windeploy-uefi-locate.BCD: its loader devices are exactly locateDevice(path) and locateDevice(systemroot)', () => {
    const store = readBcdStore(openHive(read('bcd/windeploy-uefi-locate.BCD')).root);
    const loader = store.object('{default}')!;
    expect(hexOf(loader.element(0x11000001)!.raw)).toBe(hexOf(encodeBcdDevice(locateDevice(0x12000002))));
    expect(hexOf(loader.element(0x21000001)!.raw)).toBe(hexOf(encodeBcdDevice(locateDevice(0x22000002))));
    // Generalize leaves those bytes alone and changes only {bootmgr}'s partition= and recoveryenabled.
    const r = generalizeBcd(editableFromHive(openHive(read('bcd/windeploy-uefi-locate.BCD'))));
    expect(r.changes.map((c) => `${c.object} ${c.element}`)).toEqual([
      '{bootmgr} device',
      '{default} recoveryenabled',
    ]);
  });

  const INSTALLED = [
    'galton-bios-pe.BCD',
    'hackintosh-z590-uefi.BCD',
    'regipy-uefi-win10-installed.BCD',
    'windeploy-bios-installed.BCD',
    'windeploy-uefi-locate.BCD',
    'windows2go-uefi-win11-installed.BCD',
  ];
  const MEDIA = [
    'msmedia-bios-setup.bcd',
    'msmedia-uefi-bcdedit-modified.bcd',
    'win10pe-uefi-ramdisk.bcd',
    'galton-ipxe-padded.BCD',
  ];

  for (const f of BCDS) {
    it(`${f}: ${INSTALLED.includes(f) ? 'no partition= left where sysprep generalizes' : 'a media or recovery store: only partition= devices change'}`, () => {
      const r = generalizeBcd(editableFromHive(openHive(read(`bcd/${f}`))));
      const s = r.store;
      const bootmgr = s.object('{bootmgr}');
      if (bootmgr) expect(isPartitionDevice(bootmgr.element(0x11000001))).toBe(false);
      if (INSTALLED.includes(f)) {
        const loader = s.object('{default}')!;
        for (const t of [0x11000001, 0x21000001]) expect(isPartitionDevice(loader.element(t))).toBe(false);
        expect(loader.element(0x26000010)).toBeNull();
        const resumeRef = loader.element(0x23000003);
        const resume = resumeRef?.value.format === 'object' ? s.object(resumeRef.value.id) : null;
        if (resume)
          for (const t of [0x11000001, 0x21000001]) expect(isPartitionDevice(resume.element(t))).toBe(false);
      }
      if (MEDIA.includes(f)) expect(r.changes).toEqual([]);
      if (f === 'bluepill-recovery.BCD') expect(r.changes.map((c) => c.element)).toEqual(['device']);
      expect(generalizeBcd(r.hive).changes).toEqual([]);
      const out = encodeHive(r.hive);
      expect(lintHive(out, STRICT)).toEqual([]);
      expect(renderBcd(readBcdStore(openHive(out).root), { verbose: true })).toBe(
        renderBcd(s, { verbose: true }),
      );
    });
  }
});
