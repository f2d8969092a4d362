// Where the corpus and the oracle tools are. The corpus and interop suites need them and fail loudly without them
// (in CI and locally alike): `.ci/run` installs the tools, and ../shared/corpus sits beside the repo.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES = path.join(REPO, 'test/fixtures');
export const CORPUS = process.env.BOOTPROBE_CORPUS ?? path.resolve(REPO, '../shared/corpus');

/** Path of a corpus file; throws (failing the test) when the corpus is not there. */
export function corpus(rel: string): string {
  const p = path.join(CORPUS, rel);
  if (!existsSync(p)) throw new Error(`corpus file missing: ${p} (the corpus suite needs ../shared/corpus)`);
  return p;
}

/** Throws (failing the test) unless `tool` is on PATH. */
export function requireTool(tool: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'pipe' });
  } catch {
    throw new Error(`interop tool missing: ${tool} (.ci/run installs it with apt-get)`);
  }
}

/** A fresh temporary folder, removed by the returned cleanup function. */
export function tempDir(prefix = 'bootprobe-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
