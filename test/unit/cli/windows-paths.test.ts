// At home on Windows (issue 10): drive-letter and UNC paths for images, parents and `scan DIR`, tested here with
// path.win32 standing in for node:path (what Node uses on Windows), so the same code the CLI runs on a Windows desk
// is exercised on Linux CI. And the --json output is what PowerShell's ConvertFrom-Json accepts.
import { spawnSync } from 'node:child_process';
import type { Dirent } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { findImages } from '../../../src/cli/commands/scan.js';
import { openImage } from '../../../src/image/open-image.js';
import type { BlockDevice } from '../../../src/io/block-device.js';
import { anyBasename, type FileAccess, isWindowsAbsolute } from '../../../src/io/file-access.js';
import { MemoryDevice } from '../../../src/io/memory-device.js';
import { NodeFileAccess } from '../../../src/io/node-file-access.js';
import { buildVhdx, MiB } from '../../helpers/vhdx-builder.js';

// Every module this file imports sees node:path as Node on Windows has it.
vi.mock('node:path', async () => {
  const actual = await vi.importActual<typeof import('node:path')>('node:path');
  return { ...actual.win32, default: actual.win32 };
});

// A template library on a share, as `scan \\fs01\library` would list it (readdir is the only call scan makes).
const SHARE: Record<string, [string, 'file' | 'dir'][]> = {
  '\\\\fs01\\library': [
    ['2019', 'dir'],
    ['README.txt', 'file'],
    ['base.VHDX', 'file'],
  ],
  '\\\\fs01\\library\\2019': [
    ['child.avhdx', 'file'],
    ['gen1.vhd', 'file'],
    ['notes', 'dir'],
  ],
  '\\\\fs01\\library\\2019\\notes': [['old.img', 'file']],
  'D:\\Templates': [['Server 2022.vhdx', 'file']],
};
vi.mock('node:fs', async () => {
  const actual = await vi.importActual<typeof import('node:fs')>('node:fs');
  const readdir = async (dir: string, opts?: unknown) => {
    const entries = SHARE[dir];
    if (!entries) return actual.promises.readdir(dir, opts as never);
    return entries.map(
      ([name, kind]) =>
        ({ name, isDirectory: () => kind === 'dir', isFile: () => kind === 'file' }) as unknown as Dirent,
    );
  };
  return { ...actual, default: actual, promises: { ...actual.promises, readdir } };
});

const access = new NodeFileAccess();

describe('parent locators resolved as on Windows (node-file-access.ts with path.win32)', () => {
  it('relative locators resolve beside a drive-letter child', () => {
    expect(access.resolveBeside('D:\\VMs\\child.avhdx', '.\\base.vhdx')).toBe('D:\\VMs\\base.vhdx');
    expect(access.resolveBeside('D:\\VMs\\child.avhdx', '..\\Templates\\base.vhdx')).toBe(
      'D:\\Templates\\base.vhdx',
    );
    expect(access.resolveBeside('D:/VMs/child.avhdx', 'base.vhdx')).toBe('D:\\VMs\\base.vhdx');
  });

  it('relative locators resolve beside a UNC child, never above the share', () => {
    expect(access.resolveBeside('\\\\fs01\\library\\2019\\child.avhdx', '.\\base.vhdx')).toBe(
      '\\\\fs01\\library\\2019\\base.vhdx',
    );
    expect(access.resolveBeside('\\\\fs01\\library\\2019\\child.avhdx', '..\\base.vhdx')).toBe(
      '\\\\fs01\\library\\base.vhdx',
    );
    // A UNC root (\\server\share\) is the top: `..` cannot climb out of the share into the server name.
    expect(access.resolveBeside('\\\\fs01\\library\\child.avhdx', '..\\..\\x.vhdx')).toBe(
      '\\\\fs01\\library\\x.vhdx',
    );
  });

  it('absolute Windows locators are used as they are (drive letter, UNC), the \\\\?\\ prefix dropped', () => {
    expect(access.resolveBeside('D:\\VMs\\child.avhdx', 'C:\\ClusterStorage\\Volume1\\base.vhdx')).toBe(
      'C:\\ClusterStorage\\Volume1\\base.vhdx',
    );
    expect(access.resolveBeside('D:\\VMs\\child.avhdx', '\\\\fs01\\library\\base.vhdx')).toBe(
      '\\\\fs01\\library\\base.vhdx',
    );
    expect(access.resolveBeside('D:\\VMs\\child.avhdx', '\\\\?\\C:\\VMs\\base.vhdx')).toBe(
      'C:\\VMs\\base.vhdx',
    );
    // The long-path UNC form is itself a valid Win32 path: it is kept, and Node opens it as it stands.
    expect(access.resolveBeside('D:\\VMs\\child.avhdx', '\\\\?\\UNC\\fs01\\library\\base.vhdx')).toBe(
      '\\\\?\\UNC\\fs01\\library\\base.vhdx',
    );
  });

  it('names and absolute forms are told apart in either syntax', () => {
    expect(access.basename('\\\\fs01\\library\\2019\\child.avhdx')).toBe('child.avhdx');
    expect(anyBasename('D:/VMs/base.vhdx')).toBe('base.vhdx');
    for (const p of ['C:\\x.vhdx', 'c:/x.vhdx', '\\\\fs01\\share\\x.vhdx', '\\\\?\\C:\\x.vhdx'])
      expect(isWindowsAbsolute(p)).toBe(true);
    for (const p of ['.\\x.vhdx', '..\\x.vhdx', 'x.vhdx', 'C:x.vhdx'])
      expect(isWindowsAbsolute(p)).toBe(false);
  });
});

