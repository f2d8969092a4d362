// hivexregedit (libhivex-bin) as the oracle: exportReg must print byte for byte what `hivexregedit --export` prints.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportRegBytes, openHive } from '../../src/hive/index.js';
import { corpus, FIXTURES, requireTool, tempDir } from '../helpers/env.js';
import { gunzipFile } from '../helpers/gunzip.js';

const hivexExport = (file: string, prefix: string, key = '\\') =>
  execFileSync('hivexregedit', ['--export', '--prefix', prefix, file, key], {
    maxBuffer: 512 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'ignore'], // stderr: Perl's "Wide character" warnings
  });

describe('exportReg equals hivexregedit --export — regf.md §5, §6', () => {
  it('regipy SYSTEM (11 MiB, regf 1.5 with lh, ri and db), whole hive', () => {
    requireTool('hivexregedit');
    const file = corpus('hives/regipy-SYSTEM');
    const expected = hivexExport(file, 'HKEY_LOCAL_MACHINE\\SYSTEM');
    const ours = Buffer.from(
      exportRegBytes(openHive(new Uint8Array(readFileSync(file))), { prefix: 'HKEY_LOCAL_MACHINE\\SYSTEM' }),
    );
    expect(ours.length).toBe(expected.length);
    expect(ours.equals(expected)).toBe(true);
  });

  it('regipy SYSTEM, one subtree (\\ControlSet001\\Control)', () => {
    requireTool('hivexregedit');
    const file = corpus('hives/regipy-SYSTEM');
    const expected = hivexExport(file, 'HKLM\\SYSTEM', '\\controlset001\\CONTROL');
    const h = openHive(new Uint8Array(readFileSync(file)));
    expect(
      Buffer.from(exportRegBytes(h, { prefix: 'HKLM\\SYSTEM', keyPath: '\\controlset001\\CONTROL' })).equals(
        expected,
      ),
    ).toBe(true);
  });

  it('the unit fixtures, exported by hivexregedit now', () => {
    requireTool('hivexregedit');
    const tmp = tempDir();
    try {
      for (const name of ['types-v13.hiv', 'types-v15.hiv', 'many-v13.hiv.gz', 'many-v15.hiv.gz']) {
        const src = path.join(FIXTURES, 'hive', name);
        const bytes = name.endsWith('.gz') ? gunzipFile(src) : new Uint8Array(readFileSync(src));
        const file = path.join(tmp.dir, name.replace(/\.gz$/, ''));
        writeFileSync(file, bytes);
        for (const prefix of ['HKEY_LOCAL_MACHINE\\FIXTURE', 'X\\', '']) {
          const expected = hivexExport(file, prefix);
          expect(Buffer.from(exportRegBytes(openHive(bytes), { prefix })).equals(expected)).toBe(true);
        }
      }
    } finally {
      tmp.cleanup();
    }
  });

  it('Windows 7 recovered hive (ri → li lists) and the Windows 10 one', () => {
    requireTool('hivexregedit');
    for (const rel of [
      'hives/yarp-OldDirtyHive/RecoveredHive_Windows7',
      'hives/yarp-NewDirtyHive1/RecoveredHive_Windows10',
    ]) {
      const file = corpus(rel);
      const expected = hivexExport(file, 'HKLM\\T');
      expect(
        Buffer.from(
          exportRegBytes(openHive(new Uint8Array(readFileSync(file))), { prefix: 'HKLM\\T' }),
        ).equals(expected),
      ).toBe(true);
    }
  });
});
