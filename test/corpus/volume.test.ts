// Partition tables of the shared corpus disks (made by Windows) against what MANIFEST.md and boot-sectors.md §1.1
// say of each. The mbr-win-512 archive is a plain tar despite its .tgz name (MANIFEST): `tar xf`, not `tar xzf`.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileDevice } from '../../src/io/file-device.js';
import { type BlockDevice, ByteView, newIoStats } from '../../src/io/index.js';
import { readEbrChain } from '../../src/volume/ebr.js';
import { decodeMbr } from '../../src/volume/mbr.js';
import { partitionDevice, readPartitionTable, selectPartition } from '../../src/volume/partition-table.js';
import { describeVolumes } from '../../src/volume/volumes.js';
import { corpus, tempDir } from '../helpers/env.js';

const t = tempDir('bootprobe-volume-');
const open: BlockDevice[] = [];
afterAll(async () => {
  for (const d of open) await d.close();
  t.cleanup();
});
async function device(p: string, stats = newIoStats()) {
  const d = await FileDevice.open(p, { stats });
  open.push(d);
  return d;
}

describe('other/dfirntfs-mbr-win-512.raw.tgz: Windows MBR, 3 primaries + extended chain of 4 logicals (§1.1)', () => {
  let raw = '';
  beforeAll(() => {
    execFileSync('tar', ['xf', corpus('other/dfirntfs-mbr-win-512.raw.tgz'), '-C', t.dir]);
    raw = path.join(t.dir, 'mbr-win-512.raw');
  });

  it('disk signature 0x882edd52; primaries 1-3, the extended container 4, logicals 5-8, all type 0x06', async () => {
    const table = await readPartitionTable(await device(raw));
    expect(table.scheme).toBe('mbr');
    expect(table.diskSignature).toBe('0x882edd52');
    expect(table.partitions.map((p) => `${p.index}:${p.kind}:${p.type}`)).toEqual([
      '1:primary:0x06',
      '2:primary:0x06',
      '3:primary:0x06',
      '4:primary:0x05',
      '5:logical:0x06',
      '6:logical:0x06',
      '7:logical:0x06',
      '8:logical:0x06',
    ]);
    // §1: disks partitioned by Windows as data disks have no active entry.
    expect(table.partitions.some((p) => p.active)).toBe(false);
    expect(table.warnings).toEqual([]);
  });

  it('the chain: E = 49280; EBR 65792 links to E + 33024 = 82304, not 65792 + 33024 = 98816 (§1.1)', async () => {
    const dev = await device(raw);
    const mbr = decodeMbr(new ByteView(await dev.read(0, 512)));
    const container = mbr.entries.find((e) => e.type === 0x05)!;
    expect(container.startLba).toBe(49280);
    const chain = await readEbrChain(dev, 512, container, []);
    expect(chain.map((l) => l.ebrLba)).toEqual([49280, 65792, 82304, 98816]);
    // Settles §1.1's "1 MiB alignment": each logical starts 128 sectors (64 KiB) after its EBR, as the primaries
    // start at LBA 128; the partitions' sizes (16384 sectors = 8 MiB) are what is MiB-aligned.
    for (const l of chain) expect(l.startLba - l.ebrLba).toBe(128);
    const ebr2 = decodeMbr(new ByteView(await dev.read(65792 * 512, 512), 65792 * 512));
    expect([ebr2.entries[1]!.startLba, ebr2.entries[1]!.sectorCount]).toEqual([33024, 16512]);
    // §1.1: Windows wrote type 0x05 in the chain too.
    expect(ebr2.entries[1]!.type).toBe(0x05);
  });

  it('reads one sector per table, not the 256 MiB disk', async () => {
    const stats = newIoStats();
    await readPartitionTable(await device(raw, stats));
    expect(stats.bytesRead).toBeLessThanOrEqual(8 * 512);
  });
});

describe('ntfs/dfirntfs-ntfs_index-mbr-disk.raw: one NTFS partition at LBA 128 (MANIFEST)', () => {
  it('signature 0x5b8a2f18, partition 1 of type 0x07 at LBA 128, 59392 sectors, not active', async () => {
    const dev = await device(corpus('ntfs/dfirntfs-ntfs_index-mbr-disk.raw'));
    const table = await readPartitionTable(dev);
    expect(table.scheme).toBe('mbr');
    expect(table.diskSignature).toBe('0x5b8a2f18');
    expect(table.partitions).toEqual([
      expect.objectContaining({
        index: 1,
        start: 128 * 512,
        size: 59392 * 512,
        type: '0x07',
        typeName: 'HPFS/NTFS/exFAT',
        active: false,
        kind: 'primary',
      }),
    ]);
    const p = selectPartition(table);
    const vbr = await partitionDevice(dev, p).read(0, 512);
    expect(String.fromCharCode(...vbr.subarray(3, 11))).toBe('NTFS    ');
  });
});

describe('other/dfirntfs-exfat_win.raw: a bare exFAT volume, no table (MANIFEST)', () => {
  it('scheme none, one whole-disk partition holding exFAT', async () => {
    const dev = await device(corpus('other/dfirntfs-exfat_win.raw'));
    const disk = await describeVolumes(dev);
    expect(disk.table.scheme).toBe('none');
    expect(disk.volumes).toEqual([
      expect.objectContaining({
        index: 1,
        start: 0,
        size: 6291456,
        kind: 'whole',
        typeName: 'whole disk',
        filesystem: 'exfat',
      }),
    ]);
  });
});
