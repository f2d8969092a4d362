// Differencing VHDX chains — vhd-vhdx.md §2.4 "Parent locator" (candidates, DataWriteGuid check), §2.5
// (NOT_PRESENT and bitmap-0 sectors read from the parent). Chains 2 and 3 deep are written by test/helpers/vhdx-builder.
import { describe, expect, it } from 'vitest';
import { openVhdx } from '../../../../src/image/vhdx/vhdx-image.js';
import { MemoryDevice } from '../../../../src/io/memory-device.js';
import {
  buildVhdx,
  expectedContent,
  firstDiff,
  MiB,
  memoryFiles,
  pattern,
  randomGuid,
  readAll,
  typedError,
} from '../../../helpers/vhdx-builder.js';

const SIZE = 12 * MiB;
// Base: blocks 0-5 written. Child 1: single sectors and a run across a block boundary (PARTIALLY_PRESENT), plus a
// whole block (FULLY_PRESENT). Child 2: overwrites parts of both, and a sector in a block nobody else wrote.
const L0 = [pattern(0, 6 * MiB, 1)];
const L1 = [pattern(512, 512, 2), pattern(2 * MiB - 4096, 8192, 3), pattern(4 * MiB, MiB, 4)];
const L2 = [pattern(1024, 1024, 5), pattern(4 * MiB + 4096, 512, 6), pattern(10 * MiB + 512, 512, 7)];

function chain(opts: { c1Block?: number } = {}) {
  const base = buildVhdx({ size: SIZE, writes: L0, blockSize: 2 * MiB });
  const c1 = buildVhdx({
    size: SIZE,
    writes: L1,
    blockSize: opts.c1Block ?? 2 * MiB,
    parent: {
      linkage: base.dataWriteGuid,
      locators: {
        relative_path: '..\\base\\base.vhdx',
        absolute_win32_path: '\\\\?\\C:\\VMs\\base\\base.vhdx',
      },
    },
  });
  const c2 = buildVhdx({
    size: SIZE,
    writes: L2,
    parent: { linkage: c1.dataWriteGuid, locators: { absolute_win32_path: '\\\\?\\D:\\Hyper-V\\c1.avhdx' } },
  });
  return { base, c1, c2 };
}

