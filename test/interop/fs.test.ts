// The Sleuth Kit, sfdisk/sgdisk and fsck.fat as oracles for the volume and file-system layers.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFileSystem } from '../../src/fs/open-fs.js';
import { MemoryDevice } from '../../src/io/memory-device.js';
import { runCli } from '../helpers/cli.js';
import { corpus, FIXTURES, requireTool, tempDir } from '../helpers/env.js';
import { gunzipTo } from '../helpers/gunzip.js';

const t = tempDir();
afterAll(() => t.cleanup());
const sh = (cmd: string, args: string[], input?: string) =>
  execFileSync(cmd, args, { encoding: 'utf8', input, maxBuffer: 1 << 28 });
const fixture = (name: string) =>
  gunzipTo(path.join(FIXTURES, 'fs', `${name}.img.gz`), path.join(t.dir, `${name}.img`));

/** fls -r -p: allocated names, without streams (`name:stream`) and TSK's virtual entries ($OrphanFiles, $MBR, $FAT1...). */
function flsPaths(img: string, virtual: RegExp, offset?: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of sh('fls', [...(offset ? ['-o', String(offset)] : []), '-r', '-p', img]).split('\n')) {
    const m = /^([-a-z])\/([-a-z]) (\*?)\s*([0-9-]+):\t(.*)$/.exec(line);
    if (!m || m[3] === '*') continue;
    const p = m[5]!;
    if (virtual.test(p) || / \(Volume Label Entry\)$/.test(p)) continue;
    // fls names a file with no unnamed $DATA ($Secure, $Extend/$Quota) only by its streams: keep the file itself.
    const base = p.replace(/:[^/]*$/, '');
    if (base !== p) {
      if (!out.has(base)) out.set(base, m[4]!.replace(/-\d+-\d+$/, ''));
      continue;
    }
    out.set(p, m[4]!);
  }
  return out;
}

/** fls -r -p -l: path → type and size (the long format's size column). */
function flsLong(img: string, virtual: RegExp): Map<string, { type: string; size: number }> {
  const out = new Map<string, { type: string; size: number }>();
  for (const line of sh('fls', ['-r', '-p', '-l', img]).split('\n')) {
    const cols = line.split('\t');
    const m = /^([-a-z])\/([-a-z]) (\*?)\s*([0-9-]+):$/.exec(cols[0] ?? '');
    if (!m || m[3] === '*') continue;
    const p = cols[1]!;
    if (virtual.test(p) || / \(Volume Label Entry\)$/.test(p)) continue;
    const type = m[2] === 'd' ? 'directory' : 'file';
    const base = p.replace(/:[^/]*$/, '');
    if (base !== p) {
      if (!out.has(base)) out.set(base, { type, size: 0 });
      continue;
    }
    out.set(p, { type, size: Number(cols[6]) });
  }
  return out;
}

async function ourPaths(img: string): Promise<Map<string, { size: number; type: string }>> {
  const r = await runCli(['ls', '-R', '--json', img]);
  expect(r.code, r.stderr).toBe(0);
  return new Map(
    JSON.parse(r.stdout).entries.map((e: { path: string; size: number; type: string }) => [
      e.path.slice(1),
      e,
    ]),
  );
}

describe('NTFS and FAT listings and contents equal The Sleuth Kit (fls, icat)', () => {
  beforeAll(() => {
    requireTool('fls');
    requireTool('icat');
  });
  for (const [name, virtual] of [
    ['ntfs-512', /^\$OrphanFiles/],
    ['ntfs-4k', /^\$OrphanFiles/],
    ['fat12', /^\$(OrphanFiles|MBR|FAT\d)/],
    ['fat16', /^\$(OrphanFiles|MBR|FAT\d)/],
    ['fat32', /^\$(OrphanFiles|MBR|FAT\d)/],
    ['fat16-4k', /^\$(OrphanFiles|MBR|FAT\d)/],
  ] as const) {
    it(`${name}: same paths, types and sizes as fls -l; every file's bytes equal tsk_recover's`, async () => {
      const img = fixture(name);
      const theirs = flsLong(img, virtual);
      const ours = await ourPaths(img);
      expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
      for (const [p, e] of ours) {
        const f = theirs.get(p)!;
        expect(e.type, p).toBe(f.type);
        if (e.type === 'file' && !p.startsWith('$')) expect(e.size, p).toBe(f.size);
      }
      // Every allocated file, exported by The Sleuth Kit in one run, read back through our library.
      const out = path.join(t.dir, `recover-${name}`);
      mkdirSync(out);
      sh('tsk_recover', ['-a', img, out]);
      const fs = await openFileSystem(new MemoryDevice(new Uint8Array(readFileSync(img))));
      let n = 0;
      const walk = async (dir: string) => {
        for (const d of readdirSync(dir, { withFileTypes: true })) {
          const full = path.join(dir, d.name);
          if (d.isDirectory()) await walk(full);
          else {
            const rel = path.relative(out, full).split(path.sep).join('/');
            const e = await fs.lookup(rel);
            const r = await fs.openFile(e);
            const mine = await r.read(0, r.size);
            expect(createHash('sha256').update(mine).digest('hex'), rel).toBe(
              createHash('sha256').update(readFileSync(full)).digest('hex'),
            );
            n++;
          }
        }
      };
      await walk(out);
      expect(n).toBeGreaterThan(300);
    });
  }

  it('the Windows-made corpus NTFS disk lists the same paths as fls -o 128', async () => {
    const img = corpus('ntfs/dfirntfs-ntfs_index-mbr-disk.raw');
    const theirs = flsPaths(img, /^\$OrphanFiles/, 128);
    const ours = await ourPaths(img);
    expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
    for (const [p, inode] of [...theirs.entries()].filter(([p]) => !p.startsWith('$')).slice(0, 20)) {
      if (ours.get(p)?.type !== 'file') continue;
      const want = execFileSync('icat', ['-o', '128', img, inode], { maxBuffer: 1 << 28 });
      const got = await runCli(['cat', img, `/${p}`]);
      expect(createHash('sha256').update(got.stdoutBytes).digest('hex'), p).toBe(
        createHash('sha256').update(want).digest('hex'),
      );
    }
  });

  it('the FAT fixtures are clean for fsck.fat -n (the one made to differ is not)', () => {
    requireTool('fsck.fat');
    for (const name of ['fat12', 'fat16', 'fat32', 'fat16-4k']) sh('fsck.fat', ['-n', fixture(name)]);
    expect(() => sh('fsck.fat', ['-n', fixture('fat16-fatdiff')])).toThrow();
  });
});

