// libregf (libregf-utils: regfexport) as a second, stricter regf oracle for the writer: an independent reader that,
// unlike hivex, insists on `db` big data for values over 16344 bytes in 1.4+ hives (regf.md §5.3) — it refuses
// hivex's own types-v15.hiv fixture for that reason, and accepts our rewrite of it.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generalizeBcd } from '../../src/bcd/generalize.js';
import { editableFromHive } from '../../src/hive/edit.js';
import { openHive } from '../../src/hive/index.js';
import { encodeHive } from '../../src/hive/writer.js';
import { corpus, FIXTURES, requireTool, tempDir } from '../helpers/env.js';
import { gunzipFile } from '../helpers/gunzip.js';

/** regfexport's full dump of a hive (keys, values, data); it must exit 0. */
function regfexport(file: string): string {
  const r = spawnSync('regfexport', [file], { maxBuffer: 512 * 1024 * 1024 });
  expect({ file, status: r.status, stderr: r.stderr.toString() }).toEqual({ file, status: 0, stderr: '' });
  // The first line names the tool version; the rest is the dump.
  return r.stdout.toString('latin1').split('\n').slice(1).join('\n');
}

const bcdDir = corpus('bcd');
const BCDS = readdirSync(bcdDir).filter((f) => /\.bcd$/i.test(f));

describe('regfexport reads what we write — regf.md §8 step 11', () => {
  it('every corpus BCD store, rewritten, dumps exactly as the original; generalized, it dumps', () => {
    requireTool('regfexport');
    const tmp = tempDir();
    try {
      for (const f of BCDS) {
        const src = path.join(bcdDir, f);
        const hive = editableFromHive(openHive(new Uint8Array(readFileSync(src))));
        const file = path.join(tmp.dir, f);
        writeFileSync(file, encodeHive(hive));
        expect({ f, same: regfexport(file) === regfexport(src) }).toEqual({ f, same: true });
        writeFileSync(file, encodeHive(generalizeBcd(hive).hive));
        expect(regfexport(file)).toContain('Element');
      }
    } finally {
      tmp.cleanup();
    }
  });

  it('the hive fixtures, the 1.5 one with its 20000-byte value now in a db', () => {
    requireTool('regfexport');
    const tmp = tempDir();
    try {
      for (const name of ['types-v13.hiv', 'types-v15.hiv', 'many-v13.hiv.gz', 'many-v15.hiv.gz']) {
        const src = path.join(FIXTURES, 'hive', name);
        const bytes = name.endsWith('.gz') ? gunzipFile(src) : new Uint8Array(readFileSync(src));
        const file = path.join(tmp.dir, name.replace(/\.gz$/, ''));
        writeFileSync(file, encodeHive(editableFromHive(openHive(bytes))));
        const dump = regfexport(file);
        if (name === 'types-v13.hiv') {
          writeFileSync(path.join(tmp.dir, 'orig.hiv'), bytes);
          expect(dump).toBe(regfexport(path.join(tmp.dir, 'orig.hiv')));
        }
        if (name.startsWith('types')) expect(dump).toContain('Data size: 20000');
        if (name.startsWith('many')) expect(dump.match(/Key0\d\d\d/g)?.length).toBeGreaterThanOrEqual(700);
      }
    } finally {
      tmp.cleanup();
    }
  });
});
