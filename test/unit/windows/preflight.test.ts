// Pre-flight (issue 5) on one fixture per verdict path (scripts/fixtures/preflight.sh): each gives the verdict and
// names the cause a Windows admin would agree with; the JSON carries the keys the issue lists; scan tabulates them.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImage } from '../../../src/image/open-image.js';
import { newIoStats } from '../../../src/io/block-device.js';
import { CachedDevice } from '../../../src/io/cache.js';
import { FileDevice } from '../../../src/io/file-device.js';
import { type PreflightReport, preflight } from '../../../src/windows/preflight.js';
import { runCli } from '../../helpers/cli.js';
import { FIXTURES, REPO, tempDir } from '../../helpers/env.js';
import { gunzipTo } from '../../helpers/gunzip.js';

const tmp = tempDir('bootprobe-preflight-');
const images: Record<string, string> = {};
beforeAll(() => {
  const dir = path.join(FIXTURES, 'preflight');
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.gz'))) {
    images[f.replace(/\.gz$/, '')] = gunzipTo(path.join(dir, f), path.join(tmp.dir, f.replace(/\.gz$/, '')));
  }
  images['template.vhd'] = path.join(REPO, 'samples/template.vhd');
  images['generalized.vhd'] = path.join(REPO, 'samples/generalized.vhd');
});
afterAll(() => tmp.cleanup());

async function report(name: string, args: string[] = []): Promise<{ code: number; r: PreflightReport }> {
  const res = await runCli(['preflight', '--json', ...args, images[name]!]);
  return { code: res.code, r: JSON.parse(res.stdout) as PreflightReport };
}
const statusOf = (r: PreflightReport) => Object.fromEntries(r.checks.map((c) => [c.id, c.status]));
const check = (r: PreflightReport, id: string) => r.checks.find((c) => c.id === id)!;

