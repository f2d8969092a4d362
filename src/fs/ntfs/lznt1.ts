// LZNT1 decompression. Procedure: docs/ntfs.md §6 (MS-XCA §2.5).
import { BootprobeError } from '../../errors.js';

const CHUNK = 4096;

/** Decompresses `src` into at most `maxOut` bytes (one compression unit). */
export function lznt1Decompress(src: Uint8Array, maxOut: number, where: number): Uint8Array {
  const out = new Uint8Array(maxOut);
  let o = 0;
  let i = 0;
  const fail = (msg: string) =>
    new BootprobeError('NTFS_COMPRESSION', `LZNT1 data at cluster offset ${where}: ${msg}`, {
      offset: where,
      structure: 'ntfs.lznt1',
      hint: 'the compressed file is damaged',
    });
  while (i + 2 <= src.length && o < maxOut) {
    const header = src[i]! | (src[i + 1]! << 8);
    if (header === 0) break;
    const size = (header & 0x0fff) + 3;
    // The stream of a unit lies inside its allocated clusters (§6), so a chunk running past them is corrupt.
    if (i + size > src.length)
      throw fail(`chunk of ${size} bytes at ${i} runs past the ${src.length} compressed bytes`);
    const end = i + size;
    i += 2;
    const chunkStart = o;
    if ((header & 0x8000) === 0) {
      const n = Math.min(end - i, maxOut - o);
      out.set(src.subarray(i, i + n), o);
      o += n;
    } else {
      while (i < end && o < maxOut) {
        const flags = src[i++]!;
        for (let bit = 0; bit < 8 && i < end && o < maxOut; bit++) {
          if ((flags & (1 << bit)) === 0) {
            out[o++] = src[i++]!;
          } else {
            if (i + 2 > end) throw fail('token past the end of the chunk');
            const token = src[i]! | (src[i + 1]! << 8);
            i += 2;
            const pos = o - chunkStart;
            if (pos < 1) throw fail('back-reference before any output');
            let b = 4;
            while (1 << b < pos) b++;
            const offset = (token >> (16 - b)) + 1;
            const length = (token & ((1 << (16 - b)) - 1)) + 3;
            if (offset > pos) throw fail(`back-reference ${offset} beyond the ${pos} bytes written`);
            for (let k = 0; k < length && o < maxOut && o - chunkStart < CHUNK; k++) {
              out[o] = out[o - offset]!;
              o++;
            }
          }
        }
      }
    }
    i = end;
  }
  return out;
}
