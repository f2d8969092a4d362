// The BCD object model read from a store's registry tree (docs/bcd.md §2 key layout, §3 objects, §5 aliases).
// Built on the RegistryKey contract (src/hive/key.ts) only, so it reads a regf hive (hive/openHive) and a .reg
// export (tests) alike. Everything is decoded up front: a store is small (the largest corpus store holds 53 objects).
import { BootprobeError } from '../errors.js';
import type { RegistryKey, RegistryValue } from '../hive/key.js';
import { REG } from '../hive/key.js';
import { aliasFor, BOOTMGR_GUID, normalizeGuid } from './aliases.js';
import { type BcdValue, decodeElementValue } from './element.js';
import { type BcdFormatName, customElementName, elementFormat, elementName, hex8 } from './element-types.js';
import { namingApplicationCode, objectHeading } from './object-types.js';

export interface BcdElement {
  /** Element type code (bcd.md §4). */
  readonly type: number;
  /** bcdedit's name, or `custom:<type in hex>` (bcd.md §6.8). */
  readonly name: string;
  /** False when bcdedit has no name for it (printed as custom:). */
  readonly named: boolean;
  readonly format: BcdFormatName;
  /** Registry type of the `Element` value as stored. */
  readonly regType: number;
  /** The `Element` value's bytes exactly as stored. */
  readonly raw: Uint8Array;
  readonly value: BcdValue;
}

export interface BcdObject {
  /** '{guid}' lower case. */
  readonly id: string;
  /** What bcdedit prints instead of the GUID: '{default}' for {bootmgr}'s default, a static alias, or null. */
  readonly alias: string | null;
  /** Object type code (bcd.md §3). */
  readonly type: number;
  /** The section heading bcdedit prints above the object (bcd.md §3). */
  readonly typeName: string;
  /** Elements in ascending type order (the order bcdedit prints them, bcd.md §3). */
  readonly elements: readonly BcdElement[];
  /** Description\FirmwareVariable when present (bcd.md §2 [I]), kept byte-exact; null otherwise. */
  readonly firmwareVariable: Uint8Array | null;
  /** The element of that type, or null. */
  element(type: number): BcdElement | null;
}

export interface BcdStore {
  /** Name of the hive's root key (arbitrary: "NewStoreRoot" or "System", bcd.md §2). */
  readonly rootName: string;
  /** Values of the root's Description key (KeyName, System, TreatAsSystem, …), as stored. */
  readonly description: readonly RegistryValue[];
  /** Objects grouped by ascending type, then ascending GUID: `bcdedit /enum all` order (bcd.md §3 [I]). */
  readonly objects: readonly BcdObject[];
  /** GUID named by {bootmgr}'s `default` element (0x23000003), or null. */
  readonly defaultId: string | null;
  /** Looks an object up by '{guid}' (any case) or by alias ('{bootmgr}', '{default}', …). */
  object(idOrAlias: string): BcdObject | null;
}

/** Element type of {bootmgr} `default` (bcd.md §5 [C]). */
export const BOOTMGR_DEFAULT_ELEMENT = 0x23000003;

function storeError(
  message: string,
  key: RegistryKey | null,
  hint: string,
  data?: Record<string, unknown>,
): never {
  // A HiveKey carries its cell offset; a key from elsewhere (a .reg export) has none.
  const cell = key ? (key as unknown as { offset?: unknown }).offset : undefined;
  const offset = typeof cell === 'number' ? cell : undefined;
  throw new BootprobeError('BCD_INVALID', message, { offset, structure: 'bcd.store', hint, data });
}

const ELEMENT_KEY = /^[0-9a-f]{8}$/i;

/**
 * Reads a BCD store from the root key of its hive (bcd.md §2). Throws BCD_INVALID when the layout is not a BCD
 * store or an element is malformed, BCD_DEVICE when a device element's bytes are; every message names the object and
 * the element. Unknown element types are kept (named custom:<type in hex>), never dropped.
 */
