// Pre-flight against the real tools (issue 5): the fixture script is run again here with sfdisk/sgdisk, mkntfs +
// ntfs-3g, mkfs.fat + mtools, makensis, hivexregedit and qemu-img, and every image it makes must give the verdict
// and causes of the committed copy; what pre-flight reads inside (the hives' values, the Windows files, the disk
// layout) is compared with hivexget, fls and sfdisk; and a 127 GiB dynamic VHDX template is pre-flighted reading
// under 2 MB.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { FIXTURES, REPO, requireTool, tempDir } from '../helpers/env.js';
import { gunzipTo } from '../helpers/gunzip.js';

const t = tempDir('bootprobe-preflight-interop-');
const out = path.join(t.dir, 'fixtures');
const samples = path.join(t.dir, 'samples');
const big = path.join(t.dir, 'big');
afterAll(() => t.cleanup());

beforeAll(() => {
  for (const tool of [
    'sfdisk',
    'sgdisk',
    'mkntfs',
    'ntfs-3g',
    'mkfs.fat',
    'mcopy',
    'makensis',
    'hivexregedit',
    'qemu-img',
  ])
    requireTool(tool);
  execFileSync('bash', [path.join(REPO, 'scripts/fixtures/preflight.sh')], {
    cwd: REPO,
    env: { ...process.env, PREFLIGHT_OUT: out, SAMPLES_OUT: samples, BIG_OUT: big },
    stdio: 'pipe',
  });
}, 300000);

async function verdict(p: string) {
  const r = await runCli(['preflight', '--json', p]);
  const j = JSON.parse(r.stdout);
  return {
    code: r.code,
    verdict: j.verdict,
    statuses: j.checks.map((c: { id: string; status: string }) => `${c.id}:${c.status}`),
    json: j,
  };
}

describe('the fixture script, run again with the real tools', () => {
  it('makes every committed verdict fixture, and each regenerated image gets the same verdict and checks', async () => {
    const committed = readdirSync(path.join(FIXTURES, 'preflight')).filter((n) => n.endsWith('.gz'));
    const made = readdirSync(out).filter((n) => n.endsWith('.gz'));
    expect(made.sort()).toEqual(committed.sort());
    for (const name of committed) {
      const a = gunzipTo(
        path.join(FIXTURES, 'preflight', name),
        path.join(t.dir, `old-${name.slice(0, -3)}`),
      );
      const b = gunzipTo(path.join(out, name), path.join(t.dir, `new-${name.slice(0, -3)}`));
      const [va, vb] = [await verdict(a), await verdict(b)];
      expect({ name, ...vb, json: undefined }).toEqual({ name, ...va, json: undefined });
    }
    for (const name of ['template.vhd', 'generalized.vhd']) {
      const [va, vb] = [
        await verdict(path.join(REPO, 'samples', name)),
        await verdict(path.join(samples, name)),
      ];
      expect({ name, ...vb, json: undefined }).toEqual({ name, ...va, json: undefined });
    }
  });

  it('qemu-img check (VHDX) and vhdiinfo (VHD, which qemu-img cannot check) accept every image it made', () => {
    requireTool('vhdiinfo');
    for (const name of readdirSync(out)) {
      const img = gunzipTo(path.join(out, name), path.join(t.dir, `chk-${name.slice(0, -3)}`));
      if (img.endsWith('.vhd')) execFileSync('vhdiinfo', [img], { stdio: 'pipe' });
      else execFileSync('qemu-img', ['check', '-f', 'vhdx', img], { stdio: 'pipe' });
    }
  });
});

describe('what pre-flight reads, against the tools', () => {
  it('Windows product and setup values equal hivexget on the hives (read lazily by bootprobe)', async () => {
    const img = path.join(REPO, 'samples/generalized.vhd');
    const { json } = await verdict(img);
    for (const hive of ['SOFTWARE', 'SYSTEM']) {
      const r = await runCli(['cat', img, `/Windows/System32/config/${hive}`]);
      writeFileSync(path.join(t.dir, hive), r.stdoutBytes);
    }
    const get = (hive: string, key: string, value: string) =>
      execFileSync('hivexget', [path.join(t.dir, hive), key, value], { encoding: 'utf8' }).trim();
    expect(json.windows.productName).toBe(
      get('SOFTWARE', '\\Microsoft\\Windows NT\\CurrentVersion', 'ProductName'),
    );
    expect(json.windows.editionId).toBe(
      get('SOFTWARE', '\\Microsoft\\Windows NT\\CurrentVersion', 'EditionID'),
    );
    expect(json.windows.currentBuild).toBe(
      get('SOFTWARE', '\\Microsoft\\Windows NT\\CurrentVersion', 'CurrentBuild'),
    );
    expect(String(json.windows.ubr)).toBe(get('SOFTWARE', '\\Microsoft\\Windows NT\\CurrentVersion', 'UBR'));
    expect(json.windows.imageStateRegistry).toBe(
      get('SOFTWARE', '\\Microsoft\\Windows\\CurrentVersion\\Setup\\State', 'ImageState'),
    );
    expect(json.windows.setup.cmdLine).toBe(get('SYSTEM', '\\Setup', 'CmdLine'));
    expect(String(json.windows.setup.systemSetupInProgress)).toBe(
      get('SYSTEM', '\\Setup', 'SystemSetupInProgress'),
    );
  });

  it('the volumes and the Windows files it found are those sfdisk and fls see', async () => {
    const img = gunzipTo(
      path.join(FIXTURES, 'preflight', 'gen1-two-partitions.vhdx.gz'),
      path.join(t.dir, 'two.vhdx'),
    );
    const raw = path.join(t.dir, 'two.raw');
    execFileSync('qemu-img', ['convert', '-f', 'vhdx', '-O', 'raw', img, raw]);
    const { json } = await verdict(img);
    const sf = JSON.parse(execFileSync('sfdisk', ['--json', raw], { encoding: 'utf8' })).partitiontable;
    expect(json.disk.signature).toBe(sf.id);
    expect(
      json.disk.volumes.map((v: { start: number; active: boolean }) => [v.start / 512, v.active]),
    ).toEqual(
      sf.partitions.map((p: { start: number; bootable?: boolean }) => [p.start, p.bootable === true]),
    );
    const fls = execFileSync('fls', ['-r', '-p', '-o', String(sf.partitions[1].start), raw], {
      encoding: 'utf8',
    });
    for (const f of json.windows.files) {
      const rel = f.path.slice(1).replace(/\\/g, '/');
      expect(fls.includes(`\t${rel}\n`) || fls.includes(`\t${rel}\r`), rel).toBe(f.present);
    }
  });
});

describe('a 127 GiB dynamic VHDX template', () => {
  it('pre-flights in full reading under 2 MB', async () => {
    const img = path.join(big, 'template-127g.vhdx');
    const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', img], { encoding: 'utf8' }));
    expect(info['virtual-size']).toBe(127 * 1024 ** 3);
    const r = await runCli(['--stats', 'preflight', '--json', img]);
    const json = JSON.parse(r.stdout);
    expect(json).toMatchObject({ verdict: 'pass', windowsVolume: { partition: 2 }, generalized: true });
    const bytes = Number(/bytesRead=(\d+)/.exec(r.stderr)![1]);
    expect(bytes).toBeLessThan(2 * 1000 * 1000);
    expect(readFileSync(img).length).toBeGreaterThan(0);
  });
});
