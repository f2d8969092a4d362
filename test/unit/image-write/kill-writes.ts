// The writes of the kill test, shared by the test and its worker process: write `i` of a run is a pure function of
// (seed, i, disk size), so after a kill the test knows exactly what each completed and interrupted write held.

/** mulberry32 step on a 32-bit state. */
function next(state: number): [number, number] {
  const a = (state + 0x6d2b79f5) >>> 0;
  let t = a;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return [a, ((t ^ (t >>> 14)) >>> 0) / 4294967296];
}

export interface KillWrite {
  offset: number;
  data: Uint8Array;
}

/**
 * Write `i`: up to `maxLen` bytes anywhere in the disk (unaligned), every byte depending on (seed, i), never zero,
 * so a sector holding it is told apart from zeros and from every other write.
 */
export function killWrite(seed: number, i: number, size: number, maxLen: number): KillWrite {
  let s = (seed * 7919 + i * 104729) >>> 0;
  let r: number;
  [s, r] = next(s);
  const len = 1 + Math.floor(r * maxLen);
  [s, r] = next(s);
  const offset = Math.floor(r * (size - len));
  const data = new Uint8Array(len);
  for (let j = 0; j < len; j++) data[j] = ((i * 29 + j * 13 + seed) & 0xff) | 1;
  return { offset, data };
}
