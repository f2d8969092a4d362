// The NTFS fixtures made by scripts/fixtures/ntfs.sh and the answers The Sleuth Kit gave for them, parsed.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { FIXTURES } from '../../../helpers/env.js';
import { gunzipFile } from '../../../helpers/gunzip.js';

export const NTFS_FIXTURES = path.join(FIXTURES, 'ntfs');
export const VOLUMES = ['ntfs-a', 'ntfs-b', 'ntfs-c'] as const;
export type Volume = (typeof VOLUMES)[number];

export const image = (name: Volume): Uint8Array => gunzipFile(path.join(NTFS_FIXTURES, `${name}.img.gz`));
export const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export interface FlsLine {
  /** fls address: inode-type-id, or inode alone. */
  addr: string;
  inode: number;
  type: 'd' | 'r';
  /** Path as fls prints it, maybe with ':stream'. */
  path: string;
  base: string;
  stream: string | null;
  size: number;
}

/** `fls -r -p -l` output: allocated names only, without TSK's $OrphanFiles. */
export function parseFls(text: string): FlsLine[] {
  const out: FlsLine[] = [];
  for (const line of text.split('\n')) {
    const cols = line.split('\t');
    const m = /^([-a-zA-Z])\/([-a-zA-Z]) (\*?)\s*([0-9-]+):$/.exec(cols[0] ?? '');
    if (!m || m[3] === '*' || (m[2] !== 'd' && m[2] !== 'r')) continue;
    const p = cols[1]!;
    if (p.startsWith('$OrphanFiles')) continue;
    const colon = p.lastIndexOf(':');
    const slash = p.lastIndexOf('/');
    const stream = colon > slash ? p.slice(colon + 1) : null;
    out.push({
      addr: m[4]!,
      inode: Number(m[4]!.split('-')[0]),
      type: m[2] as 'd' | 'r',
      path: p,
      base: stream === null ? p : p.slice(0, colon),
      stream,
      size: Number(cols[6]),
    });
  }
  return out;
}

export const fls = (name: Volume): FlsLine[] =>
  parseFls(gunzipSync(readFileSync(path.join(NTFS_FIXTURES, `${name}.fls.txt.gz`))).toString('utf8'));
export const icat = (name: Volume): Record<string, string> =>
  JSON.parse(readFileSync(path.join(NTFS_FIXTURES, `${name}.icat.json`), 'utf8'));
