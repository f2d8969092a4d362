// A whole file through FileReader.read, checked against the same bytes through fileReadInto: in uneven pieces into
// one reused buffer left dirty between reads, so readInto must write every byte (sparse runs and bytes past the
// initialized size included).
import { expect } from 'vitest';
import { type FileReader, fileReadInto } from '../../src/fs/file-system.js';

const PIECE = 100_003;

export async function readWhole(r: FileReader): Promise<Uint8Array> {
  const whole = await r.read(0, r.size);
  const buf = new Uint8Array(Math.min(PIECE, r.size));
  for (let at = 0; at < r.size; at += PIECE) {
    const part = buf.subarray(0, Math.min(PIECE, r.size - at)).fill(0xa5);
    await fileReadInto(r, at, part);
    expect(Buffer.compare(part, whole.subarray(at, at + part.length))).toBe(0);
  }
  return whole;
}
