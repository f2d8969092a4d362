// hivex (libhivex-bin) as the oracle for what the regf writer produces: hivexsh must open every written hive and walk
// every key and value, and `hivexregedit --export` must print exactly what it prints for the source (round trips)
// or exactly the source's export with the edited elements changed and nothing else (generalize, retarget). GNU
// `patch` applies the dry-run listing diffs and `diff -u` prints the same diff text.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bcdListingDiff } from '../../src/bcd/diff.js';
import type { BcdEditResult } from '../../src/bcd/edit.js';
import { generalizeBcd } from '../../src/bcd/generalize.js';
import { readBcdStore } from '../../src/bcd/index.js';
import { retargetBcd } from '../../src/bcd/retarget.js';
import { type EditableHive, editableFromHive } from '../../src/hive/edit.js';
import { exportRegBytes, type Hive, type HiveKey, openHive } from '../../src/hive/index.js';
import { encodeHive } from '../../src/hive/writer.js';
import { corpus, FIXTURES, requireTool, tempDir } from '../helpers/env.js';
import { gunzipFile } from '../helpers/gunzip.js';

const PREFIX = 'HKEY_LOCAL_MACHINE\\BCD00000000';
const hivexExport = (file: string, prefix = PREFIX) =>
  execFileSync('hivexregedit', ['--export', '--prefix', prefix, file, '\\'], {
    maxBuffer: 512 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'ignore'], // stderr: Perl's "Wide character" warnings
  });

/** hivexsh visits every key (cd) and lists its values (lsval); it must exit 0 without a word on stderr. */
function hivexshWalk(file: string, h: Hive): void {
  const script: string[] = [];
  const walk = (k: HiveKey) => {
    script.push(`cd ${k.path}`, 'lsval');
    for (const c of k.subkeys()) walk(c);
  };
  walk(h.root);
  const r = spawnSync('hivexsh', [file], { input: `${script.join('\n')}\n`, maxBuffer: 256 * 1024 * 1024 });
  expect(r.stderr.toString()).toBe('');
  expect(r.status).toBe(0);
}

const bcdDir = corpus('bcd');
const BCDS = readdirSync(bcdDir).filter((f) => /\.bcd$/i.test(f));
const KNOWN = path.join(FIXTURES, 'bcd/known-answers-1.BCD');
const load = (file: string): EditableHive => editableFromHive(openHive(new Uint8Array(readFileSync(file))));

/** A .reg export as { key path → set of value lines }. hivexregedit prints one line per value. */
function regMap(text: string): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  let cur: Set<string> | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('[') && line.endsWith(']')) {
      cur = new Set();
      m.set(line.slice(1, -1), cur);
    } else if (line !== '' && cur && !line.startsWith('Windows Registry Editor')) {
      cur.add(line);
    }
  }
  return m;
}

/** Keys whose values differ between two exports (or that exist in only one). */
function changedKeys(a: string, b: string): string[] {
  const ma = regMap(a);
  const mb = regMap(b);
  const out = new Set<string>();
  for (const k of new Set([...ma.keys(), ...mb.keys()])) {
    const va = ma.get(k);
    const vb = mb.get(k);
    if (!va || !vb || va.size !== vb.size || [...va].some((l) => !vb.has(l))) out.add(k);
  }
  return [...out].sort();
}

/** Writes the edited store, checks it with hivex and returns its export. */
function checkEdited(dir: string, name: string, source: string, result: BcdEditResult): void {
  const file = path.join(dir, name);
  const bytes = encodeHive(result.hive);
  writeFileSync(file, bytes);
  const ours = openHive(bytes, { strict: true });
  hivexshWalk(file, ours);
  const exported = hivexExport(file);
  // hivex reads our file exactly as our reader does ...
  expect(exported.equals(Buffer.from(exportRegBytes(ours, { prefix: PREFIX })))).toBe(true);
  // ... and against the source's export only the changed elements differ (new element keys bring no other key).
  const before = hivexExport(source).toString('latin1');
  const elementKey = (objectId: string, type: number) => {
    const key = result.hive.root.find(
      `Objects\\${objectId}\\Elements\\${type.toString(16).padStart(8, '0')}`,
    );
    const obj = result.hive.root.find(`Objects\\${objectId}`)!;
    return `${PREFIX}\\Objects\\${obj.name}\\Elements\\${key?.name ?? type.toString(16).padStart(8, '0')}`;
  };
  const expected = [...new Set(result.changes.map((c) => elementKey(c.objectId, c.elementType)))].sort();
  expect(changedKeys(before, exported.toString('latin1'))).toEqual(expected);
}

