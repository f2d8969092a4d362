import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../src/errors.js';
import { MemoryDevice } from '../../../src/io/index.js';
import type { PartitionTable } from '../../../src/volume/partition.js';
import { partitionDevice, readPartitionTable, selectPartition } from '../../../src/volume/partition-table.js';
import {
  blankMbrDisk,
  expectedFromSfdisk,
  fixEntriesCrc,
  fixtureBytes,
  fixtureDevice,
  markEbr,
  setEntry,
  setU64,
  sfdiskAnswer,
} from './fixtures.js';

const pick = (t: PartitionTable) =>
  t.partitions.map(({ index, start, size, type, active, guid, name }) => ({
    index,
    start,
    size,
    type,
    active,
    guid,
    name,
  }));

async function rejection(p: Promise<unknown>): Promise<BootprobeError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  if (!(e instanceof BootprobeError)) throw new Error(`expected a BootprobeError, got ${String(e)}`);
  return e;
}

describe('readPartitionTable: MBR disks — boot-sectors.md §1, §1.1', () => {
  it('4 primaries with an active flag equal sfdisk --json (mbr-primary)', async () => {
    const sf = sfdiskAnswer('mbr-primary');
    const t = await readPartitionTable(fixtureDevice('mbr-primary'));
    expect(t.scheme).toBe('mbr');
    expect(t.sectorSize).toBe(512);
    expect(t.diskSignature).toBe(sf.id);
    expect(t.diskGuid).toBeNull();
    expect(pick(t)).toEqual(expectedFromSfdisk(sf));
    expect(t.partitions.map((p) => p.kind)).toEqual(['primary', 'primary', 'primary', 'primary']);
    expect(t.partitions.map((p) => p.typeName)).toEqual([
      'HPFS/NTFS/exFAT',
      'W95 FAT32 (LBA)',
      'Linux',
      'Windows recovery (hidden NTFS)',
    ]);
    expect(t.partitions.map((p) => p.entryOffset)).toEqual([0x1be, 0x1ce, 0x1de, 0x1ee]);
    expect(t.warnings).toEqual([]);
  });

  it('extended + 3 logical partitions numbered from 5, as Linux does (mbr-logical)', async () => {
    const sf = sfdiskAnswer('mbr-logical');
    const t = await readPartitionTable(fixtureDevice('mbr-logical'));
    expect(t.diskSignature).toBe(sf.id);
    expect(pick(t)).toEqual(expectedFromSfdisk(sf));
    expect(t.partitions.map((p) => `${p.index}:${p.kind}`)).toEqual([
      '1:primary',
      '2:primary',
      '3:primary',
      '5:logical',
      '6:logical',
      '7:logical',
    ]);
    expect(t.warnings).toEqual([]);
  });

  it('an MBR read with 4096-byte sectors scales LBAs by 4096', async () => {
    const b = blankMbrDisk(8 * 40);
    setEntry(b, 0x1be, 0x80, 0x07, 2, 10);
    const t = await readPartitionTable(new MemoryDevice(b, { sectorSize: 4096 }));
    expect(t.sectorSize).toBe(4096);
    expect(pick(t)[0]).toMatchObject({ start: 8192, size: 40960, active: true });
  });

  it('a partition past the end of the disk is listed with a PARTITION_RANGE warning; opening it fails', async () => {
    const b = blankMbrDisk(100);
    setEntry(b, 0x1be, 0, 0x07, 10, 50);
    setEntry(b, 0x1ce, 0, 0x07, 60, 1000);
    const dev = new MemoryDevice(b);
    const t = await readPartitionTable(dev);
    expect(t.partitions.map((p) => p.index)).toEqual([1, 2]);
    expect(t.warnings.map((w) => [w.code, w.offset])).toEqual([['PARTITION_RANGE', 0x1ce]]);
    const err = (() => {
      try {
        partitionDevice(dev, t.partitions[1]!);
      } catch (e) {
        return e as BootprobeError;
      }
    })();
    expect(err?.code).toBe('PARTITION_RANGE');
    expect(err?.offset).toBe(0x1ce);
    expect(partitionDevice(dev, t.partitions[0]!).size).toBe(50 * 512);
  });

  it('a status byte other than 0x00/0x80 is a warning (the Windows MBR code says "Invalid partition table")', async () => {
    const b = blankMbrDisk(100);
    setEntry(b, 0x1be, 0x01, 0x07, 10, 50);
    const t = await readPartitionTable(new MemoryDevice(b));
    expect(t.warnings.map((w) => [w.code, w.offset])).toEqual([['MBR_INVALID', 0x1be]]);
  });

  it('a partition over the MBR itself (start LBA 0) is a warning', async () => {
    const b = blankMbrDisk(100);
    setEntry(b, 0x1be, 0, 0x07, 0, 50);
    const t = await readPartitionTable(new MemoryDevice(b));
    expect(t.warnings.map((w) => w.code)).toEqual(['PARTITION_RANGE']);
  });

  it('only the first extended partition is followed; a second one is a warning', async () => {
    const b = blankMbrDisk(100);
    setEntry(b, 0x1be, 0, 0x05, 10, 20);
    setEntry(b, 0x1ce, 0, 0x0f, 40, 20);
    markEbr(b, 10);
    setEntry(b, 10 * 512 + 0x1be, 0, 0x07, 1, 5);
    markEbr(b, 40);
    setEntry(b, 40 * 512 + 0x1be, 0, 0x07, 1, 5);
    const t = await readPartitionTable(new MemoryDevice(b));
    expect(t.partitions.map((p) => p.index)).toEqual([1, 2, 5]);
    expect(t.partitions[2]!.start).toBe(11 * 512);
    expect(t.warnings.map((w) => [w.code, w.offset])).toEqual([['EBR_CHAIN', 0x1ce]]);
  });

  it('a damaged EBR chain is an EBR_CHAIN error with its offset', async () => {
    const b = blankMbrDisk(100);
    setEntry(b, 0x1be, 0, 0x05, 10, 20);
    markEbr(b, 10);
    setEntry(b, 10 * 512 + 0x1ce, 0, 0x05, 0, 2); // points at itself
    const err = await rejection(readPartitionTable(new MemoryDevice(b)));
    expect([err.code, err.offset]).toEqual(['EBR_CHAIN', 10 * 512 + 0x1ce]);
  });

  it('a leftover "EFI PART" without a protective entry: still MBR, with a warning (§2)', async () => {
    const b = blankMbrDisk(100);
    setEntry(b, 0x1be, 0, 0x07, 10, 50);
    b.set(new TextEncoder().encode('EFI PART'), 512);
    const t = await readPartitionTable(new MemoryDevice(b));
    expect(t.scheme).toBe('mbr');
    expect(t.warnings.map((w) => [w.code, w.offset])).toEqual([['GPT_HEADER', 512]]);
  });
});

