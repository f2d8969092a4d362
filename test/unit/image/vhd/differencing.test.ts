// Differencing VHDs (docs/vhd-vhdx.md §1.4 "Opening a differencing parent", §1.5 "Read of sector s"): chains 2 and
// 3 deep written by test/helpers/vhd-builder.ts, opened in memory through a fake FileAccess and from temp files
// through NodeFileAccess; which candidate paths are tried and in what order; wrong parents never used.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../../src/errors.js';
import type { DiskImage, OpenImageOptions } from '../../../../src/image/disk-image.js';
import { openImage } from '../../../../src/image/open-image.js';
import { openVhd } from '../../../../src/image/vhd/vhd-image.js';
import { FileDevice } from '../../../../src/io/file-device.js';
import {
  type BlockDevice,
  type FileAccess,
  isWindowsAbsolute,
  MemoryDevice,
  readInto,
} from '../../../../src/io/index.js';
import { NodeFileAccess } from '../../../../src/io/node-file-access.js';
import { tempDir } from '../../../helpers/env.js';
import {
  buildVhd,
  chainContent,
  firstDiff,
  idFromSeed,
  idString,
  type VhdLocatorSpec,
  type VhdWrite,
  write,
} from '../../../helpers/vhd-builder.js';

/** An in-memory folder tree with POSIX paths; Windows absolute paths map `C:\a\b` to `C:/a/b` as on Linux. */
class FakeFiles implements FileAccess {
  readonly opened: string[] = [];
  readonly closed: string[] = [];
  constructor(readonly files: Record<string, Uint8Array>) {}
  async open(p: string): Promise<BlockDevice | null> {
    this.opened.push(p);
    const b = this.files[p];
    if (!b) return null;
    const dev = new MemoryDevice(b);
    const close = dev.close.bind(dev);
    dev.close = async () => {
      this.closed.push(p);
      await close();
    };
    return dev;
  }
  resolveBeside(from: string, rel: string): string {
    if (isWindowsAbsolute(rel)) return rel.replace(/\\/g, '/');
    if (rel.startsWith('/')) return rel;
    const parts = rel.split(/[\\/]+/).filter((s) => s && s !== '.');
    return path.posix.join(path.posix.dirname(from), ...parts);
  }
  basename(p: string): string {
    return p.split(/[\\/]/).pop() ?? p;
  }
}

async function readAll(img: DiskImage): Promise<Uint8Array> {
  const out = new Uint8Array(img.size);
  const step = 100_000; // not sector-aligned: reads straddle sectors, bitmap runs and blocks
  const buf = new Uint8Array(step);
  for (let at = 0; at < img.size; at += step) {
    const n = Math.min(step, img.size - at);
    const got = await img.read(at, n);
    out.set(got, at);
    // The same range through readInto, into a reused buffer left dirty: every byte must be written.
    const into = buf.subarray(0, n).fill(0xa5);
    await readInto(img, at, into);
    expect(firstDiff(into, got)).toBe(-1);
  }
  return out;
}

async function failure(p: Promise<unknown>): Promise<BootprobeError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof BootprobeError) return e;
    throw e;
  }
  throw new Error('expected a BootprobeError');
}

const SIZE = 1 << 20;
const BS = 64 * 1024;
const w2 = (rel: string, abs: string): VhdLocatorSpec[] => [
  { code: 'W2ru', path: rel },
  { code: 'W2ku', path: abs },
];

// Base: dynamic with partial bitmaps. Level 1 overwrites parts of the base's data, leaves other sectors of the
// same blocks to the parent, and fills a block the base never allocated. Level 2 again, over a fixed base.
const L0: VhdWrite[] = [
  write(0, 8192, 10),
  write(BS - 1024, 4096, 11),
  write(5 * BS, BS, 12),
  write(SIZE - 512, 512, 13),
];
const L1: VhdWrite[] = [
  write(1024, 1024, 20),
  write(BS + 512, 512, 21),
  write(5 * BS + 4096, 1536, 22),
  write(9 * BS, 2048, 23),
];
const L2: VhdWrite[] = [write(0, 512, 30), write(5 * BS + 4608, 512, 31), write(SIZE - 4096, 4096, 32)];

