// The launcher (src/cli/launch.ts → dist/cli.cjs) runs the CommonJS bundle through the V8 code cache the build made
// (scripts/build.mjs). The cache is a speed-up only: these tests pin that the build's cache belongs to this build's
// bundle and is accepted by this Node, and that a stale or foreign cache is ignored, never trusted.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, tempDir } from '../../helpers/env.js';

const DIST = path.join(REPO, 'dist');
const t = tempDir('bootprobe-code-cache-');
afterAll(() => t.cleanup());

/**
 * Compiles the bundle as launch.ts does (its text as read: the file is the CommonJS wrapper function; no V8 flag
 * set), in a fresh Node, and says what V8 did.
 */
function compileWith(cache: Buffer): string {
  const probe = `
    const { readFileSync } = require('node:fs');
    const { Script } = require('node:vm');
    const bundle = ${JSON.stringify(path.join(DIST, 'cli-bundle.cjs'))};
    const source = readFileSync(bundle, 'latin1');
    const s = new Script(source, {
      filename: bundle, cachedData: readFileSync(${JSON.stringify(path.join(t.dir, 'probe.cache'))}),
    });
    process.stdout.write(s.cachedDataRejected ? 'rejected' : 'accepted');`;
  writeFileSync(path.join(t.dir, 'probe.cache'), cache);
  return spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' }).stdout;
}

describe('code cache — dist/cli-bundle.cache', () => {
  const bundle = readFileSync(path.join(DIST, 'cli-bundle.cjs'));
  const cache = readFileSync(path.join(DIST, 'cli-bundle.cache'));
  const id = createHash('sha256').update(bundle).digest().subarray(0, 16);

  it('is ASCII and is the CommonJS wrapper function itself (the launcher compiles its text as read)', () => {
    expect(bundle.every((b) => b < 0x80)).toBe(true);
    const text = bundle.toString('latin1');
    expect(text.startsWith('(function (exports, require, module, __filename, __dirname) {')).toBe(true);
    expect(text.trimEnd().endsWith('\n})')).toBe(true);
  });

  it("starts with this build's id (the bundle's hash): V8 itself compares only the source length", () => {
    expect(cache.subarray(0, 16).equals(id)).toBe(true);
  });

  it('holds code V8 accepts for this bundle, under default flags (the launcher sets none)', () => {
    expect(compileWith(cache.subarray(16))).toBe('accepted');
  });

  it('covers more than the top level: the training commands compiled their functions into it', () => {
    // A cache made right after compiling (top-level code only) is far smaller than the bundle; one made after
    // running pre-flight, listings and reads holds the bytecode of the functions they called.
    expect(cache.length).toBeGreaterThan(bundle.length / 2);
  });

  it("sets no V8 flag before a command runs: Node's built-ins keep their embedded code cache", () => {
    // A flag set at start-up changes V8's flag hash, and every built-in module loaded afterwards is compiled from
    // source (launch.ts): `extract` loads a few dozen (fs.promises for mkdir, and the streams it brings).
    // NODE_DEBUG_NATIVE=CODE_CACHE makes Node say, for each built-in, whether V8 accepted its cache.
    const r = spawnSync(
      process.execPath,
      [path.join(DIST, 'cli.cjs'), 'extract', path.join(REPO, 'samples/template.vhd'), '/Boot/BCD', t.dir],
      { env: { ...process.env, NODE_DEBUG_NATIVE: 'CODE_CACHE' }, encoding: 'latin1' },
    );
    expect(r.status).toBe(0);
    // The built-ins the command loads after start-up (fs/promises among others) are compiled from their cache.
    expect(r.stderr).toMatch(/Code cache of internal\/fs\/promises \(\w+\) is accepted/);
    expect(r.stderr.match(/Code cache of \S+ \(\w+\) is accepted/g)?.length ?? 0).toBeGreaterThan(10);
    expect(r.stderr).not.toMatch(/is rejected/);
  });

  it('a cache of another build (wrong id) or garbage after a right id is ignored: the CLI still answers', () => {
    const dir = path.join(t.dir, 'dist');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
    for (const f of ['cli.cjs', 'cli-bundle.cjs']) copyFileSync(path.join(DIST, f), path.join(dir, f));
    for (const bad of [
      Buffer.concat([Buffer.alloc(16, 0xab), cache.subarray(16)]),
      Buffer.concat([id, Buffer.alloc(4096, 0x5a)]),
    ]) {
      writeFileSync(path.join(dir, 'cli-bundle.cache'), bad);
      const r = spawnSync(process.execPath, [path.join(dir, 'cli.cjs'), '--version'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
      expect(r.stderr).toBe('');
    }
  });

  it('without its bundle the launcher says how to rebuild (exit 2), not a stack trace', () => {
    const dir = path.join(t.dir, 'nobundle');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
    copyFileSync(path.join(DIST, 'cli.cjs'), path.join(dir, 'cli.cjs'));
    const r = spawnSync(process.execPath, [path.join(dir, 'cli.cjs'), '--version'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^bootprobe: error: dist\/cli-bundle\.cjs is missing; run `npm run build`/);
  });
});
