// Entry point bundled into dist/cli-bundle.cjs, which dist/cli.cjs (src/cli/launch.ts) runs.

import { FdOut } from './fd-out.js';
import { main } from './main.js';

// `bootprobe ls -R IMG | head`: the reader went away; stop quietly, as cat and ls do, instead of a stack trace.
const readerGone = () => process.exit(process.exitCode ?? 0);
/** Node's stream for stdout or stderr, created on first use (fd-out.ts says why not at start). */
function nodeStream(which: 'stdout' | 'stderr'): NodeJS.WriteStream {
  const stream = process[which];
  if (stream.listenerCount('error') === 0) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') readerGone();
      throw e;
    });
  }
  return stream;
}
// node:tty through `require`, when a progress bar asks: loading it at start would load Node's streams (fd-out.ts).
const isatty = (fd: number) => (require('node:tty') as typeof import('node:tty')).isatty(fd);
const onWindows = process.platform === 'win32';
const stdout = onWindows
  ? nodeStream('stdout')
  : new FdOut(1, () => nodeStream('stdout'), readerGone, isatty);
// stderr carries errors, warnings, --stats and progress bars. On Windows, Node's stream, made when first written to.
const stderr = onWindows
  ? {
      write: (s: string | Uint8Array, done?: (err?: Error | null) => void) =>
        nodeStream('stderr').write(s, done),
      get isTTY() {
        return nodeStream('stderr').isTTY;
      },
    }
  : new FdOut(2, () => nodeStream('stderr'), readerGone, isatty);

// A walk that reads a record per file (`ls -l`, `extract -R`) keeps V8's young generation at its initial size
// (--semi-space-growth-factor=1). Each MFT record read there is a small buffer whose memory lies outside the JS heap
// until a collection frees it; a young generation grown to its 16 MiB default holds tens of thousands of them, so
// `ls -R -l` of the 52,000-entry benchmark volume peaked at 140 MB RSS without the flag, 104 MB with it, in the same
// time (537 vs 522 ms, interleaved). Set only then, not at start-up: a changed flag makes V8 refuse the code cache
// of every Node built-in loaded afterwards (launch.ts). Not while the build trains the code cache (the cache would
// carry the changed flag hash and be refused at every start), and only on V8 11 (Node 20), where it was measured:
// an unknown flag would print an error.
// `require`, not import(): the bundle is CommonJS run through vm.Script, which has no dynamic import callback.
async function treeWalk(): Promise<void> {
  if (!/^11\./.test(process.versions.v8) || process.env.BOOTPROBE_BUILD_CODE_CACHE === '1') return;
  const v8: typeof import('node:v8') = require('node:v8');
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}

// No top-level await: the bundle is CommonJS, so that launch.ts can run it through a V8 code cache.
void main(process.argv.slice(2), { stdout, stderr, treeWalk }).then((code) => {
  process.exitCode = code;
});
