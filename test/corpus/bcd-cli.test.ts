// `bootprobe bcd` on every store in ../shared/corpus/bcd, end to end: text and JSON, every element named, every raw
// value equal to the bytes hivexregedit exported (issue 4 "Must show").
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { corpus } from '../helpers/env.js';

const dir = path.dirname(corpus('bcd/windeploy-bios-installed.BCD'));
const stores = readdirSync(dir).filter((f) => /\.bcd$/i.test(f));

/** hex(N):.. values of each key in a .hivex.reg export: key path → value name → hex string. */
function exported(file: string): Map<string, Map<string, string>> {
  const text = readFileSync(file, 'latin1').replace(/\\\r?\n\s*/g, '');
  const out = new Map<string, Map<string, string>>();
  let key = '';
  for (const line of text.split(/\r?\n/)) {
    const k = /^\[(.*)\]$/.exec(line);
    if (k) {
      key = k[1]!.toLowerCase();
      out.set(key, new Map());
      continue;
    }
    const v = /^"([^"]*)"=hex\([0-9a-f]+\):(.*)$/.exec(line);
    if (v) out.get(key)!.set(v[1]!, v[2]!.replace(/,/g, ''));
  }
  return out;
}

describe('bcd on every corpus store', () => {
  it('finds the corpus stores', () => expect(stores.length).toBe(11));
  for (const f of stores) {
    it(`${f}: decodes, names every element, and keeps every value's bytes`, async () => {
      const p = path.join(dir, f);
      const text = await runCli(['bcd', p]);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(/^identifier {14}/m);
      const j = JSON.parse((await runCli(['bcd', '--json', p])).stdout);
      const reg = exported(`${p}.hivex.reg`);
      let n = 0;
      for (const o of j.objects) {
        for (const e of o.elements) {
          // bcdedit's own name, or the `custom:xxxxxxxx` form bcdedit itself prints for types it has no name for
          // (bcd.md §6.8: e.g. 46000010 on WinRE loaders) — never empty, never dropped.
          expect(e.name, `${o.identifier} ${e.type}`).toMatch(/^([a-z]+|custom:[0-9a-f]{8})$/);
          const key = `hkey_local_machine\\bcd00000000\\objects\\${o.identifier}\\elements\\${e.type.slice(2)}`;
          const want = reg.get(key)?.get('Element');
          if (want !== undefined) {
            expect(e.raw, key).toBe(want);
            n++;
          }
        }
      }
      expect(n).toBeGreaterThan(0);
    });
  }
});
