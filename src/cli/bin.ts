// Entry point bundled into dist/cli.js.
import { main } from './main.js';

// `bootprobe ls -R IMG | head`: the reader went away; stop quietly, as cat and ls do, instead of a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
process.exitCode = code;
