// A 50,000-file NTFS volume made by mkntfs + ntfs-3g: `cat` of one file deep inside reads a few hundred KB, because
// lookups walk the $I30 B-trees and never scan the MFT (issue 3 "Must show").
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { REPO, requireTool, tempDir } from '../helpers/env.js';

const t = tempDir();
const img = path.join(t.dir, 'big.img');
const mnt = path.join(t.dir, 'mnt');

beforeAll(() => {
  for (const tool of ['mkntfs', 'ntfs-3g', 'python3']) requireTool(tool);
  execFileSync('truncate', ['-s', '400M', img]);
  execFileSync('mkntfs', ['-q', '-F', '-Q', '-L', 'large', img], { stdio: 'ignore' });
  execFileSync('mkdir', ['-p', mnt]);
  execFileSync('ntfs-3g', [img, mnt]);
  try {
    // 10 directories of 5,000 files, plus one deep path.
    execFileSync('python3', [
      '-c',
      `
import os, sys
root = sys.argv[1]
for d in range(10):
    p = os.path.join(root, 'Windows', 'dir%02d' % d)
    os.makedirs(p)
    for i in range(5000):
        with open(os.path.join(p, 'file-%05d.dll' % i), 'w') as f:
            f.write('%d %d\\n' % (d, i))
deep = os.path.join(root, 'Windows', 'System32', 'drivers', 'etc')
os.makedirs(deep)
open(os.path.join(deep, 'hosts'), 'w').write('127.0.0.1 localhost\\n')
# A file of three 4 MiB chunks and a piece: cat and extract stream it through reused buffers.
import random
random.seed(7)
open(os.path.join(root, 'Windows', 'big.bin'), 'wb').write(random.randbytes(3 * 4194304 + 12345))
`,
      mnt,
    ]);
  } finally {
    execFileSync('umount', [mnt]);
  }
}, 600000);
afterAll(() => t.cleanup());

describe('a file deep in a 50,000-file NTFS volume', () => {
  it('cat reads a few hundred KB at most (--stats), not the MFT', async () => {
    for (const p of ['/Windows/dir07/file-04321.dll', '/windows/system32/DRIVERS/etc/hosts']) {
      const r = await runCli(['--stats', 'cat', img, p]);
      expect(r.code, r.stderr).toBe(0);
      const m = /stats: bytesRead=(\d+) reads=(\d+)/.exec(r.stderr)!;
      expect(Number(m[1])).toBeLessThan(400 * 1024);
    }
    expect((await runCli(['cat', img, '/Windows/dir07/file-04321.dll'])).stdout).toBe('7 4321\n');
  });

  it('cat and extract of a 12 MiB file (three chunks and a piece) give the bytes ntfscat gives', async () => {
    requireTool('ntfscat');
    const want = execFileSync('ntfscat', [img, '/Windows/big.bin'], { maxBuffer: 1 << 26 });
    expect(want.length).toBe(3 * 4194304 + 12345);
    const r = await runCli(['cat', img, '/Windows/big.bin']);
    expect(r.code, r.stderr).toBe(0);
    expect(Buffer.compare(Buffer.from(r.stdoutBytes), want)).toBe(0);
    const dest = path.join(t.dir, 'big.out');
    expect((await runCli(['extract', img, '/Windows/big.bin', dest])).code).toBe(0);
    expect(Buffer.compare(readFileSync(dest), want)).toBe(0);
  });

  it('the real process writes those bytes to a file, a pipe, and a non-blocking pipe read late (src/cli/fd-out.ts)', () => {
    const want = execFileSync('ntfscat', [img, '/Windows/big.bin'], { maxBuffer: 1 << 26 });
    const bin = path.join(REPO, 'bin/bootprobe.cjs');
    const args = [process.execPath, bin, 'cat', img, '/Windows/big.bin'];
    // A file (the shell's >) and a pipe (this test's own stdout capture).
    const file = path.join(t.dir, 'cat.out');
    execFileSync('sh', ['-c', '"$@" > "$0"', file, ...args]);
    expect(Buffer.compare(readFileSync(file), want)).toBe(0);
    expect(Buffer.compare(execFileSync(args[0]!, args.slice(1), { maxBuffer: 1 << 26 }), want)).toBe(0);
    // A pipe its parent left O_NONBLOCK, read only after half a second: writes would block, and the rest goes
    // through Node's stream, which waits.
    const digest = execFileSync(
      'python3',
      [
        '-c',
        `
import fcntl, hashlib, os, subprocess, sys, time
r, w = os.pipe()
fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)
p = subprocess.Popen(sys.argv[1:], stdout=w)
os.close(w)
time.sleep(0.5)
h = hashlib.sha256()
while True:
    d = os.read(r, 65536)
    if not d: break
    h.update(d)
print(p.wait(), h.hexdigest())
`,
        ...args,
      ],
      { encoding: 'utf8' },
    );
    expect(digest.trim()).toBe(`0 ${createHash('sha256').update(want).digest('hex')}`);
  });

  it('ls -R lists all 50,000 files', async () => {
    const r = await runCli(['ls', '-R', img, '/Windows']);
    expect(r.stdout.split('\n').filter((l) => l.endsWith('.dll'))).toHaveLength(50000);
  });
});
