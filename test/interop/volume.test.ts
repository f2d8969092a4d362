// sfdisk --json and The Sleuth Kit's mmls as oracles for the partition-table reader (docs/boot-sectors.md §1, §2):
// on disks partitioned afresh by sfdisk and sgdisk (512- and 4096-byte sectors) and on the corpus disks, our
// starts and sizes equal theirs.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileDevice } from '../../src/io/file-device.js';
import type { PartitionTable } from '../../src/volume/partition.js';
import { isExtendedContainer, readPartitionTable } from '../../src/volume/partition-table.js';
import { corpus, requireTool, tempDir } from '../helpers/env.js';

const t = tempDir('bootprobe-volume-interop-');
afterAll(() => t.cleanup());
const sh = (cmd: string, args: string[], input?: string) =>
  execFileSync(cmd, args, { encoding: 'utf8', input, maxBuffer: 1 << 24, stdio: ['pipe', 'pipe', 'pipe'] });

beforeAll(() => {
  for (const tool of ['sfdisk', 'sgdisk', 'mmls', 'fsstat', 'losetup', 'tar']) requireTool(tool);
});

async function ours(img: string): Promise<PartitionTable> {
  const dev = await FileDevice.open(img);
  try {
    return await readPartitionTable(dev);
  } finally {
    await dev.close();
  }
}

type Span = { index: number; start: number; size: number };

/** sfdisk --json on `device` (the image, or the 4Kn loop device over it), in bytes. */
function sfdisk(device: string) {
  const j = JSON.parse(sh('sfdisk', ['--json', device])).partitiontable;
  const ss: number = j.sectorsize;
  const spans: Span[] = j.partitions.map((p: { node: string; start: number; size: number }) => ({
    index: Number(/(\d+)$/.exec(p.node)![1]),
    start: p.start * ss,
    size: p.size * ss,
  }));
  return { label: j.label as string, id: String(j.id).toLowerCase(), ss, spans, raw: j };
}

/** mmls's volumes (slot rows, not Meta or Unallocated), as sorted "start+size" byte pairs. */
function mmls(img: string, ss: number): string[] {
  const rows: string[] = [];
  for (const line of sh('mmls', ['-b', String(ss), img]).split('\n')) {
    const m = /^\d+:\s+(\d+:\d+|\d+)\s+(\d+)\s+\d+\s+(\d+)\s/.exec(line);
    if (m) rows.push(`${Number(m[2]) * ss}+${Number(m[3]) * ss}`);
  }
  return rows.sort();
}

async function compare(img: string, device = img) {
  const sf = sfdisk(device);
  const table = await ours(img);
  expect(table.scheme).toBe(sf.label === 'dos' ? 'mbr' : 'gpt');
  expect(table.sectorSize).toBe(sf.ss);
  expect(table.partitions.map(({ index, start, size }) => ({ index, start, size }))).toEqual(sf.spans);
  if (sf.label === 'gpt') expect(table.diskGuid).toBe(sf.id);
  else expect(table.diskSignature).toBe(sf.id);
  const volumes = table.partitions.filter((p) => !isExtendedContainer(p)).map((p) => `${p.start}+${p.size}`);
  expect(volumes.sort()).toEqual(mmls(img, sf.ss));
  return { sf, table };
}

function blank(name: string, mib: number): string {
  const img = path.join(t.dir, name);
  writeFileSync(img, new Uint8Array(0));
  execFileSync('truncate', ['-s', `${mib}M`, img]);
  return img;
}