describe('readPartitionTable: GPT disks — boot-sectors.md §2', () => {
  it('ESP, MSR, basic data and recovery with names and GUIDs equal sfdisk --json (gpt-windows)', async () => {
    const sf = sfdiskAnswer('gpt-windows');
    const t = await readPartitionTable(fixtureDevice('gpt-windows'));
    expect(t.scheme).toBe('gpt');
    expect(t.sectorSize).toBe(512);
    expect(t.diskGuid).toBe(sf.id.toLowerCase());
    expect(t.diskSignature).toBeNull();
    expect(pick(t)).toEqual(expectedFromSfdisk(sf));
    expect(t.partitions.map((p) => p.typeName)).toEqual([
      'EFI System',
      'Microsoft reserved',
      'Microsoft basic data',
      'Windows recovery environment',
    ]);
    expect(t.partitions.map((p) => p.kind)).toEqual(['gpt', 'gpt', 'gpt', 'gpt']);
    expect(t.partitions[3]!.attributes).toBe('0x0000000000000001');
    expect(t.warnings).toEqual([]);
  });

  it('entries are numbered by slot: an empty slot 2 leaves a gap, as Linux numbers them', async () => {
    const b = fixtureBytes('gpt-windows');
    b.fill(0, 1024 + 128, 1024 + 256);
    fixEntriesCrc(b, 512, 512);
    const t = await readPartitionTable(new MemoryDevice(b));
    expect(t.partitions.map((p) => p.index)).toEqual([1, 3, 4]);
  });

  it('a damaged primary header falls back to the backup with a warning (gpt-bad-primary)', async () => {
    const sf = sfdiskAnswer('gpt-bad-primary');
    const t = await readPartitionTable(fixtureDevice('gpt-bad-primary'));
    expect(t.diskGuid).toBe(sf.id.toLowerCase());
    // The backup's array sits at last LBA − 32: entry offsets say where the answer came from.
    expect(t.partitions[0]!.entryOffset).toBe((16383 - 32) * 512);
    expect(pick(t)).toEqual(expectedFromSfdisk(sf));
    expect(t.warnings.map((w) => w.code)).toEqual(['GPT_HEADER']);
  });

  it('4096-byte sectors: a raw image (512 by default) with "EFI PART" at 4096 is read as 4Kn (gpt-4k)', async () => {
    const sf = sfdiskAnswer('gpt-4k');
    const t = await readPartitionTable(fixtureDevice('gpt-4k'));
    expect(t.sectorSize).toBe(4096);
    expect(t.diskGuid).toBe(sf.id.toLowerCase());
    expect(pick(t)).toEqual(expectedFromSfdisk(sf));
    expect(t.warnings).toEqual([]);
  });

  it('4096-byte sectors from the device or from options give the same table', async () => {
    const want = pick(await readPartitionTable(fixtureDevice('gpt-4k')));
    expect(pick(await readPartitionTable(fixtureDevice('gpt-4k', 4096)))).toEqual(want);
    expect(pick(await readPartitionTable(fixtureDevice('gpt-4k'), { sectorSize: 4096 }))).toEqual(want);
  });

  it('4Kn with a damaged primary: the sector size is found from the backup at the last 4 KiB', async () => {
    const b = fixtureBytes('gpt-4k');
    b.fill(0, 4096, 4096 + 92);
    const t = await readPartitionTable(new MemoryDevice(b));
    expect(t.sectorSize).toBe(4096);
    expect(pick(t)).toEqual(expectedFromSfdisk(sfdiskAnswer('gpt-4k')));
    expect(t.warnings.map((w) => w.code)).toEqual(['GPT_HEADER']);
  });

  it('forcing 512-byte sectors on the 4Kn disk finds no GPT at either place: GPT_HEADER', async () => {
    const err = await rejection(readPartitionTable(fixtureDevice('gpt-4k'), { sectorSize: 512 }));
    expect(err.code).toBe('GPT_HEADER');
  });

  it('a sector size that no disk has is a USAGE error', async () => {
    const err = await rejection(readPartitionTable(fixtureDevice('gpt-4k'), { sectorSize: 1000 }));
    expect(err.code).toBe('USAGE');
  });

  it('an image cut short after partitioning: last usable LBA past the end and partitions off the disk warn', async () => {
    const t = await readPartitionTable(new MemoryDevice(fixtureBytes('gpt-windows').slice(0, 4 << 20)));
    expect(t.scheme).toBe('gpt');
    expect(t.warnings.map((w) => w.code)).toEqual([
      'GPT_HEADER', // backup missing
      'GPT_HEADER', // last usable LBA past the end
      'PARTITION_RANGE',
      'PARTITION_RANGE',
    ]);
  });

  it('an entry outside the usable LBAs and overlapping entries are GPT_ENTRIES warnings', async () => {
    const b = fixtureBytes('gpt-windows');
    for (const array of [1024, (16383 - 32) * 512]) {
      setU64(b, array + 32, 10n); // entry 1 first LBA 10 < first usable 34
      setU64(b, array + 128 + 32, 4000n); // entry 2 now starts inside entry 1 (2048..4095)
    }
    fixEntriesCrc(b, 512, 512);
    fixEntriesCrc(b, 16383 * 512, 512);
    const t = await readPartitionTable(new MemoryDevice(b));
    expect(t.warnings.map((w) => [w.code, w.offset])).toEqual([
      ['GPT_ENTRIES', 1024],
      ['GPT_ENTRIES', 1024 + 128],
    ]);
    expect(t.warnings[1]!.message).toMatch(/overlap/);
  });

  it('an entry LBA whose byte offset leaves the safe-integer range is GPT_ENTRIES at the entry', async () => {
    const b = fixtureBytes('gpt-windows');
    for (const array of [1024, (16383 - 32) * 512]) {
      setU64(b, array + 32, 1n << 52n);
      setU64(b, array + 40, (1n << 52n) + 10n);
    }
    fixEntriesCrc(b, 512, 512);
    fixEntriesCrc(b, 16383 * 512, 512);
    const err = await rejection(readPartitionTable(new MemoryDevice(b)));
    expect([err.code, err.offset]).toEqual(['GPT_ENTRIES', 1024]);
  });

  it('a protective entry not starting at LBA 1, and a hybrid MBR, are warnings; the GPT wins', async () => {
    const b = fixtureBytes('gpt-windows');
    const dv = new DataView(b.buffer);
    dv.setUint32(0x1be + 8, 2, true);
    setEntry(b, 0x1ce, 0x80, 0x07, 6144, 6144);
    const t = await readPartitionTable(new MemoryDevice(b));
    expect(t.scheme).toBe('gpt');
    expect(t.partitions).toHaveLength(4);
    expect(t.warnings.map((w) => [w.code, w.offset])).toEqual([
      ['MBR_INVALID', 0x1be],
      ['MBR_INVALID', 0x1ce],
    ]);
  });
});

