// dist/cli.cjs: runs the bundled CLI (dist/cli-bundle.cjs) through V8's code cache (issue 7, start-up).
//
// Node 20 compiles a 500 KB bundle at every start (10-16 ms) and then compiles each function on its first call;
// Node 20 has no compile cache for that (module.enableCompileCache is Node 22). So the bundle is CommonJS, compiled
// here with vm.Script and `cachedData`: the code V8 produced for it when the build ran a few commands
// (scripts/build.mjs), functions compiled on first call included. Measured in one bench/run.mjs run against the
// build without it: `--version` 94 → 77 ms (Node alone: 60 ms), `preflight` of the 4 GiB template 101 → 87 ms.
//
// The cache is only a speed-up: it is used when its first 16 bytes are this build's id (a hash of the bundle, put
// here at build time: V8's own check compares the source length, not its content), and V8 itself refuses it for
// another V8 version or other flags (`cachedDataRejected`), compiling from source as usual.
//
// CommonJS (built with format cjs, as bin/bootprobe.cjs that loads it): an ES module entry makes Node set up its ES
// module loader first, ~4 ms of every start (measured interleaved, 30 runs each: an empty .mjs 63.4 ms, .cjs 59.1).
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';

declare const __BUNDLE_ID__: string;

// No V8 flag is set here: a flag set before the bundle is compiled changes V8's flag hash, and Node's own built-in
// modules, compiled from its embedded code cache made under the default flags, are then compiled from source (~2 ms
// of every start, measured interleaved: `cat \Boot\BCD` 80.5 -> 78.0 ms, medians of 40). The heap flag a tree walk
// wants is set by bin.ts when such a walk starts.
const here = __dirname;
const bundle = join(here, 'cli-bundle.cjs');
const cacheFile = join(here, 'cli-bundle.cache');
const id = Buffer.from(__BUNDLE_ID__, 'hex');

let source: string;
try {
  // latin1: the build checked the bundle is ASCII, and latin1 is a plain byte copy, no UTF-8 decoding.
  source = readFileSync(bundle, 'latin1');
} catch {
  process.stderr.write(
    'bootprobe: error: dist/cli-bundle.cjs is missing; run `npm run build` in the package folder\n',
  );
  process.exit(2);
}
let cachedData: Buffer | undefined;
try {
  const c = readFileSync(cacheFile);
  if (c.length > id.length && c.subarray(0, id.length).equals(id)) cachedData = c.subarray(id.length);
} catch {
  // No cache (a build that did not make one): compile from source.
}
// The bundle's text is already the CommonJS wrapper function (scripts/build.mjs), as Node's own loader writes it.
const script = new Script(source, {
  filename: bundle,
  ...(cachedData ? { cachedData } : {}),
});
// Only the build sets this: after its training runs, the code compiled so far becomes the cache (each run starts
// from the previous run's cache, so the cache covers every command the build ran).
if (process.env.BOOTPROBE_BUILD_CODE_CACHE === '1') {
  process.on('exit', () => writeFileSync(cacheFile, Buffer.concat([id, script.createCachedData()])));
}
const bundleModule = { exports: {} };
script.runInThisContext()(bundleModule.exports, createRequire(bundle), bundleModule, bundle, here);
