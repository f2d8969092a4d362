// The library without the CLI (issue 10): sources (BlobDevice over File.slice, paths through the Node entry, any
// BlockDevice), files chosen in a browser (FileListAccess), one-call inspection equal to `preflight --json` and
// `bcd`, the scan order, and the generalized store equal to what `repair --generalize` writes.
import { appendFileSync, copyFileSync, mkdirSync, openAsBlob, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findImages } from '../../../src/cli/commands/scan.js';
import {
  BlobDevice,
  BootprobeError,
  FileListAccess,
  generalizeIntoChild as generalizeIntoChildCore,
  generalizeStore,
  inspect,
  MemoryDevice,
  newIoStats,
  openImage as openImageCore,
  preflight,
  scanOrder,
  scanRow,
  scanSummary,
} from '../../../src/index.js';
import { generalizeIntoChild, inspect as inspectNode, openImage } from '../../../src/node.js';
import { runCli } from '../../helpers/cli.js';
import { FIXTURES, REPO, tempDir } from '../../helpers/env.js';
import { gunzipTo } from '../../helpers/gunzip.js';

const tmp = tempDir('bootprobe-library-');
afterAll(() => tmp.cleanup());
const SAMPLE = path.join(REPO, 'samples/template.vhd');
const STORE = path.join(FIXTURES, 'bcd/known-answers-1.BCD');

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: unknown) => (e instanceof BootprobeError ? e.code : `not a BootprobeError: ${String(e)}`),
  );

describe('BlobDevice — File.slice() reads, counted', () => {
  it('reads exactly the bytes asked for, and counts them', async () => {
    const stats = newIoStats();
    const dev = new BlobDevice(await openAsBlob(SAMPLE), { name: 'template.vhd', stats });
    const whole = readFileSync(SAMPLE);
    expect(dev.size).toBe(whole.length);
    for (const [at, n] of [
      [0, 512],
      [whole.length - 512, 512],
      [1048576 + 3, 4093],
      [17, 0],
    ] as const)
      expect(Buffer.from(await dev.read(at, n)).equals(whole.subarray(at, at + n))).toBe(true);
    expect(stats).toMatchObject({ bytesRead: 512 + 512 + 4093, reads: 3 });
  });

  it('a read outside the file is READ_OUT_OF_RANGE; after close, IO_ERROR', async () => {
    const dev = new BlobDevice(await openAsBlob(SAMPLE));
    expect(await codeOf(dev.read(dev.size - 10, 11))).toBe('READ_OUT_OF_RANGE');
    expect(await codeOf(dev.read(-1, 1))).toBe('READ_OUT_OF_RANGE');
    await dev.close();
    expect(await codeOf(dev.read(0, 1))).toBe('IO_ERROR');
  });

  it('a file changed after it was chosen is IO_ERROR with a hint, and so is a short read', async () => {
    const f = path.join(tmp.dir, 'changing.bin');
    writeFileSync(f, Buffer.alloc(8192, 1));
    const dev = new BlobDevice(await openAsBlob(f), { name: 'changing.bin' });
    await new Promise((r) => setTimeout(r, 20));
    appendFileSync(f, Buffer.alloc(16));
    const e = await dev.read(0, 16).catch((x: unknown) => x as BootprobeError);
    expect(e).toBeInstanceOf(BootprobeError);
    expect((e as BootprobeError).code).toBe('IO_ERROR');
    expect((e as BootprobeError).hint).toContain('choose the file again');
    const short = new BlobDevice({
      size: 100,
      slice: () => ({ arrayBuffer: async () => new ArrayBuffer(3) }),
    });
    expect(await codeOf(short.read(0, 10))).toBe('IO_ERROR');
  });
});

describe('FileListAccess — chosen files as a FileAccess', () => {
  const blob = (n: number) => ({ size: n, slice: () => ({ arrayBuffer: async () => new ArrayBuffer(0) }) });
  const a = blob(1);
  const b = blob(2);
  const c = blob(3);
  const files = new FileListAccess([
    { path: 'lib/2019/child.avhdx', blob: a },
    { path: 'lib/base.vhdx', blob: b },
    { path: 'lib/2022/base.vhdx', blob: c },
  ]);

  it('resolves relative locators inside the chosen folder, Windows or POSIX syntax', () => {
    expect(files.resolveBeside('lib/2019/child.avhdx', '..\\base.vhdx')).toBe('lib/base.vhdx');
    expect(files.resolveBeside('lib/2019/child.avhdx', '.\\x\\.\\y.vhd')).toBe('lib/2019/x/y.vhd');
    expect(files.resolveBeside('child.avhdx', '..\\..\\base.vhdx')).toBe('base.vhdx');
    expect(files.resolveBeside('lib/child.avhdx', 'C:\\VMs\\base.vhdx')).toBe('C:\\VMs\\base.vhdx');
  });

  it('finds a file by its path (case-insensitive), else by a unique name; several of one name are not guessed', () => {
    expect(files.find('LIB/Base.VHDX')).toBe(b);
    expect(files.find('lib/2019/child.avhdx')).toBe(a);
    expect(files.find('C:\\Hyper-V\\child.avhdx')).toBe(a);
    expect(files.find('C:\\VMs\\base.vhdx')).toBeNull();
    expect(files.find('nothere.vhdx')).toBeNull();
  });

  it('opens what it finds as a counted device, null for the rest', async () => {
    const stats = newIoStats();
    const fa = new FileListAccess([{ path: 'template.vhd', blob: await openAsBlob(SAMPLE) }], stats);
    const dev = await fa.open('D:\\Templates\\template.vhd');
    expect(dev?.size).toBe(readFileSync(SAMPLE).length);
    await dev?.read(0, 512);
    expect(stats.bytesRead).toBeGreaterThan(0);
    expect(await fa.open('other.vhd')).toBeNull();
  });
});

