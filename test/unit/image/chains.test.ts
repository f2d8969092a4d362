import { copyFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../src/errors.js';
import type { DiskImage } from '../../../src/image/disk-image.js';
import { openImage } from '../../../src/image/open-image.js';
import { FileDevice } from '../../../src/io/file-device.js';
import { NodeFileAccess } from '../../../src/io/node-file-access.js';
import { runCli } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/env.js';
import { buildVhd, buildVhdx, expectedContent, pattern, type Write } from '../../helpers/image-builder.js';
import { readAll, sha256 } from './helpers.js';

const SIZE = 8 * 1024 * 1024;
const files = new NodeFileAccess();

async function open(p: string, parentPaths?: string[]): Promise<DiskImage> {
  const dev = await FileDevice.open(p);
  try {
    return await openImage(dev, { path: p, files, parentPaths });
  } catch (e) {
    await dev.close(); // the opener owns the handle until the image does
    throw e;
  }
}

// Three levels of writes: the base disk, then two children, each overwriting part of what is below and adding
// sectors of its own, across block boundaries.
const base: Write[] = [
  pattern(0, 65536, 1),
  pattern(2 * 1024 * 1024 - 4096, 8192, 2),
  pattern(7 * 1024 * 1024, 4096, 3),
];
const child1: Write[] = [
  pattern(512, 1024, 4),
  pattern(2 * 1024 * 1024 - 512, 1024, 5),
  pattern(5 * 1024 * 1024, 512, 6),
];
const child2: Write[] = [
  pattern(0, 512, 7),
  pattern(5 * 1024 * 1024 + 512, 512, 8),
  pattern(7 * 1024 * 1024, 1024, 9),
];

async function expectTypedError(p: Promise<unknown>, code: string): Promise<BootprobeError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(BootprobeError);
    expect((e as BootprobeError).code).toBe(code);
    return e as BootprobeError;
  }
  return expect.fail(`expected ${code}`);
}