describe('round trips: hivex reads what we write as it reads the source — regf.md §8 step 11', () => {
  it('every corpus BCD store: hivexsh walks it, hivexregedit --export equals the corpus export', () => {
    requireTool('hivexsh');
    requireTool('hivexregedit');
    const tmp = tempDir();
    try {
      expect(BCDS.length).toBe(11);
      for (const f of BCDS) {
        const bytes = encodeHive(load(path.join(bcdDir, f)));
        const file = path.join(tmp.dir, f);
        writeFileSync(file, bytes);
        hivexshWalk(file, openHive(bytes));
        expect({
          f,
          same: hivexExport(file).equals(readFileSync(path.join(bcdDir, `${f}.hivex.reg`))),
        }).toEqual({
          f,
          same: true,
        });
      }
    } finally {
      tmp.cleanup();
    }
  });

  it('the hive fixtures (1.3 and 1.5, db, 700-subkey lists, UTF-16 names) and known-answers-1.BCD', () => {
    requireTool('hivexsh');
    requireTool('hivexregedit');
    const tmp = tempDir();
    try {
      for (const name of ['types-v13.hiv', 'types-v15.hiv', 'many-v13.hiv.gz', 'many-v15.hiv.gz']) {
        const src = path.join(FIXTURES, 'hive', name);
        const bytes = encodeHive(
          editableFromHive(
            openHive(name.endsWith('.gz') ? gunzipFile(src) : new Uint8Array(readFileSync(src))),
          ),
        );
        const file = path.join(tmp.dir, name.replace(/\.gz$/, ''));
        writeFileSync(file, bytes);
        hivexshWalk(file, openHive(bytes));
        const expected = readFileSync(src.replace(/\.hiv(\.gz)?$/, '.reg'));
        expect({ name, same: hivexExport(file, 'HKEY_LOCAL_MACHINE\\FIXTURE').equals(expected) }).toEqual({
          name,
          same: true,
        });
      }
      const file = path.join(tmp.dir, 'known.BCD');
      writeFileSync(file, encodeHive(load(KNOWN)));
      expect(hivexExport(file).equals(readFileSync(`${KNOWN}.hivex.reg`))).toBe(true);
    } finally {
      tmp.cleanup();
    }
  });

  it('hivex can go on editing a hive we wrote (its allocator accepts our bins and free cells)', () => {
    requireTool('hivexregedit');
    const tmp = tempDir();
    try {
      for (const f of ['windows2go-uefi-win11-installed.BCD', 'windeploy-uefi-locate.BCD']) {
        const file = path.join(tmp.dir, f);
        writeFileSync(file, encodeHive(load(path.join(bcdDir, f))));
        const reg = path.join(tmp.dir, 'add.reg');
        const big = Array.from({ length: 9000 }, (_, i) => (i & 0xff).toString(16).padStart(2, '0')).join(
          ',',
        );
        writeFileSync(
          reg,
          `Windows Registry Editor Version 5.00\n\n[\\Added]\n"v"=dword:00000007\n"big"=hex:${big}\n\n[\\Objects\\Added2]\n\n`,
        );
        execFileSync('hivexregedit', ['--merge', file, reg], { stdio: 'ignore' });
        const h = openHive(new Uint8Array(readFileSync(file)), { strict: true });
        expect(h.getKey('\\Added')!.value('big')!.data.length).toBe(9000);
        expect(h.getKey('\\Objects\\Added2')).not.toBeNull();
        expect(hivexExport(file).toString('latin1')).toContain('"v"=dword:00000007');
      }
    } finally {
      tmp.cleanup();
    }
  });
});

describe('edited stores: hivex sees exactly the edited elements changed — bcd.md §9, issue 6', () => {
  it('generalize and retarget the known-answers §1 store', () => {
    requireTool('hivexsh');
    requireTool('hivexregedit');
    const tmp = tempDir();
    try {
      const g = generalizeBcd(load(KNOWN));
      expect(g.changes.length).toBe(11);
      checkEdited(tmp.dir, 'generalized.BCD', KNOWN, g);
      const r = retargetBcd(load(KNOWN), {
        scheme: 'gpt',
        diskGuid: '{11111111-2222-3333-4444-555555555555}',
        partitions: [
          { index: 1, start: 1048576, guid: '{aaaaaaaa-0000-0000-0000-000000000001}' },
          { index: 2, start: 1048576 * 200, guid: '{aaaaaaaa-0000-0000-0000-000000000002}' },
        ],
        systemPartition: 1,
        windowsPartition: 2,
      });
      expect(r.changes.length).toBe(5);
      checkEdited(tmp.dir, 'retargeted.BCD', KNOWN, r);
    } finally {
      tmp.cleanup();
    }
  });

  it('generalize, then retarget onto a fresh MBR disk, every corpus store', () => {
    requireTool('hivexsh');
    requireTool('hivexregedit');
    const tmp = tempDir();
    try {
      for (const f of BCDS) {
        const src = path.join(bcdDir, f);
        const g = generalizeBcd(load(src));
        checkEdited(tmp.dir, `g-${f}`, src, g);
        const r = retargetBcd(load(src), {
          scheme: 'mbr',
          diskSignature: 0x0badf00d,
          partitions: [
            { index: 1, start: 1048576 },
            { index: 2, start: 1048576 * 500 },
          ],
          systemPartition: 1,
          windowsPartition: 2,
        });
        checkEdited(tmp.dir, `r-${f}`, src, r);
      }
    } finally {
      tmp.cleanup();
    }
  });
});

describe('dry-run listing diff — patch applies it, diff -u prints it', () => {
  it('known-answers §1 store and every corpus store, generalized', () => {
    requireTool('patch');
    requireTool('diff');
    const tmp = tempDir();
    try {
      for (const src of [KNOWN, ...BCDS.map((f) => path.join(bcdDir, f))]) {
        const source = load(src);
        const g = generalizeBcd(source);
        const d = bcdListingDiff(readBcdStore(source.root), g.store, { verbose: true });
        const before = path.join(tmp.dir, 'before.txt');
        const after = path.join(tmp.dir, 'after.txt');
        writeFileSync(before, d.before);
        writeFileSync(after, d.after);
        const gnu = spawnSync('diff', [
          '-u',
          '--label',
          'before',
          '--label',
          'after',
          before,
          after,
        ]).stdout.toString();
        expect({ src, same: gnu === d.diff }).toEqual({ src, same: true });
        const patchFile = path.join(tmp.dir, 'x.diff');
        writeFileSync(patchFile, d.diff);
        if (d.diff !== '') execFileSync('patch', ['-s', before, patchFile]);
        expect(readFileSync(before, 'utf8')).toBe(d.after);
      }
    } finally {
      tmp.cleanup();
    }
  });
});