describe('openImage — a path (Node entry), a Blob, a BlockDevice', () => {
  it('all three give the same pre-flight as `preflight --json`', async () => {
    const cli = JSON.parse((await runCli(['preflight', '--json', SAMPLE])).stdout);
    const { image: _, ...expected } = cli;
    const fromPath = await openImage(SAMPLE);
    const fromBlob = await openImageCore(await openAsBlob(SAMPLE), { name: 'template.vhd' });
    const fromDevice = await openImageCore(new MemoryDevice(new Uint8Array(readFileSync(SAMPLE))));
    for (const image of [fromPath, fromBlob, fromDevice]) {
      expect(await preflight(image, { format: image.info.format })).toEqual(expected);
      await image.close();
    }
  });

  it('a path in the core entry needs a FileAccess (USAGE); a missing file is FILE_NOT_FOUND', async () => {
    expect(await codeOf(openImageCore(SAMPLE))).toBe('USAGE');
    expect(await codeOf(openImage(path.join(tmp.dir, 'absent.vhdx')))).toBe('FILE_NOT_FOUND');
  });

  it('a file named .vhdx holding no VHDX is refused, as the CLI refuses it', async () => {
    const f = path.join(tmp.dir, 'damaged.vhdx');
    writeFileSync(f, Buffer.alloc(65536));
    expect(await codeOf(openImage(f))).toBe('IMAGE_UNKNOWN');
    expect((await runCli(['preflight', '--json', f])).code).toBe(3);
  });
});

describe('inspect — preflight --json and bcd in one call', () => {
  const cases = ['template.vhd', 'gen2.vhdx', 'data-disk.vhdx', 'known-answers-1.BCD'];
  mkdirSync(path.join(tmp.dir, 'lib'), { recursive: true });
  const where = (name: string) => {
    const p = path.join(tmp.dir, 'lib', name);
    if (name === 'template.vhd') copyFileSync(SAMPLE, p);
    else if (name.endsWith('.BCD')) copyFileSync(STORE, p);
    else gunzipTo(path.join(FIXTURES, 'preflight', `${name}.gz`), p);
    return p;
  };

  for (const name of cases) {
    it(`${name}: the report and the listing (or its error) equal the CLI's`, async () => {
      const p = where(name);
      const stats = newIoStats();
      const viaBlob = await inspect(await openAsBlob(p), { name: p, stats });
      const viaPath = await inspectNode(p);
      const cli = JSON.parse((await runCli(['preflight', '--json', p])).stdout);
      const { image: _, ...expected } = cli;
      expect(viaBlob.report).toEqual(expected);
      expect(viaPath.report).toEqual(expected);
      const bcd = await runCli(['bcd', p]);
      if (bcd.code === 0) expect(viaBlob.listing?.text).toBe(bcd.stdout);
      else expect(`bootprobe: error: ${viaBlob.listingError?.message}\n`).toBe(bcd.stderr);
      expect(viaBlob.kind).toBe(name.endsWith('.BCD') ? 'store' : 'image');
      expect(stats.bytesRead).toBeGreaterThan(0);
      expect(stats.bytesRead).toBeLessThan(2 * 1024 * 1024);
    });
  }

  it('a BlockDevice given to inspect is read, not closed', async () => {
    let closed = false;
    const mem = new MemoryDevice(new Uint8Array(readFileSync(SAMPLE)));
    const dev = Object.assign(Object.create(mem), {
      close: async () => {
        closed = true;
      },
    });
    const r = await inspect(dev, { name: 'template.vhd' });
    expect(r.report.verdict).toBe('fail');
    expect(closed).toBe(false);
  });
});