describe('readPartitionTable: no table — a file system at sector 0, or nothing', () => {
  const whole = {
    index: 1,
    start: 0,
    kind: 'whole',
    typeName: 'whole disk',
    type: 'whole',
    guid: null,
    name: null,
  };

  it.each([
    ['NTFS', (b: Uint8Array) => b.set([0xeb, 0x52, 0x90, ...new TextEncoder().encode('NTFS    ')], 0)],
    ['exFAT', (b: Uint8Array) => b.set([0xeb, 0x76, 0x90, ...new TextEncoder().encode('EXFAT   ')], 0)],
    [
      'FAT (a BPB: jump, 512 bytes/sector, 4 sectors/cluster, 1 reserved, 2 FATs)',
      (b: Uint8Array) =>
        b.set([0xeb, 0x3c, 0x90, 0x6d, 0x6b, 0x66, 0x73, 0x2e, 0x66, 0x61, 0x74, 0x00, 0x02, 4, 1, 0, 2]),
    ],
  ])('%s boot sector → scheme none, one whole-disk partition', async (_name, write) => {
    const b = blankMbrDisk(64);
    write(b);
    const t = await readPartitionTable(new MemoryDevice(b));
    expect(t.scheme).toBe('none');
    expect(t.partitions).toEqual([expect.objectContaining({ ...whole, size: 64 * 512 })]);
  });

  it('a blank disk: scheme none, no partitions, no warnings', async () => {
    const t = await readPartitionTable(new MemoryDevice(new Uint8Array(64 * 512)));
    expect([t.scheme, t.partitions, t.warnings]).toEqual(['none', [], []]);
  });

  it('a disk shorter than one sector: scheme none with a warning, no read past its end', async () => {
    const t = await readPartitionTable(new MemoryDevice(new Uint8Array(100)));
    expect(t.scheme).toBe('none');
    expect(t.warnings.map((w) => w.code)).toEqual(['TRUNCATED']);
  });

  it('a GPT header without 55 AA in sector 0 is ignored with a warning', async () => {
    const b = fixtureBytes('gpt-windows');
    b[0x1fe] = 0;
    const t = await readPartitionTable(new MemoryDevice(b));
    expect(t.scheme).toBe('none');
    expect(t.warnings.map((w) => w.code)).toEqual(['MBR_INVALID']);
  });
});

