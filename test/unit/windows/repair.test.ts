// repair and undo end to end (issue 6): on every failing pre-flight fixture that a store repair can fix, each output
// mode (dry run, --output, --child, --in-place) gives an image whose pre-flight passes; the input is untouched except
// with --in-place, whose undo record restores it byte for byte; unsafe cases are refused with exit 4.
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { FIXTURES, REPO, tempDir } from '../../helpers/env.js';
import { gunzipTo } from '../../helpers/gunzip.js';

const tmp = tempDir('bootprobe-repair-');
const src: Record<string, string> = {};
beforeAll(() => {
  const dir = path.join(FIXTURES, 'preflight');
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.gz'))) {
    src[f.slice(0, -3)] = gunzipTo(path.join(dir, f), path.join(tmp.dir, `src-${f.slice(0, -3)}`));
  }
  src['template.vhd'] = path.join(REPO, 'samples/template.vhd');
});
afterAll(() => tmp.cleanup());

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
let n = 0;
/**
 * A private copy of a fixture in a folder of its own (the tests write into copies only; copies share the
 * fixture's identity, so a child made of one would rightly count as a child of every copy beside it).
 */
function copy(name: string): string {
  const dir = path.join(tmp.dir, `c${n++}`);
  mkdirSync(dir);
  const p = path.join(dir, name);
  copyFileSync(src[name]!, p);
  return p;
}
async function verdictOf(p: string, extra: string[] = []) {
  const r = await runCli(['preflight', '--json', ...extra, p]);
  return JSON.parse(r.stdout) as { verdict: string; checks: { id: string; status: string }[] };
}

// The failing fixtures a store repair fixes, and the repair that fixes each.
const FIXABLE: [string, string[]][] = [
  ['template.vhd', ['--generalize']],
  ['gen1-partition-devices.vhdx', ['--generalize']],
  ['other-disk.vhdx', ['--generalize']],
];

