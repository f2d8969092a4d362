// Bundles the CLI into one ESM file so start-up loads one module instead of hundreds (issue 2: a build that makes
// the CLI start fast). esbuild is a dev dependency; an installed package ships the bundle.
//
// Start-up and memory choices (issue 7, measured with bench/run.mjs):
// - whitespace and syntax minified, identifiers kept: a third less source for V8 to parse at every start, and stack
//   traces (--debug) still name our functions;
// - node:child_process, which commander requires at load but uses only for executable subcommands (bootprobe has
//   none), is loaded on first use: that module pulls in net, dgram and streams, about 1.5 ms per start;
// - the young generation stays at its initial size (V8 --semi-space-growth-factor=1). A listing or a pre-flight
//   allocates many short-lived objects; by default V8 doubles the new space up to 2 × 16 MiB and the heap follows,
//   which put `ls -R` of 50,000 files at 160-175 MB peak RSS; with the flag it stays near 110 MB at the same speed.
//   The flag is read by the running V8 (the semi-space maximum is not, so that one cannot be set here). Only set on
//   V8 11 (Node 20), where it was measured: an unknown flag would print an error on every run.
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

const heapFlags = [
  "import { setFlagsFromString as __v8flag } from 'node:v8';",
  "if (/^11\\./.test(process.versions.v8)) __v8flag('--semi-space-growth-factor=1');",
].join(' ');

await build({
  entryPoints: ['src/cli/bin.ts'],
  outfile: 'dist/cli.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [lazyBuiltins(['node:child_process'])],
  banner: {
    js: `import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url); ${heapFlags}`,
  },
});
