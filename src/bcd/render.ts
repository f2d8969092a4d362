// The store as `bcdedit /enum all` prints it (docs/bcd.md §3 order and headings, §8 layout), and `-v` as
// `/enum all /v` prints it. Layout rules (§8 [C]): a heading per object underlined with '-' of its length,
// `identifier` first, then elements in ascending type; names padded to 24 columns (a name of 24+ characters gets one
// space [?]); further entries of a list on their own lines indented 24 spaces; one blank line between objects.

import { aliasFor } from './aliases.js';
import type { BcdPartitionDescriptor } from './device.js';
import { formatElementValue, type ValueDisplayContext } from './element.js';
import type { BcdElement, BcdObject, BcdStore } from './store.js';

export interface RenderBcdOptions {
  /** Print identifiers as raw GUIDs (bcdedit /v) and partition devices with their disk and offset or GUIDs. */
  readonly verbose?: boolean;
  /**
   * Names a partition device, e.g. by finding it inside the image ("disk 0 partition 1"); printed as
   * `partition=<name>`. Return null when not found: the device then prints as bcdedit prints a disk it cannot
   * find, `unknown` (known-answers.md §1), or with its disk and offset in verbose mode (bcd.md §7.3).
   */
  readonly resolvePartition?: (device: BcdPartitionDescriptor) => string | null;
}

/** Value column: names are padded to 24 characters (bcd.md §8 [C]). */
export const BCDEDIT_NAME_WIDTH = 24;

/** The lines bcdedit prints for one element: name padded to the value column, list entries continued below. */
export function elementLines(name: string, values: readonly string[]): string[] {
  const pad = name.length >= BCDEDIT_NAME_WIDTH ? `${name} ` : name.padEnd(BCDEDIT_NAME_WIDTH);
  const lines = [`${pad}${values[0] ?? ''}`];
  for (const v of values.slice(1)) lines.push(`${' '.repeat(BCDEDIT_NAME_WIDTH)}${v}`);
  return lines.map((l) => l.trimEnd());
}

/** The display context for one object: references print as aliases, locate devices read the object's strings. */
export function displayContext(
  store: BcdStore,
  object: BcdObject,
  options: RenderBcdOptions = {},
): ValueDisplayContext {
  return {
    verbose: options.verbose ?? false,
    resolvePartition: options.resolvePartition,
    // References keep their aliases even with /v: the BCD-Template `/store … /v` listings do so; live-store /v
    // listings print raw GUIDs [?] (bcd.md §5). A store file is what we read, so we follow the /store listings.
    reference: (guid) => referenceText(store, guid),
    elementText: (type) => {
      const e = object.element(type);
      return e && e.value.format === 'string' ? e.value.text : null;
    },
  };
}

/** How bcdedit prints a reference to `guid` in this store ({default}, a static alias, or the GUID). */
export function referenceText(store: BcdStore, guid: string): string {
  const o = store.object(guid);
  if (o) return o.alias ?? o.id;
  // A reference to an object absent from the store still prints, aliased when well known (bcd.md §4 format 3).
  return aliasFor(guid, store.defaultId) ?? guid.toLowerCase();
}

/** The displayed value lines of one element. */
export function elementDisplay(
  store: BcdStore,
  object: BcdObject,
  element: BcdElement,
  options: RenderBcdOptions = {},
): string[] {
  return formatElementValue(
    element.value,
    element.raw,
    element.named ? element.name : null,
    displayContext(store, object, options),
  );
}

/** One object's section: heading, underline, identifier, elements. */
export function renderBcdObject(
  store: BcdStore,
  object: BcdObject,
  options: RenderBcdOptions = {},
): string[] {
  const identifier = options.verbose ? object.id : (object.alias ?? object.id);
  const lines = [
    object.typeName,
    '-'.repeat(object.typeName.length),
    ...elementLines('identifier', [identifier]),
  ];
  for (const e of object.elements)
    lines.push(...elementLines(e.name, elementDisplay(store, object, e, options)));
  return lines;
}

/** The whole store as `bcdedit /store … /enum all` prints it, ending with a newline. */
export function renderBcd(store: BcdStore, options: RenderBcdOptions = {}): string {
  return `${store.objects.map((o) => renderBcdObject(store, o, options).join('\n')).join('\n\n')}\n`;
}
