#!/usr/bin/env node
// The bundled CLI (dist/cli.js) is built by `npm install` (the prepare script) or `npm run build`.
import('../dist/cli.js').catch((e) => {
  if (e && e.code === 'ERR_MODULE_NOT_FOUND') {
    process.stderr.write(
      'bootprobe: error: dist/cli.js is missing; run `npm run build` in the package folder\n',
    );
    process.exit(2);
  }
  throw e;
});