describe('differencing VHD chains — vhd-vhdx.md §1.4 "Opening a differencing parent", §1.5 bitmaps', () => {
  const t = tempDir();
  const dir = t.dir;
  const p0 = path.join(dir, 'base.vhd');
  const p1 = path.join(dir, 'child1.vhd');
  const p2 = path.join(dir, 'child2.vhd');
  beforeAll(() => {
    const b = buildVhd({ size: SIZE, writes: base });
    writeFileSync(p0, b.bytes);
    // child1 finds its parent through the relative W2ru locator; W2ku names a Windows path that does not exist.
    const c1 = buildVhd({
      size: SIZE,
      writes: child1,
      parent: {
        uniqueId: b.uniqueId,
        name: 'C:\\VMs\\base.vhd',
        locators: [
          { code: 'W2ru', path: '.\\base.vhd' },
          { code: 'W2ku', path: 'C:\\VMs\\base.vhd' },
        ],
      },
    });
    writeFileSync(p1, c1.bytes);
    // child2 carries only the parent name, as qemu-made children do: found by its file name beside the child.
    const c2 = buildVhd({
      size: SIZE,
      writes: child2,
      parent: { uniqueId: c1.uniqueId, name: 'child1.vhd', locators: [] },
    });
    writeFileSync(p2, c2.bytes);
  });
  afterAll(() => t.cleanup());

  it('a 2-deep chain reads the child over its parent', async () => {
    const img = await open(p1);
    expect(img.info).toMatchObject({ format: 'vhd', variant: 'differencing', virtualSize: SIZE });
    expect(img.info.parent?.path).toBe(p0);
    expect(img.info.parent?.locators.map((l) => l.kind)).toEqual(['W2ru', 'W2ku', 'parent name']);
    expect(sha256(await readAll(img))).toBe(sha256(expectedContent(SIZE, [base, child1])));
    await img.close();
  });

  it('a 3-deep chain reads through every level', async () => {
    const img = await open(p2);
    expect(img.parent?.parent?.info.variant).toBe('dynamic');
    expect(sha256(await readAll(img))).toBe(sha256(expectedContent(SIZE, [base, child1, child2])));
    await img.close();
  });

  it('maps a sector present in no level as zero and the rest as data', async () => {
    const img = await open(p2);
    const ext = await img.mapRange(0, SIZE);
    expect(ext.find((e) => e.offset === 0)?.kind).toBe('data');
    const at = 4.5 * 1024 * 1024; // block 2: children hold sectors near 5 MiB, the base nothing
    const at3m = ext.find((e) => e.offset <= at && e.offset + e.length > at);
    expect(at3m?.kind).toBe('zero');
    await img.close();
  });

  it('convert writes the chain as the raw disk it reads as', async () => {
    const out = path.join(dir, 'chain.raw');
    const r = await runCli(['convert', p2, out]);
    expect(r.code).toBe(0);
    const { readFileSync } = await import('node:fs');
    expect(sha256(readFileSync(out))).toBe(sha256(expectedContent(SIZE, [base, child1, child2])));
  });

  it('a missing parent is VHD_PARENT_MISSING naming every path tried', async () => {
    const sub = path.join(dir, 'moved');
    mkdirSync(sub, { recursive: true });
    const lone = path.join(sub, 'child1.vhd');
    copyFileSync(p1, lone);
    const e = await expectTypedError(open(lone), 'VHD_PARENT_MISSING');
    expect(e.kind).toBe('missing');
    expect(e.message).toContain(path.join(sub, 'base.vhd'));
    expect(e.message).toContain('C:/VMs/base.vhd');
    const cli = await runCli(['info', lone]);
    expect(cli.code).toBe(3);
    expect(cli.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a parent with another unique id is never used', async () => {
    const sub = path.join(dir, 'impostor');
    mkdirSync(sub, { recursive: true });
    copyFileSync(p1, path.join(sub, 'child1.vhd'));
    writeFileSync(path.join(sub, 'base.vhd'), buildVhd({ size: SIZE, writes: base }).bytes);
    const e = await expectTypedError(open(path.join(sub, 'child1.vhd')), 'VHD_PARENT_MISSING');
    expect(e.message).toMatch(/unique id .* expected/);
  });

  it('--parent overrides the locators and is still checked', async () => {
    const sub = path.join(dir, 'override');
    mkdirSync(sub, { recursive: true });
    copyFileSync(p1, path.join(sub, 'child1.vhd'));
    copyFileSync(p0, path.join(sub, 'renamed-base.vhd'));
    const img = await open(path.join(sub, 'child1.vhd'), [path.join(sub, 'renamed-base.vhd')]);
    expect(sha256(await readAll(img))).toBe(sha256(expectedContent(SIZE, [base, child1])));
    await img.close();
    await expectTypedError(open(path.join(sub, 'child1.vhd'), [p2]), 'VHD_PARENT_MISMATCH');
  });
});

describe('differencing VHDX chains — vhd-vhdx.md §2.4 "Parent locator", §2.5 PARTIALLY_PRESENT', () => {
  const t = tempDir();
  const dir = t.dir;
  const p0 = path.join(dir, 'base.vhdx');
  const p1 = path.join(dir, 'child1.avhdx');
  const p2 = path.join(dir, 'child2.avhdx');
  beforeAll(() => {
    const b = buildVhdx({ size: SIZE, writes: base });
    writeFileSync(p0, b.bytes);
    const c1 = buildVhdx({
      size: SIZE,
      writes: child1,
      parent: {
        dataWriteGuid: b.dataWriteGuid,
        locators: { relative_path: '.\\base.vhdx', absolute_win32_path: '\\\\?\\C:\\VMs\\base.vhdx' },
      },
    });
    writeFileSync(p1, c1.bytes);
    // child2 names only an absolute path that does not exist here: found by that path's file name beside it.
    const c2 = buildVhdx({
      size: SIZE,
      writes: [...child2, pattern(6 * 1024 * 1024, 1024 * 1024, 10)],
      parent: {
        dataWriteGuid: c1.dataWriteGuid,
        locators: { absolute_win32_path: '\\\\?\\D:\\Hyper-V\\child1.avhdx' },
      },
    });
    writeFileSync(p2, c2.bytes);
  });
  afterAll(() => t.cleanup());

  it('a 2-deep chain reads the child over its parent', async () => {
    const img = await open(p1);
    expect(img.info).toMatchObject({ format: 'vhdx', variant: 'differencing', virtualSize: SIZE });
    expect(img.info.parent?.path).toBe(p0);
    expect(sha256(await readAll(img))).toBe(sha256(expectedContent(SIZE, [base, child1])));
    await img.close();
  });

  it('a 3-deep chain reads through every level, FULLY_PRESENT and PARTIALLY_PRESENT blocks alike', async () => {
    const img = await open(p2);
    expect(img.parent?.parent?.info.variant).toBe('dynamic');
    const want = expectedContent(SIZE, [
      base,
      child1,
      [...child2, pattern(6 * 1024 * 1024, 1024 * 1024, 10)],
    ]);
    expect(sha256(await readAll(img))).toBe(sha256(want));
    await img.close();
  });

  it('a missing parent is VHDX_PARENT_MISSING naming every path tried', async () => {
    const sub = path.join(dir, 'moved');
    mkdirSync(sub, { recursive: true });
    renameSync(p0, path.join(dir, 'elsewhere.vhdx'));
    try {
      const e = await expectTypedError(open(p1), 'VHDX_PARENT_MISSING');
      expect(e.message).toContain(path.join(dir, 'base.vhdx'));
      expect(e.message).toContain('C:/VMs/base.vhdx');
      const ok = await open(p1, [path.join(dir, 'elsewhere.vhdx')]);
      await ok.close();
    } finally {
      renameSync(path.join(dir, 'elsewhere.vhdx'), p0);
    }
  });

  it('a parent with another DataWriteGuid is never used', async () => {
    const sub = path.join(dir, 'impostor');
    mkdirSync(sub, { recursive: true });
    copyFileSync(p1, path.join(sub, 'child1.avhdx'));
    writeFileSync(path.join(sub, 'base.vhdx'), buildVhdx({ size: SIZE, writes: base }).bytes);
    const e = await expectTypedError(open(path.join(sub, 'child1.avhdx')), 'VHDX_PARENT_MISSING');
    expect(e.message).toMatch(/DataWriteGuid/);
  });
});
