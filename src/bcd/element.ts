// BCD element values decoded per format class and printed as bcdedit prints them (docs/bcd.md §4, §4.1, §6.8).
// A value is the single `Element` value of an `Objects\{guid}\Elements\<type in hex>` key (bcd.md §2 [C]).
import { BootprobeError, hex } from '../errors.js';
import { REG } from '../hive/key.js';
import { decodeUtf16, toHex } from '../io/index.js';
import { normalizeGuid } from './aliases.js';
import { type BcdDevice, type DeviceDisplayContext, decodeBcdDevice, formatBcdDevice } from './device.js';
import { type BcdFormatName, ELEMENT_ENUMS, elementFormat, IPV4_ELEMENTS } from './element-types.js';

export type BcdValue =
  | { readonly format: 'device'; readonly device: BcdDevice }
  | { readonly format: 'string'; readonly text: string }
  | { readonly format: 'object'; readonly id: string }
  | { readonly format: 'objectList'; readonly ids: readonly string[] }
  | { readonly format: 'integer'; readonly value: bigint }
  | { readonly format: 'boolean'; readonly value: boolean }
  | { readonly format: 'integerList'; readonly values: readonly bigint[] }
  | { readonly format: 'unknown' };

/** Registry types each format is stored with (bcd.md §4 table [C]); REG_EXPAND_SZ tolerated for text. */
const EXPECTED_REG_TYPES: Record<BcdFormatName, readonly number[]> = {
  device: [REG.BINARY],
  string: [REG.SZ, REG.EXPAND_SZ],
  object: [REG.SZ, REG.EXPAND_SZ],
  objectList: [REG.MULTI_SZ],
  integer: [REG.BINARY],
  boolean: [REG.BINARY],
  integerList: [REG.BINARY],
  unknown: [],
};

/** Integers are u64; the media stores hold 1- and 3-byte forms (bcd.md §4 [C]): any 1..8 bytes, zero-extended. */
const MAX_INTEGER_BYTES = 8;

function invalid(at: number, message: string, data?: Record<string, unknown>): never {
  throw new BootprobeError('BCD_INVALID', `BCD element value at +${hex(at)}: ${message}`, {
    offset: at,
    structure: 'bcd.element',
    hint: 'the element is damaged; delete or rewrite it with bcdedit, or restore the store',
    data,
  });
}

const le = (b: Uint8Array): bigint => {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
};

/** UTF-16LE text cut at the first NUL (several real values carry two NULs, bcd.md §4 [C]). */
export const elementText = (data: Uint8Array): string => decodeUtf16(data, true, true);

/**
 * Decodes one element value by the format in its type code. Throws BCD_INVALID (wrong registry type, wrong length,
 * a reference that is not a GUID) or BCD_DEVICE (bad device bytes) with the offset inside the value; the store
 * reader adds which object and element.
 */
export function decodeElementValue(type: number, regType: number, data: Uint8Array): BcdValue {
  const format = elementFormat(type);
  if (format === 'unknown') return { format };
  if (!EXPECTED_REG_TYPES[format].includes(regType)) {
    invalid(0, `registry type ${regType} does not hold a ${format} (format ${(type >>> 24) & 0xf})`, {
      expected: EXPECTED_REG_TYPES[format],
      actual: regType,
    });
  }
  switch (format) {
    case 'device':
      return { format, device: decodeBcdDevice(data) };
    case 'string':
      return { format, text: elementText(data) };
    case 'object': {
      const text = elementText(data);
      const id = normalizeGuid(text);
      if (!id) invalid(0, `object reference ${JSON.stringify(text)} is not a {GUID}`);
      return { format, id };
    }
    case 'objectList': {
      // REG_MULTI_SZ: NUL-separated, double-NUL terminated; an empty list is one NUL (bcd.md §4 [C], win10pe).
      const text = decodeUtf16(data, true, false);
      const ids: string[] = [];
      let at = 0;
      for (const part of text.split('\0')) {
        if (part !== '') {
          const id = normalizeGuid(part);
          if (!id) invalid(at * 2, `object list entry ${JSON.stringify(part)} is not a {GUID}`);
          ids.push(id);
        }
        at += part.length + 1;
      }
      return { format, ids };
    }
    case 'integer':
      if (data.length < 1 || data.length > MAX_INTEGER_BYTES) {
        invalid(0, `integer of ${data.length} bytes (1..8 expected)`, {
          expected: '1..8',
          actual: data.length,
        });
      }
      return { format, value: le(data) };
    case 'boolean':
      // 1 byte in every corpus value; a 4-byte form is reported [I]: any non-zero byte is true.
      if (data.length < 1 || data.length > MAX_INTEGER_BYTES) {
        invalid(0, `boolean of ${data.length} bytes (1..8 expected)`, {
          expected: '1..8',
          actual: data.length,
        });
      }
      return { format, value: data.some((b) => b !== 0) };
    case 'integerList': {
      if (data.length % 8 !== 0) {
        invalid(0, `integer list of ${data.length} bytes is not a whole number of u64`, {
          expected: 'multiple of 8',
          actual: data.length,
        });
      }
      const values: bigint[] = [];
      for (let i = 0; i < data.length; i += 8) values.push(le(data.subarray(i, i + 8)));
      return { format, values };
    }
  }
}

export type ValueDisplayContext = DeviceDisplayContext;

/** Dotted IPv4 from the low four bytes in stored order ([?] byte order, see IPV4_ELEMENTS). */
function ipv4(value: bigint): string {
  const b = [0, 8, 16, 24].map((s) => Number((value >> BigInt(s)) & 0xffn));
  return b.join('.');
}

/**
 * The lines bcdedit prints for a value: one line for scalars, one line per entry for lists (bcd.md §4 table).
 * `name` is bcdedit's name for the element, or null when it prints as custom: (decides enum names and list radix).
 */
export function formatElementValue(
  value: BcdValue,
  raw: Uint8Array,
  name: string | null,
  ctx: ValueDisplayContext,
): string[] {
  switch (value.format) {
    case 'device':
      return [formatBcdDevice(value.device, ctx)];
    case 'string':
      return [value.text];
    case 'object':
      return [ctx.reference(value.id)];
    case 'objectList':
      // An empty list prints the name with an empty value [?] (bcd.md §4).
      return value.ids.length === 0 ? [''] : value.ids.map((id) => ctx.reference(id));
    case 'integer': {
      if (name !== null) {
        if (IPV4_ELEMENTS.has(name)) return [ipv4(value.value)];
        const names = ELEMENT_ENUMS[name];
        const label = names && value.value < BigInt(names.length) ? names[Number(value.value)] : undefined;
        if (label !== undefined) return [label];
      }
      return [value.value.toString(10)];
    }
    case 'boolean':
      return [value.value ? 'Yes' : 'No'];
    case 'integerList':
      // Named lists (allowedinmemorysettings, elementstomigrate) print 0x%x, custom: lists decimal (§4 [C]).
      if (value.values.length === 0) return [''];
      return value.values.map((v) => (name !== null ? `0x${v.toString(16)}` : v.toString(10)));
    case 'unknown':
      return [toHex(raw)];
  }
}