describe('differencing VHDX — vhd-vhdx.md §2.4, §2.5', () => {
  it('2 deep: the child over its parent, found by relative_path beside the child', async () => {
    const { base, c1 } = chain();
    const files = memoryFiles({ '/vm/base/base.vhdx': base.bytes });
    const img = await openVhdx(new MemoryDevice(c1.bytes), { path: '/vm/c1/c1.avhdx', files });
    expect(img.info).toMatchObject({ format: 'vhdx', variant: 'differencing', virtualSize: SIZE });
    expect(img.info.parent).toMatchObject({
      path: '/vm/base/base.vhdx',
      expectedId: base.dataWriteGuid,
      locators: [
        { kind: 'parent_linkage', value: `{${base.dataWriteGuid}}` },
        { kind: 'relative_path', value: '..\\base\\base.vhdx' },
        { kind: 'absolute_win32_path', value: '\\\\?\\C:\\VMs\\base\\base.vhdx' },
      ],
      info: { variant: 'dynamic' },
    });
    expect(firstDiff(await readAll(img), expectedContent(SIZE, [L0, L1]))).toBe(-1);
    await img.close();
  });

  it('3 deep: every level shows through where the ones above have nothing (block sizes may differ per level)', async () => {
    const { base, c1, c2 } = chain({ c1Block: MiB });
    // c2 names c1 only by an absolute D:\ path: found by its file name beside c2; c1 finds base by relative_path.
    const files = memoryFiles({ '/vm/base/base.vhdx': base.bytes, '/vm/c1/c1.avhdx': c1.bytes });
    const img = await openVhdx(new MemoryDevice(c2.bytes), { path: '/vm/c1/c2.avhdx', files });
    expect(img.parent?.parent?.info.variant).toBe('dynamic');
    expect(img.info.parent?.path).toBe('/vm/c1/c1.avhdx');
    const want = expectedContent(SIZE, [L0, L1, L2]);
    expect(firstDiff(await readAll(img), want)).toBe(-1);
    for (const [o, n] of [
      [0, 4096],
      [2 * MiB - 5000, 10000],
      [4 * MiB + 4000, 700],
      [10 * MiB, 2048],
    ] as const)
      expect(firstDiff(await img.read(o, n), want.subarray(o, o + n))).toBe(-1);
    await img.close();
  });

  it('mapRange resolves NOT_PRESENT and bitmap-0 sectors through the parent’s own extents', async () => {
    const { base, c1, c2 } = chain();
    const files = memoryFiles({ '/vm/base/base.vhdx': base.bytes, '/vm/c1/c1.avhdx': c1.bytes });
    const img = await openVhdx(new MemoryDevice(c2.bytes), { path: '/vm/c1/c2.avhdx', files });
    expect(await img.mapRange(0, SIZE)).toEqual([
      { offset: 0, length: 6 * MiB, kind: 'data' },
      { offset: 6 * MiB, length: 4 * MiB + 512, kind: 'zero' },
      { offset: 10 * MiB + 512, length: 512, kind: 'data' },
      { offset: 10 * MiB + 1024, length: 2 * MiB - 1024, kind: 'zero' },
    ]);
    await img.close();
  });

  it('a missing parent is VHDX_PARENT_MISSING naming every path tried, with the locators in its data', async () => {
    const { c1 } = chain();
    const files = memoryFiles({});
    const e = await typedError(
      openVhdx(new MemoryDevice(c1.bytes), { path: '/vm/c1/c1.avhdx', files }),
      'VHDX_PARENT_MISSING',
    );
    expect(e.kind).toBe('missing');
    for (const p of ['/vm/base/base.vhdx', 'C:\\VMs\\base\\base.vhdx', '/vm/c1/base.vhdx'])
      expect(e.message).toContain(p);
    expect(files.asked).toEqual(['/vm/base/base.vhdx', 'C:\\VMs\\base\\base.vhdx', '/vm/c1/base.vhdx']);
    expect(e.data?.locators).toHaveLength(3);
    expect(e.hint).toMatch(/--parent/);
  });

  it('a candidate with another DataWriteGuid is never used; the next candidate with the right one is', async () => {
    const { base, c1 } = chain();
    const impostor = buildVhdx({ size: SIZE, writes: [pattern(0, MiB, 99)] });
    const files = memoryFiles({ '/vm/base/base.vhdx': impostor.bytes, '/vm/c1/base.vhdx': base.bytes });
    const img = await openVhdx(new MemoryDevice(c1.bytes), { path: '/vm/c1/c1.avhdx', files });
    expect(img.info.parent?.path).toBe('/vm/c1/base.vhdx');
    expect(firstDiff(await readAll(img), expectedContent(SIZE, [L0, L1]))).toBe(-1);
    const only = memoryFiles({ '/vm/base/base.vhdx': impostor.bytes });
    const e = await typedError(
      openVhdx(new MemoryDevice(c1.bytes), { path: '/vm/c1/c1.avhdx', files: only }),
      'VHDX_PARENT_MISSING',
    );
    expect(e.message).toMatch(new RegExp(`DataWriteGuid \\{${impostor.dataWriteGuid}\\}`));
  });

  it('parent_linkage compares as a GUID: the spec example’s upper-case form matches too', async () => {
    const base = buildVhdx({ size: SIZE, writes: L0 });
    const c = buildVhdx({
      size: SIZE,
      writes: L1,
      parent: { linkage: base.dataWriteGuid, upperCase: true, locators: { relative_path: 'b.vhdx' } },
    });
    const img = await openVhdx(new MemoryDevice(c.bytes), {
      path: '/x/c.avhdx',
      files: memoryFiles({ '/x/b.vhdx': base.bytes }),
    });
    expect(img.info.parent?.locators[0]?.value).toBe(`{${base.dataWriteGuid.toUpperCase()}}`);
    expect(firstDiff(await readAll(img), expectedContent(SIZE, [L0, L1]))).toBe(-1);
  });

  it('parent_linkage2 is accepted as well (a merge in progress)', async () => {
    const base = buildVhdx({ size: SIZE, writes: L0 });
    const c = buildVhdx({
      size: SIZE,
      writes: L1,
      parent: { linkage: randomGuid(), linkage2: base.dataWriteGuid, locators: { relative_path: 'b.vhdx' } },
    });
    const img = await openVhdx(new MemoryDevice(c.bytes), {
      path: '/x/c.avhdx',
      files: memoryFiles({ '/x/b.vhdx': base.bytes }),
    });
    expect(firstDiff(await readAll(img), expectedContent(SIZE, [L0, L1]))).toBe(-1);
  });

  it('--parent overrides the locators and is verified too', async () => {
    const { base, c1 } = chain();
    const files = memoryFiles({
      '/elsewhere/renamed.vhdx': base.bytes,
      '/elsewhere/other.vhdx': buildVhdx({ size: SIZE }).bytes,
    });
    const img = await openVhdx(new MemoryDevice(c1.bytes), {
      path: '/vm/c1/c1.avhdx',
      files,
      parentPaths: ['/elsewhere/renamed.vhdx'],
    });
    expect(img.info.parent?.path).toBe('/elsewhere/renamed.vhdx');
    await typedError(
      openVhdx(new MemoryDevice(c1.bytes), {
        path: '/vm/c1/c1.avhdx',
        files,
        parentPaths: ['/elsewhere/other.vhdx'],
      }),
      'VHDX_PARENT_MISMATCH',
    );
  });

  it('a parent with another logical sector size is VHDX_PARENT_MISMATCH', async () => {
    const base = buildVhdx({ size: SIZE, logicalSectorSize: 4096 });
    const c = buildVhdx({
      size: SIZE,
      parent: { linkage: base.dataWriteGuid, locators: { relative_path: 'b.vhdx' } },
    });
    await typedError(
      openVhdx(new MemoryDevice(c.bytes), {
        path: '/x/c.avhdx',
        files: memoryFiles({ '/x/b.vhdx': base.bytes }),
      }),
      'VHDX_PARENT_MISMATCH',
    );
  });

  it('a child naming itself as its parent is PARENT_CHAIN, not a loop', async () => {
    const dw = randomGuid();
    const c = buildVhdx({
      size: SIZE,
      dataWriteGuid: dw,
      parent: { linkage: dw, locators: { relative_path: 'c.avhdx' } },
    });
    await typedError(
      openVhdx(new MemoryDevice(c.bytes), {
        path: '/x/c.avhdx',
        files: memoryFiles({ '/x/c.avhdx': c.bytes }),
      }),
      'PARENT_CHAIN',
    );
  });

  it('without a FileAccess a differencing disk cannot be read: VHDX_PARENT_MISSING', async () => {
    await typedError(
      openVhdx(new MemoryDevice(chain().c1.bytes), { path: 'c1.avhdx' }),
      'VHDX_PARENT_MISSING',
    );
  });
});
