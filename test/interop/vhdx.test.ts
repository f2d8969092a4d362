// Independent oracles for the VHDX reader (vhd-vhdx.md Part 2): qemu-img and qemu-io make and fill images now,
// and `qemu-img info` / `qemu-img convert -O raw` say what they hold; libvhdi (python3-libvhdi, pyvhdi) reads the
// differencing chains our builder writes, which qemu-img cannot open or make.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BootprobeError } from '../../src/errors.js';
import { openVhdx } from '../../src/image/vhdx/vhdx-image.js';
import { FileDevice } from '../../src/io/file-device.js';
import { NodeFileAccess } from '../../src/io/node-file-access.js';
import { corpus, requireTool, tempDir } from '../helpers/env.js';
import { PY, pyvhdiChain } from '../helpers/pyvhdi.js';
import { buildVhdx, expectedContent, MiB, pattern, sha256 } from '../helpers/vhdx-builder.js';

const t = tempDir('bootprobe-vhdx-interop-');
afterAll(() => t.cleanup());

/** Our reading of a file: virtual size, sha256 of every byte (read in 5 MiB + 512 pieces), and the image info. */
async function ours(p: string) {
  const img = await openVhdx(await FileDevice.open(p), { path: p, files: new NodeFileAccess() });
  try {
    const h = createHash('sha256');
    const step = 5 * MiB + 512;
    for (let at = 0; at < img.size; at += step) h.update(await img.read(at, Math.min(step, img.size - at)));
    return { size: img.size, sha: h.digest('hex'), info: img.info };
  } finally {
    await img.close();
  }
}

function qemuInfo(p: string): { 'virtual-size': number; 'cluster-size': number } {
  return JSON.parse(
    execFileSync('qemu-img', ['info', '-f', 'vhdx', '--output=json', p], { encoding: 'utf8' }),
  );
}

function qemuRawSha(p: string): string {
  const out = `${p}.raw`;
  execFileSync('qemu-img', ['convert', '-q', '-f', 'vhdx', '-O', 'raw', p, out]);
  return sha256(readFileSync(out));
}

describe('qemu-img VHDX made now — qemu-img info and qemu-img convert -O raw are the answer', () => {
  beforeAll(() => {
    requireTool('qemu-img');
    requireTool('qemu-io');
  });
  const size = 40 * MiB + 7 * 512;
  const writes = [
    'write -P 0xa1 0 1M',
    'write -P 0xb2 1044480 12288',
    `write -P 0xc3 ${33 * MiB - 4096} 65536`,
    `write -P 0xd4 ${size - 3 * 512} 1536`,
  ];
  const cases = [
    'subformat=fixed,block_size=1M',
    'subformat=fixed,block_size=32M,block_state_zero=off',
    'subformat=fixed,block_size=256M,block_state_zero=off',
    'subformat=dynamic,block_size=1M',
    'subformat=dynamic,block_size=32M',
    'subformat=dynamic,block_size=256M',
    'subformat=dynamic,block_size=2M,block_state_zero=off',
    'subformat=dynamic,block_size=8M,log_size=4M',
    'subformat=dynamic',
  ];
  for (const [i, opts] of cases.entries()) {
    it(`${opts}: virtual size and every byte equal qemu's`, async () => {
      const p = path.join(t.dir, `q${i}.vhdx`);
      execFileSync('qemu-img', ['create', '-q', '-f', 'vhdx', '-o', opts, p, String(size)]);
      execFileSync('qemu-io', ['-f', 'vhdx', ...writes.flatMap((w) => ['-c', w]), p], { stdio: 'pipe' });
      const q = qemuInfo(p);
      const r = await ours(p);
      expect(r.size).toBe(q['virtual-size']);
      expect(r.info.blockSize).toBe(q['cluster-size']);
      expect(r.sha).toBe(qemuRawSha(p));
    });
  }

  it('qemu-img convert from a raw disk with content in many blocks reads back equal', async () => {
    const raw = path.join(t.dir, 'content.raw');
    const b = expectedContent(50 * MiB, [
      [pattern(0, 3 * MiB, 1), pattern(17 * MiB - 512, 4 * MiB, 2), pattern(50 * MiB - 8192, 8192, 3)],
    ]);
    writeFileSync(raw, b);
    const p = path.join(t.dir, 'conv.vhdx');
    execFileSync('qemu-img', [
      'convert',
      '-q',
      '-f',
      'raw',
      '-O',
      'vhdx',
      '-o',
      'subformat=dynamic,block_size=4M',
      raw,
      p,
    ]);
    const r = await ours(p);
    expect(r.sha).toBe(sha256(b));
    expect(r.sha).toBe(qemuRawSha(p));
  });
});