export function readBcdStore(root: RegistryKey): BcdStore {
  const objectsKey = root.subkey('Objects');
  if (!objectsKey) {
    storeError(
      `registry root "${root.name}" has no Objects key: not a BCD store`,
      root,
      'open the BCD file itself (\\Boot\\BCD or \\EFI\\Microsoft\\Boot\\BCD)',
    );
  }
  const description = root.subkey('Description')?.values() ?? [];
  const seen = new Set<string>();
  const partial: Omit<BcdObject, 'alias' | 'element'>[] = [];
  for (const key of objectsKey.subkeys()) {
    const id = normalizeGuid(key.name);
    if (!id) {
      storeError(
        `BCD object key "${key.name}" is not a {GUID}`,
        key,
        'the store is damaged; rebuild it with bcdboot or restore it',
      );
    }
    if (seen.has(id)) storeError(`BCD object ${id} appears twice`, key, 'the store is damaged; restore it');
    seen.add(id);
    partial.push(readObject(key, id));
  }
  const bootmgr = partial.find((o) => o.id === BOOTMGR_GUID);
  const defaultElement = bootmgr?.elements.find((e) => e.type === BOOTMGR_DEFAULT_ELEMENT);
  const defaultId = defaultElement?.value.format === 'object' ? defaultElement.value.id : null;
  const objects: BcdObject[] = partial
    .map((o) => makeObject(o, aliasFor(o.id, defaultId)))
    .sort((a, b) => a.type - b.type || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const byId = new Map(objects.map((o) => [o.id, o]));
  const byAlias = new Map(objects.filter((o) => o.alias !== null).map((o) => [o.alias!, o]));
  return {
    rootName: root.name,
    description,
    objects,
    defaultId,
    object(idOrAlias: string): BcdObject | null {
      const t = idOrAlias.trim().toLowerCase();
      return (
        byId.get(t) ?? byAlias.get(t) ?? (normalizeGuid(t) ? (byId.get(normalizeGuid(t)!) ?? null) : null)
      );
    },
  };
}

function makeObject(o: Omit<BcdObject, 'alias' | 'element'>, alias: string | null): BcdObject {
  const byType = new Map(o.elements.map((e) => [e.type, e]));
  return { ...o, alias, element: (type: number) => byType.get(type >>> 0) ?? null };
}

function readObject(key: RegistryKey, id: string): Omit<BcdObject, 'alias' | 'element'> {
  const desc = key.subkey('Description');
  const typeValue = desc?.value('Type') ?? null;
  if (!typeValue || typeValue.type !== REG.DWORD || typeValue.data.length !== 4) {
    storeError(
      `BCD object ${id}: Description\\Type is ${typeValue ? `a ${typeValue.data.length}-byte value of registry type ${typeValue.type}` : 'missing'} (a REG_DWORD expected)`,
      desc ?? key,
      'the store is damaged; delete the object with bcdedit /delete or restore the store',
      { object: id },
    );
  }
  const type = new DataView(typeValue.data.buffer, typeValue.data.byteOffset, 4).getUint32(0, true);
  const fw = desc?.value('FirmwareVariable') ?? null;
  const appCode = namingApplicationCode(type);
  const elements: BcdElement[] = [];
  const elementsKey = key.subkey('Elements');
  const types = new Set<number>();
  for (const ek of elementsKey?.subkeys() ?? []) {
    if (!ELEMENT_KEY.test(ek.name)) {
      storeError(
        `BCD object ${id}: element key "${ek.name}" is not 8 hex digits`,
        ek,
        'the store is damaged; restore it',
        {
          object: id,
          element: ek.name,
        },
      );
    }
    const etype = Number.parseInt(ek.name, 16) >>> 0;
    if (types.has(etype))
      storeError(
        `BCD object ${id}: element ${hex8(etype)} appears twice`,
        ek,
        'the store is damaged; restore it',
      );
    types.add(etype);
    const value = ek.value('Element');
    if (!value) {
      storeError(
        `BCD object ${id}: element ${hex8(etype)} has no Element value`,
        ek,
        'the store is damaged; delete the element with bcdedit /deletevalue or restore the store',
        {
          object: id,
          element: hex8(etype),
        },
      );
    }
    let decoded: BcdValue;
    try {
      decoded = decodeElementValue(etype, value.type, value.data);
    } catch (e) {
      if (e instanceof BootprobeError) {
        const named = elementName(etype, appCode) ?? customElementName(etype);
        throw new BootprobeError(e.code, `BCD object ${id} element ${hex8(etype)} (${named}): ${e.message}`, {
          offset: e.offset,
          structure: e.structure,
          hint: e.hint,
          data: { ...e.data, object: id, element: hex8(etype), offsetInValue: e.offset },
          cause: e,
          kind: e.kind,
        });
      }
      throw e;
    }
    const name = elementName(etype, appCode);
    elements.push({
      type: etype,
      name: name ?? customElementName(etype),
      named: name !== null,
      format: elementFormat(etype),
      regType: value.type,
      raw: value.data,
      value: decoded,
    });
  }
  // bcdedit prints elements in ascending numeric type (bcd.md §3 [C]).
  elements.sort((a, b) => a.type - b.type);
  return { id, type, typeName: objectHeading(type, id), elements, firmwareVariable: fw ? fw.data : null };
}
