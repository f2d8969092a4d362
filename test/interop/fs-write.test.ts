// What the file-system writers wrote, judged by independent tools: ntfs-3g (ntfsfix -n, ntfscat, ntfsinfo, a FUSE
// mount that then fills the volume) and The Sleuth Kit (icat, fls) for NTFS; dosfstools (fsck.fat -n) and mtools
// (mtype, mcopy, mshowfat) for FAT. The refusals are checked against the same tools' own verdicts on those volumes.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FatFileSystem, openFat } from '../../src/fs/fat/fat.js';
import { ATTR } from '../../src/fs/ntfs/attribute.js';
import { type NtfsFileSystem, openNtfs } from '../../src/fs/ntfs/ntfs.js';
import type { MemoryDevice } from '../../src/io/memory-device.js';
import { requireTool, tempDir } from '../helpers/env.js';
import { fatImage } from '../unit/fs/fat/fat-fixtures.js';
import { fixtureBytes, pattern, stateVariant, writable } from '../unit/fs-write/fixtures.js';

const t = tempDir('bootprobe-fs-write-');
afterAll(() => t.cleanup());
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const run = (cmd: string, args: string[]) =>
  spawnSync(cmd, args, { maxBuffer: 1 << 28, env: { ...process.env, MTOOLS_SKIP_CHECK: '1', LC_ALL: 'C' } });
