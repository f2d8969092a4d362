// Independent oracles for the VHD reader (docs/vhd-vhdx.md Part 1): qemu-img (info, convert) on images qemu-img
// and qemu-io make now, and libvhdi (python3-libvhdi, via /usr/bin/python3) on the differencing chains
// test/helpers/vhd-builder.ts writes and on the corpus differencing pair. Comparisons are byte for byte.
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DiskImage } from '../../src/image/disk-image.js';
import { openImage } from '../../src/image/open-image.js';
import { FileDevice } from '../../src/io/file-device.js';
import { NodeFileAccess } from '../../src/io/node-file-access.js';
import { corpus, requireTool, tempDir } from '../helpers/env.js';
import { buildVhd, chainContent, firstDiff, type VhdWrite, write } from '../helpers/vhd-builder.js';

const PY = '/usr/bin/python3';

/** libvhdi's bytes for a chain (child first): each file opened, linked to its parent, the whole disk read. */
function libvhdiRead(chain: string[], out: string): Uint8Array {
  const script = `
import sys, pyvhdi
out, paths = sys.argv[1], sys.argv[2:]
files = []
for p in paths:
    f = pyvhdi.file(); f.open(p); files.append(f)
for child, parent in reversed(list(zip(files, files[1:]))):
    child.set_parent(parent)
top = files[0]
size = top.get_media_size()
with open(out, 'wb') as o:
    off = 0
    while off < size:
        n = min(1 << 20, size - off)
        o.write(top.read_buffer_at_offset(n, off)); off += n
`;
  execFileSync(PY, ['-c', script, out, ...chain], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Uint8Array(readFileSync(out));
}

function requirePyvhdi(): void {
  try {
    execFileSync(PY, ['-c', 'import pyvhdi'], { stdio: 'pipe' });
  } catch {
    throw new Error('interop module missing: pyvhdi (Debian package python3-libvhdi) for /usr/bin/python3');
  }
}

async function openFile(p: string): Promise<DiskImage> {
  return openImage(await FileDevice.open(p), { path: p, files: new NodeFileAccess() });
}

async function readAll(img: DiskImage): Promise<Uint8Array> {
  const out = new Uint8Array(img.size);
  const step = 1024 * 1024 + 4608; // straddles blocks
  for (let at = 0; at < img.size; at += step) out.set(await img.read(at, Math.min(step, img.size - at)), at);
  return out;
}

describe('qemu-img is the oracle for the VHDs it makes — vhd-vhdx.md §1.1, §1.2, §1.5', () => {
  const t = tempDir();
  afterAll(() => t.cleanup());
  const cases: [string, string, string, string[]][] = [
    ['dynamic', '9M', 'subformat=dynamic', ['0x5a 0 1m', '0xa5 2044k 8k', '0x3c 7m 4k']],
    ['dynamic-forcesize', '9217k', 'subformat=dynamic,force_size=on', ['0x11 512 512', '0x22 9216k 1k']],
    ['fixed', '5M', 'subformat=fixed', ['0x77 0 8k', '0x88 4m 4k']],
    ['fixed-forcesize', '5121k', 'subformat=fixed,force_size=on', ['0x99 5120k 1k']],
    ['dynamic-empty', '3M', 'subformat=dynamic', []],
  ];
  for (const [name, size, opts, writes] of cases) {
    it(`qemu-img create -f vpc -o ${opts} ${size}: info virtual-size and convert -O raw equal ours`, async () => {
      requireTool('qemu-img');
      requireTool('qemu-io');
      const f = path.join(t.dir, `${name}.vhd`);
      execFileSync('qemu-img', ['create', '-q', '-f', 'vpc', '-o', opts, f, size]);
      if (writes.length)
        execFileSync('qemu-io', ['-f', 'vpc', ...writes.flatMap((w) => ['-c', `write -P ${w}`]), f], {
          stdio: 'pipe',
        });
      const info = JSON.parse(
        execFileSync('qemu-img', ['info', '-f', 'vpc', '--output=json', f], { encoding: 'utf8' }),
      );
      const raw = path.join(t.dir, `${name}.raw`);
      execFileSync('qemu-img', ['convert', '-q', '-f', 'vpc', '-O', 'raw', f, raw]);
      const img = await openFile(f);
      try {
        expect(img.info.virtualSize).toBe(info['virtual-size']);
        expect(img.warnings).toEqual([]);
        const want = new Uint8Array(readFileSync(raw));
        expect(firstDiff(await readAll(img), want)).toBe(-1);
      } finally {
        await img.close();
      }
    });
  }

  it('builder-made dynamic disks (creator "win ", partial bitmaps) read by qemu-img equal ours', async () => {
    requireTool('qemu-img');
    const size = 6 * 1024 * 1024;
    const writes = [write(0, 4096, 1), write(2 * 1024 * 1024 - 512, 1024, 2), write(size - 512, 512, 3)];
    const f = path.join(t.dir, 'builder.vhd');
    writeFileSync(f, buildVhd({ type: 'dynamic', size, writes }).bytes);
    const raw = path.join(t.dir, 'builder.raw');
    execFileSync('qemu-img', ['convert', '-q', '-f', 'vpc', '-O', 'raw', f, raw]);
    const img = await openFile(f);
    try {
      const ourBytes = await readAll(img);
      expect(firstDiff(ourBytes, new Uint8Array(readFileSync(raw)))).toBe(-1);
      expect(firstDiff(ourBytes, chainContent(size, [writes]))).toBe(-1);
    } finally {
      await img.close();
    }
  });
});

describe('libvhdi is the oracle for differencing chains — vhd-vhdx.md §1.4, §1.5', () => {
  const SIZE = 5 * 1024 * 1024;
  const L0: VhdWrite[] = [
    write(0, 65536, 10),
    write(2 * 1024 * 1024 - 4096, 8192, 11),
    write(SIZE - 1024, 1024, 12),
  ];
  // Every write ends on a 4 KiB boundary (a whole bitmap byte): libvhdi 20210425 reads a partly set bitmap byte
  // wrongly (see the last case here), and these cases compare whole chains. Starts are not aligned.
  const L1: VhdWrite[] = [
    write(4096, 4096, 20),
    write(2 * 1024 * 1024 + 512, 3584, 21),
    write(3 * 1024 * 1024, 4096, 22),
  ];
  const L2: VhdWrite[] = [
    write(0, 4096, 30),
    write(2 * 1024 * 1024 - 2048, 6144, 31),
    write(SIZE - 512, 512, 32),
  ];

  function writeChain(dir: string) {
    const base = buildVhd({ type: 'dynamic', size: SIZE, writes: L0, seed: 1 });
    const mid = buildVhd({
      type: 'differencing',
      size: SIZE,
      writes: L1,
      seed: 2,
      parent: {
        uniqueId: base.uniqueId,
        name: 'C:\\VMs\\base.vhd',
        locators: [
          { code: 'W2ru', path: '.\\base.vhd' },
          { code: 'W2ku', path: 'C:\\VMs\\base.vhd' },
        ],
      },
    });
    const top = buildVhd({
      type: 'differencing',
      size: SIZE,
      blockSize: 512 * 1024,
      writes: L2,
      seed: 3,
      parent: {
        uniqueId: mid.uniqueId,
        name: 'C:\\VMs\\mid.vhd',
        locators: [
          { code: 'W2ru', path: '.\\mid.vhd' },
          { code: 'W2ku', path: 'C:\\VMs\\mid.vhd' },
        ],
      },
    });
    const paths = {
      base: path.join(dir, 'base.vhd'),
      mid: path.join(dir, 'mid.vhd'),
      top: path.join(dir, 'top.vhd'),
    };
    writeFileSync(paths.base, base.bytes);
    writeFileSync(paths.mid, mid.bytes);
    writeFileSync(paths.top, top.bytes);
    return paths;
  }

  it('2 deep: our read equals libvhdi’s byte for byte, and the writes as layered', async () => {
    requirePyvhdi();
    const { dir, cleanup } = tempDir();
    try {
      const p = writeChain(dir);
      const theirs = libvhdiRead([p.mid, p.base], path.join(dir, 'lib.raw'));
      const img = await openFile(p.mid);
      try {
        const ourBytes = await readAll(img);
        expect(firstDiff(ourBytes, theirs)).toBe(-1);
        expect(firstDiff(ourBytes, chainContent(SIZE, [L0, L1]))).toBe(-1);
      } finally {
        await img.close();
      }
    } finally {
      cleanup();
    }
  });

  it('3 deep (block sizes 2 MiB and 512 KiB): our read equals libvhdi’s byte for byte', async () => {
    requirePyvhdi();
    const { dir, cleanup } = tempDir();
    try {
      const p = writeChain(dir);
      const theirs = libvhdiRead([p.top, p.mid, p.base], path.join(dir, 'lib.raw'));
      const img = await openFile(p.top);
      try {
        const ourBytes = await readAll(img);
        expect(firstDiff(ourBytes, theirs)).toBe(-1);
        expect(firstDiff(ourBytes, chainContent(SIZE, [L0, L1, L2]))).toBe(-1);
      } finally {
        await img.close();
      }
    } finally {
      cleanup();
    }
  });

  it('a bitmap byte set only in part: we follow the spec (one bit per sector); libvhdi extends the run to the byte end', async () => {
    // §1.5: bit = sector, MSB first, settled against the Windows corpus file. libvhdi 20210425 returns the child's
    // sectors from the first set bit to the end of that bitmap byte, whatever the later bits say. Pinned here so a
    // libvhdi that changes shows up, and so the chain cases above are known to avoid it on purpose.
    requirePyvhdi();
    const { dir, cleanup } = tempDir();
    try {
      const base = buildVhd({ type: 'dynamic', size: SIZE, writes: [write(0, 65536, 40)], seed: 7 });
      const own = [write(3 * 512, 512, 41), write(18 * 512, 1024, 42)]; // bits 3 (byte 0) and 18-19 (byte 2)
      const child = buildVhd({
        type: 'differencing',
        size: SIZE,
        writes: own,
        seed: 8,
        parent: { uniqueId: base.uniqueId, name: 'base.vhd', locators: [] },
      });
      const bp = path.join(dir, 'base.vhd');
      const cp = path.join(dir, 'child.vhd');
      writeFileSync(bp, base.bytes);
      writeFileSync(cp, child.bytes);
      const theirs = libvhdiRead([cp, bp], path.join(dir, 'lib.raw'));
      const img = await openFile(cp);
      try {
        const ourBytes = await readAll(img);
        expect(firstDiff(ourBytes, chainContent(SIZE, [[write(0, 65536, 40)], own]))).toBe(-1);
        const differing: number[] = [];
        for (let s = 0; s < 128; s++)
          if (
            firstDiff(ourBytes.subarray(s * 512, s * 512 + 512), theirs.subarray(s * 512, s * 512 + 512)) !==
            -1
          )
            differing.push(s);
        // Clear-bit sectors after a set bit in the same byte: 4-7 (byte 0) and 20-23 (byte 2), read by libvhdi
        // from the child's never-written (zero) data area instead of the parent.
        expect(differing).toEqual([4, 5, 6, 7, 20, 21, 22, 23]);
        expect(theirs.subarray(4 * 512, 8 * 512).every((x) => x === 0)).toBe(true);
      } finally {
        await img.close();
      }
    } finally {
      cleanup();
    }
  });

  it('libvhdi reads our locators and parent name as we wrote them', () => {
    requirePyvhdi();
    const { dir, cleanup } = tempDir();
    try {
      const p = writeChain(dir);
      const out = execFileSync(
        PY,
        [
          '-c',
          'import sys,pyvhdi\nf=pyvhdi.file(); f.open(sys.argv[1]); print(f.get_parent_filename())',
          p.mid,
        ],
        { encoding: 'utf8' },
      );
      expect(out.trim()).toBe('C:\\VMs\\base.vhd');
    } finally {
      cleanup();
    }
  });

  it('corpus dfvfs-image-differential.vhd with its parent beside it as image.vhd: equal to libvhdi byte for byte', async () => {
    requirePyvhdi();
    const { dir, cleanup } = tempDir();
    try {
      const parent = path.join(dir, 'image.vhd');
      const child = path.join(dir, 'image-differential.vhd');
      copyFileSync(corpus('vhd/dfvfs-image-dynamic.vhd'), parent);
      copyFileSync(corpus('vhd/dfvfs-image-differential.vhd'), child);
      const theirs = libvhdiRead([child, parent], path.join(dir, 'lib.raw'));
      const img = await openFile(child);
      try {
        expect(img.size).toBe(theirs.length);
        expect(firstDiff(await readAll(img), theirs)).toBe(-1);
      } finally {
        await img.close();
      }
      // And the dynamic parent alone, whose footer checksum libvhdi also tolerates.
      const alone = libvhdiRead([parent], path.join(dir, 'lib2.raw'));
      const pimg = await openFile(parent);
      try {
        expect(firstDiff(await readAll(pimg), alone)).toBe(-1);
      } finally {
        await pimg.close();
      }
    } finally {
      cleanup();
    }
  });

  it('corpus dfvfs-ext2-dynamic.vhd: equal to libvhdi and to qemu-img convert', async () => {
    requirePyvhdi();
    requireTool('qemu-img');
    const { dir, cleanup } = tempDir();
    try {
      const f = corpus('vhd/dfvfs-ext2-dynamic.vhd');
      const theirs = libvhdiRead([f], path.join(dir, 'lib.raw'));
      execFileSync('qemu-img', ['convert', '-q', '-f', 'vpc', '-O', 'raw', f, path.join(dir, 'q.raw')]);
      const img = await openFile(f);
      try {
        const ourBytes = await readAll(img);
        expect(firstDiff(ourBytes, theirs)).toBe(-1);
        expect(firstDiff(ourBytes, new Uint8Array(readFileSync(path.join(dir, 'q.raw'))))).toBe(-1);
      } finally {
        await img.close();
      }
    } finally {
      cleanup();
    }
  });
});
