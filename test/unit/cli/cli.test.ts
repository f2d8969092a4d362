import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/env.js';

describe('CLI contract — exit codes and error lines (DESIGN.md "Command line")', () => {
  it('--help exits 0 and lists the commands', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['info', 'convert']) expect(r.stdout).toContain(c);
  });

  it('--help lists all fourteen commands, though a run defines only the one it names', async () => {
    const r = await runCli(['--help']);
    const commands = r.stdout.slice(r.stdout.indexOf('Commands:'));
    const listed = commands.match(/^ {2}([a-z-]+) /gm)?.map((l) => l.trim()) ?? [];
    expect(listed).toEqual([
      'info',
      'convert',
      'create-child',
      'ls',
      'cat',
      'stat',
      'extract',
      'bcd',
      'pe',
      'preflight',
      'scan',
      'repair',
      'undo',
      'reg',
      'help',
    ]);
    // A command's own help, with the global options before it (--parent's value is not taken for the command).
    const cat = await runCli(['--stats', '--parent', 'ls', 'cat', '--help']);
    expect(cat.code).toBe(0);
    expect(cat.stdout).toMatch(/^Usage: bootprobe cat \[options\] <image> <path>/);
    expect(cat.stdout).toContain('--partition <n>');
  });

  it('a misspelt command gets the nearest name (the whole program is built for it)', async () => {
    const r = await runCli(['prefligt', 'x.vhd']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'prefligt'/);
    expect(r.stderr).toMatch(/Did you mean preflight\?/);
  });

  it('an unknown command or missing argument is a usage error, exit 2', async () => {
    expect((await runCli(['frobnicate'])).code).toBe(2);
    expect((await runCli(['info'])).code).toBe(2);
  });

  it('a missing image is exit 3 with one line and no stack trace', async () => {
    const r = await runCli(['info', '/nonexistent/disk.vhdx']);
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^bootprobe: error: .*no such file/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('--stats prints bytes and requests read on stderr', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const p = path.join(dir, 'zero.img');
      writeFileSync(p, new Uint8Array(1 << 20));
      const r = await runCli(['--stats', 'info', '--json', p]);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/^stats: bytesRead=\d+ reads=\d+$/m);
      const info = JSON.parse(r.stdout);
      expect(info).toMatchObject({
        format: 'raw',
        variant: null,
        virtualSize: 1 << 20,
        logicalSectorSize: 512,
        parent: null,
      });
    } finally {
      cleanup();
    }
  });

  it('convert refuses to overwrite an existing output (exit 4) unless --force', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const src = path.join(dir, 'a.img');
      const out = path.join(dir, 'b.raw');
      writeFileSync(
        src,
        Uint8Array.from({ length: 1 << 16 }, (_, i) => i & 0xff),
      );
      writeFileSync(out, 'x');
      expect((await runCli(['convert', src, out])).code).toBe(4);
      expect((await runCli(['convert', '--force', src, out])).code).toBe(0);
    } finally {
      cleanup();
    }
  });
});
