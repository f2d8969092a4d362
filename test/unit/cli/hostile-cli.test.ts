// The CLI on damaged images: exit 0 or 3, one line on stderr, never a stack trace (issue 2 "Must show").
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { REPO, tempDir } from '../../helpers/env.js';
import { gunzipFile } from '../../helpers/gunzip.js';
import { fixtureBytes, manifest } from '../image/helpers.js';

const t = tempDir();
afterAll(() => t.cleanup());

function expectCleanFailure(r: { code: number; stderr: string }) {
  expect([0, 3]).toContain(r.code);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr).not.toMatch(/unexpected failure/);
  if (r.code === 3)
    expect(
      r.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('bootprobe: error:')),
    ).toHaveLength(1);
}

describe('CLI on truncated and corrupted copies of every image fixture', () => {
  for (const name of Object.keys(manifest)) {
    it(`${name}`, async () => {
      const bytes = fixtureBytes(name);
      const variants: [string, Uint8Array][] = [
        ['head', bytes.slice(0, 70000)],
        ['half', bytes.slice(0, bytes.length >> 1)],
        ['minus1', bytes.slice(0, bytes.length - 1)],
        [
          'zeroed-header',
          (() => {
            const b = bytes.slice();
            b.fill(0, 65536, 65536 + 4096);
            b.fill(0, 512, 1024);
            return b;
          })(),
        ],
        [
          'metadata-garbage',
          (() => {
            const b = bytes.slice();
            for (let i = 0; i < 4096; i++)
              b[(3 << 20) + i * 7 < b.length ? (3 << 20) + i * 7 : i] = (i * 151) & 0xff;
            return b;
          })(),
        ],
      ];
      for (const [label, data] of variants) {
        const p = path.join(t.dir, `${label}-${name}`);
        writeFileSync(p, data);
        expectCleanFailure(await runCli(['info', p]));
        expectCleanFailure(await runCli(['convert', '--force', p, `${p}.raw`]));
      }
    });
  }
});

describe('the built CLI (bin/bootprobe.cjs → dist/cli.cjs)', () => {
  it('starts, prints help and reads the shipped sample', () => {
    const bin = path.join(REPO, 'bin/bootprobe.cjs');
    expect(execFileSync(process.execPath, [bin, '--help'], { encoding: 'utf8' })).toMatch(/Usage: bootprobe/);
    const out = execFileSync(
      process.execPath,
      [bin, 'info', '--json', path.join(REPO, 'samples/template.vhd')],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toMatchObject({
      format: 'vhd',
      variant: 'dynamic',
      scheme: 'mbr',
      diskSignature: '0xa9083c0a',
    });
  });

  it('a package without its built launcher says how to build it (exit 2), not a stack trace', () => {
    mkdirSync(path.join(t.dir, 'pkg', 'bin'), { recursive: true });
    const bin = path.join(t.dir, 'pkg', 'bin', 'bootprobe.cjs');
    copyFileSync(path.join(REPO, 'bin/bootprobe.cjs'), bin);
    const r = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      'bootprobe: error: dist/cli.cjs is missing; run `npm run build` in the package folder\n',
    );
  });

  // /dev/full (Linux) fails every write with ENOSPC.
  it.runIf(existsSync('/dev/full'))('a full output disk is one line naming standard output, exit 3', () => {
    const bin = path.join(REPO, 'bin/bootprobe.cjs');
    const sample = path.join(REPO, 'samples/template.vhd');
    const r = spawnSync(
      'sh',
      ['-c', `"${process.execPath}" "${bin}" cat "${sample}" /Boot/BCD > /dev/full`],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/^bootprobe: error: cannot write to standard output: ENOSPC[^\n]*\n$/);
  });

  it('a reader that goes away (| head) ends the listing quietly, no stack trace', () => {
    // A listing far larger than a pipe buffer, so the writer is still writing when head exits (EPIPE).
    const img = path.join(t.dir, 'big-listing.img');
    writeFileSync(img, gunzipFile(path.join(REPO, 'test/fixtures/fs/ntfs-512.img.gz')));
    const bin = path.join(REPO, 'bin/bootprobe.cjs');
    const r = spawnSync('sh', ['-c', `"${process.execPath}" "${bin}" ls -R -l "${img}" | head -1`], {
      encoding: 'utf8',
    });
    expect(r.stdout.trim()).not.toBe('');
    expect(r.stderr).toBe('');
  });

  it('a bad image gives exit 3 and one line, from the real process', () => {
    const p = path.join(t.dir, 'bad.vhdx');
    writeFileSync(p, Buffer.concat([Buffer.from('vhdxfile'), Buffer.alloc(2 << 20)]));
    try {
      execFileSync(process.execPath, [path.join(REPO, 'bin/bootprobe.cjs'), 'info', p], {
        encoding: 'utf8',
        stdio: 'pipe',
      });
      expect.fail('expected exit 3');
    } catch (e) {
      const err = e as { status: number; stderr: string };
      expect(err.status).toBe(3);
      expect(err.stderr.trim().split('\n')).toHaveLength(1);
      expect(err.stderr).toMatch(/VHDX header/);
    }
  });
});
