// Editing a BCD store as a registry tree (docs/bcd.md §2 key layout): set and delete elements of objects, and the
// record of what an edit changed ({object, element, before, after}, values printed as bcdedit prints them, §4/§8).
// Pure: the transforms (generalize.ts, retarget.ts) copy an EditableHive (hive/edit.ts), edit the copy through these
// helpers and compare the store read back before and after; nothing here reads or writes a device.
import { BootprobeError } from '../errors.js';
import type { EditableHive, EditableKey } from '../hive/edit.js';
import { encodeRegMultiSz, encodeRegQword, encodeRegSz } from '../hive/edit.js';
import { REG } from '../hive/key.js';
import { bytesEqual } from '../io/index.js';
import { normalizeGuid } from './aliases.js';
import { type BcdDevice, describePartition, encodeBcdDevice } from './device.js';
import { hex8 } from './element-types.js';
import { elementDisplay, type RenderBcdOptions } from './render.js';
import { type BcdElement, type BcdObject, type BcdStore, readBcdStore } from './store.js';

/** One changed element of one object, for the repair report. */
export interface BcdChange {
  /** '{guid}' lower case. */
  readonly objectId: string;
  /** How bcdedit names the object: its alias ({bootmgr}, {default}, …) or the GUID. */
  readonly object: string;
  readonly elementType: number;
  /** bcdedit's name of the element, or `custom:` and its type in 8 hex digits when bcdedit has none. */
  readonly element: string;
  /** The value as bcdedit prints it (list entries joined by ', '); null when the element was absent. */
  readonly before: string | null;
  /** null when the element was removed. */
  readonly after: string | null;
}

/** What a transform returns: the edited copy, the store read back from it, and what changed. */
export interface BcdEditResult {
  readonly hive: EditableHive;
  readonly store: BcdStore;
  readonly changes: readonly BcdChange[];
  /** Things left as they were on purpose, or that could not be decided (one sentence each). */
  readonly notes: readonly string[];
}

/** Element value encodings a writer uses (bcd.md §4 table: integers as 8 bytes, booleans as 1 byte). */
export const bcdValue = {
  device: (d: BcdDevice) => ({ regType: REG.BINARY, data: encodeBcdDevice(d) }),
  string: (text: string) => ({ regType: REG.SZ, data: encodeRegSz(text) }),
  object: (guid: string) => ({ regType: REG.SZ, data: encodeRegSz(guidOrFail(guid)) }),
  objectList: (guids: readonly string[]) => ({
    regType: REG.MULTI_SZ,
    data: guids.length === 0 ? encodeRegSz('') : encodeRegMultiSz(guids.map(guidOrFail)),
  }),
  integer: (n: bigint) => ({ regType: REG.BINARY, data: encodeRegQword(n) }),
  boolean: (v: boolean) => ({ regType: REG.BINARY, data: Uint8Array.of(v ? 1 : 0) }),
  integerList: (ns: readonly bigint[]) => {
    const data = new Uint8Array(ns.length * 8);
    for (let i = 0; i < ns.length; i++) data.set(encodeRegQword(ns[i]!), i * 8);
    return { regType: REG.BINARY, data };
  },
} as const;

export type BcdElementValue = { readonly regType: number; readonly data: Uint8Array };

function guidOrFail(guid: string): string {
  const g = normalizeGuid(guid);
  if (!g) {
    throw new BootprobeError('BCD_EDIT', `"${guid}" is not a {GUID}`, {
      structure: 'bcd.edit',
      hint: 'give objects as a braced GUID, {8-4-4-4-12 hex digits}',
      kind: 'usage',
    });
  }
  return g;
}

/** The Objects key of a store tree (bcd.md §2); BCD_INVALID when it is not a store. */
export function objectsKey(root: EditableKey): EditableKey {
  const k = root.subkey('Objects');
  if (!k) {
    throw new BootprobeError(
      'BCD_INVALID',
      `registry root "${root.name}" has no Objects key: not a BCD store`,
      {
        structure: 'bcd.store',
        hint: 'open the BCD file itself (\\Boot\\BCD or \\EFI\\Microsoft\\Boot\\BCD)',
      },
    );
  }
  return k;
}

