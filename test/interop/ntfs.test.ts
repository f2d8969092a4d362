// The NTFS reader against independent oracles run now: The Sleuth Kit (fls -r -p, icat) and ntfs-3g's ntfscat, on
// the scripts/fixtures/ntfs.sh volumes and on the Windows-made corpus volumes.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FsEntry } from '../../src/fs/file-system.js';
import { type NtfsFileSystem, openNtfs } from '../../src/fs/ntfs/ntfs.js';
import { MemoryDevice } from '../../src/io/memory-device.js';
import { SliceDevice } from '../../src/io/slice-device.js';
import { corpus, requireTool, tempDir } from '../helpers/env.js';
import { image, parseFls, VOLUMES } from '../unit/fs/ntfs/fixture.js';

const t = tempDir();
afterAll(() => t.cleanup());
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { maxBuffer: 1 << 28 });

interface Target {
  name: string;
  /** Whole image file for the tools. */
  file: string;
  /** Volume start in 512-byte sectors (fls/icat -o). */
  sectors: number;
  size: number;
}

async function walk(fs: NtfsFileSystem): Promise<Map<string, FsEntry>> {
  const out = new Map<string, FsEntry>();
  const rec = async (d: FsEntry) => {
    for (const e of await fs.list(d)) {
      out.set(e.path.slice(1), e);
      if (e.isDirectory) await rec(e);
    }
  };
  await rec(await fs.root());
  return out;
}

const targets: Target[] = [];
beforeAll(() => {
  for (const tool of ['fls', 'icat', 'ntfscat']) requireTool(tool);
  for (const v of VOLUMES) {
    const file = path.join(t.dir, `${v}.img`);
    const b = image(v);
    writeFileSync(file, b);
    targets.push({ name: v, file, sectors: 0, size: b.length });
  }
  targets.push({
    name: 'dfir',
    file: corpus('ntfs/dfirntfs-ntfs_index-mbr-disk.raw'),
    sectors: 128,
    size: 59392 * 512,
  });
  targets.push({ name: 'sdi', file: corpus('ntfs/msmedia-boot.sdi'), sectors: 16, size: 0x303c00 });
});

const openTarget = (x: Target) =>
  openNtfs(new SliceDevice(new MemoryDevice(new Uint8Array(readFileSync(x.file))), x.sectors * 512, x.size));

describe('recursive listing and contents equal fls -r -p and icat (The Sleuth Kit)', () => {
  for (const name of [...VOLUMES, 'dfir', 'sdi']) {
    it(`${name}: same paths and types as fls; every file's and stream's bytes equal icat's`, async () => {
      const x = targets.find((y) => y.name === name)!;
      const theirs = parseFls(
        run('fls', ['-o', String(x.sectors), '-r', '-p', '-l', x.file]).toString('utf8'),
      );
      const fs = await openTarget(x);
      const ours = await walk(fs);
      expect([...ours.keys()].sort()).toEqual([...new Set(theirs.map((l) => l.base))].sort());
      let n = 0;
      for (const l of theirs) {
        const e = ours.get(l.base)!;
        expect(e.isDirectory, l.path).toBe(l.type === 'd');
        if (l.type !== 'r') continue;
        if (l.stream === null && !l.base.startsWith('$')) expect(e.size, l.path).toBe(l.size);
        // fls lists named index roots ($Secure:$SDH...) as streams, and icat prints nothing for the volume-sized
        // sparse $BadClus:$Bad: neither is a data stream to compare.
        if (l.path === '$BadClus:$Bad' || (l.stream !== null && !e.streams.some((s) => s.name === l.stream)))
          continue;
        const r = await fs.openFile(e, l.stream ?? undefined);
        const want = run('icat', ['-o', String(x.sectors), x.file, l.addr]);
        expect(sha(await r.read(0, r.size)), l.path).toBe(sha(want));
        n++;
      }
      expect(n).toBeGreaterThanOrEqual(10);
    });
  }
});

describe('contents equal ntfscat (ntfs-3g)', () => {
  const samples: Record<string, [string, string?][]> = {
    'ntfs-a': [
      ['/big.bin'],
      ['/frag-1.bin'],
      ['/sparse.bin'],
      ['/comp/text.txt'],
      ['/comp/random.bin'],
      ['/comp/zeros-and-text.bin'],
      ['/ads.txt', 'big stream'],
      ['/Système – ünïcødé ✓.txt'],
    ],
    'ntfs-b': [['/big.bin'], ['/sparse.bin'], ['/ads.txt', 'Zone.Identifier'], ['/many/file-0700.txt']],
    'ntfs-c': [['/sparse-runs.bin'], ['/comp/text.txt']],
  };
  for (const [name, files] of Object.entries(samples)) {
    it(`${name}: ${files.length} files and streams, by path`, async () => {
      const x = targets.find((y) => y.name === name)!;
      const fs = await openTarget(x);
      for (const [p, stream] of files) {
        const e = await fs.lookup(p);
        const args = stream ? ['-a', '0x80', '-n', stream, '-i', String(e.id), x.file] : [x.file, p];
        const want = run('ntfscat', args);
        const r = await fs.openFile(e, stream);
        expect(sha(await r.read(0, r.size)), `${p}${stream ? `:${stream}` : ''}`).toBe(sha(want));
      }
    });
  }
});
