// `create-child` and `convert` to VHD/VHDX — vhd-vhdx.md §1.4/§1.5 (VHD layout, W2ru/W2ku), §2.1-§2.5 (VHDX
// layout, parent locator): the files are re-read by our reader (strict), children find their parents through the
// locators written, writes into a child leave the parent's bytes alone, and a chain converts flattened.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createChild } from '../../../src/image/create-image.js';
import { openImage } from '../../../src/image/open-image.js';
import { openImageForWrite } from '../../../src/image/open-writable.js';
import { decodeVhdDynamicHeader } from '../../../src/image/vhd/dynamic-header.js';
import { decodeVhdFooter } from '../../../src/image/vhd/footer.js';
import { ByteView } from '../../../src/io/byte-view.js';
import { FileDevice } from '../../../src/io/file-device.js';
import { MemoryDevice } from '../../../src/io/memory-device.js';
import { NodeFileAccess } from '../../../src/io/node-file-access.js';
import { StagingDevice } from '../../../src/io/staging-device.js';
import { runCli } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/env.js';
import {
  fill,
  firstDiff,
  MiB,
  memoryFiles,
  openRead,
  randomWrites,
  readAll,
  vhdFixture,
  vhdxFixture,
} from './helpers.js';

const t = tempDir('bootprobe-image-write-');
afterAll(() => t.cleanup());
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const put = (name: string, bytes: Uint8Array) => {
  const p = path.join(t.dir, name);
  writeFileSync(p, bytes);
  return p;
};

async function openPath(p: string, options = {}) {
  return openImage(await FileDevice.open(p), { path: p, files: new NodeFileAccess(), ...options });
}

