// Checked arithmetic for sizes and offsets read from disk (STYLE.md "Units are types"): a product or sum that
// leaves the safe-integer range is corrupt input, not a silent rounding.
import { BootprobeError, type ErrorCode } from '../errors.js';

export function checkedMul(a: number, b: number, what: string, code: ErrorCode = 'VALUE_TOO_LARGE'): number {
  const r = a * b;
  if (!Number.isSafeInteger(r) || r < 0) {
    throw new BootprobeError(code, `${what}: ${a} × ${b} does not fit in a safe integer`);
  }
  return r;
}

export function checkedAdd(a: number, b: number, what: string, code: ErrorCode = 'VALUE_TOO_LARGE'): number {
  const r = a + b;
  if (!Number.isSafeInteger(r) || r < 0) {
    throw new BootprobeError(code, `${what}: ${a} + ${b} does not fit in a safe integer`);
  }
  return r;
}

export const isPowerOfTwo = (n: number): boolean =>
  Number.isSafeInteger(n) && n > 0 && Number.isInteger(Math.log2(n));

export const KiB = 1024;
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
