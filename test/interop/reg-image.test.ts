// Hives read from inside disk images, end to end: a BCD store on the active NTFS partition of an MBR disk and on the
// FAT32 EFI system partition of a GPT disk (both made with sfdisk/sgdisk, mkntfs + ntfs-3g, mkfs.fat + mtools), and a
// dirty SYSTEM hive with its logs. Oracles: hivexregedit's exports of the same files.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { corpus, requireTool, tempDir } from '../helpers/env.js';

const t = tempDir();
afterAll(() => t.cleanup());
const sh = (cmd: string, args: string[], input?: string) =>
  execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });

const BIOS_BCD = 'bcd/windeploy-bios-installed.BCD';
const UEFI_BCD = 'bcd/regipy-uefi-win10-installed.BCD';
const mbrImg = path.join(t.dir, 'mbr.img');
const gptImg = path.join(t.dir, 'gpt.img');

beforeAll(() => {
  for (const tool of ['sfdisk', 'sgdisk', 'mkntfs', 'ntfs-3g', 'mkfs.fat', 'mcopy', 'hivexregedit'])
    requireTool(tool);
  // MBR disk: one active NTFS partition at 1 MiB with the signature the BIOS store's partition devices name holding \Boot\BCD and a dirty SYSTEM hive with its logs.
  sh('truncate', ['-s', '40M', mbrImg]);
  sh('sfdisk', ['-q', mbrImg], 'label: dos\nlabel-id: 0xddba6bbb\nstart=2048, type=7, bootable\n');
  const part = path.join(t.dir, 'part.raw');
  sh('truncate', ['-s', String(40 * 1024 * 1024 - 2048 * 512), part]);
  sh('mkntfs', ['-q', '-F', '-Q', part]);
  const mnt = path.join(t.dir, 'mnt');
  sh('mkdir', ['-p', mnt]);
  sh('ntfs-3g', [part, mnt]);
  try {
    sh('mkdir', ['-p', `${mnt}/Boot`, `${mnt}/Windows/System32/config`]);
    sh('cp', [corpus(BIOS_BCD), `${mnt}/Boot/BCD`]);
    const dirty = corpus('hives/yarp-NewDirtyHive1/NewDirtyHive');
    sh('cp', [dirty, `${mnt}/Windows/System32/config/SYSTEM`]);
    sh('cp', [`${dirty}.LOG1`, `${mnt}/Windows/System32/config/SYSTEM.LOG1`]);
    sh('cp', [`${dirty}.LOG2`, `${mnt}/Windows/System32/config/SYSTEM.LOG2`]);
  } finally {
    sh('umount', [mnt]);
  }
  sh('dd', [`if=${part}`, `of=${mbrImg}`, 'bs=512', 'seek=2048', 'conv=notrunc', 'status=none']);
  // GPT disk: a FAT32 EFI system partition holding \EFI\Microsoft\Boot\BCD, then a basic data partition.
  sh('truncate', ['-s', '100M', gptImg]);
  sh('sgdisk', ['-o', '-n', '1:2048:+40M', '-t', '1:EF00', '-n', '2:0:0', '-t', '2:0700', gptImg]);
  const esp = path.join(t.dir, 'esp.raw');
  sh('truncate', ['-s', '40M', esp]);
  sh('mkfs.fat', ['-F', '32', '-n', 'SYSTEM', esp]);
  const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
  for (const d of ['::/EFI', '::/EFI/Microsoft', '::/EFI/Microsoft/Boot'])
    execFileSync('mmd', ['-i', esp, d], { env });
  execFileSync('mcopy', ['-i', esp, corpus(UEFI_BCD), '::/EFI/Microsoft/Boot/BCD'], { env });
  sh('dd', [`if=${esp}`, `of=${gptImg}`, 'bs=512', 'seek=2048', 'conv=notrunc', 'status=none']);
}, 300000);

describe('reg on disk images', () => {
  it('finds the BIOS store on the active NTFS partition; reg export equals hivexregedit', async () => {
    const r = await runCli(['reg', 'export', mbrImg]);
    expect(r.code, r.stderr).toBe(0);
    expect(Buffer.from(r.stdoutBytes).equals(readFileSync(corpus(`${BIOS_BCD}.hivex.reg`)))).toBe(true);
  });

  it('finds the UEFI store on the FAT32 EFI system partition of a GPT disk', async () => {
    const r = await runCli(['reg', 'export', gptImg]);
    expect(r.code, r.stderr).toBe(0);
    expect(Buffer.from(r.stdoutBytes).equals(readFileSync(corpus(`${UEFI_BCD}.hivex.reg`)))).toBe(true);
  });

  it('replays a dirty hive from the logs beside it: --file reads what Windows recovered', async () => {
    const r = await runCli([
      'reg',
      'export',
      '--prefix',
      'HKEY_LOCAL_MACHINE\\SYSTEM',
      '--file',
      '\\Windows\\System32\\config\\SYSTEM',
      mbrImg,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const want = execFileSync('hivexregedit', [
      '--export',
      '--prefix',
      'HKEY_LOCAL_MACHINE\\SYSTEM',
      corpus('hives/yarp-NewDirtyHive1/RecoveredHive_Windows10'),
      '\\',
    ]);
    expect(Buffer.from(r.stdoutBytes).equals(want)).toBe(true);
  });
});

describe('bcd on disk images', () => {
  it('decodes the BIOS store found on the active partition and names its partition devices after the image', async () => {
    const r = await runCli(['bcd', mbrImg]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Windows Boot Manager\n-{20}\nidentifier {14}\{bootmgr\}$/m);
    expect(r.stdout).toMatch(/^device {18}partition=image partition 1$/m);
    const j = JSON.parse((await runCli(['bcd', '--json', mbrImg])).stdout);
    expect(j.store).toContain('/Boot/BCD');
    expect(j.objects.length).toBeGreaterThan(5);
  });

  it('decodes the UEFI store found on the EFI system partition', async () => {
    const r = await runCli(['bcd', '--json', gptImg]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.store).toContain('/EFI/Microsoft/Boot/BCD');
    expect(j.objects.some((o: { alias: string | null }) => o.alias === '{bootmgr}')).toBe(true);
  });

  it('a hive that is not a store is refused with exit 3', async () => {
    const r = await runCli(['bcd', '--file', '\\Windows\\System32\\config\\SYSTEM', mbrImg]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/not a BCD store/);
  });
});
