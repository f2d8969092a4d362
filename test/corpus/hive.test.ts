// Real hives and BCD stores (../shared/corpus, MANIFEST.md) against docs/regf.md and hivexregedit's exports.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../src/errors.js';
import {
  decodeLogEntry,
  decodeSk,
  exportReg,
  exportRegBytes,
  type Hive,
  type HiveKey,
  lhHash,
  logNamesFor,
  marvin32,
  openHive,
  patchBaseBlock,
  regfChecksum,
} from '../../src/hive/index.js';
import { ByteView } from '../../src/io/index.js';
import { corpus } from '../helpers/env.js';

const BCD_PREFIX = 'HKEY_LOCAL_MACHINE\\BCD00000000';
const read = (rel: string) => new Uint8Array(readFileSync(corpus(rel)));
const bcdDir = corpus('bcd');
const bcds = readdirSync(bcdDir).filter((f) => /\.bcd$/i.test(f));

/** Every key (path) and value (path, name, type, hex data) of a hive, for whole-content comparisons. */
function dump(h: Hive): string[] {
  const out: string[] = [];
  const walk = (k: HiveKey) => {
    out.push(`K ${k.path.toUpperCase()} class=${k.className}`);
    for (const v of k.values())
      out.push(`V ${k.path} "${v.name}" ${v.type} ${Buffer.from(v.data).toString('hex')}`);
    for (const c of k.subkeys()) walk(c);
  };
  walk(h.root);
  return out;
}

describe('BCD stores — regf.md §2–§6, export equals hivexregedit', () => {
  it('the corpus holds the 11 BCD stores', () => {
    expect(bcds.length).toBe(11);
  });
  for (const f of bcds) {
    it(`${f}: clean, exportReg bytes equal ${f}.hivex.reg`, () => {
      const h = openHive(read(`bcd/${f}`), { name: f });
      expect(h.warnings).toEqual([]);
      expect(h.recovered).toBe(false);
      expect(h.baseBlock.checksumValid).toBe(true);
      expect(h.baseBlock.primarySequence).toBe(h.baseBlock.secondarySequence);
      // regf.md §2: every corpus BCD is 1.3 and the root is at 0x20.
      expect([h.baseBlock.majorVersion, h.baseBlock.minorVersion]).toEqual([1, 3]);
      expect(h.baseBlock.rootCellOffset).toBe(0x20);
      const expected = readFileSync(path.join(bcdDir, `${f}.hivex.reg`));
      expect(Buffer.from(exportRegBytes(h, { prefix: BCD_PREFIX })).equals(expected)).toBe(true);
      expect(exportReg(h, { prefix: BCD_PREFIX })).toBe(expected.toString('utf8'));
    });
  }

  it('galton-ipxe-padded.BCD: a file longer than 4096 + bins size reads (regf.md §1)', () => {
    const h = openHive(read('bcd/galton-ipxe-padded.BCD'));
    expect(h.bytes.length).toBe(262144);
    expect(h.baseBlock.hiveBinsDataSize).toBe(24576);
    expect(h.root.subkey('Objects')).not.toBeNull();
  });

  it('clean stores ignore their stale .LOG files (regf.md §2 step 3, §7)', () => {
    for (const [hive, logs] of [
      ['bcd/galton-bios-pe.BCD', ['bcd/galton-bios-pe.BCD.LOG']],
      ['bcd/bluepill-recovery.BCD', ['bcd/bluepill-recovery.BCD.LOG']],
      [
        'bcd/hackintosh-z590-uefi.BCD',
        [
          'bcd/hackintosh-z590-uefi.BCD.LOG',
          'bcd/hackintosh-z590-uefi.BCD.LOG1',
          'bcd/hackintosh-z590-uefi.BCD.LOG2',
        ],
      ],
    ] as const) {
      const bytes = read(hive);
      const h = openHive(bytes, { logs: logs.map(read), strict: true });
      expect(h.recovered).toBe(false);
      expect(Buffer.from(h.bytes).equals(Buffer.from(bytes))).toBe(true);
    }
  });

  it('each BCD .LOG is a new-format log one sequence behind its clean primary (regf.md §7)', () => {
    for (const [hive, log] of [
      ['bcd/galton-bios-pe.BCD', 'bcd/galton-bios-pe.BCD.LOG'],
      ['bcd/bluepill-recovery.BCD', 'bcd/bluepill-recovery.BCD.LOG'],
      ['bcd/hackintosh-z590-uefi.BCD', 'bcd/hackintosh-z590-uefi.BCD.LOG'],
    ] as const) {
      const lb = read(log);
      expect(new DataView(lb.buffer, lb.byteOffset).getUint32(28, true)).toBe(6);
      const seq = new DataView(lb.buffer, lb.byteOffset).getUint32(4, true);
      expect(seq + 1).toBe(openHive(read(hive)).baseBlock.secondarySequence);
    }
  });

  it('logNamesFor names the .LOG, .LOG1 and .LOG2 companions', () => {
    expect(logNamesFor('BCD')).toEqual(['BCD.LOG', 'BCD.LOG1', 'BCD.LOG2']);
  });
});