describe('create-child (CLI) — vhd-vhdx.md §1.4, §2.4', () => {
  it('VHD child: W2ru relative and W2ku absolute locators, the parent name, the parent geometry; reads as the parent', async () => {
    const parent = put('base.vhd', vhdFixture('vpc-dynamic.vhd'));
    const child = path.join(t.dir, 'kids', 'child.vhd');
    await import('node:fs').then((fs) => fs.mkdirSync(path.dirname(child), { recursive: true }));
    const r = await runCli(['create-child', parent, child, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.locators).toEqual([
      { kind: 'W2ru', value: '..\\base.vhd' },
      { kind: 'W2ku', value: parent },
      { kind: 'parent name', value: parent },
    ]);
    const bytes = new Uint8Array(readFileSync(child));
    const footer = decodeVhdFooter(new ByteView(bytes.subarray(bytes.length - 512), bytes.length - 512));
    const pf = decodeVhdFooter(new ByteView(vhdFixture('vpc-dynamic.vhd').subarray(-512)));
    expect(footer.computedChecksum).toBe(footer.checksum);
    expect([
      footer.diskType,
      footer.currentSize,
      footer.cylinders,
      footer.heads,
      footer.sectorsPerTrack,
    ]).toEqual([4, pf.currentSize, pf.cylinders, pf.heads, pf.sectorsPerTrack]);
    expect(Buffer.compare(bytes.subarray(0, 512), bytes.subarray(bytes.length - 512))).toBe(0);
    const h = decodeVhdDynamicHeader(new ByteView(bytes.subarray(512, 1536), 512));
    expect(h.computedChecksum).toBe(h.checksum);
    expect(h.parentUniqueId).toBe(pf.uniqueId);
    expect(h.locators.map((l) => l.code)).toEqual(['W2ru', 'W2ku']);
    const img = await openPath(child, { strict: true });
    expect(img.info.parent?.path).toBe(path.join(t.dir, 'kids', '..', 'base.vhd'));
    expect(firstDiff(await readAll(img), await readAll(await openPath(parent)))).toBe(-1);
    await img.close();
  });

  it('VHDX child: parent_linkage, relative_path, absolute_win32_path; page 83 and sector sizes from the parent', async () => {
    const parent = put('base.vhdx', vhdxFixture('dynamic-1m.vhdx'));
    const child = path.join(t.dir, 'snap.avhdx');
    const r = await runCli(['create-child', parent, child, '--json']);
    expect(r.code).toBe(0);
    const p = await openPath(parent);
    const img = await openPath(child, { strict: true });
    expect(img.info.variant).toBe('differencing');
    expect(img.info.parent?.locators).toEqual([
      { kind: 'parent_linkage', value: `{${p.info.details.dataWriteGuid}}` },
      { kind: 'relative_path', value: '.\\base.vhdx' },
      { kind: 'absolute_win32_path', value: parent },
    ]);
    expect(img.info.uniqueId).toBe(p.info.uniqueId);
    expect(img.info.blockSize).toBe(2 * MiB);
    expect(await img.allocatedSize()).toBe(0);
    expect(firstDiff(await readAll(img), await readAll(p))).toBe(-1);
  });

  it('refusals: an existing child (exit 4), an extension that names no format (exit 2), a VHDX child of a VHD (exit 3)', async () => {
    const parent = put('p2.vhd', vhdFixture('vpc-dynamic.vhd'));
    const existing = put('exists.vhd', fill(10, 1));
    expect((await runCli(['create-child', parent, existing])).code).toBe(4);
    expect(readFileSync(existing).length).toBe(10);
    expect((await runCli(['create-child', parent, path.join(t.dir, 'x.img')])).code).toBe(2);
    const wrong = path.join(t.dir, 'wrong.vhdx');
    const r = await runCli(['create-child', parent, wrong]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/VHDX differencing disk needs a VHDX parent/);
    expect(existsSync(wrong)).toBe(false);
  });

  it('writes go to the child: the parent file keeps its sha256 (VHD and VHDX)', async () => {
    for (const [name, bytes, childName] of [
      ['wp.vhd', vhdFixture('vpc-dynamic.vhd'), 'wc.vhd'],
      ['wp.vhdx', vhdxFixture('dynamic-1m.vhdx'), 'wc.vhdx'],
    ] as const) {
      const parent = put(name, bytes);
      const child = path.join(t.dir, childName);
      expect((await runCli(['create-child', parent, child])).code).toBe(0);
      const parentSha = sha(readFileSync(parent));
      const dev = await FileDevice.openWritable(child);
      const img = await openImageForWrite(dev, { path: child, files: new NodeFileAccess() });
      const model = await readAll(img);
      for (const w of randomWrites(17, img.size, 25, 600_000, 2 * MiB)) {
        await img.write(w.offset, w.data);
        model.set(w.data, w.offset);
      }
      await img.flush();
      await img.close();
      expect(sha(readFileSync(parent))).toBe(parentSha);
      const again = await openPath(child, { strict: true });
      expect(firstDiff(await readAll(again), model)).toBe(-1);
      await again.close();
      // Writing the parent now is refused: the child beside it names it.
      const pd = await FileDevice.openWritable(parent);
      const e = await openImageForWrite(pd, { path: parent, files: new NodeFileAccess() }).catch((x) => x);
      await pd.close();
      expect(e.kind).toBe('unsafe');
      // Another test's child of a copy of the same fixture (same DataWriteGuid) may be named first: both are children.
      expect(e.message).toMatch(/is the parent of the differencing disk .*\.(vhd|vhdx|avhdx):/);
    }
  });

  it('a chain three deep (child of a child): reads as the base; the middle disk is now refused for writing', async () => {
    const dir = path.join(t.dir, 'deep');
    await import('node:fs').then((fs) => fs.mkdirSync(dir, { recursive: true }));
    const base = path.join(dir, 'base.vhdx');
    writeFileSync(base, vhdxFixture('dynamic-8m-log4m.vhdx'));
    const mid = path.join(dir, 'mid.avhdx');
    const top = path.join(dir, 'top.avhdx');
    expect((await runCli(['create-child', base, mid])).code).toBe(0);
    const midImg = await openImageForWrite(await FileDevice.openWritable(mid), {
      path: mid,
      files: new NodeFileAccess(),
    });
    await midImg.write(5, fill(70_000, 1));
    await midImg.close();
    expect((await runCli(['create-child', mid, top])).code).toBe(0);
    const expected = await readAll(await openPath(mid));
    const img = await openPath(top, { strict: true });
    expect(img.info.parent?.info.parent?.path).toBe(base);
    expect(firstDiff(await readAll(img), expected)).toBe(-1);
    await img.close();
    const e = await openImageForWrite(await FileDevice.openWritable(mid), {
      path: mid,
      files: new NodeFileAccess(),
    }).catch((x) => x);
    expect(e.message).toContain('top.avhdx');
  });

  it('createChild in memory matches what the CLI path gives the reader (no host paths needed)', async () => {
    const parentImg = await openImage(new MemoryDevice(vhdxFixture('dynamic-1m.vhdx')), {});
    const out = new MemoryDevice(new Uint8Array(0), { writable: true });
    const r = await createChild(
      parentImg,
      out as MemoryDevice & { write: NonNullable<MemoryDevice['write']> },
      'vhdx',
      {
        relative: '.\\p.vhdx',
        absolute: 'C:\\VMs\\p.vhdx',
      },
    );
    expect(r.fileSize).toBe(out.size);
    expect(out.size % MiB).toBe(0);
  });
});

describe('createChild with content — the blocks a staged write touched, whole (vhd-vhdx.md §1.5, §2.5)', () => {
  for (const [format, bytes] of [
    ['vhd', () => vhdFixture('vpc-dynamic.vhd')],
    ['vhdx', () => vhdxFixture('dynamic-32m.vhdx')],
  ] as const) {
    it(`${format}: reads as the parent with the writes applied, one block allocated per touched block`, async () => {
      const parentBytes = bytes();
      const parentImg = await openRead(parentBytes);
      const staging = new StagingDevice(parentImg);
      // Two writes in one block, one straddling a 2 MiB block boundary: three blocks in all.
      await staging.write(4096, fill(1000, 1));
      await staging.write(9 * 512, fill(512, 2));
      await staging.write(6 * MiB - 700, fill(1400, 3));
      const expected = await readAll(staging);
      const out = new MemoryDevice(new Uint8Array(0), { writable: true });
      const r = await createChild(
        parentImg,
        out as MemoryDevice & { write: NonNullable<MemoryDevice['write']> },
        format,
        { relative: `.\\p.${format}`, absolute: `p.${format}` },
        { device: staging, ranges: staging.pending },
      );
      expect(r.fileSize).toBe(out.size);
      const child = await openImage(new MemoryDevice(out.data.slice()), {
        path: `/c.${format}`,
        files: memoryFiles({ [`/p.${format}`]: parentBytes }),
      });
      expect(child.info.variant).toBe('differencing');
      expect(firstDiff(await readAll(child), expected)).toBe(-1);
      // Only the touched blocks are in the child: everything else still comes from the parent.
      expect(r.blocksAllocated).toBe(3);
      // The parent was only read.
      expect(sha(parentBytes)).toBe(sha(bytes()));
    });
  }

  it('content of another size than the parent is refused', async () => {
    const parentImg = await openRead(vhdxFixture('dynamic-32m.vhdx'));
    const out = new MemoryDevice(new Uint8Array(0), { writable: true });
    const e = await createChild(
      parentImg,
      out as MemoryDevice & { write: NonNullable<MemoryDevice['write']> },
      'vhdx',
      { relative: '.\\p.vhdx', absolute: 'p.vhdx' },
      { device: new MemoryDevice(new Uint8Array(512)), ranges: [] },
    ).catch((x) => x);
    expect(e).toBeInstanceOf(RangeError);
  });
});

describe('convert to dynamic VHD/VHDX (CLI)', () => {
  it('a VHD chain converts flattened into both formats; sparse blocks stay unallocated', async () => {
    const parent = put('cb.vhd', vhdFixture('vpc-dynamic.vhd'));
    const child = path.join(t.dir, 'cc.vhd');
    expect((await runCli(['create-child', parent, child])).code).toBe(0);
    const dev = await FileDevice.openWritable(child);
    const img = await openImageForWrite(dev, { path: child, files: new NodeFileAccess() });
    await img.write(3 * MiB + 7, fill(100_000, 5));
    await img.close();
    const flat = await readAll(await openPath(child));
    for (const [ext, extra] of [
      ['vhd', []],
      ['vhdx', ['--block-size', '1M']],
    ] as const) {
      const out = path.join(t.dir, `flat.${ext}`);
      const r = await runCli(['convert', child, out, ...extra, '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const j = JSON.parse(r.stdout);
      const converted = await openPath(out, { strict: true });
      expect(converted.info.variant).toBe('dynamic');
      expect(converted.parent).toBeNull();
      expect(firstDiff(await readAll(converted), flat)).toBe(-1);
      // qemu wrote data in 4 of the 2 MiB blocks (0, 1, 4, 5 after CHS rounding), the child one more in block 1.
      expect(j.blocksAllocated).toBeLessThan(Math.ceil(converted.size / j.blockSize));
      await converted.close();
    }
    // Raw output is kept as before.
    const raw = path.join(t.dir, 'flat.raw');
    expect((await runCli(['convert', child, raw])).code).toBe(0);
    expect(firstDiff(new Uint8Array(readFileSync(raw)), flat)).toBe(-1);
  });

  it('an existing output is refused (exit 4) and kept; a size the format cannot hold fails and leaves nothing', async () => {
    const src = put('odd.img', fill(1000, 1)); // 1000 bytes: no whole sector count
    const out = put('taken.vhdx', fill(5, 1));
    expect((await runCli(['convert', src, out])).code).toBe(4);
    expect(readFileSync(out).length).toBe(5);
    const vhd = path.join(t.dir, 'odd.vhd');
    const r = await runCli(['convert', src, vhd]);
    expect(r.code).toBe(3);
    expect(existsSync(vhd)).toBe(false);
  });

  it('FileDevice.openWritable refuses a read-only file with exit 4 (even as root)', async () => {
    const p = put('ro.vhd', vhdFixture('vpc-dynamic.vhd'));
    chmodSync(p, 0o444);
    const e = await FileDevice.openWritable(p).catch((x) => x);
    expect([e.code, e.kind]).toEqual(['READ_ONLY', 'unsafe']);
    expect(e.message).toMatch(/read-only/);
  });
});
