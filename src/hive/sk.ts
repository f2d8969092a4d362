// Layout: docs/regf.md §5.4 (sk, security). sk records form a circular doubly-linked list shared by keys.
import { BootprobeError, hex } from '../errors.js';
import type { ByteView } from '../io/index.js';
import { HIVE_DAMAGED } from './hints.js';

export const SK_SIGNATURE = 'sk';
export const SK_FIXED_SIZE = 20;

export interface SkRecord {
  readonly flink: number;
  readonly blink: number;
  readonly referenceCount: number;
  readonly descriptorSize: number;
  /** Self-relative SECURITY_DESCRIPTOR bytes. */
  readonly descriptor: Uint8Array;
}

export function decodeSk(view: ByteView): SkRecord {
  const fail = (what: string, at = 0): never => {
    throw new BootprobeError('HIVE_CELL', `security (sk) at ${hex(view.base)}: ${what}`, {
      offset: view.base + at,
      structure: 'regf.sk',
      hint: HIVE_DAMAGED,
    });
  };
  if (view.length < SK_FIXED_SIZE) fail(`cell holds ${view.length} bytes, an sk needs ${SK_FIXED_SIZE}`);
  const sig = view.ascii(0, 2);
  if (sig !== SK_SIGNATURE) fail(`signature "${sig.replace(/[^\x20-\x7e]/g, '.')}", expected "sk"`);
  const descriptorSize = view.u32le(16);
  if (descriptorSize > view.length - SK_FIXED_SIZE) {
    fail(`descriptor size ${descriptorSize} runs past the ${view.length}-byte cell`, 16);
  }
  return {
    flink: view.u32le(4),
    blink: view.u32le(8),
    referenceCount: view.u32le(12),
    descriptorSize,
    descriptor: view.slice(SK_FIXED_SIZE, descriptorSize),
  };
}
