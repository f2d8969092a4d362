// Kill test (issue 6 "Must show"): a separate Node process writes through the library (undo record, image writer)
// into a dynamic VHD, a dynamic VHDX and differencing children of both, and is killed with SIGKILL at random points,
// many times. After every kill the file must open (a VHDX replays its log) and every sector must hold either its
// content before the interrupted write or after it; the next run replays and continues. At the end the undo records,
// applied newest first, give back the original container file, byte for byte.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChild } from '../../../src/image/create-image.js';
import { openImage } from '../../../src/image/open-image.js';
import { FileDevice } from '../../../src/io/file-device.js';
import { MemoryDevice } from '../../../src/io/memory-device.js';
import { NodeFileAccess } from '../../../src/io/node-file-access.js';
import { restoreUndoRecord } from '../../../src/io/undo-record.js';
import { tempDir } from '../../helpers/env.js';
import { expectOldOrNew, MiB, rng, vhdFixture, vhdxFixture } from './helpers.js';
import { killWrite } from './kill-writes.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const t = tempDir('bootprobe-kill-');
let worker = '';
beforeAll(async () => {
  worker = path.join(t.dir, 'kill-worker.mjs');
  await build({
    entryPoints: [path.join(HERE, 'kill-worker.ts')],
    outfile: worker,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
}, 60_000);
afterAll(() => t.cleanup());

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const KILLS = Number(process.env.BOOTPROBE_KILLS ?? 12);
const MAX_LEN = 400_000;

async function readVirtual(p: string): Promise<Uint8Array> {
  const img = await openImage(await FileDevice.open(p), { path: p, files: new NodeFileAccess() });
  try {
    const out = new Uint8Array(img.size);
    for (let at = 0; at < img.size; at += 4 * MiB)
      out.set(await img.read(at, Math.min(4 * MiB, img.size - at)), at);
    return out;
  } finally {
    await img.close();
  }
}

interface RunResult {
  done: number;
  begun: number;
  finished: boolean;
}

/** Runs the worker from write `start`; kills it once `killAfter` writes are done plus `delayMs`. */
function runWorker(job: object, start: number, killAfter: number, delayMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [worker, JSON.stringify({ ...job, start })], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let armed = false;
    child.stdout!.on('data', (d) => {
      out += d;
      const done = (out.match(/^done \d+$/gm) ?? []).length;
      if (!armed && done >= killAfter) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.stderr!.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL' && code !== 0) {
        reject(new Error(`worker failed (${code}): ${err}`));
        return;
      }
      const last = (word: string) => {
        const all = [...out.matchAll(new RegExp(`^${word} (\\d+)$`, 'gm'))].map((m) => Number(m[1]));
        return all.length ? all[all.length - 1]! : start - 1;
      };
      resolve({ done: last('done'), begun: last('begin'), finished: /^finished$/m.test(out) });
    });
  });
}

async function killLoop(image: string, seed: number) {
  const original = new Uint8Array(readFileSync(image));
  let model = await readVirtual(image);
  const size = model.length;
  const r = rng(seed);
  let next = 0;
  const undos: string[] = [];
  let interrupted = 0;
  for (let cycle = 0; cycle < KILLS; cycle++) {
    const undo = `${image}.undo${cycle}`;
    undos.push(undo);
    const job = { image, undo, seed, count: 1000, maxLen: MAX_LEN };
    const res = await runWorker(job, next, Math.floor(r() * 3), Math.floor(r() * 25));
    expect(res.finished).toBe(false);
    // Writes next .. res.done completed; write res.done + 1 may have been interrupted.
    for (let i = next; i <= res.done; i++) {
      const w = killWrite(seed, i, size, MAX_LEN);
      model.set(w.data, w.offset);
    }
    const after = model.slice();
    if (res.begun > res.done) {
      interrupted++;
      const w = killWrite(seed, res.begun, size, MAX_LEN);
      after.set(w.data, w.offset);
    }
    const got = await readVirtual(image);
    expectOldOrNew(got, model, after, `${path.basename(image)} cycle ${cycle} (done ${res.done})`);
    model = got;
    next = res.done + 1;
  }
  // Most kills must land inside a write, or the test proves little.
  expect(interrupted).toBeGreaterThan(KILLS / 3);
  for (const u of undos.reverse()) {
    const file = await FileDevice.openWritable(image);
    const rec = await FileDevice.open(u);
    await restoreUndoRecord(file, rec);
    await rec.close();
    await file.close();
  }
  expect(sha(new Uint8Array(readFileSync(image)))).toBe(sha(original));
}

describe('kill -9 at random points during writes — every sector old or new, undo restores the file', () => {
  it('dynamic VHD', async () => {
    const p = path.join(t.dir, 'dyn.vhd');
    writeFileSync(p, vhdFixture('vpc-dynamic.vhd'));
    await killLoop(p, 1);
  }, 120_000);

  it('dynamic VHDX (log transactions for every new block)', async () => {
    const p = path.join(t.dir, 'dyn.vhdx');
    writeFileSync(p, vhdxFixture('dynamic-1m.vhdx'));
    await killLoop(p, 2);
  }, 120_000);

  for (const format of ['vhd', 'vhdx'] as const) {
    it(`differencing ${format.toUpperCase()} child (copy-on-write, sector bitmaps)`, async () => {
      const dir = path.join(t.dir, `chain-${format}`);
      mkdirSync(dir);
      const parent = path.join(dir, `base.${format}`);
      writeFileSync(
        parent,
        format === 'vhd' ? vhdFixture('vpc-dynamic.vhd') : vhdxFixture('dynamic-1m.vhdx'),
      );
      const parentImg = await openImage(await FileDevice.open(parent), { path: parent });
      const out = new MemoryDevice(new Uint8Array(0), { writable: true });
      await createChild(
        parentImg,
        out as MemoryDevice & { write: NonNullable<MemoryDevice['write']> },
        format,
        {
          relative: `.\\base.${format}`,
          absolute: parent,
        },
      );
      await parentImg.close();
      const child = path.join(dir, `child.${format}`);
      writeFileSync(child, out.data);
      const parentSha = sha(new Uint8Array(readFileSync(parent)));
      await killLoop(child, 3);
      expect(sha(new Uint8Array(readFileSync(parent)))).toBe(parentSha);
    }, 120_000);
  }
});
