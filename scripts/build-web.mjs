// Builds the offline page (issue 10): one self-contained dist/web/index.html with its script and style sheet inline,
// so it works opened from disk (file://: browsers refuse module scripts and most sub-resources there) and from any
// static host. The Content-Security-Policy allows exactly those two inline blocks, by hash, and nothing else: no
// connection, no image, font, frame or form target, so the page cannot send or fetch anything even if asked to.
// Fails when the minified script exceeds its budget (300 KB).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, transform } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist/web');
const SCRIPT_BUDGET = 300 * 1000;
const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

const js = await build({
  entryPoints: [path.join(root, 'web/main.ts')],
  bundle: true,
  write: false,
  // A classic script (iife): file:// pages may not load or run module scripts.
  format: 'iife',
  platform: 'browser',
  target: ['chrome100', 'firefox100', 'safari15', 'edge100'],
  minify: true,
  legalComments: 'none',
  define: { __VERSION__: JSON.stringify(version) },
  logLevel: 'warning',
  metafile: true,
});
const script = js.outputFiles[0].text.trimEnd();
const css = (
  await transform(readFileSync(path.join(root, 'web/style.css'), 'utf8'), { loader: 'css', minify: true })
).code.trimEnd();

// Inline blocks end at the first `</script` / `</style`: esbuild escapes them in strings; make sure.
if (/<\/script/i.test(script) || /<\/style/i.test(css))
  throw new Error('build-web: a closing tag inside inline code');
if (Buffer.byteLength(script) > SCRIPT_BUDGET)
  throw new Error(
    `build-web: script is ${Buffer.byteLength(script)} bytes, over its ${SCRIPT_BUDGET}-byte budget`,
  );

const sha = (s) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;
const csp = [
  "default-src 'none'",
  `script-src ${sha(script)}`,
  `style-src ${sha(css)}`,
  "connect-src 'none'",
  "img-src 'none'",
  "font-src 'none'",
  "media-src 'none'",
  "object-src 'none'",
  "frame-src 'none'",
  "worker-src 'none'",
  "manifest-src 'none'",
  "form-action 'none'",
  "base-uri 'none'",
].join('; ');

const template = readFileSync(path.join(root, 'web/index.html'), 'utf8');
const html = template
  .replace('%CSP%', () => csp)
  .replace('%VERSION%', () => version)
  .replace('%STYLE%', () => css)
  .replace('%SCRIPT%', () => script);
mkdirSync(out, { recursive: true });
writeFileSync(path.join(out, 'index.html'), html);
writeFileSync(
  path.join(out, 'build.json'),
  `${JSON.stringify({ version, scriptBytes: Buffer.byteLength(script), styleBytes: Buffer.byteLength(css), htmlBytes: Buffer.byteLength(html), csp }, null, 2)}\n`,
);
console.log(
  `dist/web/index.html: script ${Buffer.byteLength(script)} bytes, page ${Buffer.byteLength(html)} bytes`,
);
