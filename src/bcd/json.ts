// The store as plain JSON for `bootprobe bcd --json` (same values and names as the text renderer).
import { toHex } from '../io/index.js';
import { deviceToJson } from './device.js';
import { hex8 } from './element-types.js';
import { elementDisplay, type RenderBcdOptions } from './render.js';
import type { BcdStore } from './store.js';

export interface BcdJsonElement {
  /** '0x' + 8 lower-case hex digits. */
  readonly type: string;
  /** bcdedit's name or custom:<type in hex>. */
  readonly name: string;
  /** What bcdedit prints, list entries joined by '\n'. */
  readonly display: string;
  /** The stored value bytes, lower-case hex. */
  readonly raw: string;
  /** Device elements: the decoded device (kind, disk signature/offset or GUIDs, nested parents). */
  readonly device?: Record<string, unknown>;
}

export interface BcdJsonObject {
  /** '{guid}' lower case. */
  readonly identifier: string;
  readonly alias: string | null;
  /** '0x' + 8 lower-case hex digits. */
  readonly type: string;
  readonly typeName: string;
  readonly elements: readonly BcdJsonElement[];
}

export interface BcdJson {
  readonly objects: readonly BcdJsonObject[];
}

export function bcdToJson(store: BcdStore, options: RenderBcdOptions = {}): BcdJson {
  return {
    objects: store.objects.map((o) => ({
      identifier: o.id,
      alias: o.alias,
      type: `0x${hex8(o.type)}`,
      typeName: o.typeName,
      elements: o.elements.map((e) => ({
        type: `0x${hex8(e.type)}`,
        name: e.name,
        display: elementDisplay(store, o, e, options).join('\n'),
        raw: toHex(e.raw),
        ...(e.value.format === 'device'
          ? { device: { options: e.value.device.options, ...deviceToJson(e.value.device.descriptor) } }
          : {}),
      })),
    })),
  };
}
