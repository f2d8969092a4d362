// Shared by the image tests: fixtures from the manifest, opening in memory, reading a whole virtual disk.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { BootprobeError } from '../../../src/errors.js';
import type { DiskImage, OpenImageOptions } from '../../../src/image/disk-image.js';
import { openImage } from '../../../src/image/open-image.js';
import { MemoryDevice } from '../../../src/io/memory-device.js';
import { FIXTURES } from '../../helpers/env.js';
import { gunzipFile } from '../../helpers/gunzip.js';

export interface ManifestEntry {
  virtualSize: number;
  rawSha256: string;
}

export const IMAGE_FIXTURES = path.join(FIXTURES, 'images');
export const manifest: Record<string, ManifestEntry> = JSON.parse(
  readFileSync(path.join(IMAGE_FIXTURES, 'manifest.json'), 'utf8'),
);

export function fixtureBytes(name: string): Uint8Array {
  return gunzipFile(path.join(IMAGE_FIXTURES, `${name}.gz`));
}

export function openBytes(bytes: Uint8Array, options: OpenImageOptions = {}): Promise<DiskImage> {
  return openImage(new MemoryDevice(bytes), options);
}

export async function readAll(img: DiskImage): Promise<Uint8Array> {
  const out = new Uint8Array(img.size);
  const step = 3 * 1024 * 1024 + 512; // not block-aligned on purpose: reads straddle block boundaries
  for (let at = 0; at < img.size; at += step) out.set(await img.read(at, Math.min(step, img.size - at)), at);
  return out;
}

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Opens and reads everything; the only acceptable failure is a BootprobeError. Returns its code, or 'ok'. */
export async function openAndReadTyped(bytes: Uint8Array, options: OpenImageOptions = {}): Promise<string> {
  try {
    const img = await openBytes(bytes, options);
    await readAll(img);
    await img.mapRange(0, img.size);
    return 'ok';
  } catch (e) {
    if (!(e instanceof BootprobeError)) {
      expect.fail(
        `expected a BootprobeError, got ${(e as Error)?.name}: ${(e as Error)?.message}\n${(e as Error)?.stack}`,
      );
    }
    return e.code;
  }
}
