// What `repair` writes, judged by independent tools (issue 6): the container (qemu-img check, vhdiinfo), the file
// system (ntfsfix -n, fsck.fat -n), the file (ntfscat / mtype read the new store back byte for byte) and the store
// (hivexregedit exports it; its devices are the locate= forms). And the --in-place kill test: the CLI is killed at
// random points of an in-place repair, many times; afterwards the image is the original, or repaired, or — with
// `undo` — the original again, never anything else, and always a valid container.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { FIXTURES, REPO, requireTool, tempDir } from '../helpers/env.js';
import { gunzipTo } from '../helpers/gunzip.js';
import { pyvhdiChain } from '../helpers/pyvhdi.js';

const t = tempDir('bootprobe-repair-interop-');
afterAll(() => t.cleanup());
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
let n = 0;
function fixture(name: string): string {
  const dir = path.join(t.dir, `f${n++}`);
  mkdirSync(dir);
  const out = path.join(dir, name.replace(/\.gz$/, ''));
  if (name.endsWith('.gz')) gunzipTo(path.join(FIXTURES, 'preflight', name), out);
  else copyFileSync(path.join(REPO, 'samples', name), out);
  return out;
}
/** The virtual disk as raw, by qemu-img (an independent reader of the container). */
function raw(img: string): string {
  const out = `${img}.raw`;
  execFileSync('qemu-img', ['convert', '-f', img.endsWith('.vhd') ? 'vpc' : 'vhdx', '-O', 'raw', img, out]);
  return out;
}
/** A partition of a raw disk as its own file (offset and size from sfdisk). */
function partition(rawDisk: string, index: number): string {
  const pt = JSON.parse(execFileSync('sfdisk', ['--json', rawDisk], { encoding: 'utf8' })).partitiontable;
  const p = pt.partitions[index - 1];
  const out = `${rawDisk}.p${index}`;
  const bytes = readFileSync(rawDisk).subarray(p.start * 512, (p.start + p.size) * 512);
  writeFileSync(out, bytes);
  return out;
}

describe('independent tools accept what repair wrote', () => {
  it('NTFS store (VHD, --output): vhdiinfo, ntfsfix -n, ntfscat byte-identical, hivexregedit on the new store', async () => {
    for (const tool of ['vhdiinfo', 'ntfsfix', 'ntfscat', 'hivexregedit', 'qemu-img', 'sfdisk'])
      requireTool(tool);
    const src = fixture('template.vhd');
    const out = path.join(path.dirname(src), 'fixed.vhd');
    const r = await runCli(['repair', '--generalize', '--output', out, src]);
    expect(r.code, r.stderr).toBe(0);
    execFileSync('vhdiinfo', [out], { stdio: 'pipe' });
    const vol = partition(raw(out), 1);
    execFileSync('ntfsfix', ['-n', vol], { stdio: 'pipe' });
    const viaNtfs3g = execFileSync('ntfscat', [vol, '/Boot/BCD']);
    const ours = (await runCli(['cat', out, '/Boot/BCD'])).stdoutBytes;
    expect(Buffer.compare(viaNtfs3g, Buffer.from(ours))).toBe(0);
    const store = path.join(path.dirname(src), 'BCD');
    writeFileSync(store, viaNtfs3g);
    const reg = execFileSync(
      'hivexregedit',
      ['--export', '--prefix', 'HKEY_LOCAL_MACHINE\\BCD00000000', store, '\\'],
      {
        encoding: 'latin1',
      },
    );
    expect(reg).toContain(
      '[HKEY_LOCAL_MACHINE\\BCD00000000\\Objects\\{b520e13b-48da-11e2-9a8b-00155d011700}\\Elements\\21000001]',
    );
    // Our export of the file ntfs-3g read equals hivex's export of it.
    expect((await runCli(['reg', 'export', store])).stdout).toBe(reg);
    expect((await runCli(['preflight', out])).code).toBe(0);
  });

  it('FAT32 ESP store (VHDX, --in-place): qemu-img check, fsck.fat -n, mtype byte-identical', async () => {
    for (const tool of ['fsck.fat', 'mtype', 'qemu-img']) requireTool(tool);
    const img = fixture('gen2.vhdx.gz');
    const donor = path.join(path.dirname(img), 'donor.BCD');
    // A store with partition= devices of another GPT disk, retargeted onto this one by --transplant.
    copyFileSync(path.join(REPO, '../shared/corpus/bcd/regipy-uefi-win10-installed.BCD'), donor);
    const r = await runCli(['repair', '--transplant', donor, '--in-place', img]);
    expect([0, 1]).toContain(r.code);
    execFileSync('qemu-img', ['check', '-f', 'vhdx', img], { stdio: 'pipe' });
    const rawDisk = raw(img);
    const info = execFileSync('sgdisk', ['-i', '1', rawDisk], { encoding: 'utf8' });
    const first = Number(/First sector: (\d+)/.exec(info)![1]);
    const last = Number(/Last sector: (\d+)/.exec(info)![1]);
    const esp = `${rawDisk}.esp`;
    writeFileSync(esp, readFileSync(rawDisk).subarray(first * 512, (last + 1) * 512));
    execFileSync('fsck.fat', ['-n', esp], { stdio: 'pipe' });
    const viaMtools = execFileSync('mtype', ['-i', esp, '::/EFI/Microsoft/Boot/BCD']);
    const ours = (await runCli(['cat', img, '-p', '1', '/EFI/Microsoft/Boot/BCD'])).stdoutBytes;
    expect(Buffer.compare(viaMtools, Buffer.from(ours))).toBe(0);
    // The transplanted store's partition devices now name this disk.
    const v = JSON.parse((await runCli(['preflight', '--json', img])).stdout);
    expect(v.checks.find((c: { id: string }) => c.id === 'device').status).toBe('pass');
  });

  // The child is made from the staged write: the blocks it touched, copied whole and marked present (create-image.ts).
  for (const name of ['gen1-partition-devices.vhdx.gz', 'template.vhd']) {
    it(`--child of ${name.replace(/\.gz$/, '')}: libvhdi reads the chain as we do, and it holds the repaired store`, async () => {
      const img = fixture(name);
      const ext = path.extname(img);
      // A repaired copy first: once the child exists, a copy of its parent (same ids) is refused as its parent.
      const copy = path.join(path.dirname(img), `copy${ext}`);
      expect((await runCli(['repair', '--generalize', '--output', copy, img])).code).toBe(0);
      const child = path.join(path.dirname(img), `child${ext}`);
      const r = await runCli(['repair', '--generalize', '--child', child, img]);
      expect(r.code, r.stderr).toBe(0);
      // qemu cannot follow VHDX or VHD differencing parents; libvhdi can: compare its view of the chain with ours.
      requireTool('vhdiinfo');
      expect(execFileSync('vhdiinfo', [child], { encoding: 'utf8' })).toMatch(/Differential/);
      const ours = path.join(path.dirname(img), 'ours.raw');
      expect((await runCli(['convert', child, ours])).code).toBe(0);
      expect(pyvhdiChain([child, img]).sha).toBe(sha(ours));
      // And the store in that flattened disk, read by ntfs-3g, is the one the repaired copy holds.
      const store = (disk: string) => execFileSync('ntfscat', [partition(disk, 1), '/Boot/BCD']);
      expect(Buffer.compare(store(ours), store(raw(copy)))).toBe(0);
    });
  }
});

