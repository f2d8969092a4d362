// Damaged file-system structures end with exit 3 and a message naming the structure (issue 3 "Must show").
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FatFileSystem } from '../../../src/fs/fat/fat.js';
import { decodeIndexNode } from '../../../src/fs/ntfs/index-node.js';
import { NtfsFileSystem } from '../../../src/fs/ntfs/ntfs.js';
import { applyFixups } from '../../../src/fs/ntfs/record.js';
import { ByteView } from '../../../src/io/byte-view.js';
import { MemoryDevice } from '../../../src/io/memory-device.js';
import { runCli } from '../../helpers/cli.js';
import { FIXTURES, tempDir } from '../../helpers/env.js';
import { gunzipFile } from '../../helpers/gunzip.js';

const t = tempDir();
afterAll(() => t.cleanup());
const image = (name: string) => gunzipFile(path.join(FIXTURES, 'fs', `${name}.img.gz`));
function save(name: string, b: Uint8Array): string {
  const p = path.join(t.dir, name);
  writeFileSync(p, b);
  return p;
}
function expectExit3(r: { code: number; stderr: string }, pattern: RegExp) {
  expect(r.code).toBe(3);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^bootprobe: error: /);
  expect(lines[0]).toMatch(pattern);
}

/** Absolute offset of MFT record `n` on the fixture (its $MFT starts with one long run). */
async function recordOffset(b: Uint8Array, n: number): Promise<number> {
  const fs = await NtfsFileSystem.open(new MemoryDevice(b));
  return fs.boot.mftLcn * fs.boot.clusterSize + n * fs.boot.recordSize;
}

describe('damaged NTFS', () => {
  it('a torn MFT record (bad fixup) is NTFS_BAD_FIXUP, exit 3', async () => {
    const b = image('ntfs-512');
    const fs = await NtfsFileSystem.open(new MemoryDevice(b));
    const id = (await fs.lookup('/Windows/System32/kernel.bin')).id;
    const at = await recordOffset(b, id);
    b[at + 510] = b[at + 510]! ^ 0xff; // the last two bytes of the first stride no longer hold the update sequence number
    expectExit3(
      await runCli(['cat', save('torn.img', b), '/Windows/System32/kernel.bin']),
      /update sequence mismatch/,
    );
  });

  it('a runlist pointing past the volume is NTFS_RUNLIST, exit 3', async () => {
    const b = image('ntfs-512');
    const fs = await NtfsFileSystem.open(new MemoryDevice(b));
    const id = (await fs.lookup('/Windows/System32/kernel.bin')).id;
    const at = await recordOffset(b, id);
    // Find the $DATA attribute in the record and make its first run's LCN huge (4-byte offset field → 0x7fffff00).
    const rec = b.slice(at, at + 1024);
    applyFixups(rec, 'FILE', at);
    const v = new ByteView(rec, at);
    let a = v.u16le(0x14);
    while (v.u32le(a) !== 0x80) a += v.u32le(a + 4);
    const rl = a + v.u16le(a + 32);
    const h = rec[rl]!;
    const L = h & 0x0f;
    const O = h >> 4;
    expect(O).toBeGreaterThan(0);
    for (let i = 0; i < O; i++) b[at + rl + 1 + L + i] = i === O - 1 ? 0x7f : 0xff;
    expectExit3(
      await runCli(['cat', save('runlist.img', b), '/Windows/System32/kernel.bin']),
      /runlist at 0x[0-9a-f]+: clusters .* outside the \d+-cluster volume/,
    );
  });

  it('an index B-tree whose node points back at itself is NTFS_INDEX, exit 3', async () => {
    const b = image('ntfs-512');
    let patched = false;
    for (let at = 0; at < b.length && !patched; at += 4096) {
      if (String.fromCharCode(...b.subarray(at, at + 4)) !== 'INDX') continue;
      const copy = b.slice(at, at + 4096);
      applyFixups(copy, 'INDX', at);
      const v = new ByteView(copy, at);
      const vcn = Number(v.u64le(0x10));
      const entries = decodeIndexNode(v, 0x18);
      // Walk the raw entries to find the position of a child pointer that is not on a stride boundary.
      let p = 0x18 + v.u32le(0x18);
      for (const e of entries) {
        const len = v.u16le(p + 8);
        const field = p + len - 8;
        if (
          e.child !== null &&
          Math.floor((field + 7) / 512) === Math.floor(field / 512) &&
          (field + 8) % 512 < 510 &&
          field % 512 < 510
        ) {
          new DataView(b.buffer, b.byteOffset + at + field).setBigUint64(0, BigInt(vcn), true);
          patched = true;
          break;
        }
        p += len;
      }
    }
    expect(patched).toBe(true);
    expectExit3(await runCli(['ls', '-R', save('loop.img', b), '/many']), /loops back to VCN/);
  });
});

describe('damaged FAT', () => {
  it('a cluster chain that loops is FAT_CHAIN, exit 3', async () => {
    const b = image('fat16');
    const fs = await FatFileSystem.open(new MemoryDevice(b));
    const first = (await fs.lookup('/c-fragmented.bin')).id;
    // Make the first cluster point to itself in both FAT copies.
    for (let k = 0; k < fs.bpb.fatCount; k++) {
      const fat = fs.bpb.fatOffset + k * fs.bpb.fatSectors * fs.bpb.bytesPerSector;
      b[fat + 2 * first] = first & 0xff;
      b[fat + 2 * first + 1] = first >> 8;
    }
    expectExit3(
      await runCli(['cat', save('fatloop.img', b), '/c-fragmented.bin']),
      /cluster chain longer than \d+ clusters \(a loop\)/,
    );
  });

  it('a file larger than its chain is FAT_CHAIN, exit 3', async () => {
    const b = image('fat16');
    const fs = await FatFileSystem.open(new MemoryDevice(b));
    const e = await fs.lookup('/b.bin');
    const off = e.dirent!.offset;
    new DataView(b.buffer, b.byteOffset + off + 28).setUint32(0, 50 * 1024 * 1024, true);
    expectExit3(
      await runCli(['cat', save('fatsize.img', b), '/b.bin']),
      /need \d+ clusters, the chain has \d+/,
    );
  });
});
