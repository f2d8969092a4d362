// Entry point bundled into dist/cli-bundle.cjs, which dist/cli.cjs (src/cli/launch.ts) runs.
import { main } from './main.js';

// `bootprobe ls -R IMG | head`: the reader went away; stop quietly, as cat and ls do, instead of a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

// No top-level await: the bundle is CommonJS, so that launch.ts can run it through a V8 code cache.
void main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then((code) => {
  process.exitCode = code;
});
