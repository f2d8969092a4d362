// The FAT fixtures of scripts/fixtures/fat.sh and their answers (written from the mtools / fsck.fat side).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type IoStats, MemoryDevice, newIoStats } from '../../../../src/io/index.js';
import { FIXTURES } from '../../../helpers/env.js';
import { gunzipFile } from '../../../helpers/gunzip.js';

export interface FatAnswerEntry {
  path: string;
  name: string;
  /** The 8.3 name as mdir shows it (NT case flags applied, code page 850). */
  shortName: string;
  type: 'file' | 'directory';
  /** "YYYY-MM-DD HH:MM" as mdir shows the last write time. */
  modified: string;
  /** mshowfat: [first, last] cluster runs. */
  chain: [number, number][];
  size?: number;
  sha256?: string;
}

export interface FatAnswer {
  type: 'fat12' | 'fat16' | 'fat32';
  clusterSize: number;
  clusterCount: number;
  label: string | null;
  serial: string | null;
  entries: FatAnswerEntry[];
}

export const FAT_FIXTURES = ['fat12', 'fat16', 'fat32', 'fat16-4k'] as const;
export type FatFixture = (typeof FAT_FIXTURES)[number] | 'fat16-fatdiff';

const dir = path.join(FIXTURES, 'fat');
const cache = new Map<string, Uint8Array>();

export function fatAnswer(name: (typeof FAT_FIXTURES)[number]): FatAnswer {
  return JSON.parse(readFileSync(path.join(dir, `${name}.json`), 'utf8'));
}

/** A fresh copy of the fixture's bytes (safe to patch). */
export function fatImage(name: FatFixture): Uint8Array {
  let b = cache.get(name);
  if (!b) {
    b = gunzipFile(path.join(dir, `${name}.img.gz`));
    cache.set(name, b);
  }
  return b.slice();
}

export function fatDevice(name: FatFixture | Uint8Array, stats?: IoStats): MemoryDevice {
  const bytes = typeof name === 'string' ? fatImage(name) : name;
  const sectorSize = name === 'fat16-4k' ? 4096 : 512;
  return new MemoryDevice(bytes, { sectorSize, stats: stats ?? newIoStats() });
}
