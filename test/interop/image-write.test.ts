// Independent tools accept what the image write layer writes (issue 6): qemu-img (check, compare against a raw model
// of what was written), vhdiinfo (libvhdi) and pyvhdi (reads the differencing chains qemu cannot), on images made
// by qemu-img and then written by us, on images bootprobe made itself (convert, create-child), and on a VHDX left
// with our log entry not yet applied, which `qemu-img check -r all` must replay to the same disk.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiskImage } from '../../src/image/disk-image.js';
import { openImage } from '../../src/image/open-image.js';
import { openImageForWrite } from '../../src/image/open-writable.js';
import type { BlockDevice } from '../../src/io/block-device.js';
import { FileDevice } from '../../src/io/file-device.js';
import { NodeFileAccess } from '../../src/io/node-file-access.js';
import { runCli } from '../helpers/cli.js';
import { corpus, requireTool, tempDir } from '../helpers/env.js';
import { gunzipTo } from '../helpers/gunzip.js';
import { PY, pyvhdiChain } from '../helpers/pyvhdi.js';
import { fill, MiB, randomWrites } from '../unit/image-write/helpers.js';

/** libvhdi's size and sha256 of a chain (child first). */
const pyvhdiSum = (chain: string[]) => {
  const { size, sha } = pyvhdiChain(chain);
  return { size, sha };
};

const t = tempDir('bootprobe-image-write-interop-');
afterAll(() => t.cleanup());
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const p = (name: string) => path.join(t.dir, name);
/** Tiny unaligned writes over the parent's data: a child then holds sectors next to ones still read from the parent. */
const SMALL = [
  { offset: 100, data: fill(3, 1) },
  { offset: MiB - 300, data: fill(600, 2) },
  { offset: 9 * MiB + 5, data: fill(7, 3) },
];

beforeAll(() => {
  requireTool('qemu-img');
  requireTool('qemu-io');
  requireTool('vhdiinfo');
  try {
    execFileSync(PY, ['-c', 'import pyvhdi'], { stdio: 'pipe' });
  } catch {
    throw new Error('interop module missing: pyvhdi (Debian package python3-libvhdi) for /usr/bin/python3');
  }
});

async function open(file: string): Promise<DiskImage> {
  return openImage(await FileDevice.open(file), { path: file, files: new NodeFileAccess() });
}

async function readAll(img: BlockDevice): Promise<Uint8Array> {
  const out = new Uint8Array(img.size);
  for (let at = 0; at < img.size; at += 4 * MiB)
    out.set(await img.read(at, Math.min(4 * MiB, img.size - at)), at);
  return out;
}

/** Writes random pieces into `file` through the write layer; returns the whole disk as it must now read. */
async function writeInto(
  file: string,
  seed: number,
  count = 30,
  first: { offset: number; data: Uint8Array }[] = [],
): Promise<Uint8Array> {
  const img = await openImageForWrite(await FileDevice.openWritable(file), {
    path: file,
    files: new NodeFileAccess(),
  });
  try {
    const model = await readAll(img);
    const bs = img.info.blockSize ?? 2 * MiB;
    for (const w of [...first, ...randomWrites(seed, img.size, count, 2 * bs + 3000, bs)]) {
      await img.write(w.offset, w.data);
      model.set(w.data, w.offset);
    }
    await img.flush();
    return model;
  } finally {
    await img.close();
  }
}

