// Layout: docs/regf.md §5.5 (subkey lists lf, lh, li, ri). Header: 2-byte signature + u16 count, then elements:
// lf/lh 8 bytes (nk offset + hint/hash), li 4 bytes (nk offset), ri 4 bytes (offset of an li/lf/lh list).
import { BootprobeError, hex } from '../errors.js';
import type { ByteView } from '../io/index.js';
import { HIVE_DAMAGED } from './hints.js';

export type SubkeyListKind = 'lf' | 'lh' | 'li' | 'ri';

export interface SubkeyList {
  readonly kind: SubkeyListKind;
  /** nk offsets (lf/lh/li) or leaf-list offsets (ri), in stored order. */
  readonly offsets: readonly number[];
  /** lf name hints or lh hashes, parallel to `offsets`; empty for li/ri. */
  readonly hints: readonly number[];
}

const ELEMENT_SIZE: Record<SubkeyListKind, number> = { lf: 8, lh: 8, li: 4, ri: 4 };

export function decodeSubkeyList(view: ByteView): SubkeyList {
  const fail = (what: string, at = 0): never => {
    throw new BootprobeError('HIVE_CELL', `subkey list at ${hex(view.base)}: ${what}`, {
      offset: view.base + at,
      structure: 'regf.subkey-list',
      hint: HIVE_DAMAGED,
    });
  };
  if (view.length < 4) fail(`cell holds ${view.length} bytes, a list header needs 4`);
  const sig = view.ascii(0, 2);
  if (sig !== 'lf' && sig !== 'lh' && sig !== 'li' && sig !== 'ri') {
    fail(`signature "${sig.replace(/[^\x20-\x7e]/g, '.')}", expected lf, lh, li or ri`);
  }
  const kind = sig as SubkeyListKind;
  const count = view.u16le(2);
  const size = ELEMENT_SIZE[kind];
  // The count is checked against the cell before anything is allocated.
  if (4 + count * size > view.length) fail(`${count} elements do not fit in the ${view.length}-byte cell`, 2);
  const offsets: number[] = [];
  const hints: number[] = [];
  for (let i = 0; i < count; i++) {
    offsets.push(view.u32le(4 + i * size));
    if (size === 8) hints.push(view.u32le(8 + i * size));
  }
  return { kind, offsets, hints };
}