describe('regipy SYSTEM hive (regf 1.5) — regf.md §5', () => {
  const h = openHive(read('hives/regipy-SYSTEM'), { name: 'SYSTEM' });

  it('is a clean 1.5 hive', () => {
    expect(h.warnings).toEqual([]);
    expect([h.baseBlock.majorVersion, h.baseBlock.minorVersion]).toEqual([1, 5]);
    expect(h.baseBlock.primarySequence).toBe(13983);
    expect(h.root.name.startsWith('CMI-CreateHive{')).toBe(true);
  });

  it('MountedDevices \\DosDevices\\C: is the 12-byte MBR form (signature 0x5cbea03e, offset 1 MiB)', () => {
    const v = h.getKey('\\MountedDevices')!.value('\\DosDevices\\C:')!;
    expect(v.type).toBe(3);
    expect(Buffer.from(v.data).toString('hex')).toBe('3ea0be5c0000100000000000');
  });

  it('Select\\Current = 1 (case-insensitive lookup)', () => {
    const v = h.getKey('select')!.value('CURRENT')!;
    expect(v.type).toBe(4);
    expect(Array.from(v.data)).toEqual([1, 0, 0, 0]);
  });

  it('§5.3: values over 16344 bytes come from db segments, whole', () => {
    let dbValues = 0;
    const walk = (k: HiveKey) => {
      for (const v of k.values()) if (v.data.length > 16344) dbValues++;
      for (const c of k.subkeys()) walk(c);
    };
    walk(h.root);
    expect(dbValues).toBe(8);
    expect(h.warnings).toEqual([]);
  });

  it('§5.5: every lh hash matches its upper-cased name, lists sorted', () => {
    const ctl = h.getKey('ControlSet001\\Services')!;
    const subs = ctl.subkeys();
    expect(subs.length).toBeGreaterThan(300);
    for (const s of subs) expect(ctl.subkey(s.name.toLowerCase())?.offset).toBe(s.offset);
    expect(lhHash('ControlSet001')).toBe(lhHash('CONTROLSET001'));
  });

  it('§5.6: class names decode (14 keys carry one)', () => {
    let classes = 0;
    const walk = (k: HiveKey) => {
      if (k.className !== null) classes++;
      for (const c of k.subkeys()) walk(c);
    };
    walk(h.root);
    expect(classes).toBe(14);
  });

  it('§5.4: the root sk decodes with a self-relative descriptor', () => {
    const sk = decodeSk(h.space.cell(h.root.nk.securityOffset, 'root sk').data);
    expect(sk.referenceCount).toBeGreaterThan(0);
    expect(sk.descriptor[0]).toBe(1);
  });
});