describe('scan — the order and rows of `bootprobe scan`', () => {
  it('scanOrder over relative paths visits images as findImages walks the folder', async () => {
    const root = path.join(tmp.dir, 'scan');
    const names = [
      'a.vhd',
      'a/x.vhdx',
      'a.b/y.vhd',
      'B.vhdx',
      'a/z/deep.img',
      'notes.txt',
      'c.avhdx',
      'a-b.raw',
    ];
    for (const n of names) {
      mkdirSync(path.dirname(path.join(root, n)), { recursive: true });
      writeFileSync(path.join(root, n), '');
    }
    const walked = (await findImages(root)).map((p) => path.relative(root, p));
    expect(scanOrder(names)).toEqual(walked);
    expect(walked).toHaveLength(7);
  });

  it('rows and summary as the table prints them', () => {
    const ok = scanRow({
      image: 'x.vhdx',
      report: {
        verdict: 'pass',
        checks: [{ id: 'boot-code', status: 'warn', message: 'm', fix: 'f' }],
        bootVolume: { partition: 1, bcdPath: '\\Boot\\BCD' },
        windowsVolume: { partition: 2 },
        generalized: true,
      } as never,
    });
    expect(ok).toEqual({
      image: 'x.vhdx',
      verdict: 'PASS',
      boot: '1',
      windows: '2',
      generalized: 'yes',
      cause: '(warn) boot-code: m',
    });
    const bad = scanRow({ image: 'y.vhd', error: new BootprobeError('VHD_FOOTER', 'y.vhd: no footer') });
    expect(bad).toMatchObject({ verdict: 'ERROR', cause: 'y.vhd: no footer', boot: '-' });
    expect(scanSummary([ok, bad])).toBe('2 images: 1 pass, 0 fail, 1 unreadable');
  });
});

describe('generalizeStore — the bytes `repair --generalize` writes', () => {
  it('for a BCD file: equal to `repair STORE --generalize --output NEW`', async () => {
    const out = path.join(tmp.dir, 'generalized.BCD');
    const r = await runCli(['repair', STORE, '--generalize', '--output', out]);
    expect(r.code, r.stderr).toBe(0);
    const got = await generalizeStore(await openAsBlob(STORE), { name: STORE });
    expect(Buffer.from(got.plan.bytes).equals(readFileSync(out))).toBe(true);
    expect(got.after).toMatchObject({ verdict: 'pass', generalized: true });
    expect(got.plan.changes.length).toBeGreaterThan(0);
  });

  it('for an image: the store of its boot volume, named BCD, generalized', async () => {
    const got = await generalizeStore(await openAsBlob(SAMPLE), { name: 'template.vhd' });
    expect(got.where).toBe('\\Boot\\BCD on partition 1');
    expect(got.fileName).toBe('BCD');
    expect(got.after.generalized).toBe(true);
  });
});

describe('generalizeIntoChild — a differencing child holding the generalized store', () => {
  for (const [template, ext] of [
    ['template.vhd', 'vhd'],
    ['gen1-partition-devices.vhdx', 'vhdx'],
  ] as const) {
    it(`${template}: the child, placed beside the template, pre-flights as generalized with the CLI`, async () => {
      const dir = path.join(tmp.dir, `child-${ext}`);
      mkdirSync(dir, { recursive: true });
      const parent = path.join(dir, template);
      if (template === 'template.vhd') copyFileSync(SAMPLE, parent);
      else gunzipTo(path.join(FIXTURES, 'preflight', `${template}.gz`), parent);
      const before = readFileSync(parent);
      // From a Blob, as the page would: the absolute locator can only name the file.
      const got = await generalizeIntoChildCore(await openAsBlob(parent), { name: template });
      expect(got.fileName).toBe(template.replace(/\.(vhdx?)$/, `-generalized.${ext}`));
      expect(got.after).toMatchObject({ verdict: 'pass', generalized: true });
      expect(got.written.length).toBeGreaterThan(0);
      writeFileSync(path.join(dir, got.fileName), got.bytes);
      const cli = await runCli(['preflight', '--json', path.join(dir, got.fileName)]);
      expect(JSON.parse(cli.stdout)).toMatchObject({ verdict: 'pass', generalized: true });
      const partition = /on partition (\d+)$/.exec(got.where)?.[1] ?? '?';
      const store = await runCli([
        'cat',
        '-p',
        partition,
        path.join(dir, got.fileName),
        got.where.includes('EFI') ? '/EFI/Microsoft/Boot/BCD' : '/Boot/BCD',
      ]);
      expect(Buffer.from(store.stdoutBytes).equals(Buffer.from(got.plan.bytes))).toBe(true);
      expect(readFileSync(parent).equals(before)).toBe(true);
      expect(got.bytes.length).toBeLessThan(16 * 1024 * 1024);
    });
  }

  it("from a path (Node entry): the absolute locator names the template's full path", async () => {
    const parent = path.join(tmp.dir, 'child-vhd', 'template.vhd');
    const got = await generalizeIntoChild(parent, { childName: 'fixed.vhd' });
    const child = path.join(tmp.dir, 'child-vhd', 'fixed.vhd');
    writeFileSync(child, got.bytes);
    const info = JSON.parse((await runCli(['info', '--json', child])).stdout);
    const locators: { kind: string; value: string }[] =
      info.parent?.locators ?? info.image?.parent?.locators ?? [];
    expect(JSON.stringify(info)).toContain(JSON.stringify(parent).slice(1, -1));
    expect(locators.length === 0 || locators.some((l) => l.value === parent)).toBe(true);
  });

  it('a store file or a raw disk cannot have a child', async () => {
    expect(await codeOf(generalizeIntoChildCore(await openAsBlob(STORE), { name: 'x.BCD' }))).toBe('USAGE');
  });
});
