// Shared by the image-write tests: fixtures, a device that records every write (so a crash after any write can be
// rebuilt exactly), deterministic random writes, and the "every sector old or new" check.
import path from 'node:path';
import { expect } from 'vitest';
import type { DiskImage, OpenImageOptions } from '../../../src/image/disk-image.js';
import { openImage } from '../../../src/image/open-image.js';
import type { BlockDevice } from '../../../src/io/block-device.js';
import { anyBasename, type FileAccess } from '../../../src/io/file-access.js';
import { MemoryDevice } from '../../../src/io/memory-device.js';
import { FIXTURES } from '../../helpers/env.js';
import { gunzipFile } from '../../helpers/gunzip.js';

export const KiB = 1024;
export const MiB = 1024 * 1024;

export const vhdFixture = (name: string) => gunzipFile(path.join(FIXTURES, 'vhd', `${name}.gz`));
export const vhdxFixture = (name: string) => gunzipFile(path.join(FIXTURES, 'vhdx', `${name}.gz`));

/** mulberry32: a small seeded PRNG, so every random test replays the same writes. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface TestWrite {
  offset: number;
  data: Uint8Array;
}

/** Bytes that depend on seed and position, never all zero. */
export function fill(length: number, seed: number): Uint8Array {
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) b[i] = ((seed * 131 + i * 7 + (i >> 9)) & 0xff) | 1;
  return b;
}

/**
 * `count` writes inside a `size`-byte disk: lengths from 1 byte to `maxLen`, offsets anywhere (unaligned on
 * purpose), a quarter of them sector-aligned and a few crossing a block boundary of `blockSize`.
 */
export function randomWrites(seed: number, size: number, count: number, maxLen: number, blockSize: number) {
  const r = rng(seed);
  const out: TestWrite[] = [];
  const most = Math.min(maxLen, size);
  for (let i = 0; i < count; i++) {
    let len = 1 + Math.floor(r() * most);
    let offset: number;
    const kind = r();
    if (kind < 0.25) {
      len = Math.max(512, Math.floor(len / 512) * 512);
      offset = Math.floor((r() * (size - len)) / 512) * 512;
    } else if (kind < 0.4) {
      const boundary = blockSize * (1 + Math.floor(r() * Math.max(1, Math.floor(size / blockSize) - 1)));
      offset = Math.max(0, Math.min(size - len, boundary - Math.floor(len / 2)));
    } else offset = Math.floor(r() * (size - len));
    out.push({ offset, data: fill(len, seed * 1000 + i) });
  }
  return out;
}

export async function readAll(img: BlockDevice, step = 3 * MiB + 777): Promise<Uint8Array> {
  const out = new Uint8Array(img.size);
  for (let at = 0; at < img.size; at += step) out.set(await img.read(at, Math.min(step, img.size - at)), at);
  return out;
}

export function firstDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  if (Buffer.compare(a, b) === 0) return -1;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** A writable in-memory file that records every write, so the file after any prefix of them can be rebuilt. */
export class RecordingDevice extends MemoryDevice {
  readonly ops: { offset: number; data: Uint8Array }[] = [];
  flushes: number[] = [];
  private readonly original: Uint8Array;

  constructor(bytes: Uint8Array) {
    super(bytes.slice(), { writable: true });
    this.original = bytes.slice();
    const inner = this.write!;
    this.write = async (offset, data) => {
      this.ops.push({ offset, data: data.slice() });
      await inner(offset, data);
    };
  }

  override async flush(): Promise<void> {
    this.flushes.push(this.ops.length);
  }

  /** The file as it would be had the process been killed after `k` writes. */
  stateAfter(k: number): Uint8Array {
    let b = this.original.slice();
    for (const op of this.ops.slice(0, k)) {
      if (op.offset + op.data.length > b.length) {
        const g = new Uint8Array(op.offset + op.data.length);
        g.set(b);
        b = g;
      }
      b.set(op.data, op.offset);
    }
    return b;
  }
}

/** FileAccess over named byte arrays (POSIX paths), with siblings: what NodeFileAccess gives the write layer. */
export function memoryFiles(files: Record<string, Uint8Array>): FileAccess {
  return {
    async open(p) {
      const b = files[p];
      return b ? new MemoryDevice(b) : null;
    },
    resolveBeside(from, rel) {
      if (rel.startsWith('/')) return rel;
      return path.posix.join(
        path.posix.dirname(from),
        ...rel.split(/[\\/]+/).filter((s) => s !== '' && s !== '.'),
      );
    },
    basename: anyBasename,
    async siblings(file) {
      const dir = path.posix.dirname(file);
      return Object.keys(files).filter((p) => p !== file && path.posix.dirname(p) === dir);
    },
  };
}

export async function openRead(bytes: Uint8Array, options: OpenImageOptions = {}): Promise<DiskImage> {
  return openImage(new MemoryDevice(bytes), options);
}

/**
 * After a crash, every sector must hold either its content before the interrupted write or after it: `before` and
 * `after` are the whole disk in each state.
 */
export function expectOldOrNew(got: Uint8Array, before: Uint8Array, after: Uint8Array, what: string): void {
  expect(got.length).toBe(before.length);
  for (let s = 0; s < got.length; s += 512) {
    const g = got.subarray(s, s + 512);
    if (Buffer.compare(g, before.subarray(s, s + 512)) === 0) continue;
    if (Buffer.compare(g, after.subarray(s, s + 512)) === 0) continue;
    expect.fail(`${what}: sector at ${s} is neither the old nor the new content`);
  }
}
