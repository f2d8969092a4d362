#!/usr/bin/env node
// The bundled CLI (dist/cli.cjs) is built by `npm install` (the prepare script) or `npm run build`. CommonJS, as
// the launcher: an ES module entry would make Node set up its module loader first (~4 ms per start; issue 7).
let launcher;
try {
  launcher = require.resolve('../dist/cli.cjs');
} catch {
  process.stderr.write(
    'bootprobe: error: dist/cli.cjs is missing; run `npm run build` in the package folder\n',
  );
  process.exit(2);
}
require(launcher);
