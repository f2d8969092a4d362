// Committed fixtures are gzip-compressed when large; tests inflate them to a temp file or to memory.
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export function gunzipFile(src: string): Uint8Array {
  return new Uint8Array(gunzipSync(readFileSync(src)));
}

export function gunzipTo(src: string, dest: string): string {
  writeFileSync(dest, gunzipFile(src));
  return dest;
}
