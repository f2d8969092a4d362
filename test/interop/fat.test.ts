// dosfstools and mtools and The Sleuth Kit as oracles for src/fs/fat: volumes made fresh by mkfs.fat in the test,
// filled by mcopy; our listing equals mdir and fls -r, our contents equal mtype and icat, our FAT type equals
// fsck.fat's; and every committed fixture is clean for fsck.fat -n (except the one made to differ).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type FatEntry, type FatFileSystem, openFat } from '../../src/fs/fat/fat.js';
import type { FsEntry } from '../../src/fs/file-system.js';
import { MemoryDevice } from '../../src/io/index.js';
import { FIXTURES, requireTool, tempDir } from '../helpers/env.js';
import { gunzipTo } from '../helpers/gunzip.js';

const t = tempDir('bootprobe-fat-');
afterAll(() => t.cleanup());
const env = { ...process.env, MTOOLS_SKIP_CHECK: '1', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { env, maxBuffer: 1 << 28 });
const sh = (cmd: string, args: string[]) => run(cmd, args).toString('utf8');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

for (const tool of ['mkfs.fat', 'fsck.fat', 'mcopy', 'mdir', 'mtype', 'fls', 'icat']) requireTool(tool);

/** A source tree with long, Unicode and lower-case names, depth, a 150-entry directory and sizes over clusters. */
function sourceTree(dir: string): void {
  const files: Record<string, Uint8Array | string> = {
    'EFI/Microsoft/Boot/BCD': bytes(28000, 1),
    'EFI/Boot/bootx64.efi': bytes(9000, 2),
    'a/b/c/d/e/f/g/deep file.txt': 'deep\n',
    'Ünïcødé naïve café.txt': 'unicode\n',
    'lower.txt': 'lower\n',
    'MiXeD.TxT': 'mixed\n',
    'big.bin': bytes(300000, 3),
    empty: '',
  };
  for (let i = 0; i < 150; i++) files[`dir150/entry with a long name ${i}.dat`] = `${i}\n`;
  for (const [p, data] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    writeFileSync(path.join(dir, p), data);
  }
}

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >> 11)) & 0xff;
  return b;
}

/** mkfs.fat + mcopy: a fresh volume, with a fragmented file made by deleting a file between two others. */
function makeVolume(name: string, size: number, mkfsArgs: string[]): string {
  const img = path.join(t.dir, `${name}.img`);
  const src = path.join(t.dir, `src-${name}`);
  sourceTree(src);
  writeFileSync(img, new Uint8Array(0));
  run('truncate', ['-s', String(size), img]);
  run('mkfs.fat', [...mkfsArgs, '-n', name.toUpperCase().slice(0, 11), img]);
  const hole = path.join(t.dir, `hole-${name}`);
  writeFileSync(hole, bytes(12000, 9));
  run('mcopy', ['-i', img, hole, '::/hole.tmp']);
  writeFileSync(path.join(t.dir, 'after.bin'), bytes(12000, 8));
  run('mcopy', ['-i', img, path.join(t.dir, 'after.bin'), '::/after.bin']);
  run('mdel', ['-i', img, '::/hole.tmp']);
  if (mkfsArgs.includes('32')) {
    // mtools allocates from FSInfo's next-free hint (sector 1, 0x1EC): make it unknown so it reuses the hole.
    const b = readFileSync(img);
    b.writeUInt32LE(0xffffffff, 512 + 0x1ec);
    writeFileSync(img, b);
  }
  run('mcopy', ['-i', img, path.join(src, 'big.bin'), '::/big.bin']);
  const rest = ['EFI', 'a', 'Ünïcødé naïve café.txt', 'lower.txt', 'MiXeD.TxT', 'empty', 'dir150'];
  run('mcopy', ['-s', '-i', img, ...rest.map((p) => path.join(src, p)), '::/']);
  return img;
}

async function walk(fs: FatFileSystem): Promise<FatEntry[]> {
  const out: FatEntry[] = [];
  const rec = async (d: FsEntry, depth: number) => {
    expect(depth).toBeLessThan(32);
    for (const e of await fs.list(d)) {
      out.push(e);
      if (e.isDirectory) await rec(e, depth + 1);
    }
  };
  await rec(await fs.root(), 0);
  return out;
}

async function contents(fs: FatFileSystem, e: FsEntry): Promise<Uint8Array> {
  const r = await fs.openFile(e);
  return r.read(0, r.size);
}

