// Partition tables and file systems in the shared corpus, against what MANIFEST.md says of each.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { NtfsFileSystem } from '../../src/fs/ntfs/ntfs.js';
import { FileDevice } from '../../src/io/file-device.js';
import { SliceDevice } from '../../src/io/slice-device.js';
import { runCli } from '../helpers/cli.js';
import { corpus, tempDir } from '../helpers/env.js';

const t = tempDir();
afterAll(() => t.cleanup());

async function info(p: string) {
  const r = await runCli(['info', '--json', p]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe('ntfs/dfirntfs-ntfs_index-mbr-disk.raw: Windows-formatted NTFS on an MBR disk', () => {
  const disk = () => corpus('ntfs/dfirntfs-ntfs_index-mbr-disk.raw');

  it('one NTFS partition at LBA 128 of 59392 sectors, signature 0x5b8a2f18, label "Test index"', async () => {
    const j = await info(disk());
    expect(j).toMatchObject({ format: 'raw', scheme: 'mbr', diskSignature: '0x5b8a2f18' });
    expect(j.partitions).toEqual([
      expect.objectContaining({
        index: 1,
        start: 128 * 512,
        size: 59392 * 512,
        type: '0x07',
        filesystem: 'ntfs',
        label: 'Test index',
      }),
    ]);
  });

  it('every entry of the recursive listing looks up by its path, with the same size (index-only walk)', async () => {
    const r = await runCli(['ls', '-R', '--json', disk()]);
    expect(r.code).toBe(0);
    const entries: { path: string; size: number; type: string }[] = JSON.parse(r.stdout).entries;
    expect(entries.length).toBeGreaterThan(40);
    const files = entries.filter((e) => e.type === 'file' && !e.path.startsWith('/$'));
    for (const e of files) {
      const s = await runCli(['stat', '--json', disk(), e.path.toUpperCase()]);
      expect(s.code, e.path).toBe(0);
      expect(JSON.parse(s.stdout).size).toBe(e.size);
    }
    const big = entries.filter((e) => e.path.startsWith('/test_dir/'));
    expect(big.length).toBeGreaterThan(5);
  });

  it('the volume is 1 KiB MFT records, 2 KiB clusters, MFT at cluster 4949 (ntfs.md corpus notes)', async () => {
    const dev = await FileDevice.open(disk());
    try {
      const fs = await NtfsFileSystem.open(new SliceDevice(dev, 65536, 59392 * 512));
      expect(fs.boot).toMatchObject({ recordSize: 1024, clusterSize: 2048, mftLcn: 4949 });
      expect(fs.volumeInfo).toMatchObject({ major: 3, minor: 1, dirty: false });
    } finally {
      await dev.close();
    }
  });
});

describe('ntfs/msmedia-boot.sdi: the NTFS volume inside Microsoft boot.sdi', () => {
  it('opens at byte 0x2000 with label "Boot" and lists its root', async () => {
    const p = corpus('ntfs/msmedia-boot.sdi');
    const dev = await FileDevice.open(p);
    try {
      const fs = await NtfsFileSystem.open(new SliceDevice(dev, 0x2000, 0x303c00));
      expect(fs.label).toBe('Boot');
      const names = (await fs.list(await fs.root())).map((e) => e.name);
      expect(names).toContain('$MFT');
      expect(names).toContain('System Volume Information');
      const svi = await fs.lookup('/system volume information');
      expect(svi.shortName).toBe('SYSTEM~1');
    } finally {
      await dev.close();
    }
  });
});

describe('other/dfirntfs-mbr-win-512.raw.tgz: 3 primaries and an extended chain of 4 logicals', () => {
  it('numbers the logical partitions 5..8, all type 0x06, unformatted', async () => {
    // A plain tar despite its name (MANIFEST.md): tar xf, not xzf.
    execFileSync('tar', ['xf', corpus('other/dfirntfs-mbr-win-512.raw.tgz'), '-C', t.dir]);
    const j = await info(path.join(t.dir, 'mbr-win-512.raw'));
    expect(j.scheme).toBe('mbr');
    expect(j.diskSignature).toBe('0x882edd52');
    expect(j.partitions.map((p: { index: number }) => p.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const logical = j.partitions.filter((p: { kind: string }) => p.kind === 'logical');
    expect(logical).toHaveLength(4);
    expect(
      logical.every((p: { type: string; filesystem: null }) => p.type === '0x06' && p.filesystem === null),
    ).toBe(true);
    // Starts as mmls reports them. MANIFEST.md calls the layout "1 MiB aligned"; the volumes actually start 128
    // sectors (64 KiB) after each table sector, 8 MiB apart.
    const volumes = j.partitions.filter((p: { type: string }) => p.type !== '0x05');
    expect(volumes.map((p: { start: number }) => p.start / 512)).toEqual([
      128, 16512, 32896, 49408, 65920, 82432, 98944,
    ]);
  });
});

describe('other/dfirntfs-exfat_win.raw: a bare exFAT volume', () => {
  it('is one whole-disk exFAT volume; file commands say exFAT is not read (exit 3)', async () => {
    const p = corpus('other/dfirntfs-exfat_win.raw');
    const j = await info(p);
    expect(j.scheme).toBe('none');
    expect(j.partitions).toEqual([expect.objectContaining({ index: 1, kind: 'whole', filesystem: 'exfat' })]);
    const r = await runCli(['ls', p]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/exFAT/);
  });
});

describe('vhdx/hyperv-fixed.vhdx.gz: NTFS formatted by Windows inside a Hyper-V disk', () => {
  it('lists the volume labelled "New Volume", including $Extend/$Deleted', async () => {
    const p = path.join(t.dir, 'hyperv-fixed.vhdx');
    writeFileSync(p, gunzipSync(readFileSync(corpus('vhdx/hyperv-fixed.vhdx.gz'))));
    const j = await info(p);
    expect(j.partitions[0]).toMatchObject({ filesystem: 'ntfs', label: 'New Volume' });
    const r = await runCli(['ls', p, '/$Extend']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\$Deleted\/$/m);
  });
});

describe('boot code of the Windows-made corpus disks (boot-sectors.md §1.2, §4.1)', () => {
  it('dfir: Windows NT6 MBR code and an NTFS VBR loading BOOTMGR (Windows 8+ build)', async () => {
    const j = await info(corpus('ntfs/dfirntfs-ntfs_index-mbr-disk.raw'));
    expect(j.mbrBootCode.kind).toBe('windows-nt6');
    expect(j.partitions[0].bootCode).toMatchObject({ loader: 'bootmgr' });
    expect(j.partitions[0].bootCode.description).toMatch(/Windows 8 or later/);
  });

  it('boot.sdi: the NT5 NTFS VBR loads NTLDR', async () => {
    const { classifyVbr } = await import('../../src/volume/boot-code.js');
    const b = readFileSync(corpus('ntfs/msmedia-boot.sdi'));
    expect(classifyVbr(new Uint8Array(b.subarray(0x2000, 0x2000 + 8192))).loader).toBe('ntldr');
  });

  it('the EBR-chain disk carries the Windows NT6 MBR code (signature 0x882edd52)', async () => {
    const j = await info(path.join(t.dir, 'mbr-win-512.raw'));
    expect(j.mbrBootCode.kind).toBe('windows-nt6');
  });
});