function chain3(baseType: 'dynamic' | 'fixed' = 'dynamic') {
  const base = buildVhd({ type: baseType, size: SIZE, blockSize: BS, writes: L0, seed: 100 });
  const mid = buildVhd({
    type: 'differencing',
    size: SIZE,
    blockSize: BS,
    writes: L1,
    seed: 101,
    parent: {
      uniqueId: base.uniqueId,
      name: 'C:\\VMs\\base.vhd',
      locators: w2('.\\base.vhd', 'C:\\VMs\\base.vhd'),
    },
  });
  // A different block size one level up: each level maps its own blocks.
  const top = buildVhd({
    type: 'differencing',
    size: SIZE,
    blockSize: 2 * BS,
    writes: L2,
    seed: 102,
    parent: {
      uniqueId: mid.uniqueId,
      name: 'C:\\VMs\\mid.vhd',
      locators: w2('.\\mid.vhd', 'C:\\VMs\\mid.vhd'),
    },
  });
  return { base, mid, top };
}

describe('differencing chains read through their parents — vhd-vhdx.md §1.5 "Read of sector s"', () => {
  it('2 deep: set bits come from the child, clear bits and unallocated blocks from the parent', async () => {
    const { base, mid } = chain3();
    const files = new FakeFiles({ '/d/base.vhd': base.bytes });
    const img = await openVhd(new MemoryDevice(mid.bytes), { path: '/d/mid.vhd', files });
    expect(firstDiff(await readAll(img), chainContent(SIZE, [L0, L1]))).toBe(-1);
    expect(img.info.variant).toBe('differencing');
    expect(img.parent?.info.variant).toBe('dynamic');
  });

  it('3 deep over a dynamic and over a fixed base, block sizes differing per level', async () => {
    for (const baseType of ['dynamic', 'fixed'] as const) {
      const { base, mid, top } = chain3(baseType);
      const files = new FakeFiles({ '/d/base.vhd': base.bytes, '/d/mid.vhd': mid.bytes });
      const img = await openImage(new MemoryDevice(top.bytes), { path: '/d/top.vhd', files });
      expect(firstDiff(await readAll(img), chainContent(SIZE, [L0, L1, L2]))).toBe(-1);
      expect(img.parent?.parent?.info.variant).toBe(baseType);
      expect(img.info.parent?.info.parent?.path).toBe('/d/base.vhd');
      await img.close();
      expect(files.closed.sort()).toEqual(['/d/base.vhd', '/d/mid.vhd']);
    }
  });

  it('mapRange resolves the child’s clear-bit ranges through the parent’s own extents', async () => {
    const { base, mid } = chain3();
    const files = new FakeFiles({ '/d/base.vhd': base.bytes });
    const img = await openVhd(new MemoryDevice(mid.bytes), { path: '/d/mid.vhd', files });
    expect(await img.mapRange(0, 2 * BS)).toEqual([
      { offset: 0, length: 8192, kind: 'data' }, // base 0-8191, child 1024-2047 inside it
      { offset: 8192, length: BS - 1024 - 8192, kind: 'zero' },
      { offset: BS - 1024, length: 4096, kind: 'data' }, // base, across the block boundary
      { offset: BS + 3072, length: BS - 3072, kind: 'zero' },
    ]);
    // Block 9: only in the child (the base never allocated it).
    expect(await img.mapRange(9 * BS, BS)).toEqual([
      { offset: 9 * BS, length: 2048, kind: 'data' },
      { offset: 9 * BS + 2048, length: BS - 2048, kind: 'zero' },
    ]);
  });

  it('info.parent: path, expected id, every locator in order, the parent’s info', async () => {
    const { base, mid } = chain3();
    const files = new FakeFiles({ '/d/base.vhd': base.bytes });
    const img = await openVhd(new MemoryDevice(mid.bytes), { path: '/d/mid.vhd', files });
    expect(img.info.parent).toMatchObject({
      path: '/d/base.vhd',
      expectedId: idString(base.uniqueId),
      locators: [
        { kind: 'W2ru', value: '.\\base.vhd' },
        { kind: 'W2ku', value: 'C:\\VMs\\base.vhd' },
        { kind: 'parent name', value: 'C:\\VMs\\base.vhd' },
      ],
      info: { format: 'vhd', variant: 'dynamic', uniqueId: idString(base.uniqueId) },
    });
    expect(img.info.details).toMatchObject({ parentName: 'C:\\VMs\\base.vhd', diskType: 'differencing' });
    expect(files.opened).toEqual(['/d/base.vhd']);
  });

  it('a parent smaller than the child reads as zeros past its end, with a finding', async () => {
    const base = buildVhd({
      type: 'fixed',
      size: SIZE / 2,
      writes: [write(SIZE / 2 - 512, 512, 1)],
      seed: 5,
    });
    const child = buildVhd({
      type: 'differencing',
      size: SIZE,
      blockSize: BS,
      writes: [write(SIZE - 512, 512, 2)],
      parent: { uniqueId: base.uniqueId, name: 'base.vhd', locators: [] },
    });
    const img = await openVhd(new MemoryDevice(child.bytes), {
      path: '/d/c.vhd',
      files: new FakeFiles({ '/d/base.vhd': base.bytes }),
    });
    expect(img.warnings.map((w) => w.code)).toEqual(['VHD_PARENT_MISMATCH']);
    expect(
      firstDiff(
        await readAll(img),
        chainContent(SIZE, [[write(SIZE / 2 - 512, 512, 1)], [write(SIZE - 512, 512, 2)]]),
      ),
    ).toBe(-1);
    expect(await img.mapRange(SIZE / 2 - 512, 1024)).toEqual([
      { offset: SIZE / 2 - 512, length: 512, kind: 'data' },
      { offset: SIZE / 2, length: 512, kind: 'zero' },
    ]);
  });
});