const text = (cmd: string, args: string[]) => {
  const r = run(cmd, args);
  return { code: r.status, out: `${r.stdout.toString('utf8')}${r.stderr.toString('utf8')}` };
};
const bytes = (cmd: string, args: string[]) => {
  const r = run(cmd, args);
  expect(r.status, `${cmd} ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return new Uint8Array(r.stdout);
};

beforeAll(() => {
  for (const tool of [
    'ntfsfix',
    'ntfscat',
    'ntfsinfo',
    'ntfs-3g',
    'icat',
    'fls',
    'fsck.fat',
    'mtype',
    'mcopy',
    'mshowfat',
  ])
    requireTool(tool);
});

let n = 0;
function save(dev: MemoryDevice): string {
  const file = path.join(t.dir, `img-${n++}.img`);
  writeFileSync(file, dev.data);
  return file;
}

/** ntfsfix -n finds nothing to fix. */
function ntfsfixClean(img: string): void {
  const r = text('ntfsfix', ['-n', img]);
  expect(r.code, r.out).toBe(0);
  expect(r.out).toMatch(/was processed successfully/);
  expect(r.out).not.toMatch(/FAILED|corrupt|differ|mismatch|BAD/i);
}

/** ntfscat and icat return `data`; fls and ntfsinfo give the sizes our reader gives. */
async function ntfsAgrees(dev: MemoryDevice, file: string, data: Uint8Array): Promise<string> {
  const img = save(dev);
  ntfsfixClean(img);
  const fs = await openNtfs(dev);
  const e = await fs.lookup(file);
  expect(sha(bytes('ntfscat', [img, file]))).toBe(sha(data));
  expect(sha(bytes('icat', [img, String(e.id)]))).toBe(sha(data));
  const fls = text('fls', ['-r', '-p', '-l', img]).out.split('\n');
  const line = fls.find((l) => l.split('\t')[1] === file.slice(1));
  expect(line, `fls lists ${file}`).toBeDefined();
  expect(Number(line!.split('\t')[6])).toBe(data.length);
  const info = text('ntfsinfo', ['-i', String(e.id), img]).out;
  const dataPart = info.slice(info.indexOf('Dumping attribute $DATA'));
  const a = (await fs.allAttributes(e.id)).find((x) => x.type === ATTR.DATA && x.name === '')!;
  expect(dataPart).toMatch(new RegExp(`Data size:\\s+${data.length} `));
  if (a.nonResident) {
    expect(dataPart).toMatch(new RegExp(`Allocated size:\\s+${a.allocatedSize} `));
    expect(dataPart).toMatch(new RegExp(`Initialized size:\\s+${data.length} `));
  } else expect(dataPart).toMatch(/Resident:\s+Yes/);
  return img;
}

async function write(
  dev: MemoryDevice,
  open: (d: MemoryDevice) => Promise<NtfsFileSystem | FatFileSystem>,
  file: string,
  data: Uint8Array,
) {
  const fs = await open(dev);
  const plan = await fs.planReplaceFile!(file, data, { time: new Date('2024-05-06T07:08:10Z') });
  await plan.commit();
  return plan;
}

/** Mounts with ntfs-3g (FUSE), runs `f` on the mount point, unmounts. */
function mounted<T>(img: string, options: string[], f: (mnt: string) => T): T {
  const mnt = path.join(t.dir, `mnt-${n++}`);
  mkdirSync(mnt);
  execFileSync('ntfs-3g', [...options, img, mnt], { stdio: 'pipe' });
  try {
    return f(mnt);
  } finally {
    execFileSync('umount', [mnt]);
  }
}
const freeClusters = (mnt: string) =>
  Number(execFileSync('stat', ['-f', '-c', '%f', mnt], { encoding: 'utf8' }));

const NTFS = [
  { name: '512-byte clusters', fixture: 'fs-write/ntfs-512c', sector: 512, file: '/Boot/BCD' },
  { name: '4 KiB clusters', fixture: 'fs/ntfs-512', sector: 512, file: '/EFI/Microsoft/Boot/BCD' },
  { name: '64 KiB clusters', fixture: 'fs/ntfs-4k', sector: 4096, file: '/EFI/Microsoft/Boot/BCD' },
];

describe('NTFS writes judged by ntfs-3g and The Sleuth Kit', () => {
  for (const vol of NTFS) {
    it(`${vol.name}: every size change reads back identical and checks clean`, async () => {
      const dev = writable(fixtureBytes(vol.fixture), vol.sector);
      const fs = await openNtfs(dev);
      const cs = fs.boot.clusterSize;
      const old = (await fs.lookup(vol.file)).size;
      const sizes = [
        ['same size', old],
        ['smaller', Math.max(1, old - cs - 100)],
        ['larger within clusters', Math.ceil(Math.max(1, old - cs - 100) / cs) * cs],
        ['larger, new clusters', old + 4 * cs + 1],
        ['empty', 0],
        ['1 MiB', 1 << 20],
      ] as const;
      for (const [i, [what, size]] of sizes.entries()) {
        const data = pattern(size, 100 + i);
        await write(dev, openNtfs, vol.file, data);
        await ntfsAgrees(dev, vol.file, data).catch((e: Error) => {
          throw new Error(`${what}: ${e.message}`);
        });
      }
    });
  }

  it('resident → larger resident → non-resident, hard links, DOS names, INDX entries, 41 names', async () => {
    const dev = writable(fixtureBytes('fs-write/ntfs-512c'));
    for (const [file, size] of [
      ['/small.txt', 300],
      ['/small.txt', 6000],
      ['/empty.dat', 2000],
      ['/tiny.txt', 50],
      ['/A long file name.text', 9000],
      ['/many/target.bin', 12000],
      ['/linked.txt', 700],
    ] as const) {
      const data = pattern(size, size);
      await write(dev, openNtfs, file, data);
      await ntfsAgrees(dev, file, data);
    }
    const img = save(dev);
    expect(sha(bytes('ntfscat', [img, '/Boot/tiny-link.txt']))).toBe(sha(pattern(50, 50)));
    expect(
      sha(bytes('ntfscat', [img, '/links/a-rather-long-hard-link-name-number-7-to-overflow-the-record.txt'])),
    ).toBe(sha(pattern(700, 700)));
  });

  it('ntfs-3g reads the files through a mount, counts the clusters we took, and allocates around them', async () => {
    for (const vol of NTFS) {
      const dev = writable(fixtureBytes(vol.fixture), vol.sector);
      const cs = (await openNtfs(dev)).boot.clusterSize;
      const freeBefore = mounted(save(dev), ['-o', 'ro'], freeClusters);
      const old = (await (await openNtfs(dev)).lookup(vol.file)).size;
      const data = pattern(old + 20 * cs + 7, 7);
      await write(dev, openNtfs, vol.file, data);
      const img = save(dev);
      const added = Math.ceil(data.length / cs) - Math.ceil(old / cs);
      mounted(img, [], (mnt) => {
        expect(freeClusters(mnt), vol.name).toBe(freeBefore - added);
        expect(sha(readFileSync(path.join(mnt, vol.file)))).toBe(sha(data));
        // Fill every free cluster: ntfs-3g must not hand out the ones our $Bitmap bits claim.
        spawnSync('dd', ['if=/dev/zero', `of=${path.join(mnt, 'fill.bin')}`, 'bs=64k'], { stdio: 'ignore' });
        execFileSync('sync');
      });
      ntfsfixClean(img);
      expect(sha(bytes('ntfscat', [img, vol.file])), vol.name).toBe(sha(data));
      // And the clusters a shrink frees come back to ntfs-3g.
      const freeFull = mounted(img, ['-o', 'ro'], freeClusters);
      const dev2 = writable(readFileSync(img), vol.sector);
      await write(dev2, openNtfs, vol.file, pattern(10, 8));
      const img2 = save(dev2);
      ntfsfixClean(img2);
      const freed = Math.ceil(data.length / cs) - 1;
      mounted(img2, ['-o', 'ro'], (mnt) => expect(freeClusters(mnt), vol.name).toBe(freeFull + freed));
    }
  });
});

describe('NTFS refusals agree with the tools', () => {
  const refuse = async (bytes: Uint8Array) =>
    (await openNtfs(writable(bytes))).planReplaceFile('/Boot/BCD', pattern(100, 1)).then(
      () => null,
      (e: { code: string; kind: string }) => e,
    );
  /** ntfs-3g -o norecover: read-write, or its message when it falls back to read-only. */
  const rwMount = (img: string) => {
    const mnt = path.join(t.dir, `mnt-${n++}`);
    mkdirSync(mnt);
    const r = text('ntfs-3g', ['-o', 'norecover', img, mnt]);
    const line = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[1] === mnt);
    if (line) execFileSync('umount', [mnt]);
    return { rw: line !== undefined && / rw,/.test(line), message: r.out };
  };

  it('dirty: ntfsinfo says "scheduled for check", we refuse with NTFS_DIRTY', async () => {
    const b = stateVariant('dirty');
    expect(text('ntfsinfo', ['-m', save(writable(b))]).out).toMatch(/Volume is scheduled for check/);
    expect(await refuse(b)).toMatchObject({ code: 'NTFS_DIRTY', kind: 'unsafe' });
  });

  it('$LogFile not clean: ntfs-3g stays read-only, we refuse with NTFS_LOG_NOT_CLEAN', async () => {
    const b = stateVariant('log-unclean');
    const m = rwMount(save(writable(b)));
    expect(m.rw).toBe(false);
    expect(m.message).toMatch(/unclean file system \(0, 0\)/);
    expect(await refuse(b)).toMatchObject({ code: 'NTFS_LOG_NOT_CLEAN', kind: 'unsafe' });
  });

  it('hibernated: ntfs-3g refuses read-write, we refuse with NTFS_HIBERNATED', async () => {
    const b = stateVariant('hibr');
    const m = rwMount(save(writable(b)));
    expect(m.rw).toBe(false);
    expect(m.message).toMatch(/Windows is hibernated/);
    expect(await refuse(b)).toMatchObject({ code: 'NTFS_HIBERNATED', kind: 'unsafe' });
  });

  it('a clean restart area: ntfs-3g mounts read-write, we write, and the log stays as it was', async () => {
    const dev = writable(stateVariant('log-clean'));
    const before = save(dev);
    expect(rwMount(before).rw).toBe(true);
    const data = pattern(40000, 9);
    await write(dev, openNtfs, '/Boot/BCD', data);
    const img = await ntfsAgrees(dev, '/Boot/BCD', data);
    expect(rwMount(img).rw).toBe(true);
    const log = (f: string) => sha(bytes('ntfscat', [f, '$LogFile']));
    expect(log(img)).toBe(log(before));
  });
});

/** fsck.fat -n reports nothing; mtype and mcopy give `data`; mshowfat shows the chain our reader follows. */
async function fatAgrees(dev: MemoryDevice, file: string, data: Uint8Array): Promise<void> {
  const img = save(dev);
  const fsck = text('fsck.fat', ['-n', img]);
  expect(fsck.code, fsck.out).toBe(0);
  expect(fsck.out.trim().split('\n').length, fsck.out).toBe(2); // version line and summary only
  expect(sha(bytes('mtype', ['-i', img, `::${file}`]))).toBe(sha(data));
  const out = path.join(t.dir, `mcopy-${n++}`);
  bytes('mcopy', ['-n', '-i', img, `::${file}`, out]);
  expect(sha(readFileSync(out))).toBe(sha(data));
  const fs = await openFat(dev);
  const st = await fs.stat(await fs.lookup(file));
  const runs = (st.clusterRuns as { cluster: number; count: number }[]).map((r) =>
    r.count === 1 ? `<${r.cluster}>` : `<${r.cluster}-${r.cluster + r.count - 1}>`,
  );
  const shown = text('mshowfat', ['-i', img, `::${file}`]).out.trim();
  expect(shown).toBe(`::${file} ${runs.join(' ')}`.trim().replace(/ $/, ''));
}

describe('FAT writes judged by fsck.fat and mtools', () => {
  for (const name of ['fat12', 'fat16', 'fat32', 'fat16-4k'] as const) {
    it(`${name}: every size change reads back identical and checks clean`, async () => {
      const dev = writable(fatImage(name), name === 'fat16-4k' ? 4096 : 512);
      const fs = await openFat(dev);
      const cs = fs.bpb.clusterSize;
      const file = '/EFI/Microsoft/Boot/BCD';
      const old = (await fs.lookup(file)).size;
      for (const [i, size] of [
        old,
        old - cs - 10,
        Math.ceil((old - cs - 10) / cs) * cs,
        old + 7 * cs + 3,
        0,
        300_000,
      ].entries()) {
        const data = pattern(size, 200 + i);
        await write(dev, openFat, file, data);
        if (size === 0) continue; // mshowfat has no chain to show
        await fatAgrees(dev, file, data);
      }
      for (const [f, size] of [
        ['/c-fragmented.bin', 150_000],
        ['/empty.dat', 5000],
      ] as const) {
        await write(dev, openFat, f, pattern(size, size));
        await fatAgrees(dev, f, pattern(size, size));
      }
    });
  }

  it('a dirty boot sector: fsck.fat reports it, we refuse with FAT_DIRTY', async () => {
    const b = fatImage('fat32');
    b[0x41]! |= 1;
    expect(text('fsck.fat', ['-n', save(writable(b))]).out).toMatch(/Dirty bit is set/);
    await expect(
      (await openFat(writable(b))).planReplaceFile('/EFI/Microsoft/Boot/BCD', pattern(9, 1)),
    ).rejects.toMatchObject({ code: 'FAT_DIRTY', kind: 'unsafe' });
  });
});
