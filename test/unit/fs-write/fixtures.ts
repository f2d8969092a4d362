// Writable in-memory copies of the file-system fixtures (scripts/fixtures/fs-write.sh, fs.sh, fat.sh), and checks
// every write test makes: the device changed only inside the plan's ranges, and restoring those ranges gives back the
// original bytes (what an undo record relies on).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { FsWritePlan } from '../../../src/fs/file-system.js';
import { ATTR } from '../../../src/fs/ntfs/attribute.js';
import { decodeFileName } from '../../../src/fs/ntfs/file-name.js';
import { decodeIndexNode, type IndexEntry } from '../../../src/fs/ntfs/index-node.js';
import { decodeIndexRecord } from '../../../src/fs/ntfs/index-record.js';
import { decodeIndexRoot, indexVcnToOffset } from '../../../src/fs/ntfs/index-root.js';
import type { NtfsFileSystem } from '../../../src/fs/ntfs/ntfs.js';
import { runPieces } from '../../../src/fs/ntfs/runlist.js';
import { ByteView } from '../../../src/io/byte-view.js';
import { MemoryDevice } from '../../../src/io/memory-device.js';
import { FIXTURES } from '../../helpers/env.js';
import { gunzipFile } from '../../helpers/gunzip.js';

export const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Index of the last element matching `f`, or -1 (Array.prototype.findLastIndex is ES2023, past our lib). */
export function lastIndex<T>(a: readonly T[], f: (x: T) => boolean): number {
  for (let i = a.length - 1; i >= 0; i--) if (f(a[i]!)) return i;
  return -1;
}

const cache = new Map<string, Uint8Array>();
/** A fresh copy of a gzipped fixture, e.g. 'fs-write/ntfs-512c' or 'fat/fat16'. */
export function fixtureBytes(rel: string): Uint8Array {
  let b = cache.get(rel);
  if (!b) {
    b = gunzipFile(path.join(FIXTURES, `${rel}.img.gz`));
    cache.set(rel, b);
  }
  return b.slice();
}

/** ntfs-state with one of the variants of ntfs-state-variants.json applied (dirty, log-unclean, log-clean, hibr). */
export function stateVariant(name: 'dirty' | 'log-unclean' | 'log-clean' | 'hibr' | null): Uint8Array {
  const b = fixtureBytes('fs-write/ntfs-state');
  if (name === null) return b;
  const all = JSON.parse(
    readFileSync(path.join(FIXTURES, 'fs-write/ntfs-state-variants.json'), 'utf8'),
  ) as Record<string, [number, string][]>;
  for (const [at, hexBytes] of all[name]!) b.set(Buffer.from(hexBytes, 'hex'), at);
  return b;
}

export function writable(bytes: Uint8Array, sectorSize = 512): MemoryDevice {
  return new MemoryDevice(bytes, { writable: true, sectorSize });
}

/** Deterministic content that differs from every fixture's (seeded, position-dependent). */
export function pattern(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * Commits `plan` on `dev` and checks the contract of FsWritePlan: bytes outside `ranges` are untouched, and writing
 * back what `ranges` held before restores the device exactly (then re-applies the write so the test can go on).
 */
export async function commitChecked(dev: MemoryDevice, plan: FsWritePlan): Promise<void> {
  const before = dev.data.slice();
  const saved = plan.ranges.map((r) => ({
    offset: r.offset,
    bytes: before.slice(r.offset, r.offset + r.length),
  }));
  for (const p of plan.patches) {
    const inside = plan.ranges.some(
      (r) => p.offset >= r.offset && p.offset + p.data.length <= r.offset + r.length,
    );
    expect(inside, `${p.what} lies inside the planned ranges`).toBe(true);
  }
  // Data is written before any metadata.
  const kinds = plan.patches.map((p) => p.kind);
  expect(kinds.lastIndexOf('data')).toBeLessThan(
    kinds.includes('metadata') ? kinds.indexOf('metadata') : Infinity,
  );
  await plan.commit();
  const after = dev.data.slice();
  // Compare the gaps between ranges (Buffer.compare: a byte loop over a 32 MiB volume is slow).
  let from = 0;
  for (const r of [...plan.ranges, { offset: after.length, length: 0 }]) {
    const same = Buffer.compare(before.subarray(from, r.offset), after.subarray(from, r.offset)) === 0;
    expect(same, `bytes ${from}..${r.offset} changed outside the planned ranges`).toBe(true);
    from = r.offset + r.length;
  }
  for (const s of saved) dev.data.set(s.bytes, s.offset);
  expect(sha(dev.data)).toBe(sha(before));
  dev.data.set(after);
}

/**
 * Every $I30 entry of directory `dir` that names record `file`, found by a full walk of the B-tree (not the
 * collation search the writer uses), with its $FILE_NAME key decoded.
 */
export async function indexEntriesFor(fs: NtfsFileSystem, dev: MemoryDevice, dir: number, file: number) {
  const cs = fs.boot.clusterSize;
  const root = (await fs.allAttributes(dir)).find((a) => a.type === ATTR.INDEX_ROOT && a.name === '$I30')!;
  const ir = decodeIndexRoot(new ByteView(root.value!, 0));
  const alloc = await fs.stream(dir, ATTR.INDEX_ALLOCATION, '$I30');
  const found: {
    name: string;
    namespace: number;
    allocatedSize: number;
    realSize: number;
    modified: Date | null;
  }[] = [];
  const walk = (entries: IndexEntry[], depth: number) => {
    expect(depth).toBeLessThan(32);
    for (const e of entries) {
      if (e.child !== null) {
        const off = indexVcnToOffset(e.child, ir.recordSize, cs);
        const buf = new Uint8Array(ir.recordSize);
        let o = 0;
        for (const p of runPieces(alloc!.runs, off, ir.recordSize, cs, 'indx')) {
          buf.set(dev.data.subarray(p.offset, p.offset + p.length), o);
          o += p.length;
        }
        walk(decodeIndexRecord(buf, e.child, 0).entries, depth + 1);
      }
      if (e.key && e.record === file)
        found.push({
          name: e.key.name,
          namespace: e.key.namespace,
          allocatedSize: e.key.allocatedSize,
          realSize: e.key.realSize,
          modified: e.key.modified,
        });
    }
  };
  walk(decodeIndexNode(new ByteView(root.value!, 0), 0x10), 0);
  return found;
}

/** The parent directories of record `n`, from its $FILE_NAME attributes. */
export async function parentsOf(fs: NtfsFileSystem, n: number): Promise<number[]> {
  const attrs = await fs.allAttributes(n);
  return [
    ...new Set(
      attrs
        .filter((a) => a.type === ATTR.FILE_NAME)
        .map((a) => decodeFileName(new ByteView(a.value!, 0)).parentRecord),
    ),
  ];
}
