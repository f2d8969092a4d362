// A short fixed-seed run of the fuzz harness inside `npm test`, and every input that ever broke us, replayed through
// the same steps and through the real CLI.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { mutate, PatchedDevice, runCase, runFuzz, subjectOf, subjects } from '../fuzz/harness.js';
import { runCli } from '../helpers/cli.js';
import { FIXTURES, tempDir } from '../helpers/env.js';

const t = tempDir();
afterAll(() => t.cleanup());

describe('fuzzing — issue 8 pass rule (success or BootprobeError, no case over 2 s, bounded allocations)', () => {
  it('340 structure-aware cases over every format and subject (seed 7)', async () => {
    const results = await runFuzz(340, 7);
    expect(results.map((r) => r.format).sort()).toEqual([
      'bcd',
      'fat',
      'gpt',
      'mbr',
      'ntfs',
      'pe',
      'regf',
      'vhd',
      'vhdx',
    ]);
    expect(
      results.flatMap((r) =>
        r.failures.map((f) => `${f.subject} ${f.seed} (${f.label}): ${f.error.split('\n')[0]}`),
      ),
    ).toEqual([]);
    // The mutations reach past the first checks: every subject sees both outcomes.
    for (const r of results)
      for (const [name, s] of Object.entries(r.subjects)) expect(s.ok > 0 && s.typed > 0, name).toBe(true);
  }, 120000);

  it('the unmutated fixtures pass every step, failing only where the fixture has no such structure', async () => {
    // Container fixtures hold no file system; the FAT/NTFS fixtures' \EFI\Microsoft\Boot\BCD is a stand-in file,
    // not a hive; the template's bootmgr is a placeholder, not a PE.
    const absent: Record<string, string[]> = {
      'vhd-dynamic': ['FS_UNKNOWN'],
      'vhd-differencing': ['FS_UNKNOWN'],
      'vhdx-dynamic': ['FS_UNKNOWN'],
      'vhdx-differencing': ['FS_UNKNOWN'],
      'vhd-fixed': ['FS_UNKNOWN'],
      'vhdx-log': ['FS_UNKNOWN'],
      'mbr-ebr-fat12': ['HIVE_DIRTY'],
      'gpt-fat12': ['HIVE_DIRTY'],
      fat12: ['HIVE_DIRTY'],
      fat16: ['HIVE_DIRTY'],
      fat32: ['HIVE_DIRTY'],
      'ntfs-4k': ['HIVE_DIRTY'],
      'bcd-template-vhd': ['PE_INVALID'],
    };
    for (const s of await subjects()) {
      const c = await runCase(s, new PatchedDevice(s.bytes, new Map(), s.bytes.length));
      expect([c.outcome, c.error, [...c.codes.keys()]], s.name).toEqual(['ok', null, absent[s.name] ?? []]);
    }
  }, 60000);

  it('the allocation bound catches a request above the input size', async () => {
    const s = (await subjects()).find((x) => x.kind === 'pe')!;
    const { installAllocationGuard, withAllocationBound } = await import('../fuzz/alloc-guard.js');
    const uninstall = installAllocationGuard();
    try {
      const r = await withAllocationBound(1000, async () => new Uint8Array(s.bytes.length));
      expect(r.violations.map((v) => v.bytes)).toEqual([s.bytes.length]);
      const ok = await withAllocationBound(1 << 20, async () => new Uint8Array(s.bytes.length));
      expect(ok.violations).toEqual([]);
    } finally {
      uninstall();
    }
  });

  it('a step that throws anything but a BootprobeError fails the case; a BootprobeError is counted by code', async () => {
    const { Steps } = await import('../fuzz/exercise.js');
    const { BootprobeError } = await import('../../src/errors.js');
    const steps = new Steps();
    await expect(
      steps.run('crash', () => {
        throw new TypeError('x is undefined');
      }),
    ).rejects.toThrow(TypeError);
    await steps.run('typed', () => {
      throw new BootprobeError('BCD_DEVICE', 'bad device');
    });
    await steps.run('ok', () => 1);
    expect([steps.ok, steps.typed, [...steps.codes]]).toEqual([1, 1, [['BCD_DEVICE', 1]]]);
  });

  it('the same seed builds the same input', async () => {
    for (const s of await subjects()) {
      const a = mutate(s, 12345);
      const b = mutate(s, 12345);
      expect(a.label).toBe(b.label);
      expect(a.dev.size).toBe(b.dev.size);
      const bytes = (d: PatchedDevice) => Buffer.from(d.materialize());
      expect(bytes(a.dev).equals(bytes(b.dev)), s.name).toBe(true);
    }
  });

  const dir = path.join(FIXTURES, 'fuzz');
  const crashers = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.bin.gz')) : [];
  for (const f of crashers) {
    it(`regression fixture ${f}: every step, then the CLI (exit 0, 1 or 3, one error line, no stack)`, async () => {
      const s = await subjectOf(f);
      expect(s, `no subject for ${f}`).not.toBeNull();
      const bytes = new Uint8Array(gunzipSync(readFileSync(path.join(dir, f))));
      const c = await runCase(s!, new PatchedDevice(bytes, new Map(), bytes.length));
      expect(c.error).toBeNull();
      if (s!.files) return; // a differencing child needs its parent beside it; the steps above cover it
      const p = path.join(t.dir, s!.kind === 'pe' ? 'fuzz.exe' : s!.kind === 'image' ? 'fuzz.img' : 'BCD');
      writeFileSync(p, bytes);
      const commands =
        s!.kind === 'pe'
          ? [['pe', p]]
          : s!.kind === 'image'
            ? [
                ['info', p],
                ['ls', '-R', p],
                ['bcd', p],
              ]
            : [['bcd', p]];
      for (const args of commands) {
        const r = await runCli(args);
        expect([0, 1, 3], `${args.join(' ')}: ${r.stderr}`).toContain(r.code);
        expect(r.stderr).not.toMatch(/\n\s+at /);
        if (r.code === 3)
          expect(
            r.stderr
              .trim()
              .split('\n')
              .filter((l) => l.startsWith('bootprobe: error:')),
          ).toHaveLength(1);
      }
    });
  }
});