describe('--in-place killed at random points', () => {
  it('leaves the original or the repaired image; undo or a re-run always ends repaired or original', async () => {
    const base = fixture('template.vhd');
    const original = sha(base);
    const done = path.join(path.dirname(base), 'done.vhd');
    expect((await runCli(['repair', '--generalize', '--output', done, base])).code).toBe(0);
    const cli = path.join(REPO, 'dist/cli.cjs');
    const outcomes = { original: 0, repaired: 0, restored: 0 };
    const RUNS = 40;
    for (let i = 0; i < RUNS; i++) {
      const img = path.join(path.dirname(base), `k${i}.vhd`);
      const undo = `${img}.undo`;
      copyFileSync(base, img);
      rmSync(undo, { force: true });
      // Kill after a delay spread over the run (a repair takes ~100-300 ms here).
      const child = spawn(
        process.execPath,
        [cli, 'repair', '--generalize', '--in-place', '--undo', undo, img],
        {
          stdio: 'ignore',
        },
      );
      const delay = 40 + ((i * 37) % 260);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), delay);
        child.on('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      const v = JSON.parse((await runCli(['preflight', '--json', img])).stdout);
      // The container is never left unreadable (a torn store is a failing check, not an unreadable image).
      expect(['pass', 'fail']).toContain(v.verdict);
      if (sha(img) === original) outcomes.original++;
      else if (v.verdict === 'pass') outcomes.repaired++;
      // Whatever state it is in, undo brings back the original exactly.
      if (existsSync(undo)) {
        const u = await runCli(['undo', img, undo]);
        expect(u.code, u.stderr).toBe(0);
        expect(sha(img)).toBe(original);
        outcomes.restored++;
      } else {
        expect(sha(img)).toBe(original); // killed before the record existed: nothing was written
      }
      // And a re-run from the restored image repairs it.
      if (i % 10 === 0) {
        const again = await runCli(['repair', '--generalize', '--in-place', '--undo', `${undo}2`, img]);
        expect(again.code, again.stderr).toBe(0);
      }
    }
    console.log(`kill test: ${RUNS} runs`, outcomes);
    expect(outcomes.original + outcomes.restored).toBeGreaterThan(0);
  }, 300000);
});