/** The key of one object ('{guid}', any case), or null. */
export function objectKey(root: EditableKey, objectId: string): EditableKey | null {
  return objectsKey(root).subkey(guidOrFail(objectId));
}

function requireObject(root: EditableKey, objectId: string): EditableKey {
  const k = objectKey(root, objectId);
  if (!k) {
    throw new BootprobeError('BCD_EDIT', `the store has no object ${objectId}`, {
      structure: 'bcd.edit',
      hint: 'list the store with `bootprobe bcd` to see its objects',
      kind: 'usage',
    });
  }
  return k;
}

/** Adds an empty object: `Objects\{guid}` with `Description\Type` (REG_DWORD) and `Elements` (bcd.md §2). */
export function addBcdObject(root: EditableKey, objectId: string, type: number): EditableKey {
  const id = guidOrFail(objectId);
  const objects = objectsKey(root);
  if (objects.subkey(id)) {
    throw new BootprobeError('BCD_EDIT', `the store already has an object ${id}`, {
      structure: 'bcd.edit',
      hint: 'pick another GUID or edit the existing object',
      kind: 'usage',
    });
  }
  const key = objects.addKey(id);
  key.addKey('Description').setDword('Type', type);
  key.addKey('Elements');
  return key;
}

/**
 * Sets element `type` of an object: the `Elements\<8 lower-case hex digits>` key (as every corpus store names it,
 * bcd.md §2) with its single `Element` value; the key is created when absent.
 */
export function setBcdElement(
  root: EditableKey,
  objectId: string,
  type: number,
  value: BcdElementValue,
): void {
  const obj = requireObject(root, objectId);
  const elements = obj.subkey('Elements') ?? obj.addKey('Elements');
  const key = elements.subkey(hex8(type)) ?? elements.addKey(hex8(type));
  key.setValue('Element', value.regType, value.data);
}

/** Deletes element `type` of an object (its key and value); false when it was absent. */
export function deleteBcdElement(root: EditableKey, objectId: string, type: number): boolean {
  const elements = requireObject(root, objectId).subkey('Elements');
  return elements ? elements.deleteKey(hex8(type)) : false;
}

/** The elements of `o` by type. */
const byType = (o: BcdObject | null): Map<number, BcdElement> =>
  new Map((o?.elements ?? []).map((e) => [e.type, e]));

/**
 * Every element that differs between two stores (bytes or registry type), in `bcdedit /enum all` order: objects as
 * the store orders them (bcd.md §3), elements by ascending type. Values print as bcdedit prints them; a partition
 * nobody resolves prints with its disk and offset or GUIDs (bcd.md §7.3 verbose form) rather than `unknown`.
 */
export function bcdChanges(before: BcdStore, after: BcdStore, options: RenderBcdOptions = {}): BcdChange[] {
  const opts: RenderBcdOptions = { resolvePartition: (d) => describePartition(d), ...options };
  const ids: string[] = [];
  for (const o of [...before.objects, ...after.objects]) if (!ids.includes(o.id)) ids.push(o.id);
  const order = (id: string) => {
    const o = after.object(id) ?? before.object(id)!;
    return o.type;
  };
  ids.sort((a, b) => order(a) - order(b) || (a < b ? -1 : a > b ? 1 : 0));
  const changes: BcdChange[] = [];
  for (const id of ids) {
    const ob = before.object(id);
    const oa = after.object(id);
    const eb = byType(ob);
    const ea = byType(oa);
    const types = [...new Set([...eb.keys(), ...ea.keys()])].sort((a, b) => a - b);
    for (const t of types) {
      const b = eb.get(t) ?? null;
      const a = ea.get(t) ?? null;
      if (b && a && a.regType === b.regType && bytesEqual(a.raw, b.raw)) continue;
      const show = (store: BcdStore, o: BcdObject | null, e: BcdElement | null) =>
        o && e ? elementDisplay(store, o, e, opts).join(', ') : null;
      changes.push({
        objectId: id,
        object: (oa ?? ob)!.alias ?? id,
        elementType: t,
        element: (a ?? b)!.name,
        before: show(before, ob, b),
        after: show(after, oa, a),
      });
    }
  }
  return changes;
}

/** The store read back from an edited tree (what bcdedit would now list). */
export function readEditedStore(hive: EditableHive): BcdStore {
  return readBcdStore(hive.root);
}
