import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../src/errors.js';
import { canRunOn, decodePe } from '../../../src/pe/pe-file.js';
import { runCli } from '../../helpers/cli.js';
import { FIXTURES, tempDir } from '../../helpers/env.js';

const exe = path.join(FIXTURES, 'pe', 'nsis-setup.exe');
const bytes = () => new Uint8Array(readFileSync(exe));

/** The fixture with its subsystem version set, as a WinPE 5 bootsect.exe would carry 6.0 (pe.md §2). */
function withSubsystem(major: number, minor: number): Uint8Array {
  const b = bytes();
  const dv = new DataView(b.buffer, b.byteOffset);
  const opt = dv.getUint32(0x3c, true) + 24;
  dv.setUint16(opt + 0x30, major, true);
  dv.setUint16(opt + 0x32, minor, true);
  return b;
}

describe('PE headers and VERSIONINFO — pe.md §1, §3', () => {
  it('reads machine, format, subsystem, versions and the string table of a makensis-built exe', () => {
    const pe = decodePe(bytes());
    expect(pe).toMatchObject({
      machineName: 'x86',
      magic: 0x10b,
      subsystem: 2,
      subsystemVersion: '4.0',
      fileVersion: '6.3.9600.16384',
    });
    expect(pe.strings).toMatchObject({
      CompanyName: 'bootprobe',
      FileVersion: '6.3.9600.16384 (winblue_rtm.130821-1623)',
    });
  });

  it('refuses what is not a PE, and truncated headers, with PE_INVALID or TRUNCATED', () => {
    for (const b of [new Uint8Array(100), bytes().slice(0, 0x90), bytes().slice(0, 300)]) {
      try {
        decodePe(b);
        expect.fail('expected an error');
      } catch (e) {
        expect(e).toBeInstanceOf(BootprobeError);
      }
    }
  });

  it('survives corrupted resource and section tables (typed errors or no version)', () => {
    const base = bytes();
    let seed = 11;
    for (let i = 0; i < 500; i++) {
      const b = base.slice();
      for (let k = 0; k < 4; k++) {
        seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
        b[seed % 4096] = seed >>> 24;
      }
      try {
        decodePe(b);
      } catch (e) {
        expect(e).toBeInstanceOf(BootprobeError);
      }
    }
  });
});

describe('the loader gate — pe.md §2 (0x800700C1)', () => {
  it('subsystem 6.0 does not start on XP (5.1): the WinPE 5 bootsect.exe case', () => {
    const v = canRunOn(decodePe(withSubsystem(6, 0)), '5.1', 'x86');
    expect(v.ok).toBe(false);
    expect(v.error).toMatch(/0x800700C1/);
  });
  it('subsystem 5.0 starts on XP; x64 images never start on x86 Windows', () => {
    expect(canRunOn(decodePe(withSubsystem(5, 0)), '5.1', 'x86').ok).toBe(true);
    const x64 = withSubsystem(5, 2);
    const dv = new DataView(x64.buffer, x64.byteOffset);
    dv.setUint16(dv.getUint32(0x3c, true) + 4, 0x8664, true);
    expect(canRunOn(decodePe(x64), '5.2', 'x86').ok).toBe(false);
    expect(canRunOn(decodePe(x64), '5.2', 'x64').ok).toBe(true);
  });
});

describe('pe command', () => {
  it('prints the header and, with --target-os, exits 1 when Windows would refuse it', async () => {
    const t = tempDir();
    try {
      const p = path.join(t.dir, 'bootsect.exe');
      writeFileSync(p, withSubsystem(6, 0));
      const ok = await runCli(['pe', exe, '--target-os', 'xp']);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(/file version: +6\.3\.9600\.16384/);
      const r = await runCli(['pe', p, '--target-os', 'xp']);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/runs on: +xp \(NT 5\.1, x86\): NO — subsystem version 6\.0 is above/);
      const j = JSON.parse((await runCli(['pe', '--json', p, '--target-os', '5.1'])).stdout);
      expect(j.target).toMatchObject({ ok: false, version: '5.1', arch: 'x86' });
      expect((await runCli(['pe', p, '--target-os', 'os/2'])).code).toBe(2);
    } finally {
      t.cleanup();
    }
  });
});