describe('finding the parent — vhd-vhdx.md §1.4 "Opening a differencing parent"', () => {
  const base = buildVhd({ type: 'dynamic', size: SIZE, blockSize: BS, writes: L0, seed: 200 });
  const impostor = buildVhd({ type: 'dynamic', size: SIZE, blockSize: BS, writes: L1, seed: 201 });
  const child = (locators: VhdLocatorSpec[], name = 'C:\\VMs\\base.vhd') =>
    buildVhd({
      type: 'differencing',
      size: SIZE,
      blockSize: BS,
      writes: L2,
      seed: 202,
      parent: { uniqueId: base.uniqueId, name, locators, timestamp: 999 },
    }).bytes;
  const open = (bytes: Uint8Array, files: FakeFiles, extra: OpenImageOptions = {}) =>
    openVhd(new MemoryDevice(bytes), { path: '/vm/disks/child.vhd', files, ...extra });

  it('order: W2ru beside the child, W2ku, Wi2r, Wi2k, the parent name as given, its file name beside the child', async () => {
    const bytes = child(
      [
        { code: 'Wi2k', path: 'E:\\wi2k\\base.vhd' },
        { code: 'Wi2r', path: '.\\wi2r\\base.vhd' },
        { code: 'W2ku', path: 'C:\\w2ku\\base.vhd' },
        { code: 'W2ru', path: '.\\w2ru\\base.vhd' },
      ],
      'D:\\name\\base.vhd',
    );
    const files = new FakeFiles({});
    const e = await failure(open(bytes, files));
    expect(files.opened).toEqual([
      '/vm/disks/w2ru/base.vhd',
      'C:/w2ku/base.vhd',
      '/vm/disks/wi2r/base.vhd',
      'E:/wi2k/base.vhd',
      'D:/name/base.vhd',
      '/vm/disks/base.vhd',
    ]);
    expect(e.code).toBe('VHD_PARENT_MISSING');
    for (const p of files.opened) expect(e.message).toContain(p);
    expect(e.message).toMatch(/W2ru: not found/);
    expect(e.hint).toMatch(/--parent/);
    expect((e.data as { tried: string[] }).tried).toHaveLength(6);
  });

  it('the first candidate that exists with the right id is used: W2ru before W2ku', async () => {
    const bytes = child(w2('..\\base.vhd', 'C:\\VMs\\base.vhd'));
    const files = new FakeFiles({ '/vm/base.vhd': base.bytes, 'C:/VMs/base.vhd': base.bytes });
    const img = await open(bytes, files);
    expect(img.info.parent?.path).toBe('/vm/base.vhd');
    expect(firstDiff(await readAll(img), chainContent(SIZE, [L0, L2]))).toBe(-1);
  });

  it('W2ku when W2ru does not exist', async () => {
    const files = new FakeFiles({ 'C:/VMs/base.vhd': base.bytes });
    const img = await open(child(w2('.\\base.vhd', 'C:\\VMs\\base.vhd')), files);
    expect(img.info.parent?.path).toBe('C:/VMs/base.vhd');
    expect(files.opened).toEqual(['/vm/disks/base.vhd', 'C:/VMs/base.vhd']);
  });

  it('a candidate with another unique id is closed and never used; the next one is', async () => {
    const files = new FakeFiles({ '/vm/disks/base.vhd': impostor.bytes, 'C:/VMs/base.vhd': base.bytes });
    const img = await open(child(w2('.\\base.vhd', 'C:\\VMs\\base.vhd')), files);
    expect(img.info.parent?.path).toBe('C:/VMs/base.vhd');
    expect(files.closed).toEqual(['/vm/disks/base.vhd']);
    expect(firstDiff(await readAll(img), chainContent(SIZE, [L0, L2]))).toBe(-1);
  });

  it('only wrong-id candidates: VHD_PARENT_MISSING naming each with the id it has', async () => {
    const files = new FakeFiles({ '/vm/disks/base.vhd': impostor.bytes });
    const e = await failure(open(child(w2('.\\base.vhd', 'C:\\VMs\\base.vhd')), files));
    expect(e.code).toBe('VHD_PARENT_MISSING');
    expect(e.message).toContain(
      `unique id ${idString(impostor.uniqueId)}, expected ${idString(base.uniqueId)}`,
    );
    expect(files.closed).toEqual(['/vm/disks/base.vhd']);
  });

  it('qemu-style child without locators: the parent name beside the child', async () => {
    const files = new FakeFiles({ '/vm/disks/base.vhd': base.bytes });
    const img = await open(child([], 'base.vhd'), files);
    expect(img.info.parent?.path).toBe('/vm/disks/base.vhd');
    expect(img.info.parent?.locators).toEqual([{ kind: 'parent name', value: 'base.vhd' }]);
  });

  it('Wi2r (8-bit) and Wi2k (UTF-16LE) locators find the parent', async () => {
    const files = new FakeFiles({ '/vm/p/base.vhd': base.bytes });
    const a = await open(child([{ code: 'Wi2r', path: '..\\p\\base.vhd' }], ''), files);
    expect(a.info.parent?.path).toBe('/vm/p/base.vhd');
    const b = await open(child([{ code: 'Wi2k', path: '/vm/p/base.vhd', utf16: true }], ''), files);
    expect(b.info.parent?.locators).toEqual([{ kind: 'Wi2k', value: '/vm/p/base.vhd' }]);
  });

  it('the parent timestamp is not compared (0 or stale in real files, §1.4 offset 56)', async () => {
    const files = new FakeFiles({ '/vm/disks/base.vhd': base.bytes });
    const img = await open(child(w2('.\\base.vhd', 'C:\\x.vhd')), files);
    expect(img.warnings).toEqual([]);
  });

  it('--parent (options.parentPaths) replaces the locators; a wrong one is VHD_PARENT_MISMATCH', async () => {
    const files = new FakeFiles({ '/elsewhere/b.vhd': base.bytes, '/elsewhere/i.vhd': impostor.bytes });
    const bytes = child(w2('.\\base.vhd', 'C:\\VMs\\base.vhd'));
    const img = await open(bytes, files, { parentPaths: ['/elsewhere/b.vhd'] });
    expect(img.info.parent?.path).toBe('/elsewhere/b.vhd');
    expect(files.opened).toEqual(['/elsewhere/b.vhd']);
    const e = await failure(open(bytes, files, { parentPaths: ['/elsewhere/i.vhd'] }));
    expect(e.code).toBe('VHD_PARENT_MISMATCH');
    expect(e.message).toContain('--parent /elsewhere/i.vhd is not its parent');
  });

  it('--parent with two paths names the parent and the grandparent', async () => {
    const { base: b0, mid, top } = chain3();
    const files = new FakeFiles({ '/x/1.vhd': mid.bytes, '/y/2.vhd': b0.bytes });
    const img = await openVhd(new MemoryDevice(top.bytes), {
      path: '/t/top.vhd',
      files,
      parentPaths: ['/x/1.vhd', '/y/2.vhd'],
    });
    expect(img.info.parent?.info.parent?.path).toBe('/y/2.vhd');
    expect(firstDiff(await readAll(img), chainContent(SIZE, [L0, L1, L2]))).toBe(-1);
  });

  it('without a FileAccess the parent cannot be opened: VHD_PARENT_MISSING', async () => {
    const e = await failure(
      openVhd(new MemoryDevice(child(w2('.\\base.vhd', 'C:\\b.vhd'))), { path: 'c.vhd' }),
    );
    expect(e.code).toBe('VHD_PARENT_MISSING');
  });

  it('two children naming each other: PARENT_CHAIN, not a hang', async () => {
    const idA = idFromSeed(300);
    const idB = idFromSeed(301);
    const mk = (own: Uint8Array, other: Uint8Array, name: string) =>
      buildVhd({
        type: 'differencing',
        size: SIZE,
        blockSize: BS,
        uniqueId: own,
        parent: { uniqueId: other, name, locators: [{ code: 'W2ru', path: `.\\${name}` }] },
      }).bytes;
    const files = new FakeFiles({ '/l/a.vhd': mk(idA, idB, 'b.vhd'), '/l/b.vhd': mk(idB, idA, 'a.vhd') });
    const e = await failure(openVhd(new MemoryDevice(files.files['/l/a.vhd']!), { path: '/l/a.vhd', files }));
    expect(e.code).toBe('PARENT_CHAIN');
  });

  it('a damaged locator is a finding and the other candidates are still tried; with strict it is an error', async () => {
    const bytes = child(w2('.\\base.vhd', 'C:\\VMs\\base.vhd'));
    const dv = new DataView(bytes.buffer);
    dv.setBigUint64(512 + 576 + 16, 0xffffff00n, false); // W2ru data offset far past EOF
    const hdr = bytes.subarray(512, 1536);
    let sum = 0;
    for (let i = 0; i < 1024; i++) if (i < 36 || i >= 40) sum = (sum + hdr[i]!) >>> 0;
    dv.setUint32(512 + 36, ~sum >>> 0, false);
    const files = new FakeFiles({ 'C:/VMs/base.vhd': base.bytes });
    const img = await open(bytes, files);
    expect(img.info.parent?.path).toBe('C:/VMs/base.vhd');
    expect(img.warnings.map((w) => w.code)).toEqual(['VHD_DYNAMIC_HEADER']);
    expect(img.warnings[0]!.offset).toBe(512 + 576);
    expect((await failure(open(bytes, files, { strict: true }))).code).toBe('VHD_DYNAMIC_HEADER');
  });
});