describe('a differencing child on a share finds its parent as Hyper-V wrote it (vhd-vhdx.md §2.4)', () => {
  const base = buildVhdx({ size: 4 * MiB });
  const child = (locators: Record<string, string>) =>
    buildVhdx({ size: 4 * MiB, parent: { linkage: base.dataWriteGuid, locators } }).bytes;

  /** A FileAccess with Windows path rules over files held in memory; records every path opened. */
  function files(present: Record<string, Uint8Array>): FileAccess & { opened: string[] } {
    const opened: string[] = [];
    return {
      opened,
      open: async (p: string): Promise<BlockDevice | null> => {
        opened.push(p);
        const bytes = present[p];
        return bytes ? new MemoryDevice(bytes) : null;
      },
      resolveBeside: (f, r) => access.resolveBeside(f, r),
      basename: (p) => access.basename(p),
    };
  }

  it('through its absolute_win32_path when the relative one is not there', async () => {
    const bytes = child({
      relative_path: '.\\base.vhdx',
      absolute_win32_path: 'C:\\ClusterStorage\\Volume1\\Templates\\base.vhdx',
    });
    const fa = files({ 'C:\\ClusterStorage\\Volume1\\Templates\\base.vhdx': base.bytes });
    const image = await openImage(new MemoryDevice(bytes), {
      path: '\\\\fs01\\library\\2019\\child.avhdx',
      files: fa,
    });
    expect(image.info.parent?.path).toBe('C:\\ClusterStorage\\Volume1\\Templates\\base.vhdx');
    expect(fa.opened).toContain('\\\\fs01\\library\\2019\\base.vhdx');
    await image.close();
  });

  it('through its relative_path beside it on the share', async () => {
    const bytes = child({ relative_path: '..\\base.vhdx', absolute_win32_path: 'E:\\gone\\base.vhdx' });
    const fa = files({ '\\\\fs01\\library\\base.vhdx': base.bytes });
    const image = await openImage(new MemoryDevice(bytes), {
      path: '\\\\fs01\\library\\2019\\child.avhdx',
      files: fa,
    });
    expect(image.info.parent?.path).toBe('\\\\fs01\\library\\base.vhdx');
    await image.close();
  });

  it('a missing parent names the Windows paths it tried', async () => {
    const bytes = child({ relative_path: '.\\base.vhdx', absolute_win32_path: 'C:\\VMs\\base.vhdx' });
    const fa = files({});
    const err = await openImage(new MemoryDevice(bytes), { path: 'D:\\VMs\\child.avhdx', files: fa }).then(
      () => null,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(err?.code).toBe('VHDX_PARENT_MISSING');
    expect(err?.message).toContain('D:\\VMs\\base.vhdx');
    expect(err?.message).toContain('C:\\VMs\\base.vhdx');
  });
});

describe('scan DIR on a UNC share or a drive letter (scan.ts findImages with path.win32)', () => {
  it('lists images depth-first in name order, with Windows paths, relative names as the table prints them', async () => {
    const dir = '\\\\fs01\\library';
    const found = await findImages(dir);
    expect(found).toEqual([
      '\\\\fs01\\library\\2019\\child.avhdx',
      '\\\\fs01\\library\\2019\\gen1.vhd',
      '\\\\fs01\\library\\2019\\notes\\old.img',
      '\\\\fs01\\library\\base.VHDX',
    ]);
    const { win32 } = await vi.importActual<typeof import('node:path')>('node:path');
    expect(found.map((p) => win32.relative(dir, p))).toEqual([
      '2019\\child.avhdx',
      '2019\\gen1.vhd',
      '2019\\notes\\old.img',
      'base.VHDX',
    ]);
  });

  it('a drive-letter folder with spaces in names', async () => {
    expect(await findImages('D:\\Templates')).toEqual(['D:\\Templates\\Server 2022.vhdx']);
  });
});

/** Keys PowerShell's ConvertFrom-Json refuses: empty names, and names equal but for case (it is case-insensitive). */
function powershellTrouble(value: unknown, at = '$'): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => powershellTrouble(v, `${at}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  const out: string[] = [];
  const seen = new Map<string, string>();
  for (const [k, v] of Object.entries(value)) {
    if (k === '') out.push(`${at}: empty property name`);
    const lower = k.toLowerCase();
    if (seen.has(lower)) out.push(`${at}: "${seen.get(lower)}" and "${k}" differ only in case`);
    seen.set(lower, k);
    out.push(...powershellTrouble(v, `${at}.${k}`));
  }
  return out;
}

describe('--json that PowerShell ConvertFrom-Json reads', () => {
  // node:path is win32 in this file (and in helpers/env.ts's REPO): the real paths come from URLs.
  const at = (rel: string) => fileURLToPath(new URL(`../../../${rel}`, import.meta.url));
  const cli = at('dist/cli.cjs');
  const sample = at('samples/template.vhd');
  for (const args of [
    ['preflight', '--json', sample],
    ['bcd', '--json', sample],
    ['info', '--json', sample],
    ['scan', '--json', at('samples')],
  ]) {
    it(`bootprobe ${args.slice(0, 2).join(' ')}: plain JSON, no empty or case-twin property names`, () => {
      const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
      expect(r.stderr).not.toContain('error');
      // UTF-8 without a byte-order mark, one JSON value (what ConvertFrom-Json parses from a pipeline).
      expect(r.stdout.charCodeAt(0)).not.toBe(0xfeff);
      const value = JSON.parse(r.stdout);
      expect(powershellTrouble(value)).toEqual([]);
    });
  }

  it('the check catches what PowerShell would refuse', () => {
    expect(powershellTrouble({ a: { Path: 1, path: 2 }, b: [{ '': 1 }] })).toEqual([
      '$.a: "Path" and "path" differ only in case',
      '$.b[0]: empty property name',
    ]);
  });
});