describe('differencing chains from test/helpers/vhdx-builder — libvhdi (pyvhdi) is the answer', () => {
  beforeAll(() => {
    requireTool('vhdiinfo');
    execFileSync(PY, ['-c', 'import pyvhdi']);
  });
  const SIZE = 20 * MiB;
  // 4 KiB-granular writes except where noted: what Windows writes (libvhdi reads bitmaps per sector too for VHDX).
  const L0 = [pattern(0, 10 * MiB, 1), pattern(SIZE - MiB, MiB, 2)];
  const L1 = [
    pattern(4096, 8192, 3),
    pattern(2 * MiB - 4096, 16384, 4),
    pattern(6 * MiB, 2 * MiB, 5),
    pattern(12 * MiB + 512, 512, 6),
  ];
  const L2 = [pattern(8192, 4096, 7), pattern(6 * MiB + MiB / 2, 4096, 8), pattern(15 * MiB, 4096, 9)];

  function write(name: string, bytes: Uint8Array): string {
    const p = path.join(t.dir, name);
    writeFileSync(p, bytes);
    return p;
  }

  it('vhdiinfo accepts the builder’s base disk and reads it like we do', async () => {
    const p0 = write('b-base.vhdx', buildVhdx({ size: SIZE, writes: L0 }).bytes);
    const lib = pyvhdiChain([p0]);
    const r = await ours(p0);
    expect(lib.size).toBe(SIZE);
    expect(r.sha).toBe(lib.sha);
    expect(r.sha).toBe(sha256(expectedContent(SIZE, [L0])));
  });

  for (const blockSize of [MiB, 2 * MiB]) {
    it(`2 and 3 deep (${blockSize / MiB} MiB blocks, PARTIALLY_PRESENT with sector bitmaps) read equal to libvhdi`, async () => {
      const tag = `c${blockSize}`;
      const b0 = buildVhdx({ size: SIZE, writes: L0, blockSize });
      const p0 = write(`${tag}-base.vhdx`, b0.bytes);
      const b1 = buildVhdx({
        size: SIZE,
        writes: L1,
        blockSize,
        parent: { linkage: b0.dataWriteGuid, locators: { relative_path: `.\\${tag}-base.vhdx` } },
      });
      const p1 = write(`${tag}-c1.avhdx`, b1.bytes);
      const b2 = buildVhdx({
        size: SIZE,
        writes: L2,
        blockSize,
        parent: { linkage: b1.dataWriteGuid, locators: { relative_path: `${tag}-c1.avhdx` } },
      });
      const p2 = write(`${tag}-c2.avhdx`, b2.bytes);
      for (const [chain, levels] of [
        [
          [p1, p0],
          [L0, L1],
        ],
        [
          [p2, p1, p0],
          [L0, L1, L2],
        ],
      ] as const) {
        const lib = pyvhdiChain([...chain]);
        const r = await ours(chain[0]!);
        expect(r.info.variant).toBe('differencing');
        expect(lib.size).toBe(r.size);
        expect(r.sha).toBe(lib.sha);
        expect(r.sha).toBe(sha256(expectedContent(SIZE, [...levels])));
      }
    });
  }

  it('libvhdi 20210425 reads only the lower-case parent_linkage Hyper-V writes; we accept both (§2.4: compare as GUIDs)', async () => {
    const b0 = buildVhdx({ size: SIZE, writes: L0 });
    write('u-base.vhdx', b0.bytes); // the parent our reader opens beside the child
    const upper = buildVhdx({
      size: SIZE,
      writes: L1,
      parent: { linkage: b0.dataWriteGuid, upperCase: true, locators: { relative_path: 'u-base.vhdx' } },
    });
    const pu = write('u-child.avhdx', upper.bytes);
    const parentId = execFileSync(
      PY,
      [
        '-c',
        'import sys, pyvhdi\nf = pyvhdi.file(); f.open(sys.argv[1]); print(f.get_parent_identifier())',
        pu,
      ],
      { encoding: 'utf8' },
    ).trim();
    expect(parentId).toBe('00000000-0000-0000-0000-000000000000');
    expect((await ours(pu)).sha).toBe(sha256(expectedContent(SIZE, [L0, L1])));
  });

  it('the Hyper-V checkpoint in the corpus: our expected parent id is the parent identifier libvhdi reads', async () => {
    const p = path.join(t.dir, 'hyperv-differencing.avhdx');
    writeFileSync(p, gunzipSync(readFileSync(corpus('vhdx/hyperv-differencing.avhdx.gz'))));
    const parentId = execFileSync(
      PY,
      [
        '-c',
        'import sys, pyvhdi\nf = pyvhdi.file(); f.open(sys.argv[1]); print(f.get_parent_identifier(), f.get_disk_type(), f.get_media_size())',
        p,
      ],
      { encoding: 'utf8' },
    )
      .trim()
      .split(' ');
    let data: Record<string, unknown> | undefined;
    try {
      await ours(p);
    } catch (e) {
      data = (e as BootprobeError).data;
    }
    expect(data?.expectedId).toBe(parentId[0]);
    expect(parentId[1]).toBe('4'); // libvhdi's differential disk type
    expect(Number(parentId[2])).toBe(8 * 1024 * MiB);
  });
});
