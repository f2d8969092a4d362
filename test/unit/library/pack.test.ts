// The package is real (issue 10): `npm pack` holds the built CLI, the library (ESM + types), README and licence and
// none of the fixtures; installed from that tarball into an empty folder, `npx bootprobe --help` runs, the README's
// `import { openImage, preflight } from 'bootprobe'` example gives what `preflight --json` prints, its types check,
// and a browser bundler given the same import gets the browser entry (no Node built-in).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, tempDir } from '../../helpers/env.js';

const tmp = tempDir('bootprobe-pack-');
const APP = path.join(tmp.dir, 'app');
const SAMPLE = path.join(REPO, 'samples/template.vhd');
let files: string[] = [];
let tarball = '';

const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
    },
    maxBuffer: 64 << 20,
  });

beforeAll(() => {
  // `npm test` has built dist/cli.cjs; the library (dist/lib, dist/types, which only this test reads) is built here.
  // Lifecycle scripts are skipped so dist/cli.cjs is not rewritten under the other suites that run it meanwhile
  // (`npm pack` on its own runs them: prepare builds the CLI, prepack the library).
  if (!existsSync(path.join(REPO, 'dist/cli.cjs')))
    throw new Error('dist/cli.cjs missing: run npm run build first');
  execFileSync(process.execPath, [path.join(REPO, 'scripts/build-lib.mjs')], { cwd: REPO, stdio: 'pipe' });
  const out = npm(['pack', '--ignore-scripts', '--json', '--pack-destination', tmp.dir], REPO);
  const info = JSON.parse(out.slice(out.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  files = info[0]!.files.map((f) => f.path);
  tarball = path.join(tmp.dir, info[0]!.filename);
  execFileSync('mkdir', ['-p', APP]);
  writeFileSync(path.join(APP, 'package.json'), '{ "name": "app", "private": true, "type": "module" }\n');
  npm(['install', '--prefer-offline', '--no-save', tarball], APP);
}, 300000);
afterAll(() => tmp.cleanup());

describe('npm pack — what the tarball holds', () => {
  it('the CLI, the library and its types, README and licence', () => {
    for (const f of [
      'package.json',
      'README.md',
      'LICENSE',
      'bin/bootprobe.cjs',
      'dist/cli.cjs',
      'dist/cli-bundle.cjs',
      'dist/cli-bundle.cache',
      'dist/lib/index.js',
      'dist/lib/node.js',
      'dist/lib/browser.js',
      'dist/types/index.d.ts',
      'dist/types/node.d.ts',
      'dist/types/browser.d.ts',
    ])
      expect(files).toContain(f);
  });

  it('none of the fixtures, samples, tests, sources or the web page', () => {
    expect(files.filter((f) => /^(test|samples|src|scripts|web|bench|docs|dist\/web)\//.test(f))).toEqual([]);
    expect(files.filter((f) => /\.(gz|vhdx?|BCD)$/i.test(f))).toEqual([]);
  });
});

describe('installed from the tarball into an empty folder', () => {
  it('npx bootprobe --help', () => {
    const r = spawnSync('npx', ['--no-install', 'bootprobe', '--help'], { cwd: APP, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('preflight');
    expect(r.stdout).toContain('scan');
  });

  it("import { openImage, preflight } from 'bootprobe' gives what preflight --json prints", () => {
    writeFileSync(
      path.join(APP, 'example.mjs'),
      [
        "import { openImage, preflight } from 'bootprobe';",
        'const image = await openImage(process.argv[2]);',
        'const report = await preflight(image, { format: image.info.format });',
        'await image.close();',
        'console.log(JSON.stringify(report));',
      ].join('\n'),
    );
    const lib = JSON.parse(
      execFileSync(process.execPath, ['example.mjs', SAMPLE], { cwd: APP, encoding: 'utf8' }),
    );
    const r = spawnSync(
      process.execPath,
      [path.join(APP, 'node_modules/bootprobe/dist/cli.cjs'), 'preflight', '--json', SAMPLE],
      {
        encoding: 'utf8',
      },
    );
    const { image, ...cli } = JSON.parse(r.stdout);
    expect(image).toBe(SAMPLE);
    expect(lib).toEqual(cli);
    expect(lib.verdict).toBe('fail');
  });

  it('its types check (TypeScript, NodeNext resolution)', () => {
    writeFileSync(
      path.join(APP, 'typed.ts'),
      [
        "import { inspect, openImage, preflight, type PreflightReport } from 'bootprobe';",
        'export async function verdict(p: string): Promise<PreflightReport["verdict"]> {',
        '  const image = await openImage(p);',
        '  try { return (await preflight(image)).verdict; } finally { await image.close(); }',
        '}',
        'export const listing = async (p: string): Promise<string | null> => (await inspect(p)).listing?.text ?? null;',
      ].join('\n'),
    );
    const tsc = path.join(REPO, 'node_modules/typescript/bin/tsc');
    const r = spawnSync(
      process.execPath,
      [
        tsc,
        '--noEmit',
        '--strict',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--target',
        'es2022',
        '--typeRoots',
        path.join(REPO, 'node_modules/@types'),
        '--types',
        'node',
        'typed.ts',
      ],
      { cwd: APP, encoding: 'utf8' },
    );
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('a browser bundler resolves the same import to the browser entry, with no Node built-in', async () => {
    writeFileSync(
      path.join(APP, 'page.mjs'),
      "import { openImage, preflight } from 'bootprobe';\nexport const run = async (f) => preflight(await openImage(f));\n",
    );
    const r = await build({
      entryPoints: [path.join(APP, 'page.mjs')],
      absWorkingDir: APP,
      bundle: true,
      write: false,
      platform: 'browser',
      format: 'esm',
      minify: true,
      logLevel: 'silent',
    });
    const text = r.outputFiles[0]!.text;
    expect(text).not.toMatch(/["']node:/);
    // The browser entry's own helper proves which entry was taken; the Node one would bring NodeFileAccess.
    const entry = readFileSync(path.join(APP, 'node_modules/bootprobe/dist/lib/browser.js'), 'utf8');
    expect(entry).toContain('filesAccess');
    expect(text.length).toBeLessThan(400 * 1000);
  });
});
