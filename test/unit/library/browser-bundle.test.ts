// The core runs in a browser (issue 10; DESIGN.md "Layers"): the browser entry, and every core module on its own,
// bundle with esbuild's browser platform, where a Node built-in cannot be resolved. A `node:` import anywhere in
// the core therefore fails this test, not a user's bundler. The Node-only modules are named here, and the control
// case shows that bundling one of them does fail.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { REPO } from '../../helpers/env.js';

const SRC = path.join(REPO, 'src');
/** The modules allowed to import Node (helper rules; DESIGN.md): the file backends, the Node entry, the CLI. */
const NODE_ONLY = new Set(['io/file-device.ts', 'io/node-file-access.ts', 'node.ts']);
const isNodeOnly = (rel: string) => rel.startsWith('cli/') || NODE_ONLY.has(rel);

function sources(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) out.push(path.relative(SRC, p).split(path.sep).join('/'));
    }
  };
  walk(SRC);
  return out.sort();
}

const bundle = (entryPoints: string[]) =>
  build({
    entryPoints,
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    outdir: '/virtual-out',
    logLevel: 'silent',
  });

describe('browser bundle — no Node built-in in the core', () => {
  it('the browser entry (src/browser.ts) bundles, and its output names no node: module', async () => {
    const r = await bundle([path.join(SRC, 'browser.ts')]);
    expect(r.errors).toEqual([]);
    const text = r.outputFiles.map((f) => f.text).join('\n');
    expect(text).toContain('BlobDevice');
    expect(text).not.toMatch(/from\s*["']node:|require\(["']node:|import\(["']node:/);
  });

  it('every core module bundles on its own for the browser (a node: import anywhere fails here)', async () => {
    const core = sources().filter((s) => !isNodeOnly(s));
    expect(core.length).toBeGreaterThan(100);
    expect(core).toContain('index.ts');
    expect(core).toContain('io/blob-device.ts');
    const r = await bundle(core.map((s) => path.join(SRC, s)));
    expect(r.errors).toEqual([]);
  });

  it('control: a Node-only module does not bundle for the browser', async () => {
    const r = await bundle([path.join(SRC, 'io/file-device.ts')]).then(
      () => null,
      (e: { errors: { text: string }[] }) => e,
    );
    expect(r?.errors.map((e) => e.text).join('\n')).toMatch(/"node:fs"/);
  });
});