/** fls -r -p -u: allocated names → metadata address, without TSK's virtual entries and the label entry. */
function fls(img: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of sh('fls', ['-r', '-p', '-u', img]).split('\n')) {
    const m = /^[-a-z]\/[-a-z] (\d+):\t(.*)$/.exec(line);
    if (!m || /^\$(MBR|FAT\d|OrphanFiles)$/.test(m[2]!) || / \(Volume Label Entry\)$/.test(m[2]!)) continue;
    out.set(`/${m[2]}`, m[1]!);
  }
  return out;
}

/** mdir -/ -a -b: every path, directories with a trailing '/'. */
function mdir(img: string): string[] {
  return sh('mdir', ['-i', img, '-/', '-a', '-b', '::/'])
    .split('\n')
    .filter((l) => l.startsWith('::/'))
    .map((l) => l.slice(2).replace(/\/$/, ''));
}

const fsckBits = (img: string) => Number(/(\d+) bit entries/.exec(sh('fsck.fat', ['-n', '-v', img]))![1]);

const volumes: [string, number, string[]][] = [
  ['fresh12', 3 * 1024 * 1024, ['-F', '12']],
  ['fresh16', 20 * 1024 * 1024, ['-F', '16']],
  ['fresh32', 40 * 1024 * 1024, ['-F', '32', '-s', '1']],
  ['fresh16k4', 24 * 1024 * 1024, ['-F', '16', '-S', '4096', '-s', '1']],
];

describe('fresh mkfs.fat volumes: listing and contents equal mdir/mtype and fls/icat', () => {
  for (const [name, size, args] of volumes) {
    it(`${name} (mkfs.fat ${args.join(' ')})`, async () => {
      const img = makeVolume(name, size, args);
      sh('fsck.fat', ['-n', img]);
      const fs = await openFat(new MemoryDevice(new Uint8Array(readFileSync(img))));
      expect(fs.type).toBe(`fat${fsckBits(img)}`);
      expect(fs.label).toBe(name.toUpperCase());
      const ours = await walk(fs);
      const paths = ours.map((e) => e.path);
      expect([...paths].sort()).toEqual(mdir(img).sort());
      const tsk = fls(img);
      expect([...paths].sort()).toEqual([...tsk.keys()].sort());
      expect(ours.length).toBeGreaterThan(160);
      for (const e of ours) {
        if (e.isDirectory) continue;
        const data = await contents(fs, e);
        expect(sha(data), e.path).toBe(sha(run('mtype', ['-i', img, `::${e.path}`])));
        expect(sha(data), e.path).toBe(sha(run('icat', [img, tsk.get(e.path)!])));
      }
      // The fragmented file really is fragmented, as mshowfat says.
      const st = await fs.stat(await fs.lookup('/big.bin'));
      const chain = sh('mshowfat', ['-i', img, '::/big.bin']);
      const runs = [...chain.matchAll(/<(\d+)(?:-(\d+))?>/g)].map((m) => [
        Number(m[1]),
        Number(m[2] ?? m[1]),
      ]);
      expect(runs.length).toBeGreaterThan(1);
      expect(
        (st.clusterRuns as { cluster: number; count: number }[]).map((r) => [
          r.cluster,
          r.cluster + r.count - 1,
        ]),
      ).toEqual(runs);
    });
  }
});

describe('the committed fixtures (scripts/fixtures/fat.sh) are sane for fsck.fat -n', () => {
  for (const name of ['fat12', 'fat16', 'fat32', 'fat16-4k']) {
    it(`${name} is clean and fsck.fat's FAT type is ours`, async () => {
      const img = gunzipTo(path.join(FIXTURES, 'fat', `${name}.img.gz`), path.join(t.dir, `${name}.img`));
      sh('fsck.fat', ['-n', img]);
      const fs = await openFat(new MemoryDevice(new Uint8Array(readFileSync(img))));
      expect(fs.type).toBe(`fat${fsckBits(img)}`);
    });
  }

  it('fat16-fatdiff is not clean (its FAT copies differ), and we warn', async () => {
    const img = gunzipTo(path.join(FIXTURES, 'fat', 'fat16-fatdiff.img.gz'), path.join(t.dir, 'fatdiff.img'));
    expect(() => run('fsck.fat', ['-n', img])).toThrow();
    const fs = await openFat(new MemoryDevice(new Uint8Array(readFileSync(img))));
    expect(fs.warnings.map((w) => w.code)).toEqual(['FAT_COPIES_DIFFER']);
  });
});