describe('partitionDevice and selectPartition', () => {
  it('a partition device reads the partition’s bytes and nothing beyond', async () => {
    const b = fixtureBytes('mbr-primary');
    b.set([1, 2, 3], 4096 * 512);
    const dev = new MemoryDevice(b);
    const t = await readPartitionTable(dev);
    const p2 = partitionDevice(dev, t.partitions[1]!);
    expect([...(await p2.read(0, 3))]).toEqual([1, 2, 3]);
    expect(p2.size).toBe(4096 * 512);
    await expect(p2.read(p2.size - 1, 2)).rejects.toBeInstanceOf(BootprobeError);
  });

  it('a partition of size 0 cannot be opened', () => {
    const dev = new MemoryDevice(new Uint8Array(4096));
    const p = { ...selectPartition({ ...emptyTable(), partitions: [part(1, 0, 0)] }, 1) };
    expect(() => partitionDevice(dev, p)).toThrow(expect.objectContaining({ code: 'PARTITION_RANGE' }));
  });

  function emptyTable(): PartitionTable {
    return {
      scheme: 'mbr',
      sectorSize: 512,
      diskSignature: null,
      diskGuid: null,
      partitions: [],
      warnings: [],
    };
  }
  function part(index: number, start: number, size: number, type = '0x07') {
    return {
      index,
      start,
      size,
      type,
      typeName: 'x',
      active: false,
      guid: null,
      name: null,
      kind: 'primary' as const,
      attributes: null,
      entryOffset: null,
    };
  }

  it('-p N selects partition N', async () => {
    const t = await readPartitionTable(fixtureDevice('mbr-logical'));
    expect(selectPartition(t, 6).start).toBe(12288 * 512);
  });

  it('-p N naming no partition is PARTITION_CHOICE listing the choices', async () => {
    const t = await readPartitionTable(fixtureDevice('mbr-logical'));
    for (const n of [4, 9]) {
      const e = (() => {
        try {
          selectPartition(t, n);
        } catch (x) {
          return x as BootprobeError;
        }
      })();
      expect(e?.code).toBe('PARTITION_CHOICE');
      expect(e?.kind).toBe('usage');
      expect(e?.message).toMatch(/partitions: 1 \(HPFS\/NTFS\/exFAT, 1048576 bytes\), 2 .*, 5 .*, 6 .*, 7 /);
      expect(e?.data).toEqual({ choices: [1, 2, 5, 6, 7] });
    }
  });

  it('the extended container is no choice: -p 3 is PARTITION_CHOICE', async () => {
    const t = await readPartitionTable(fixtureDevice('mbr-logical'));
    expect(() => selectPartition(t, 3)).toThrow(/extended container/);
  });

  it('without N: the only partition, else PARTITION_CHOICE', async () => {
    expect(selectPartition({ ...emptyTable(), partitions: [part(1, 512, 512)] }).index).toBe(1);
    expect(() => selectPartition(emptyTable())).toThrow(
      expect.objectContaining({ code: 'PARTITION_CHOICE' }),
    );
    const t = await readPartitionTable(fixtureDevice('gpt-windows'));
    expect(() => selectPartition(t)).toThrow(
      /4 partitions to choose from; partitions: 1 \(EFI System "EFI system/,
    );
  });
});

describe('hostile disks: every failure is a BootprobeError, never a RangeError or a hang', () => {
  const names = ['mbr-primary', 'mbr-logical', 'gpt-windows', 'gpt-4k', 'gpt-bad-primary'];

  it.each(names)('%s truncated at every structure boundary', async (name) => {
    const full = fixtureBytes(name);
    const cuts = [0, 1, 511, 512, 513, 1024, 4096, 4097, 8192, 8193, 1 << 20, (4 << 20) + 7, full.length - 1];
    for (const sector of [512, 4096])
      for (let s = 0; s < 40; s++) cuts.push(s * sector + 92, (s + 1) * sector - 1, full.length - s * sector);
    for (const n of cuts) {
      if (n < 0 || n > full.length) continue;
      await readPartitionTable(new MemoryDevice(full.slice(0, n))).catch((e: unknown) => {
        if (!(e instanceof BootprobeError)) throw e;
        expect(e.offset).toBeTypeOf('number');
      });
    }
  });

  it.each(names)(
    '%s with seeded random byte mutations of its tables (CRCs recomputed half the time)',
    async (name) => {
      const full = fixtureBytes(name);
      const ss = name === 'gpt-4k' ? 4096 : 512;
      const lastLba = full.length / ss - 1;
      let seed = 0x9e3779b9 ^ name.length;
      const rnd = (n: number) => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return seed % n;
      };
      // Where the tables live: MBR and GPT header/array, the backup, and (mbr-logical) the EBRs.
      const regions: Array<[number, number]> = [
        [0x1b8, 512],
        [ss, ss + 92],
        [2 * ss, 2 * ss + 16384],
        [lastLba * ss, lastLba * ss + 92],
        [6144 * 512, 6144 * 512 + 512],
        [10240 * 512 + 0x1be, 10240 * 512 + 512],
      ];
      for (let round = 0; round < 300; round++) {
        const b = full.slice();
        for (let k = 1 + rnd(4); k > 0; k--) {
          const [lo, hi] = regions[rnd(regions.length)]!;
          b[lo + rnd(hi - lo)] = [0, 0xff, rnd(256), b[lo]! ^ 0x80][rnd(4)]!;
        }
        if (name.startsWith('gpt') && rnd(2) === 0) {
          fixEntriesCrc(b, ss, ss);
          fixEntriesCrc(b, lastLba * ss, ss);
        }
        await readPartitionTable(new MemoryDevice(b)).catch((e: unknown) => {
          if (!(e instanceof BootprobeError)) throw e;
        });
      }
    },
  );
});
