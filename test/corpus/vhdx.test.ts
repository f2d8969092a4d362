// Every VHDX in ../shared/corpus/vhdx read or refused as MANIFEST.md says.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { BootprobeError } from '../../src/errors.js';
import { openVhdx } from '../../src/image/vhdx/vhdx-image.js';
import { FileDevice } from '../../src/io/file-device.js';
import { NodeFileAccess } from '../../src/io/node-file-access.js';
import { runCli } from '../helpers/cli.js';
import { corpus, tempDir } from '../helpers/env.js';

const t = tempDir();
afterAll(() => t.cleanup());

/** Path of a corpus VHDX, gunzipped into a temp folder when it is kept compressed. */
function vhdx(name: string): string {
  const p = corpus(`vhdx/${name}`);
  if (!name.endsWith('.gz')) return p;
  const out = path.join(t.dir, name.slice(0, -3));
  writeFileSync(out, gunzipSync(readFileSync(p)));
  return out;
}

async function rawSha(p: string): Promise<string> {
  const out = path.join(t.dir, `${path.basename(p)}.raw`);
  const r = await runCli(['convert', '--force', p, out]);
  expect(r.code, r.stderr).toBe(0);
  return createHash('sha256').update(readFileSync(out)).digest('hex');
}

async function infoJson(p: string) {
  const r = await runCli(['info', '--json', p]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe('corpus VHDX with a log to replay (MANIFEST.md "VHDX with a log that must be replayed")', () => {
  it('qemu-dirtylog-w8.vhdx: the pending entry is replayed in memory; the disk equals the truth', async () => {
    const p = vhdx('qemu-dirtylog-w8.vhdx');
    const before = createHash('sha256').update(readFileSync(p)).digest('hex');
    const info = await infoJson(p);
    expect(info).toMatchObject({ format: 'vhdx', variant: 'dynamic', virtualSize: 64 * 1024 * 1024 });
    expect(info.details.logState).toBe('replayed in memory');
    expect(await rawSha(p)).toBe('218e21b2c60a653a2fa541dcabebc443c411c6a3879532c930256d215f47d7b7');
    // The file is never modified by reading it.
    expect(createHash('sha256').update(readFileSync(p)).digest('hex')).toBe(before);
    expect(before).toBe('6369bff636c5f14c91a1488a5806e5ec74a942df852becc82c9588c2bcb3c398');
  });

  it('qemu-dirtylog-w13.vhdx: the only entry carries an older LogGuid, so nothing is replayed', async () => {
    const p = vhdx('qemu-dirtylog-w13.vhdx');
    expect((await infoJson(p)).details.logState).toBe('logguid set, nothing to replay');
    expect(await rawSha(p)).toBe('218e21b2c60a653a2fa541dcabebc443c411c6a3879532c930256d215f47d7b7');
  });

  it('qemu-logguid-empty-log.vhdx: LogGuid set, no valid entry: nothing to replay', async () => {
    const p = vhdx('qemu-logguid-empty-log.vhdx');
    expect((await infoJson(p)).details.logState).toBe('logguid set, nothing to replay');
    expect(await rawSha(p)).toBe('3b6a07d0d404fab4e23b6d34bc6696a6a312dd92821332385e5af7c01c421351');
  });

  it('--strict refuses a pending log instead of replaying it', async () => {
    const r = await runCli(['--strict', 'info', vhdx('qemu-dirtylog-w8.vhdx')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/log .* is pending/);
  });
});

describe('corpus VHDX made by Hyper-V (MANIFEST.md)', () => {
  it('hyperv-fixed.vhdx: 10 MiB fixed, 2 MiB blocks, the stale log is not replayed', async () => {
    const p = vhdx('hyperv-fixed.vhdx.gz');
    const info = await infoJson(p);
    expect(info).toMatchObject({
      format: 'vhdx',
      variant: 'fixed',
      virtualSize: 10 * 1024 * 1024,
      blockSize: 2 * 1024 * 1024,
    });
    expect(info.creator).toBe('Microsoft Windows 10.0.18363.0');
    expect(info.details.logState).toBe('clean');
    expect(await rawSha(p)).toBe('bc0be4623b15aa84216fb31ba24e3b621ec7f1c72d198c990ac0eced222d9f62');
    expect(info.scheme).toBe('mbr');
    expect(info.partitions).toMatchObject([{ index: 1, start: 128 * 512, filesystem: 'ntfs' }]);
  });

  it('hyperv-dynamic.vhdx: 10 MiB dynamic, 32 MiB blocks', async () => {
    const p = vhdx('hyperv-dynamic.vhdx.gz');
    const info = await infoJson(p);
    expect(info).toMatchObject({
      format: 'vhdx',
      variant: 'dynamic',
      virtualSize: 10 * 1024 * 1024,
      blockSize: 32 * 1024 * 1024,
    });
    expect(await rawSha(p)).toBe('8e2b5e9265d694b42b81819e3bff29770eff4ed0f4f9f311693ff3dbdc93efac');
  });

  it('hyperv-differencing.avhdx: the absent parent is exit 3 naming every path tried', async () => {
    const p = vhdx('hyperv-differencing.avhdx.gz');
    const r = await runCli(['info', p]);
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const name = 'Generation 1_49C4BAF3-4B25-4406-8C4B-D39E65C32385.avhdx';
    expect(r.stderr).toContain(path.join(path.dirname(p), name));
    expect(r.stderr).toContain('relative_path');
    expect(r.stderr).toContain('volume_path');
    expect(r.stderr).toContain(`C:/Users/Public/Documents/Hyper-V/Virtual hard disks/${name}`);
    expect(r.stderr).toMatch(/--parent/);
  });
});

describe('corpus VHDX through the library (openVhdx): findings, details and the missing-parent error data', () => {
  const openFile = async (p: string) =>
    openVhdx(await FileDevice.open(p), { path: p, files: new NodeFileAccess() });

  it('qemu-dirtylog-w8.vhdx: one entry replayed in memory, reported as a finding', async () => {
    const img = await openFile(vhdx('qemu-dirtylog-w8.vhdx'));
    expect(img.warnings).toMatchObject([
      { code: 'VHDX_LOG_PENDING', message: expect.stringMatching(/1 entry replayed in memory/) },
    ]);
    expect(img.info.details).toMatchObject({
      logState: 'replayed in memory',
      logOffset: 1 << 20,
      batOffset: 2 << 20,
    });
    expect(img.info.creator).toBe('QEMU v7.2.22');
    await img.close();
  });

  it('hyperv-fixed and hyperv-dynamic: clean, no findings, LogGuid zero although the log holds old entries', async () => {
    for (const name of ['hyperv-fixed.vhdx.gz', 'hyperv-dynamic.vhdx.gz']) {
      const img = await openFile(vhdx(name));
      expect(img.warnings).toEqual([]);
      expect(img.info.details).toMatchObject({
        logState: 'clean',
        logGuid: '00000000-0000-0000-0000-000000000000',
      });
      expect(img.info.creator).toBe('Microsoft Windows 10.0.18363.0');
      await img.close();
    }
  });

  it('hyperv-differencing.avhdx: VHDX_PARENT_MISSING carrying the expected parent id and every locator', async () => {
    const p = vhdx('hyperv-differencing.avhdx.gz');
    let err: unknown;
    try {
      await openFile(p);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BootprobeError);
    const e = err as BootprobeError;
    expect(e.code).toBe('VHDX_PARENT_MISSING');
    expect(e.data?.expectedId).toBe('ff34003b-11ed-4cf8-a166-b2be05e20b80');
    const locators = e.data?.locators as { kind: string; value: string }[];
    expect(locators.map((l) => l.kind)).toEqual(
      expect.arrayContaining(['parent_linkage', 'relative_path', 'volume_path', 'absolute_win32_path']),
    );
    expect(locators.find((l) => l.kind === 'absolute_win32_path')?.value).toMatch(
      /Generation 1_49C4BAF3-4B25-4406-8C4B-D39E65C32385\.avhdx$/,
    );
    expect((e.data?.tried as string[]).length).toBeGreaterThanOrEqual(3);
  });
});
