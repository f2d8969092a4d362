// `npm run fuzz`: the long run (FUZZ_CASES, default 20,000; FUZZ_SEED, default 1; FUZZ_ONLY=format or subject;
// FUZZ_PROFILE=1 adds time per step; FUZZ_REPORT=FILE writes the counts as JSON; FUZZ_TRACE=FILE, see harness.ts).
// Inputs that fail are written to test/fixtures/fuzz/ and replayed by the unit suite from then on.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../helpers/env.js';
import { crasherName, runFuzz, summary } from './harness.js';

const cases = Number(process.env.FUZZ_CASES ?? 20000);
const seed = Number(process.env.FUZZ_SEED ?? 1);
const only = process.env.FUZZ_ONLY;

describe(`structure-aware fuzzing: ${cases} cases from seed ${seed}`, () => {
  it('every case ends in success or a BootprobeError, none over 2 s, no allocation above its bound', async () => {
    const started = performance.now();
    const results = await runFuzz(cases, seed, only);
    const seconds = (performance.now() - started) / 1000;
    console.log(summary(results, seconds));
    // FUZZ_REPORT=FILE keeps the counts (per format and subject) for the README.
    if (process.env.FUZZ_REPORT) {
      const counts = results.map(({ failures, ...r }) => ({ ...r, failures: failures.length }));
      writeFileSync(
        process.env.FUZZ_REPORT,
        JSON.stringify({ cases, seed, seconds, results: counts }, null, 2),
      );
    }
    const codes = results.map(
      (r) =>
        `${r.format}: ${Object.entries(r.codes)
          .sort((a, b) => b[1] - a[1])
          .map(([c, n]) => `${c} ${n}`)
          .join(', ')}`,
    );
    console.log(`error codes by format:\n${codes.join('\n')}`);
    if (process.env.FUZZ_PROFILE) {
      const steps = results.map(
        (r) =>
          `${r.format}: ${Object.entries(r.steps)
            .sort((a, b) => b[1] - a[1])
            .map(([name, ms]) => `${name} ${(ms / r.cases).toFixed(2)}`)
            .join(', ')}`,
      );
      console.log(`ms per case by step:\n${steps.join('\n')}`);
    }
    const failures = results.flatMap((r) => r.failures);
    if (failures.length) {
      const dir = path.join(FIXTURES, 'fuzz');
      mkdirSync(dir, { recursive: true });
      for (const f of failures) writeFileSync(path.join(dir, crasherName(f)), gzipSync(f.input));
    }
    expect(
      failures.map(
        (f) => `${f.subject} seed ${f.seed} (${f.label}): ${f.error.split('\n').slice(0, 4).join(' | ')}`,
      ),
    ).toEqual([]);
    expect(results.reduce((n, r) => n + r.cases, 0)).toBe(cases);
  }, 3600000);
});