describe('dirty hives — regf.md §2, §7.3–§7.5', () => {
  it('NewDirtyHive + LOG1 + LOG2 recovers to RecoveredHive_Windows10 (byte-identical once seq = last + 1)', () => {
    const dirty = read('hives/yarp-NewDirtyHive1/NewDirtyHive');
    const logs = [
      read('hives/yarp-NewDirtyHive1/NewDirtyHive.LOG1'),
      read('hives/yarp-NewDirtyHive1/NewDirtyHive.LOG2'),
    ];
    const h = openHive(dirty, { logs, strict: true });
    expect(h.recovered).toBe(true);
    expect(h.recovery).toEqual({ format: 'new', logsUsed: [0, 1], applied: 4, sequence: 5 });
    expect(h.baseBlock.primarySequence).toBe(h.baseBlock.secondarySequence);
    expect(h.baseBlock.checksumValid).toBe(true);
    const windows = read('hives/yarp-NewDirtyHive1/RecoveredHive_Windows10');
    expect(dump(h)).toEqual(dump(openHive(windows)));
    const asWindows = h.bytes.slice();
    patchBaseBlock(asWindows, { primarySequence: 6, secondarySequence: 6 });
    expect(Buffer.from(asWindows).equals(Buffer.from(windows))).toBe(true);
    expect(regfChecksum(asWindows)).toBe(openHive(windows).baseBlock.checksum);
  });

  it('the order of LOG1 and LOG2 does not matter (sorted by sequence)', () => {
    const dirty = read('hives/yarp-NewDirtyHive1/NewDirtyHive');
    const logs = [
      read('hives/yarp-NewDirtyHive1/NewDirtyHive.LOG2'),
      read('hives/yarp-NewDirtyHive1/NewDirtyHive.LOG1'),
    ];
    const h = openHive(dirty, { logs });
    expect(h.recovery?.logsUsed).toEqual([1, 0]);
    expect(dump(h)).toEqual(dump(openHive(read('hives/yarp-NewDirtyHive1/RecoveredHive_Windows10'))));
  });

  it('OldDirtyHive + LOG1 recovers to RecoveredHive_Windows7 in every key and value', () => {
    const dirty = read('hives/yarp-OldDirtyHive/OldDirtyHive');
    const logs = [
      read('hives/yarp-OldDirtyHive/OldDirtyHive.LOG1'),
      read('hives/yarp-OldDirtyHive/OldDirtyHive.LOG2'),
    ];
    const h = openHive(dirty, { logs, strict: true });
    expect(h.recovered).toBe(true);
    expect(h.recovery?.format).toBe('old');
    expect(h.baseBlock.primarySequence).toBe(5);
    expect(h.baseBlock.secondarySequence).toBe(5);
    const windows = openHive(read('hives/yarp-OldDirtyHive/RecoveredHive_Windows7'));
    expect(dump(h)).toEqual(dump(windows));
    // regf.md §5.5: Windows 7 used ri → li for the 5000-subkey key.
    expect(exportReg(h, { prefix: 'X' })).toBe(exportReg(windows, { prefix: 'X' }));
  });

  for (const [name, rel] of [
    ['NewDirtyHive', 'hives/yarp-NewDirtyHive1/NewDirtyHive'],
    ['OldDirtyHive', 'hives/yarp-OldDirtyHive/OldDirtyHive'],
  ] as const) {
    it(`${name} without logs: read with a HIVE_DIRTY warning`, () => {
      const h = openHive(read(rel));
      expect(h.recovered).toBe(false);
      expect(h.warnings.map((w) => w.code)).toContain('HIVE_DIRTY');
    });
    it(`${name} without logs, strict: throws HIVE_DIRTY`, () => {
      expect(() => openHive(read(rel), { strict: true })).toThrow(
        expect.objectContaining({ code: 'HIVE_DIRTY' }) as unknown as BootprobeError,
      );
    });
  }

  it('logs of another hive do not apply: HIVE_DIRTY under strict', () => {
    const dirty = read('hives/yarp-OldDirtyHive/OldDirtyHive');
    expect(() => openHive(dirty, { logs: [read('bcd/galton-bios-pe.BCD.LOG')], strict: true })).toThrow(
      BootprobeError,
    );
  });
});

describe('Marvin32 and HvLE entries — regf.md §7.2', () => {
  it('every entry of every corpus new-format log validates (both hashes, seed 0x82EF4D887A4E55C5)', () => {
    let entries = 0;
    for (const rel of [
      'hives/yarp-NewDirtyHive1/NewDirtyHive.LOG1',
      'hives/yarp-NewDirtyHive1/NewDirtyHive.LOG2',
      'bcd/galton-bios-pe.BCD.LOG',
      'bcd/bluepill-recovery.BCD.LOG',
      'bcd/hackintosh-z590-uefi.BCD.LOG',
      'bcd/hackintosh-z590-uefi.BCD.LOG1',
    ]) {
      const b = read(rel);
      const view = new ByteView(b, 0, rel);
      let pos = 512;
      while (pos + 40 <= b.length && view.ascii(pos, 4) === 'HvLE') {
        const e = decodeLogEntry(view, pos, view.u32le(pos + 12));
        if (typeof e === 'string') throw new Error(`${rel}: ${e}`);
        entries++;
        pos += e.size;
      }
    }
    expect(entries).toBe(8);
  });

  it('the seed read as little-endian bytes fails (regf.md §7.2 warning)', () => {
    const b = Buffer.from(read('hives/yarp-NewDirtyHive1/NewDirtyHive.LOG1'));
    const stored = [b.readUInt32LE(512 + 32), b.readUInt32LE(512 + 36)];
    expect(marvin32(b.subarray(512, 512 + 32))).toEqual(stored);
    expect(marvin32(b.subarray(512, 512 + 32), 0x884def82, 0xc5554e7a)).not.toEqual(stored);
  });
});