function qemu(args: string[]): { code: number; out: string } {
  const r = spawnSync('qemu-img', args, { encoding: 'utf8' });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** qemu-img compare of an image against a raw file holding `model`. */
function qemuEquals(file: string, format: 'vpc' | 'vhdx', model: Uint8Array): void {
  const raw = `${file}.model.raw`;
  writeFileSync(raw, model);
  const r = qemu(['compare', '-f', format, '-F', 'raw', file, raw]);
  expect(r.out).toContain('Images are identical');
  expect(r.code).toBe(0);
}

function qemuCheckClean(file: string): void {
  const r = qemu(['check', '-f', 'vhdx', file]);
  expect(r.out).toContain('No errors were found');
  expect(r.code).toBe(0);
}

function vhdiinfo(file: string): string {
  return execFileSync('vhdiinfo', [file], { encoding: 'utf8' });
}

describe('qemu-made images written by bootprobe', () => {
  it('dynamic VHD: qemu-img compare identical to the model, vhdiinfo and pyvhdi read it', async () => {
    const f = p('q-dyn.vhd');
    execFileSync('qemu-img', [
      'create',
      '-q',
      '-f',
      'vpc',
      '-o',
      'subformat=dynamic,force_size=on',
      f,
      '48M',
    ]);
    execFileSync('qemu-io', ['-f', 'vpc', '-c', 'write -P 0x5a 1M 3M', f], { stdio: 'pipe' });
    const model = await writeInto(f, 1);
    qemuEquals(f, 'vpc', model);
    expect(vhdiinfo(f)).toMatch(/Disk type\s*: Dynamic/);
    expect(pyvhdiSum([f])).toEqual({ size: model.length, sha: sha(model) });
    // qemu-img check has no VHD support ("This image format does not support checks"); qemu-io still writes it.
    execFileSync('qemu-io', ['-f', 'vpc', '-c', 'write -P 0x77 40M 4k', f], { stdio: 'pipe' });
    model.set(new Uint8Array(4096).fill(0x77), 40 * MiB);
    expect(sha(await readAll(await open(f)))).toBe(sha(model));
  });

  it('fixed VHD: written in place, qemu-img compare identical', async () => {
    const f = p('q-fixed.vhd');
    execFileSync('qemu-img', ['create', '-q', '-f', 'vpc', '-o', 'subformat=fixed,force_size=on', f, '20M']);
    const model = await writeInto(f, 2);
    qemuEquals(f, 'vpc', model);
  });

  for (const opts of [
    'subformat=dynamic,block_size=1M',
    'subformat=dynamic,block_size=8M,log_size=4M',
    'subformat=fixed,block_size=2M',
  ]) {
    it(`VHDX ${opts}: qemu-img check clean, compare identical; vhdiinfo and pyvhdi agree`, async () => {
      const f = p(`q-${opts.replace(/[^a-z0-9]+/gi, '-')}.vhdx`);
      execFileSync('qemu-img', ['create', '-q', '-f', 'vhdx', '-o', opts, f, '40M']);
      execFileSync('qemu-io', ['-f', 'vhdx', '-c', 'write -P 0x11 0 5M', f], { stdio: 'pipe' });
      const model = await writeInto(f, 3);
      qemuCheckClean(f);
      qemuEquals(f, 'vhdx', model);
      expect(vhdiinfo(f)).toMatch(/Format\s*: VHDX/);
      expect(pyvhdiSum([f]).sha).toBe(sha(model));
      // qemu can go on writing the file after us (it checks the headers and the log when it opens read-write).
      execFileSync('qemu-io', ['-f', 'vhdx', '-c', 'write -P 0x99 30M 1M', f], { stdio: 'pipe' });
      model.set(new Uint8Array(MiB).fill(0x99), 30 * MiB);
      qemuCheckClean(f);
      expect(sha(await readAll(await open(f)))).toBe(sha(model));
    });
  }
});

describe('images bootprobe makes (convert, create-child)', () => {
  let base = '';
  let baseModel: Uint8Array = new Uint8Array(0);
  beforeAll(async () => {
    base = p('base.vhdx');
    execFileSync('qemu-img', [
      'create',
      '-q',
      '-f',
      'vhdx',
      '-o',
      'subformat=dynamic,block_size=1M',
      base,
      '36M',
    ]);
    execFileSync(
      'qemu-io',
      [
        '-f',
        'vhdx',
        '-c',
        'write -P 0x21 0 2M',
        '-c',
        'write -P 0x42 9M 100k',
        '-c',
        'write -P 0x63 35M 1M',
        base,
      ],
      { stdio: 'pipe' },
    );
    baseModel = await readAll(await open(base));
  });

  for (const [ext, fmt] of [
    ['vhdx', 'vhdx'],
    ['vhd', 'vpc'],
  ] as const) {
    it(`convert to dynamic ${ext.toUpperCase()}: qemu reads it identical to the source, vhdiinfo opens it`, async () => {
      const out = p(`conv.${ext}`);
      const r = await runCli(['convert', base, out, '--block-size', '2M']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      if (fmt === 'vhdx') qemuCheckClean(out);
      const cmp = qemu(['compare', '-f', fmt, '-F', 'vhdx', out, base]);
      expect(cmp.out).toContain('Images are identical');
      expect(vhdiinfo(out)).toMatch(/Disk type\s*: Dynamic/);
      expect(pyvhdiSum([out]).sha).toBe(sha(baseModel));
      // Written into afterwards, it still checks clean and compares equal.
      const model = await writeInto(out, 4, 20);
      if (fmt === 'vhdx') qemuCheckClean(out);
      qemuEquals(out, fmt, model);
    });
  }

  it('VHDX child written by bootprobe: pyvhdi reads the chain as we do; qemu-img refuses it as it refuses Hyper-V avhdx', async () => {
    const child = p('snap.avhdx');
    expect((await runCli(['create-child', base, child])).code).toBe(0);
    const before = sha(readFileSync(base));
    const model = await writeInto(child, 5, 40, SMALL);
    expect(sha(readFileSync(base))).toBe(before);
    expect(sha(await readAll(await open(child)))).toBe(sha(model));
    expect(pyvhdiSum([child, base])).toEqual({ size: model.length, sha: sha(model) });
    expect(vhdiinfo(child)).toMatch(/Disk type\s*: Differential/);
    // qemu has no VHDX backing-file support: it cannot open any differencing VHDX (corpus hyperv-differencing too).
    const q = qemu(['info', child]);
    expect(q.code).not.toBe(0);
    expect(q.out).toMatch(/not supported/i);
    // Flattened by our convert, qemu checks and compares it against the model.
    const flat = p('snap-flat.vhdx');
    expect((await runCli(['convert', child, flat])).code).toBe(0);
    qemuCheckClean(flat);
    qemuEquals(flat, 'vhdx', model);
  });

  it('VHD child written by bootprobe: pyvhdi reads the chain as we do; qemu-img opens the child file', async () => {
    const parent = p('vbase.vhd');
    expect((await runCli(['convert', base, parent])).code).toBe(0);
    const child = p('vchild.vhd');
    expect((await runCli(['create-child', parent, child])).code).toBe(0);
    const before = sha(readFileSync(parent));
    const model = await writeInto(child, 6, 40, SMALL);
    expect(sha(readFileSync(parent))).toBe(before);
    expect(pyvhdiSum([child, parent])).toEqual({ size: model.length, sha: sha(model) });
    expect(vhdiinfo(child)).toMatch(/Parent identifier/);
    expect(qemu(['info', '-f', 'vpc', child]).code).toBe(0);
    const flat = p('vchild-flat.vhd');
    expect((await runCli(['convert', child, flat])).code).toBe(0);
    qemuEquals(flat, 'vpc', model);
  });
});

describe('images Windows and qemu made (corpus copies)', () => {
  it('Hyper-V dynamic VHDX: written by bootprobe, qemu-img check clean, compare identical, pyvhdi agrees', async () => {
    const f = gunzipTo(corpus('vhdx/hyperv-dynamic.vhdx.gz'), p('hyperv-dynamic.vhdx'));
    const model = await writeInto(f, 8, 25, SMALL);
    qemuCheckClean(f);
    qemuEquals(f, 'vhdx', model);
    expect(pyvhdiSum([f]).sha).toBe(sha(model));
  });

  it('qemu VHDX killed with its log pending: refused (exit 4) until replay is asked; replayed, it is the manifest truth', async () => {
    const f = p('dirty-w8.vhdx');
    copyFileSync(corpus('vhdx/qemu-dirtylog-w8.vhdx'), f);
    // The copy keeps the corpus file's mode 444: a read-only file is refused before anything else.
    const ro = await FileDevice.openWritable(f).catch((x) => x);
    expect([ro.code, ro.kind]).toEqual(['READ_ONLY', 'unsafe']);
    chmodSync(f, 0o644);
    const dev = await FileDevice.openWritable(f);
    const e = await openImageForWrite(dev, { path: f }).catch((x) => x);
    expect([e.code, e.kind]).toEqual(['VHDX_LOG_PENDING', 'unsafe']);
    const img = await openImageForWrite(dev, { path: f, replayLog: true });
    // MANIFEST.md: the raw disk after `qemu-img check -r all` replayed the log.
    expect(sha(await readAll(img))).toBe('218e21b2c60a653a2fa541dcabebc443c411c6a3879532c930256d215f47d7b7');
    await img.close();
    qemuCheckClean(f);
    const model = await writeInto(f, 9, 15);
    qemuCheckClean(f);
    qemuEquals(f, 'vhdx', model);
  });
});

describe('our log entries are replayed by qemu', () => {
  it('a write stopped after its log entry is flushed, before the BAT sector is applied: qemu-img check -r all replays it', async () => {
    const f = p('crash.vhdx');
    execFileSync('qemu-img', [
      'create',
      '-q',
      '-f',
      'vhdx',
      '-o',
      'subformat=dynamic,block_size=1M',
      f,
      '16M',
    ]);
    const file = await FileDevice.openWritable(f);
    const logOffset = MiB; // qemu's layout: log at 1 MiB
    let stop = false;
    let stopped = false;
    // A device that dies (like a kill) at the first write after the log entry: the in-place BAT sector.
    const dying: BlockDevice & { write: NonNullable<BlockDevice['write']> } = {
      get size() {
        return file.size;
      },
      sectorSize: 512,
      read: (o, n) => file.read(o, n),
      write: async (o, d) => {
        if (stop) {
          stopped = true;
          throw new Error('killed');
        }
        await file.write(o, d);
        if (o === logOffset && String.fromCharCode(...d.subarray(0, 4)) === 'loge') stop = true;
      },
      flush: () => file.flush(),
      close: () => file.close(),
    };
    const img = await openImageForWrite(dying, {});
    const data = fill(3 * MiB, 7);
    await expect(img.write(5 * MiB + 512, data)).rejects.toThrow('killed');
    expect(stopped).toBe(true);
    await file.close();
    const model = new Uint8Array(16 * MiB);
    model.set(data, 5 * MiB + 512);
    // Our read-only open replays the entry in memory.
    const ours = await open(f);
    expect(ours.warnings.map((w) => w.code)).toContain('VHDX_LOG_PENDING');
    expect(sha(await readAll(ours))).toBe(sha(model));
    await ours.close();
    // qemu refuses to read it before replay, then replays it.
    const copy = p('crash-qemu.vhdx');
    copyFileSync(f, copy);
    const repaired = qemu(['check', '-r', 'all', '-f', 'vhdx', copy]);
    expect(repaired.code).toBe(0);
    qemuCheckClean(copy);
    qemuEquals(copy, 'vhdx', model);
  });
});