describe('preflight — verdict per template kind', () => {
  it('generation 1, one partition, store not generalized: fail, and the cause is the store', async () => {
    const { code, r } = await report('template.vhd');
    expect(code).toBe(1);
    expect(r).toMatchObject({
      verdict: 'fail',
      bootVolume: { partition: 1, bcdPath: '\\Boot\\BCD' },
      windowsVolume: { partition: 1 },
      generalized: false,
      firmware: 'bios',
      generation: 1,
    });
    expect(r.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual(['generalized']);
    const g = check(r, 'generalized');
    expect(g.message).toContain(
      '{default} osdevice is partition= (disk signature 0xa9083c0a, offset 1048576)',
    );
    expect(g.fix).toContain('sysprep /generalize');
    expect(g.fix).toContain('bootprobe repair --generalize');
    // The store resolves: its partition= devices name this very disk.
    expect(statusOf(r)).toMatchObject({
      device: 'pass',
      osdevice: 'pass',
      'bcd-store': 'pass',
      'image-state': 'warn',
    });
  });

  it('--no-customization: an ungeneralized store only warns, so the same template passes', async () => {
    const { code, r } = await report('template.vhd', ['--no-customization']);
    expect(code).toBe(0);
    expect(r.verdict).toBe('pass');
    expect(check(r, 'generalized').status).toBe('warn');
  });

  it('the same template after sysprep (VHD): pass, generalized store and Windows', async () => {
    const { code, r } = await report('generalized.vhd');
    expect(code).toBe(0);
    expect(r).toMatchObject({ verdict: 'pass', generalized: true, windowsVolume: { partition: 1 } });
    expect(r.windows).toMatchObject({
      productName: 'Windows Server 2019 Datacenter',
      editionId: 'ServerDatacenter',
      version: '10.0',
      currentBuild: '17763',
      ubr: 3403,
      architecture: 'x64',
      kernelVersion: '10.0.17763.1',
      imageState: 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE',
      imageStateRegistry: 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE',
      generalized: true,
      setup: { systemSetupInProgress: 1, setupType: 2, oobeInProgress: 1, cmdLine: 'oobe\\windeploy.exe' },
    });
    expect(check(r, 'image-state').status).toBe('pass');
  });

  it('System Reserved + Windows, generalized: locate= finds Windows on partition 2', async () => {
    const { r } = await report('gen1-two-partitions.vhdx');
    expect(r).toMatchObject({
      verdict: 'pass',
      bootVolume: { partition: 1 },
      windowsVolume: { partition: 2 },
    });
    expect(check(r, 'osdevice').message).toBe('{default} osdevice: locate=\\Windows: found on partition 2');
  });

  it('System Reserved + Windows with partition= devices on this disk: they resolve, but the store is not generalized', async () => {
    const { r } = await report('gen1-partition-devices.vhdx');
    expect(r.verdict).toBe('fail');
    expect(check(r, 'device').message).toContain('offset 5242880: partition 2');
    expect(r.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual(['generalized']);
  });

  it('boot tools the image carries: what they need, and with --target-os whether that Windows runs them', async () => {
    const { r } = await report('gen1-two-partitions.vhdx');
    expect(check(r, 'boot-tools')).toMatchObject({ status: 'pass' });
    expect(check(r, 'boot-tools').message).toBe(
      '\\Boot\\bootsect.exe on partition 1: x64, needs NT 5.2 or later',
    );
    const xp = await report('gen1-two-partitions.vhdx', ['--target-os', 'xp']);
    expect(xp.code).toBe(1);
    expect(check(xp.r, 'boot-tools').status).toBe('fail');
    expect(check(xp.r, 'boot-tools').message).toContain('0x800700C1');
    expect(check(xp.r, 'boot-tools').fix).toContain('WinPE 3.1');
    expect((await report('gen1-two-partitions.vhdx', ['--target-os', '10'])).code).toBe(0);
  });

  it('generation 2 (GPT: ESP, MSR, Windows) in a VHDX: pass, UEFI store on the ESP', async () => {
    const { r } = await report('gen2.vhdx');
    expect(r).toMatchObject({
      verdict: 'pass',
      firmware: 'uefi',
      generation: 2,
      bootVolume: { partition: 1, bcdPath: '\\EFI\\Microsoft\\Boot\\BCD' },
      windowsVolume: { partition: 3 },
    });
    expect(r.checks.every((c) => c.status === 'pass')).toBe(true);
    expect(check(r, 'boot-code').message).toContain('bootmgfw.efi');
  });

  it('the generation 2 layout in a VHD: fail, generation 2 needs VHDX', async () => {
    const { r } = await report('gen2-in-vhd.vhd');
    expect(r.verdict).toBe('fail');
    expect(check(r, 'firmware')).toMatchObject({ status: 'fail' });
    expect(check(r, 'firmware').message).toContain('generation 2 VMs boot only from VHDX');
  });

  it('partition= devices naming another disk signature: device and osdevice do not resolve (13206)', async () => {
    const { r } = await report('other-disk.vhdx');
    expect(r).toMatchObject({ verdict: 'fail', windowsVolume: null });
    expect(check(r, 'device').message).toContain(
      "partition= names disk signature 0x12345678 (offset 1048576), this disk's signature is 0xa9083c0a",
    );
    expect(check(r, 'osdevice').status).toBe('fail');
    expect(check(r, 'device').fix).toContain('--retarget');
    expect(r.trace).toContain('bootDevice UnknownDevice');
    expect(r.trace).toContain('MountedVhd windows volume not found');
  });

  it('a store referencing a missing object: a warning naming the element and the GUID', async () => {
    const { r } = await report('missing-object.vhdx');
    expect(r.verdict).toBe('pass');
    expect(check(r, 'references')).toMatchObject({ status: 'warn' });
    expect(check(r, 'references').message).toContain(
      '{default} resumeobject → {00c0ffee-0000-4000-8000-000000000001}',
    );
  });

  it('a data disk with no boot store: fail, no boot volume (SCVMM error 13206)', async () => {
    const { code, r } = await report('data-disk.vhdx');
    expect(code).toBe(1);
    expect(r).toMatchObject({ verdict: 'fail', bootVolume: null, windowsVolume: null, generalized: null });
    expect(check(r, 'boot-volume').message).toContain('13206');
    expect(r.trace.at(-2)).toMatch(/^BootOrSystemVolumeNotFoundException/);
  });

  it('a dirty store with its log: replayed (the log holds the generalized store), a warning that SCVMM would read stale data', async () => {
    const { r } = await report('dirty-store.vhdx');
    expect(r).toMatchObject({ verdict: 'pass', generalized: true, store: { recovered: true } });
    expect(check(r, 'bcd-store')).toMatchObject({ status: 'warn' });
    expect(check(r, 'bcd-store').message).toContain('BCD.LOG1 replayed');
  });

  it('the same dirty store without its log: fail, stale data', async () => {
    const { r } = await report('dirty-store-nolog.vhdx');
    expect(r.verdict).toBe('fail');
    expect(check(r, 'bcd-store')).toMatchObject({ status: 'fail' });
    expect(check(r, 'bcd-store').message).toContain('dirty');
  });
  it('a hibernated Windows: passes with a volume-state warning naming hiberfil.sys', async () => {
    const { r } = await report('hibernated.vhdx');
    expect(r.verdict).toBe('pass');
    expect(check(r, 'volume-state')).toMatchObject({ status: 'warn' });
    expect(check(r, 'volume-state').message).toContain('hiberfil.sys starts "hibr"');
    const clean = await report('generalized.vhd');
    expect(check(clean.r, 'volume-state').status).toBe('pass');
  });
});

describe('preflight — output contract', () => {
  it('JSON has verdict, checks[{id,status,message}], bootVolume, windowsVolume, generalized', async () => {
    const { r } = await report('template.vhd');
    expect(Object.keys(r)).toEqual(
      expect.arrayContaining(['verdict', 'checks', 'bootVolume', 'windowsVolume', 'generalized']),
    );
    for (const c of r.checks) {
      expect(['pass', 'warn', 'fail']).toContain(c.status);
      expect(typeof c.id).toBe('string');
      expect(c.message.length).toBeGreaterThan(10);
      if (c.status === 'pass') expect(c.fix).toBeNull();
      else expect(c.fix).toBeTruthy();
    }
  });

  it('--trace prints the walk in the shape of SCVMM’s trace (known-answers.md §3)', async () => {
    const res = await runCli(['preflight', '--trace', images['generalized.vhd']!]);
    const lines = res.stdout.split('\n').map((l) => l.replace(/^ {2}trace: /, ''));
    expect(lines).toContain('DISK: 0, signature=a9083c0a #partitions 1');
    expect(lines).toContain(' PARTITION: 0.0 Bootable=True, #LDs 1');
    expect(lines.find((l) => l.startsWith('  LOGICALDRIVE: partition 1'))).toMatch(
      /WindowsDrive=True, IsBoot=True, BootSectorType=None, FullSize=3145728, \[1048576-4194304\]$/,
    );
    expect(lines).toContain('FindBootVol partition 1, found boot drive candidate');
    expect(lines).toContain('MountedVhd windows volume partition 1');
  });

  it('several images: every one is reported; exit 1 when one fails, 3 when one is unreadable', async () => {
    const both = await runCli(['preflight', images['generalized.vhd']!, images['template.vhd']!]);
    expect(both.code).toBe(1);
    expect(both.stdout).toContain(`${images['generalized.vhd']}: PASS`);
    expect(both.stdout).toContain(`${images['template.vhd']}: FAIL`);
    const bad = path.join(tmp.dir, 'truncated.vhdx');
    const { writeFileSync, readFileSync } = await import('node:fs');
    writeFileSync(bad, readFileSync(images['gen2.vhdx']!).subarray(0, 300000));
    const withBad = await runCli(['preflight', '--json', images['generalized.vhd']!, bad]);
    expect(withBad.code).toBe(3);
    const out = JSON.parse(withBad.stdout);
    expect(out).toHaveLength(2);
    expect(out[0].verdict).toBe('pass');
    expect(out[1]).toMatchObject({ verdict: 'error', error: { code: 'VHDX_SIGNATURE' } });
    expect(out[1].error.message).toContain('truncated');
  });

  it('the library returns what --json prints (minus the image path)', async () => {
    const p = images['gen2.vhdx']!;
    const img = await openImage(await FileDevice.open(p), { path: p });
    const lib = await preflight(img, { format: img.info.format });
    await img.close();
    const { r } = await report('gen2.vhdx');
    expect({ image: p, ...JSON.parse(JSON.stringify(lib)) }).toEqual(r);
  });

  it('reads little: the whole pre-flight of a sample reads under 1 MiB', async () => {
    const stats = newIoStats();
    const p = images['generalized.vhd']!;
    const img = await openImage(new CachedDevice(await FileDevice.open(p, { stats })), { path: p });
    await preflight(img, { format: 'vhd' });
    await img.close();
    expect(stats.bytesRead).toBeLessThan(1024 * 1024);
  });
});

describe('scan — a template library', () => {
  it('tabulates every image under a folder, one bad image does not stop it', async () => {
    const { writeFileSync, mkdirSync, copyFileSync, readFileSync } = await import('node:fs');
    const lib = path.join(tmp.dir, 'library');
    mkdirSync(path.join(lib, 'gen2'), { recursive: true });
    copyFileSync(images['template.vhd']!, path.join(lib, 'template.vhd'));
    copyFileSync(images['generalized.vhd']!, path.join(lib, 'generalized.vhd'));
    copyFileSync(images['gen2.vhdx']!, path.join(lib, 'gen2', 'gen2.vhdx'));
    writeFileSync(path.join(lib, 'broken.vhdx'), readFileSync(images['gen2.vhdx']!).subarray(0, 300000));
    writeFileSync(path.join(lib, 'notes.txt'), 'not an image');
    // Named .vhdx but zeroed: a damaged template, not a raw disk.
    writeFileSync(path.join(lib, 'zeroed.vhdx'), new Uint8Array(65536));
    const res = await runCli(['scan', '--jobs', '2', lib]);
    expect(res.code).toBe(1);
    const lines = res.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^IMAGE\s+VERDICT\s+BOOT\s+WINDOWS\s+GENERALIZED\s+CAUSE$/);
    expect(lines.find((l) => l.startsWith('broken.vhdx'))).toMatch(/ERROR/);
    expect(lines.find((l) => l.startsWith('template.vhd'))).toMatch(/FAIL .*generalized: /);
    expect(lines.find((l) => l.startsWith(path.join('gen2', 'gen2.vhdx')))).toMatch(/PASS/);
    expect(lines.find((l) => l.startsWith('zeroed.vhdx'))).toMatch(
      /ERROR .*named \.vhdx but holds no VHDX file identifier/,
    );
    expect(lines.at(-1)).toBe('5 images: 2 pass, 1 fail, 2 unreadable');
    const json = JSON.parse((await runCli(['scan', '--json', lib])).stdout);
    expect(json.summary).toEqual({ images: 5, pass: 2, fail: 1, unreadable: 2 });
    expect(json.images.map((i: { path: string }) => i.path)).toEqual([
      'broken.vhdx',
      'gen2/gen2.vhdx'.split('/').join(path.sep),
      'generalized.vhd',
      'template.vhd',
      'zeroed.vhdx',
    ]);
  });

  it('refuses a folder that does not exist with a usage error', async () => {
    const res = await runCli(['scan', path.join(tmp.dir, 'nope')]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^bootprobe: error: .*nope/);
  });
});
