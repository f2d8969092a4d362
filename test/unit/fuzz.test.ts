// A short fixed-seed run of the fuzz harness inside `npm test`, and every input that ever broke us, replayed.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../src/errors.js';
import { runFuzz, subjects } from '../fuzz/harness.js';
import { FIXTURES } from '../helpers/env.js';

describe('fuzzing — issue 8 pass rule (success or BootprobeError, no case over 2 s)', () => {
  it('1,400 structure-aware cases over every format (seed 7)', async () => {
    const results = await runFuzz(1400, 7);
    expect(results.map((r) => r.format).sort()).toEqual(['fat', 'gpt', 'mbr', 'ntfs', 'regf', 'vhd', 'vhdx']);
    expect(
      results.flatMap((r) => r.failures.map((f) => `${f.subject} ${f.seed}: ${f.error.split('\n')[0]}`)),
    ).toEqual([]);
    // The mutations reach past the first checks: every format sees both outcomes.
    for (const r of results) expect(r.ok > 0 && r.typed > 0, r.format).toBe(true);
  }, 120000);

  it('the unmutated fixtures all pass', () => {
    expect(subjects().length).toBeGreaterThanOrEqual(10);
  });

  const dir = path.join(FIXTURES, 'crashers');
  const crashers = existsSync(dir) ? readdirSync(dir) : [];
  it(`replays the ${crashers.length} committed crashers`, async () => {
    const { openImage } = await import('../../src/image/open-image.js');
    const { MemoryDevice } = await import('../../src/io/memory-device.js');
    for (const f of crashers) {
      try {
        const img = await openImage(new MemoryDevice(new Uint8Array(readFileSync(path.join(dir, f)))));
        await img.read(0, Math.min(img.size, 1 << 20));
      } catch (e) {
        expect(e, f).toBeInstanceOf(BootprobeError);
      }
    }
  });
});