describe('differencing chains on disk through NodeFileAccess — vhd-vhdx.md §1.4 step 2', () => {
  it('W2ru ".\\parents\\mid.vhd" resolves beside the child; the chain reads back 3 deep', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const { base, mid, top } = chain3();
      // Rebuild the upper levels so their relative locators point into a subfolder; W2ku names a path that
      // does not exist here (a Windows drive), as in a disk copied off a Windows host.
      const mid2 = buildVhd({
        type: 'differencing',
        size: SIZE,
        blockSize: BS,
        writes: L1,
        uniqueId: mid.uniqueId,
        parent: {
          uniqueId: base.uniqueId,
          name: 'C:\\VMs\\base.vhd',
          locators: w2('.\\base.vhd', 'C:\\VMs\\base.vhd'),
        },
      });
      const top2 = buildVhd({
        type: 'differencing',
        size: SIZE,
        blockSize: 2 * BS,
        writes: L2,
        uniqueId: top.uniqueId,
        parent: {
          uniqueId: mid.uniqueId,
          name: 'C:\\VMs\\parents\\mid.vhd',
          locators: w2('.\\parents\\mid.vhd', 'C:\\VMs\\parents\\mid.vhd'),
        },
      });
      mkdirSync(path.join(dir, 'parents'));
      writeFileSync(path.join(dir, 'parents', 'base.vhd'), base.bytes);
      writeFileSync(path.join(dir, 'parents', 'mid.vhd'), mid2.bytes);
      const topPath = path.join(dir, 'top.vhd');
      writeFileSync(topPath, top2.bytes);
      const img = await openImage(await FileDevice.open(topPath), {
        path: topPath,
        files: new NodeFileAccess(),
      });
      try {
        expect(img.info.parent?.path).toBe(path.join(dir, 'parents', 'mid.vhd'));
        expect(img.info.parent?.info.parent?.path).toBe(path.join(dir, 'parents', 'base.vhd'));
        expect(firstDiff(await readAll(img), chainContent(SIZE, [L0, L1, L2]))).toBe(-1);
      } finally {
        await img.close();
      }
    } finally {
      cleanup();
    }
  });

  it('a missing parent on disk: VHD_PARENT_MISSING naming the W2ru path beside the child and the W2ku path', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const { mid } = chain3();
      const p = path.join(dir, 'mid.vhd');
      writeFileSync(p, mid.bytes);
      const e = await failure(openImage(await FileDevice.open(p), { path: p, files: new NodeFileAccess() }));
      expect(e.code).toBe('VHD_PARENT_MISSING');
      expect(e.message).toContain(`${path.join(dir, 'base.vhd')} (W2ru: not found)`);
      expect(e.message).toContain('C:/VMs/base.vhd (W2ku: not found)');
    } finally {
      cleanup();
    }
  });
});
