// Pre-flight (issue 5) over every corpus image and every corpus BCD store, with what MANIFEST.md says of each:
// none of the images is a bootable Windows template (data disks, bare volumes, boot.sdi's ramdisk volume, disks whose
// parent is absent), so each must fail at the boot volume with SCVMM's 13206 cause, or be refused (exit 3) when it
// cannot be read; the stores are checked on their own, and only the one bcdedit wrote with locate= devices
// (windeploy-uefi-locate.BCD) is generalized — with the resumeobject MANIFEST.md says is absent reported dangling.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { CORPUS, corpus, tempDir } from '../helpers/env.js';

const t = tempDir();
afterAll(() => t.cleanup());

function unpacked(rel: string): string {
  const p = corpus(rel);
  if (!rel.endsWith('.gz')) return p;
  const out = path.join(t.dir, path.basename(rel, '.gz'));
  writeFileSync(out, gunzipSync(readFileSync(p)));
  return out;
}

async function preflight(p: string) {
  const r = await runCli(['preflight', '--json', p]);
  return { code: r.code, json: JSON.parse(r.stdout), stderr: r.stderr };
}

const failsAtBootVolume: [string, RegExp][] = [
  ['ntfs/dfirntfs-ntfs_index-mbr-disk.raw', /no active partition and no volume holds \\Boot\\BCD/],
  ['ntfs/msmedia-boot.sdi', /no partition table/],
  ['other/dfirntfs-exfat_win.raw', /no partition table \(a bare exfat volume\)/],
  ['vhd/dfvfs-ext2-dynamic.vhd', /no partition table/],
  ['vhd/dfvfs-image-dynamic.vhd', /no partition table/],
  ['vhdx/qemu-dirtylog-w8.vhdx', /no partition table/],
  ['vhdx/qemu-dirtylog-w13.vhdx', /no partition table/],
  ['vhdx/qemu-logguid-empty-log.vhdx', /no partition table/],
  ['vhdx/hyperv-fixed.vhdx.gz', /data disk/],
  ['vhdx/hyperv-dynamic.vhdx.gz', /data disk/],
];

describe('corpus images: none is a bootable template', () => {
  for (const [rel, cause] of failsAtBootVolume) {
    it(`${rel}: fail, no boot volume (13206)`, async () => {
      const { code, json } = await preflight(unpacked(rel));
      expect(code).toBe(1);
      expect(json).toMatchObject({ verdict: 'fail', bootVolume: null, windowsVolume: null });
      const c = json.checks.find((x: { id: string }) => x.id === 'boot-volume');
      expect(c.status).toBe('fail');
      expect(c.message).toMatch(cause);
      expect(c.message).toContain('13206');
    });
  }

  it('other/dfirntfs-mbr-win-512.raw (unformatted partitions): fail, no boot volume', async () => {
    const { execFileSync } = await import('node:child_process');
    execFileSync('tar', ['xf', corpus('other/dfirntfs-mbr-win-512.raw.tgz'), '-C', t.dir]);
    const { code, json } = await preflight(path.join(t.dir, 'mbr-win-512.raw'));
    expect(code).toBe(1);
    expect(json.disk.volumes).toHaveLength(8);
    expect(json.checks[0]).toMatchObject({ id: 'boot-volume', status: 'fail' });
  });

  for (const rel of [
    'vhd/dfvfs-fat-differential.vhd',
    'vhd/dfvfs-image-differential.vhd',
    'vhdx/hyperv-differencing.avhdx.gz',
  ]) {
    it(`${rel}: parent absent, refused with exit 3 naming the paths tried`, async () => {
      const { code, json } = await preflight(unpacked(rel));
      expect(code).toBe(3);
      expect(json.verdict).toBe('error');
      expect(json.error.code).toMatch(/^VHDX?_PARENT_MISSING$/);
      expect(json.error.message).toContain('tried');
    });
  }
});

const stores = [
  'bluepill-recovery.BCD',
  'galton-bios-pe.BCD',
  'galton-ipxe-padded.BCD',
  'hackintosh-z590-uefi.BCD',
  'msmedia-bios-setup.bcd',
  'msmedia-uefi-bcdedit-modified.bcd',
  'regipy-uefi-win10-installed.BCD',
  'win10pe-uefi-ramdisk.bcd',
  'windeploy-bios-installed.BCD',
  'windeploy-uefi-locate.BCD',
  'windows2go-uefi-win11-installed.BCD',
];
const ramdisk = new Set([
  'bluepill-recovery.BCD',
  'galton-ipxe-padded.BCD',
  'msmedia-bios-setup.bcd',
  'msmedia-uefi-bcdedit-modified.bcd',
  'win10pe-uefi-ramdisk.bcd',
]);

describe('corpus BCD stores checked on their own', () => {
  it('covers every store of the corpus', async () => {
    const { readdirSync } = await import('node:fs');
    const all = readdirSync(path.join(CORPUS, 'bcd')).filter((n) => /\.bcd$/i.test(n));
    expect(all.sort()).toEqual([...stores].sort());
  });

  for (const name of stores) {
    it(`${name}: ${name === 'windeploy-uefi-locate.BCD' ? 'generalized (locate=), dangling resumeobject' : ramdisk.has(name) ? 'boot media, not a template' : 'installed Windows, not generalized'}`, async () => {
      const { code, json } = await preflight(corpus(`bcd/${name}`));
      const byId = Object.fromEntries(json.checks.map((c: { id: string }) => [c.id, c]));
      expect(byId['bcd-store'].status).toBe('pass');
      expect(byId['default-loader'].status).toBe('pass');
      if (name === 'windeploy-uefi-locate.BCD') {
        expect(code).toBe(0);
        expect(json.generalized).toBe(true);
        expect(byId.references.status).toBe('warn');
        expect(byId.references.message).toContain(
          '{default} resumeobject → {bb9cb6e7-3fd0-11ec-8b53-806e6f6e6963}',
        );
      } else {
        expect(code).toBe(1);
        expect(json.generalized).toBe(false);
        expect(byId.generalized.message).toMatch(
          ramdisk.has(name) ? /ramdisk=.*boot media/ : /partition=|is boot/,
        );
      }
    });
  }
});