describe('repair — each output mode on each fixable template', () => {
  for (const [name, mode] of FIXABLE) {
    it(`${name} ${mode.join(' ')}: fails before; dry run writes nothing and predicts pass`, async () => {
      const p = copy(name);
      const before = sha(p);
      expect((await verdictOf(p)).verdict).toBe('fail');
      const r = await runCli(['repair', ...mode, p]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^dry run: /);
      expect(r.stdout).toContain('pre-flight after the repair: PASS');
      expect(r.stdout).toContain('+device                  locate=\\Windows\\system32\\winload.exe');
      expect(sha(p)).toBe(before);
    });

    it(`${name} ${mode.join(' ')} --output: a repaired copy that passes; the input untouched`, async () => {
      const p = copy(name);
      const before = sha(p);
      const out = path.join(path.dirname(p), `out-${name}`);
      const r = await runCli(['repair', ...mode, '--output', out, p]);
      expect(r.code, r.stderr).toBe(0);
      expect((await verdictOf(out)).verdict).toBe('pass');
      expect(sha(p)).toBe(before);
    });

    it(`${name} ${mode.join(' ')} --child: a differencing child that passes; the template untouched`, async () => {
      const p = copy(name);
      const before = sha(p);
      const child = path.join(path.dirname(p), `child-${name}`);
      const r = await runCli(['repair', ...mode, '--child', child, p]);
      expect(r.code, r.stderr).toBe(0);
      const info = JSON.parse((await runCli(['info', '--json', child])).stdout);
      expect(info).toMatchObject({ variant: 'differencing' });
      expect((await verdictOf(child)).verdict).toBe('pass');
      expect(sha(p)).toBe(before);
      // The child holds only what the repair wrote: small next to the template.
      expect(readFileSync(child).length).toBeLessThan(readFileSync(p).length + 4 * 1024 * 1024);
    });

    it(`${name} ${mode.join(' ')} --in-place: passes, and undo restores the original sha256`, async () => {
      const p = copy(name);
      const before = sha(p);
      const undo = `${p}.undo`;
      const r = await runCli(['repair', ...mode, '--in-place', '--undo', undo, p]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`bootprobe undo ${p} ${undo}`);
      expect((await verdictOf(p)).verdict).toBe('pass');
      expect(sha(p)).not.toBe(before);
      const u = await runCli(['undo', p, undo]);
      expect(u.code, u.stderr).toBe(0);
      expect(sha(p)).toBe(before);
    });
  }

  it('--retarget fixes devices that name another disk; the store stays ungeneralized (passes without customization)', async () => {
    const p = copy('other-disk.vhdx');
    const out = path.join(path.dirname(p), 'rt.vhdx');
    const r = await runCli(['repair', '--retarget', '--output', out, p]);
    expect(r.code).toBe(1);
    const v = await verdictOf(out);
    expect(Object.fromEntries(v.checks.map((c) => [c.id, c.status]))).toMatchObject({
      device: 'pass',
      osdevice: 'pass',
      generalized: 'fail',
    });
    expect((await verdictOf(out, ['--no-customization'])).verdict).toBe('pass');
  });

  it('--transplant DONOR: the generalized store of another image replaces this one', async () => {
    const p = copy('template.vhd');
    const out = path.join(path.dirname(p), 'tp.vhd');
    const r = await runCli([
      'repair',
      '--transplant',
      path.join(REPO, 'samples/generalized.vhd'),
      '--output',
      out,
      p,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect((await verdictOf(out)).verdict).toBe('pass');
  });

  it('a UEFI template on FAT32: the ESP store is rewritten (transplant of a bcdedit-made locate= store)', async () => {
    const p = copy('gen2.vhdx');
    const donor = path.join(tmp.dir, 'donor.BCD');
    const gen = await runCli([
      'repair',
      '--generalize',
      '--output',
      donor,
      path.join(FIXTURES, 'bcd/known-answers-1.BCD'),
    ]);
    expect(gen.code, gen.stderr).toBe(0);
    const r = await runCli(['repair', '--transplant', donor, '--in-place', p]);
    expect(r.code, r.stderr).toBe(1); // a BIOS store on a UEFI disk: the firmware check says so
    const v = await verdictOf(p);
    expect(v.checks.find((c) => c.id === 'firmware')!.status).toBe('fail');
    expect(existsSync(`${p}.bootprobe-undo`)).toBe(true);
  });

  it('a store file on its own: --output writes a generalized store; the source is not touched', async () => {
    const srcStore = path.join(FIXTURES, 'bcd/known-answers-1.BCD');
    const before = sha(srcStore);
    const out = path.join(tmp.dir, `store-${n++}.BCD`);
    const r = await runCli(['repair', '--generalize', '--output', out, srcStore]);
    expect(r.code, r.stderr).toBe(0);
    expect((await verdictOf(out)).verdict).toBe('pass');
    expect(sha(srcStore)).toBe(before);
  });
});

describe('the failing fixtures a store repair cannot fix', () => {
  it('generation 2 in a VHD: `convert` to VHDX is the fix, and the result passes', async () => {
    const p = copy('gen2-in-vhd.vhd');
    const out = path.join(path.dirname(p), 'gen2.vhdx');
    expect((await verdictOf(p)).verdict).toBe('fail');
    const c = await runCli(['convert', p, out]);
    expect(c.code, c.stderr).toBe(0);
    expect((await verdictOf(out)).verdict).toBe('pass');
  });
});

describe('repair — what it refuses', () => {
  it('a dirty store without its logs: exit 4, nothing written', async () => {
    const p = copy('dirty-store-nolog.vhdx');
    const before = sha(p);
    const r = await runCli(['repair', '--generalize', '--in-place', p]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/dirty/);
    expect(sha(p)).toBe(before);
    expect(existsSync(`${p}.bootprobe-undo`)).toBe(false);
  });

  it('a hibernated Windows volume: exit 4, and no undo record is left behind', async () => {
    const p = copy('hibernated.vhdx');
    const before = sha(p);
    const r = await runCli(['repair', '--generalize', '--in-place', p]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/hibernated/);
    expect(sha(p)).toBe(before);
    expect(existsSync(`${p}.bootprobe-undo`)).toBe(false);
  });

  it('a read-only image: exit 4', async () => {
    const p = copy('template.vhd');
    chmodSync(p, 0o444);
    const r = await runCli(['repair', '--generalize', '--in-place', '--undo', `${p}.u`, p]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/read-only/);
  });

  it('an existing output or undo file is never replaced without --force', async () => {
    const p = copy('template.vhd');
    const out = path.join(path.dirname(p), 'exists.vhd');
    copyFileSync(p, out);
    const r = await runCli(['repair', '--generalize', '--output', out, p]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/exists/);
  });

  it('the parent of a differencing disk is refused for --in-place', async () => {
    const p = copy('template.vhd');
    const child = path.join(path.dirname(p), 'kid.vhd');
    expect((await runCli(['create-child', p, child])).code).toBe(0);
    const r = await runCli(['repair', '--generalize', '--in-place', '--undo', `${p}.u2`, p]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/parent/);
  });

  it('usage: one mode, one output', async () => {
    const p = copy('template.vhd');
    expect((await runCli(['repair', p])).code).toBe(2);
    expect((await runCli(['repair', '--generalize', '--retarget', p])).code).toBe(2);
    expect((await runCli(['repair', '--generalize', '--in-place', '--output', 'x', p])).code).toBe(2);
  });

  it('a data disk has no store to repair: exit 2 with the reason', async () => {
    const r = await runCli(['repair', '--generalize', src['data-disk.vhdx']!]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no BCD store/);
  });
});
