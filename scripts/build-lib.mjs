// Builds the library (issue 10): ESM modules under dist/lib (entries index, node, browser; shared code split into
// chunks, so a browser bundler never sees the Node entry) and the type declarations under dist/types. Run by
// `npm pack` (prepack) so the package holds them; the CLI bundle is scripts/build.mjs.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entries = ['index', 'node', 'browser'].map((e) => path.join(root, 'src', `${e}.ts`));
rmSync(path.join(root, 'dist/lib'), { recursive: true, force: true });
rmSync(path.join(root, 'dist/types'), { recursive: true, force: true });

await build({
  entryPoints: entries,
  outdir: path.join(root, 'dist/lib'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  // Only node.ts reaches these (through io/file-device.ts and io/node-file-access.ts).
  external: ['node:*'],
  chunkNames: 'chunks/[name]-[hash]',
  legalComments: 'none',
  logLevel: 'warning',
});

// Declarations from the sources (tsc reads the entries and what they import; no tsconfig, so nothing else).
const tsc = createRequire(import.meta.url)
  .resolve('typescript/package.json')
  .replace(/package\.json$/, 'bin/tsc');
execFileSync(
  process.execPath,
  [
    tsc,
    ...entries,
    '--declaration',
    '--emitDeclarationOnly',
    '--outDir',
    path.join(root, 'dist/types'),
    '--rootDir',
    path.join(root, 'src'),
    '--target',
    'ES2022',
    '--module',
    'NodeNext',
    '--moduleResolution',
    'NodeNext',
    '--lib',
    'ES2022,DOM',
    '--types',
    'node',
    '--strict',
    '--skipLibCheck',
    '--verbatimModuleSyntax',
    '--isolatedModules',
    '--ignoreConfig',
  ],
  { stdio: 'inherit', cwd: root },
);
