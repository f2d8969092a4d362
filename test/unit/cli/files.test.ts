// ls, cat, stat and extract end to end (issue 3), on the sample template and the fs fixtures.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { FIXTURES, REPO, tempDir } from '../../helpers/env.js';
import { gunzipFile } from '../../helpers/gunzip.js';

const t = tempDir();
afterAll(() => t.cleanup());
const sample = path.join(REPO, 'samples/template.vhd');
function fixture(name: string, patch?: (b: Uint8Array) => void): string {
  const b = gunzipFile(path.join(FIXTURES, 'fs', `${name}.img.gz`));
  patch?.(b);
  const p = path.join(t.dir, `${name}${patch ? '-patched' : ''}.img`);
  writeFileSync(p, b);
  return p;
}

describe('ls', () => {
  it('lists the root of the only volume of a VHDX, directories with a slash', async () => {
    const r = await runCli(['ls', sample]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual(expect.arrayContaining(['Boot/', 'README.txt', 'Windows/']));
  });

  it('-R lists the tree with paths, -l adds attributes, size and time', async () => {
    const r = await runCli(['ls', '-R', '-l', sample, '\\windows']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^-+a-+ +70000 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d System32\/big\.dat$/m);
    expect(r.stdout).toMatch(/Setup\/State\/State\.ini$/m);
  });

  it('--json gives entries with type, size and times', async () => {
    const r = await runCli(['ls', '--json', sample, 'Windows/Setup/State']);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ filesystem: 'ntfs', label: 'System Reserved' });
    expect(j.entries).toEqual([
      expect.objectContaining({
        name: 'State.ini',
        type: 'file',
        size: 42,
        path: '/Windows/Setup/State/State.ini',
      }),
    ]);
  });

  it('a path that names nothing is exit 2; -p past the table is exit 2 listing the partitions', async () => {
    const r = await runCli(['ls', sample, '/nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no such file or directory/);
    const p = await runCli(['ls', '-p', '3', sample]);
    expect(p.code).toBe(2);
    expect(p.stderr).toMatch(/partitions: 1 \(HPFS\/NTFS\/exFAT/);
  });

  it('a bare FAT volume with no partition table is read as one volume', async () => {
    const r = await runCli(['ls', fixture('fat12'), '/EFI/Microsoft/Boot']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('BCD');
  });
});

describe('tree walks — the entry point may bound the heap (CliIo.treeWalk, issue 7)', () => {
  it('ls -l and extract -R announce their walk before reading; ls -R (names only), cat and stat do not', async () => {
    const calls: string[] = [];
    const as = (name: string) => ({
      treeWalk: async () => {
        calls.push(name);
      },
    });
    const dest = path.join(t.dir, 'walk');
    for (const [name, args] of [
      ['ls -l', ['ls', '-l', sample]],
      ['ls -R -l', ['ls', '-R', '-l', sample]],
      ['extract -R', ['extract', '-R', sample, '\\Windows\\Setup', dest]],
      ['ls -R', ['ls', '-R', sample]],
      ['cat', ['cat', sample, '\\README.txt']],
      ['stat', ['stat', sample, '\\README.txt']],
      ['extract', ['extract', sample, '\\README.txt', dest]],
    ] as const) {
      const r = await runCli([...args], as(name));
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
    }
    expect(calls).toEqual(['ls -l', 'ls -R -l', 'extract -R']);
  });
});

describe('cat and stat', () => {
  it('cat writes the exact bytes, and file:stream reads an NTFS alternate data stream', async () => {
    const img = fixture('ntfs-512');
    const r = await runCli(['cat', img, '/ads.txt']);
    expect(r.stdout).toBe('main data\n');
    const s = await runCli(['cat', img, '/ADS.TXT:Zone.Identifier']);
    expect(s.stdout).toBe('[ZoneTransfer] ZoneId=3');
    const big = await runCli(['cat', img, '/Windows/System32/kernel.bin']);
    expect(big.stdoutBytes.length).toBe(300000);
  });

  it('cat of a directory is exit 2', async () => {
    expect((await runCli(['cat', sample, '/Windows'])).code).toBe(2);
  });

  it('stat shows every NTFS attribute and the FAT directory entry', async () => {
    const n = await runCli(['stat', '--json', sample, '/README.txt']);
    const j = JSON.parse(n.stdout);
    expect(j.details.attributes.map((a: { type: string }) => a.type)).toEqual([
      '$STANDARD_INFORMATION',
      '$FILE_NAME',
      '$SECURITY_DESCRIPTOR',
      '$DATA',
    ]);
    const f = await runCli(['stat', fixture('fat16'), '/c-fragmented.bin']);
    expect(f.code).toBe(0);
    expect(f.stdout).toMatch(/firstCluster: \d+/);
    expect(f.stdout).toMatch(/clusterRuns:/);
  });
});

describe('extract — never writes outside DEST (issue 3)', () => {
  it('copies one file, keeping its modification time', async () => {
    const dest = path.join(t.dir, 'one');
    const r = await runCli(['extract', sample, '/Windows/Setup/State/State.ini', dest]);
    expect(r.code).toBe(0);
    expect(readFileSync(dest, 'utf8')).toBe('[State]\r\nImageState=IMAGE_STATE_COMPLETE\r\n');
    const ls = JSON.parse((await runCli(['ls', '--json', sample, '/Windows/Setup/State/State.ini'])).stdout);
    expect(Math.abs(statSync(dest).mtime.getTime() - Date.parse(ls.entries[0].modified))).toBeLessThan(1000);
  });

  it('-R copies a tree; without -R a directory is refused', async () => {
    const dest = path.join(t.dir, 'tree');
    expect((await runCli(['extract', sample, '/Windows', dest])).code).toBe(2);
    const r = await runCli(['extract', '-R', sample, '/Windows', dest]);
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(dest, 'Windows/System32/big.dat')).length).toBe(70000);
  });

  it('a name holding ../ separators is written inside DEST under a safe name, and reported', async () => {
    // Rewrite the long name of "MixedCase Long Name.Text" in the FAT16 root to start with "../../../evil".
    const img = fixture('fat16', (b) => {
      const needle = [0x4d, 0, 0x69, 0, 0x78, 0, 0x65, 0, 0x64, 0]; // "Mixed" in UTF-16LE, as the first LFN part holds it
      for (let i = 0; i < b.length - 32; i += 32) {
        if (b[i + 11] === 0x0f && needle.every((x, k) => b[i + 1 + k] === x)) {
          const evil = '../../';
          for (let k = 0; k < 5; k++) b[i + 1 + 2 * k] = evil.charCodeAt(k);
          return;
        }
      }
      throw new Error('LFN entry not found');
    });
    const listed = await runCli(['ls', img]);
    expect(listed.stdout).toContain('../..Case Long Name.Text');
    const dest = path.join(t.dir, 'safe');
    const r = await runCli(['extract', '-R', img, '/', dest]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("name written as '.._..Case Long Name.Text'");
    expect(readdirSync(dest)).toContain('.._..Case Long Name.Text');
    expect(existsSync(path.join(t.dir, '..Case Long Name.Text'))).toBe(false);
  });
});
