// Bundles the CLI so start-up loads one script instead of hundreds of modules (issue 2: a build that makes the CLI
// start fast), and makes V8's code cache for it (issue 7). esbuild is a dev dependency; an installed package ships
// the bundle and its cache.
//
//   dist/cli-bundle.cjs   the whole CLI, CommonJS (src/cli/bin.ts and everything it imports)
//   dist/cli.cjs          the launcher (src/cli/launch.ts, CommonJS too): compiles the bundle with the cache, runs it
//   dist/cli-bundle.cache this build's id, then the code V8 compiled while the build ran a few commands on the sample
//
// Start-up choices (measured with bench/run.mjs):
// - whitespace and syntax minified, identifiers kept: a third less source for V8 to parse, and stack traces
//   (--debug) still name our functions;
// - node:child_process, which commander requires at load but uses only for executable subcommands (bootprobe has
//   none), is loaded on first use: that module pulls in net, dgram and streams, about 1.5 ms per start;
// - the code cache (launch.ts says why and how it is checked; no V8 flag is set before it: bin.ts sets the one a tree
//   walk wants when it starts).

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';

/** `require('node:x')` from bundled CommonJS becomes a proxy that loads the module on first property access. */
const lazyBuiltins = (names) => ({
  name: 'lazy-builtins',
  setup(b) {
    const filter = new RegExp(`^(${names.map((n) => n.replace(/[/:]/g, '\\$&')).join('|')})$`);
    b.onResolve({ filter }, (a) =>
      a.kind === 'require-call' ? { path: a.path, namespace: 'lazy-builtin' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (a) => ({
      contents: `let m; module.exports = new Proxy({}, { get(_, k) { m ??= require(${JSON.stringify(a.path)}); return m[k]; } });`,
      loader: 'js',
    }));
  },
});

await build({
  entryPoints: ['src/cli/bin.ts'],
  outfile: 'dist/cli-bundle.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [lazyBuiltins(['node:child_process'])],
  // The CommonJS wrapper, as Node's own loader writes it, is part of the file: the launcher compiles the file's text
  // as read, without concatenating a second 500 KB string around it for V8 to flatten at every start.
  banner: { js: '(function (exports, require, module, __filename, __dirname) {' },
  footer: { js: '\n})' },
});
// ASCII only (esbuild escapes the rest): the launcher reads it as latin1, a plain copy of the bytes into a string.
if (readFileSync('dist/cli-bundle.cjs').some((b) => b > 0x7f)) {
  throw new Error('dist/cli-bundle.cjs holds a non-ASCII byte; write it as an escape in the source');
}
const id = createHash('sha256').update(readFileSync('dist/cli-bundle.cjs')).digest('hex').slice(0, 32);
await build({
  entryPoints: ['src/cli/launch.ts'],
  outfile: 'dist/cli.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
  define: { __BUNDLE_ID__: JSON.stringify(id) },
});

// The code cache: each run starts from the previous one's cache and adds what it compiled. The commands cover
// what users run most (pre-flight, the listing, reading files and hives); a function left out is compiled on its
// first call as without a cache. A failing run only means a smaller cache: the build goes on.
const cache = path.resolve('dist/cli-bundle.cache');
rmSync(cache, { force: true });
rmSync('dist/cli.js', { force: true }); // the launcher's name before it became CommonJS
const sample = 'samples/template.vhd';
// The same template as a VHDX (templates come as both; the VHDX reader is its own code), made by the CLI itself.
const work = mkdtempSync(path.join(os.tmpdir(), 'bootprobe-build-'));
const sampleX = path.join(work, 'template.vhdx');
// The VHDX copy is made first, outside the training: convert's writer code stays out of the cache that every start
// deserializes.
execFileSync(process.execPath, ['dist/cli.cjs', 'convert', '-b', '2M', sample, sampleX], { stdio: 'ignore' });
for (const args of [
  ['--version'],
  ['preflight', '--json', sample],
  ['preflight', '--trace', sample],
  ['bcd', sample],
  ['info', sample],
  ['ls', '-R', '-l', sample],
  ['cat', sample, '/Boot/BCD'],
  ['reg', '--file', '/Windows/System32/config/SOFTWARE', sample, 'Microsoft\\Windows NT\\CurrentVersion'],
  ['preflight', sampleX],
  ['ls', '-R', sampleX],
  ['cat', sampleX, '/Boot/BCD'],
]) {
  try {
    execFileSync(process.execPath, ['dist/cli.cjs', ...args], {
      stdio: 'ignore',
      env: { ...process.env, BOOTPROBE_BUILD_CODE_CACHE: '1' },
    });
  } catch {
    // exit 1 (a failing verdict) is an answer, not a build failure
  }
}
rmSync(work, { recursive: true, force: true });
