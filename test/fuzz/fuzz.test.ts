// `npm run fuzz`: the long run (FUZZ_CASES, default 20,000; FUZZ_SEED, default 1). Inputs that fail are written to
// test/fixtures/crashers/ and replayed by the unit suite from then on.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../helpers/env.js';
import { crasherName, runFuzz } from './harness.js';

const cases = Number(process.env.FUZZ_CASES ?? 20000);
const seed = Number(process.env.FUZZ_SEED ?? 1);

describe(`structure-aware fuzzing: ${cases} cases from seed ${seed}`, () => {
  it('every case ends in success or a BootprobeError, none over 2 s', async () => {
    const started = performance.now();
    const results = await runFuzz(cases, seed);
    const lines = results.map(
      (r) =>
        `${r.format.padEnd(5)} cases=${r.cases} ok=${r.ok} typedErrors=${r.typed} failures=${r.failures.length} slowestMs=${r.slowest.toFixed(0)}`,
    );
    console.log(
      `fuzz summary (${((performance.now() - started) / 1000).toFixed(1)} s):\n${lines.join('\n')}`,
    );
    const failures = results.flatMap((r) => r.failures);
    if (failures.length) {
      const dir = path.join(FIXTURES, 'crashers');
      mkdirSync(dir, { recursive: true });
      for (const f of failures) writeFileSync(path.join(dir, crasherName(f)), f.input);
    }
    expect(
      failures.map((f) => `${f.subject} seed ${f.seed}: ${f.error.split('\n').slice(0, 3).join(' | ')}`),
    ).toEqual([]);
    expect(results.reduce((n, r) => n + r.cases, 0)).toBe(cases);
  }, 900000);
});
