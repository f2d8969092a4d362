// The cell-by-cell hive reader (src/hive/lazy-hive.ts) against the whole-hive reader (hive.ts): the same keys,
// values and subkeys on every fixture hive (hivex-written: lf/lh/li/ri lists, big values, names in both codings),
// reading only the cells asked for; dirty hives are handed back; damaged pointers end in HIVE_CELL.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../src/errors.js';
import { type HiveKey, openHive } from '../../../src/hive/hive.js';
import { type HiveSource, type LazyHive, openLazyHive } from '../../../src/hive/lazy-hive.js';
import { FIXTURES } from '../../helpers/env.js';
import { gunzipFile } from '../../helpers/gunzip.js';

const load = (name: string): Uint8Array =>
  name.endsWith('.gz')
    ? gunzipFile(path.join(FIXTURES, name))
    : new Uint8Array(readFileSync(path.join(FIXTURES, name)));

function source(bytes: Uint8Array, counter = { bytes: 0 }): HiveSource {
  return {
    size: bytes.length,
    read: async (offset, length) => {
      counter.bytes += length;
      return bytes.slice(offset, offset + length);
    },
  };
}

async function lazy(bytes: Uint8Array, counter?: { bytes: number }): Promise<LazyHive> {
  const r = await openLazyHive(source(bytes, counter), 'test');
  if (!('hive' in r)) throw new Error(`dirty: ${r.dirty}`);
  return r.hive;
}

const FILES = [
  'hive/types-v13.hiv',
  'hive/types-v15.hiv',
  'hive/many-v13.hiv.gz',
  'hive/many-v15.hiv.gz',
  'bcd/known-answers-1.BCD',
];

describe('lazy hive — the same tree as the whole-hive reader (regf.md §5)', () => {
  for (const file of FILES) {
    it(`${file}: every key's values and subkey names`, async () => {
      const bytes = load(file);
      const whole = openHive(bytes);
      const l = await lazy(bytes);
      const walk = async (k: HiveKey) => {
        const lk = await l.getKey(k.path);
        expect(lk, k.path).not.toBeNull();
        expect(lk!.name).toBe(k.name);
        expect(await lk!.values()).toEqual(k.values());
        expect(await lk!.subkeyNames()).toEqual(k.subkeys().map((s) => s.name));
        for (const s of k.subkeys()) await walk(s);
      };
      await walk(whole.root);
    });
  }

  it('lookups are case-insensitive and a missing key is null', async () => {
    const l = await lazy(load('bcd/known-answers-1.BCD'));
    const a = await l.getKey('\\OBJECTS\\{9DEA862C-5CDD-4E70-ACC1-F32B344D4795}\\elements\\23000003');
    expect(a).not.toBeNull();
    expect((await a!.value('element'))!.type).toBe(1);
    expect(await l.getKey('\\Objects\\{nope}')).toBeNull();
  });

  it('reads only the cells on the path: one key of a 700-subkey list costs a few KiB', async () => {
    const bytes = load('hive/many-v15.hiv.gz');
    const counter = { bytes: 0 };
    const l = await lazy(bytes, counter);
    const whole = openHive(bytes);
    const deep = whole.root.subkeys().find((k) => k.subkeys().length > 600)!;
    const last = deep.subkeys().at(-1)!;
    counter.bytes = 0;
    expect(await l.getKey(last.path)).not.toBeNull();
    expect(counter.bytes).toBeLessThan(16 * 1024);
    expect(bytes.length).toBeGreaterThan(64 * 1024);
  });
});

describe('lazy hive — what it refuses', () => {
  it('a dirty hive (sequence numbers differ) is handed back for a whole read with its logs', async () => {
    const bytes = load('bcd/known-answers-1.BCD').slice();
    const dv = new DataView(bytes.buffer);
    dv.setUint32(4, dv.getUint32(4, true) + 1, true);
    const r = await openLazyHive(source(bytes), 'dirty');
    expect(r).toEqual({ dirty: expect.stringMatching(/checksum|sequence/) });
  });

  it('a subkey list pointer outside the bins ends in HIVE_CELL with the file offset', async () => {
    const bytes = load('bcd/known-answers-1.BCD').slice();
    const whole = openHive(bytes);
    const nkFile = 4096 + whole.root.offset + 4; // nk record after the cell size
    new DataView(bytes.buffer).setUint32(nkFile + 28, 0x7ffffff0, true); // subkey list offset (regf.md §5.1)
    const l = await lazy(bytes);
    const err = await l.root.subkey('Objects').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BootprobeError);
    expect((err as BootprobeError).code).toBe('HIVE_CELL');
    expect((err as BootprobeError).message).toContain('outside the hive bins');
  });

  it('a file too short for a hive is HIVE_BASE_BLOCK', async () => {
    await expect(openLazyHive(source(new Uint8Array(100)), 'tiny')).rejects.toMatchObject({
      code: 'HIVE_BASE_BLOCK',
    });
  });
});