describe('fresh sfdisk/sgdisk disks: our table equals sfdisk --json and mmls', () => {
  it('MBR: three primaries (one active) and an LBA extended partition (0x0F) with five logicals', async () => {
    const img = blank('mbr.img', 64);
    sh(
      'sfdisk',
      ['-q', img],
      'label: dos\nlabel-id: 0xdeadbeef\n,4M,7\n,4M,c,*\n,4M,27\n,,f\n,4M,7\n,4M,83\n,3M,b\n,2M,82\n,,7\n',
    );
    const { table } = await compare(img);
    expect(table.partitions.map((p) => p.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(table.partitions.filter((p) => p.active).map((p) => p.index)).toEqual([2]);
  });

  it('MBR: logical partitions not in disk order (sfdisk appends a link before the chain’s end)', async () => {
    const img = blank('mbr-order.img', 64);
    sh('sfdisk', ['-q', img], 'label: dos\n,8M,7\n,,5\n,6M,7\n,6M,7\n');
    // Partition 5 is removed and re-added: sfdisk relinks the chain; Linux numbering follows link order.
    sh('sfdisk', ['-q', '--delete', img, '5']);
    sh('sfdisk', ['-q', '--append', img], ',4M,83\n');
    await compare(img);
  });

  it('GPT: twelve partitions with names, made by sgdisk', async () => {
    const img = blank('gpt-many.img', 64);
    const args = ['-o'];
    for (let i = 1; i <= 12; i++) args.push('-n', `${i}:0:+${1 + (i % 3)}M`, '-c', `${i}:part ${i} ünïcode`);
    args.push('-t', '1:EF00', '-t', '2:0C01', '-t', '3:0700', '-t', '4:2700', img);
    sh('sgdisk', args);
    const { sf, table } = await compare(img);
    expect(table.partitions.map((p) => p.name)).toEqual(
      sf.raw.partitions.map((p: { name: string }) => p.name),
    );
    expect(table.partitions.map((p) => p.guid)).toEqual(
      sf.raw.partitions.map((p: { uuid: string }) => p.uuid.toLowerCase()),
    );
    expect(table.partitions.map((p) => p.type)).toEqual(
      sf.raw.partitions.map((p: { type: string }) => p.type.toLowerCase()),
    );
  });

  it('GPT: sgdisk with holes in the entry slots (partitions 2, 5 and 9 only)', async () => {
    const img = blank('gpt-holes.img', 32);
    sh('sgdisk', ['-o', '-n', '5:0:+4M', '-n', '2:0:+4M', '-n', '9:0:0', img]);
    const { table } = await compare(img);
    expect(table.partitions.map((p) => p.index)).toEqual([2, 5, 9]);
  });

  it('GPT on 4096-byte sectors, partitioned by sfdisk through a 4Kn loop device', async () => {
    const img = blank('gpt-4k.img', 64);
    const loop = sh('losetup', ['--sector-size', '4096', '-f', '--show', img]).trim();
    try {
      try {
        sh('sfdisk', ['-q', loop], 'label: gpt\n,8M,U\n,1M,E3C9E316-0B5C-4DB8-817D-F92DF00215AE\n,,L\n');
      } catch {
        // sfdisk exits 1 when the kernel cannot re-read the loop device's table; the table is written.
      }
      const { table } = await compare(img, loop);
      expect(table.sectorSize).toBe(4096);
    } finally {
      sh('losetup', ['-d', loop]);
    }
  });

  it('GPT with a damaged primary header: the same table as sfdisk reads from the backup', async () => {
    const img = blank('gpt-bad.img', 32);
    sh('sfdisk', ['-q', img], 'label: gpt\n,8M,U\n,,L\n');
    const before = sfdisk(img);
    execFileSync('dd', [
      'if=/dev/zero',
      `of=${img}`,
      'bs=1',
      `seek=${512 + 0x38}`,
      'count=16',
      'conv=notrunc',
      'status=none',
    ]);
    const table = await ours(img);
    expect(table.partitions.map(({ index, start, size }) => ({ index, start, size }))).toEqual(before.spans);
    expect(table.diskGuid).toBe(before.id);
    expect(table.warnings.map((w) => w.message).join(' ')).toMatch(/primary GPT unusable/);
  });
});

describe('corpus disks: our table equals sfdisk --json and mmls', () => {
  it('other/dfirntfs-mbr-win-512.raw.tgz (3 primaries, 4 logicals)', async () => {
    execFileSync('tar', ['xf', corpus('other/dfirntfs-mbr-win-512.raw.tgz'), '-C', t.dir]);
    const { table } = await compare(path.join(t.dir, 'mbr-win-512.raw'));
    expect(table.partitions).toHaveLength(8);
  });

  it('ntfs/dfirntfs-ntfs_index-mbr-disk.raw (one NTFS partition)', async () => {
    await compare(corpus('ntfs/dfirntfs-ntfs_index-mbr-disk.raw'));
  });

  it('other/dfirntfs-exfat_win.raw: exFAT at sector 0 (fsstat), so a whole-disk volume, not a table', async () => {
    const img = corpus('other/dfirntfs-exfat_win.raw');
    expect(sh('fsstat', [img])).toMatch(/File System Type: exFAT/);
    expect(() => sh('mmls', [img])).toThrow();
    // sfdisk reads the VBR's 0xFF boot-code bytes as four DOS entries, all starting at LBA 0xFFFFFFFF, far past
    // the 6 MiB disk: why a file-system boot sector is recognised before the MBR is trusted.
    const sf = sfdisk(img);
    expect(sf.spans.every((p) => p.start === 0xffffffff * 512)).toBe(true);
    const table = await ours(img);
    expect(table.scheme).toBe('none');
    expect(table.partitions.map((p) => p.kind)).toEqual(['whole']);
  });
});