describe('partition tables equal sfdisk --json and mmls', () => {
  beforeAll(() => {
    requireTool('sfdisk');
    requireTool('sgdisk');
  });

  async function compare(img: string, sectorSize = 512, device = img) {
    const sf = JSON.parse(sh('sfdisk', ['--json', device])).partitiontable;
    const ours = JSON.parse((await runCli(['info', '--json', img])).stdout);
    expect(ours.scheme).toBe(sf.label === 'dos' ? 'mbr' : sf.label);
    expect(ours.tableSectorSize).toBe(sectorSize);
    const want = sf.partitions.map((p: { node: string; start: number; size: number }) => ({
      index: Number(/(\d+)$/.exec(p.node)![1]),
      start: p.start * sectorSize,
      size: p.size * sectorSize,
    }));
    expect(
      ours.partitions.map((p: { index: number; start: number; size: number }) => ({
        index: p.index,
        start: p.start,
        size: p.size,
      })),
    ).toEqual(want);
    return { sf, ours };
  }

  it('MBR with primaries, an active flag and an extended chain of logical partitions', async () => {
    const img = path.join(t.dir, 'mbr.img');
    writeFileSync(img, new Uint8Array(64 << 20));
    sh('sfdisk', ['-q', img], 'label: dos\nlabel-id: 0x12345678\n,8M,7,*\n,8M,c\n,,5\n,6M,83\n,6M,7\n,,b\n');
    const { ours } = await compare(img);
    expect(ours.diskSignature).toBe('0x12345678');
    expect(ours.partitions.find((p: { index: number }) => p.index === 1).active).toBe(true);
    expect(ours.partitions.filter((p: { kind: string }) => p.kind === 'logical')).toHaveLength(3);
    const mm = sh('mmls', [img]);
    for (const p of ours.partitions.filter((x: { type: string }) => x.type !== '0x05'))
      expect(mm).toContain(String(p.start / 512).padStart(10, '0'));
  });

  it('GPT with ESP, MSR, basic data and recovery partitions, names and GUIDs', async () => {
    const img = path.join(t.dir, 'gpt.img');
    writeFileSync(img, new Uint8Array(96 << 20));
    sh('sgdisk', [
      '-o',
      '-n',
      '1:2048:+20M',
      '-t',
      '1:EF00',
      '-c',
      '1:EFI system partition',
      '-n',
      '2:0:+16M',
      '-t',
      '2:0C01',
      '-c',
      '2:Microsoft reserved partition',
      '-n',
      '3:0:+40M',
      '-t',
      '3:0700',
      '-c',
      '3:Basic data partition',
      '-n',
      '4:0:0',
      '-t',
      '4:2700',
      '-c',
      '4:Recovery',
      img,
    ]);
    const { sf, ours } = await compare(img);
    expect(ours.diskGuid).toBe(sf.id.toLowerCase());
    expect(ours.partitions.map((p: { typeName: string }) => p.typeName)).toEqual([
      'EFI System',
      'Microsoft reserved',
      'Microsoft basic data',
      'Windows recovery environment',
    ]);
    expect(ours.partitions.map((p: { guid: string }) => p.guid)).toEqual(
      sf.partitions.map((p: { uuid: string }) => p.uuid.toLowerCase()),
    );
    expect(ours.partitions.map((p: { name: string }) => p.name)).toEqual(
      sf.partitions.map((p: { name: string }) => p.name),
    );
  });

  it('GPT on 4096-byte sectors (made on a 4Kn loop device)', async () => {
    requireTool('losetup');
    const img = path.join(t.dir, 'gpt4k.img');
    writeFileSync(img, new Uint8Array(64 << 20));
    const loop = sh('losetup', ['--sector-size', '4096', '-f', '--show', img]).trim();
    try {
      sh('sgdisk', ['-o', '-n', '1:0:+10M', '-t', '1:EF00', '-n', '2:0:0', '-t', '2:0700', loop]);
      await compare(img, 4096, loop);
    } finally {
      sh('losetup', ['-d', loop]);
    }
  });

  it('a damaged primary GPT header falls back to the backup, with a warning', async () => {
    const img = path.join(t.dir, 'gptbad.img');
    writeFileSync(img, new Uint8Array(64 << 20));
    sh('sfdisk', ['-q', img], 'label: gpt\n,10M,U\n,,L\n');
    const before = JSON.parse((await runCli(['info', '--json', img])).stdout).partitions;
    execFileSync('dd', [
      'if=/dev/zero',
      `of=${img}`,
      'bs=1',
      'seek=520',
      'count=16',
      'conv=notrunc',
      'status=none',
    ]);
    const r = await runCli(['info', '--json', img]);
    const j = JSON.parse(r.stdout);
    expect(j.partitions).toEqual(before);
    expect(j.warnings.map((w: { message: string }) => w.message).join(' ')).toMatch(
      /primary GPT unusable.*backup/,
    );
  });
});
