// Shared by the hive unit tests: the hives scripts/fixtures/hive.sh made with hivexregedit, and byte patching.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { exportReg, type Hive, type HiveKey } from '../../../src/hive/index.js';
import { FIXTURES } from '../../helpers/env.js';
import { gunzipFile } from '../../helpers/gunzip.js';

export const HIVE_FIXTURES = path.join(FIXTURES, 'hive');
export const PREFIX = 'HKEY_LOCAL_MACHINE\\FIXTURE';

/** A fresh copy of a fixture hive (gunzipped when stored as .gz). */
export function fixture(name: string): Uint8Array {
  const p = path.join(HIVE_FIXTURES, name);
  return name.endsWith('.gz') ? gunzipFile(p) : new Uint8Array(readFileSync(p));
}

export function fixtureText(name: string): Buffer {
  return readFileSync(path.join(HIVE_FIXTURES, name));
}

export const u32 = (b: Uint8Array, at: number, v: number) =>
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(at, v >>> 0, true);
export const i32 = (b: Uint8Array, at: number, v: number) =>
  new DataView(b.buffer, b.byteOffset, b.byteLength).setInt32(at, v, true);
export const u16 = (b: Uint8Array, at: number, v: number) =>
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint16(at, v, true);
export const getU32 = (b: Uint8Array, at: number) =>
  new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true);

/** File offset of a cell's record data (after its size field). */
export const cellData = (cellOffset: number) => 4096 + cellOffset + 4;

/** Reads everything a user can ask for: every key, class name and value, and the .reg export. */
export function readAll(h: Hive): string {
  const walk = (k: HiveKey): void => {
    void k.className;
    k.values();
    for (const c of k.subkeys()) walk(c);
  };
  walk(h.root);
  return exportReg(h, { prefix: PREFIX });
}
