// BCD object type codes and the section headings bcdedit prints above each object (docs/bcd.md §3).
// Type = ObjectCode(31..28) | reserved(27..24) | ImageCode or inherit class(23..20) | ApplicationCode(19..0) [C].
import { OS_TARGET_TEMPLATE_GUIDS, SETUP_TEMPLATE_GUIDS } from './aliases.js';
import { hex8 } from './element-types.js';

export const BCD_OBJECT_CODE = { APPLICATION: 1, INHERIT: 2, DEVICE: 3 } as const;

/** Known full type values (bcd.md §3 table). */
export const BCD_OBJECT_TYPE = {
  FWBOOTMGR: 0x10100001,
  BOOTMGR: 0x10100002,
  FIRMWARE_APPLICATION: 0x101fffff,
  OSLOADER: 0x10200003,
  RESUME: 0x10200004,
  MEMDIAG: 0x10200005,
  NTLDR: 0x10300006,
  SETUPLDR: 0x10300007,
  BOOTSECTOR: 0x10400008,
  STARTUP: 0x10400009,
  GENERIC_APPLICATION: 0x1020000a,
  INHERIT_LIBRARY: 0x20100000,
  INHERIT_OSLOADER: 0x20200003,
  INHERIT_RESUME: 0x20200004,
  INHERIT_MEMDIAG: 0x20200005,
  DEVICE: 0x30000000,
} as const;

export const objectCode = (type: number): number => (type >>> 28) & 0xf;
export const imageCode = (type: number): number => (type >>> 20) & 0xf;
export const applicationCode = (type: number): number => type & 0xfffff;

/**
 * The ApplicationCode whose class-2 element names apply in an object of this type: the object's own for an
 * application, the inheriting application's for a class-2 inherit object ({hypervisorsettings} 0x20200003 uses
 * loader names, bcd.md §4 [C]), none otherwise.
 */
export function namingApplicationCode(type: number): number | null {
  const code = objectCode(type);
  if (code === BCD_OBJECT_CODE.APPLICATION) return applicationCode(type);
  if (code === BCD_OBJECT_CODE.INHERIT && imageCode(type) === 2) return applicationCode(type);
  return null;
}

// Headings of inherit objects chosen by GUID (bcd.md §3: known-answers.md §1 [C]).
const INHERIT_HEADINGS: Readonly<Record<string, string>> = {
  '{0ce4991b-e6b3-4b16-b23c-5e0d9250e5d9}': 'EMS Settings',
  '{4636856e-540f-4170-a130-a84776f4c654}': 'Debugger Settings',
  '{5189b25c-5558-4bf2-bca4-289b11bd29e2}': 'RAM Defects',
  '{7ea2e1ac-2e61-4728-aaa3-896d9d0a9f0e}': 'Global Settings',
  '{6efb52bf-1766-41db-a6b3-0ee5eff72bd7}': 'Boot Loader Settings',
  '{7ff607e0-4395-11db-b0de-0800200c9a66}': 'Hypervisor Settings',
};

const APPLICATION_HEADINGS: Readonly<Record<number, string>> = {
  [BCD_OBJECT_TYPE.FWBOOTMGR]: 'Firmware Boot Manager',
  [BCD_OBJECT_TYPE.BOOTMGR]: 'Windows Boot Manager',
  [BCD_OBJECT_TYPE.OSLOADER]: 'Windows Boot Loader',
  [BCD_OBJECT_TYPE.RESUME]: 'Resume from Hibernate',
  [BCD_OBJECT_TYPE.MEMDIAG]: 'Windows Memory Tester',
  [BCD_OBJECT_TYPE.NTLDR]: 'Windows Legacy OS Loader',
  [BCD_OBJECT_TYPE.BOOTSECTOR]: 'Real-mode Boot Sector', // [?] bcd.md §3
};

// For application types with no known heading bcdedit's text is unknown [?]; bcd.md §3 says to render them like
// the firmware one, `<kind> (<type>)`, with the kind taken from the ImageCode.
const IMAGE_KINDS: Readonly<Record<number, string>> = {
  1: 'Firmware Application',
  2: 'Boot Application',
  3: 'Legacy Application',
  4: 'Real-mode Application',
};

/** The heading bcdedit prints above an object (English; bcdedit localizes it, bcd.md §3). */
export function objectHeading(type: number, id: string): string {
  const guid = id.toLowerCase();
  const code = objectCode(type);
  if (code === BCD_OBJECT_CODE.APPLICATION) {
    if (type === BCD_OBJECT_TYPE.OSLOADER) {
      // Keyed on the GUID: whether bcdedit keys it on the GUID or on the class-4 elements is [?] (bcd.md §3).
      if (SETUP_TEMPLATE_GUIDS.has(guid)) return 'Windows Setup';
      if (OS_TARGET_TEMPLATE_GUIDS.has(guid)) return 'OS Target Template';
    }
    const known = APPLICATION_HEADINGS[type];
    if (known) return known;
    return `${IMAGE_KINDS[imageCode(type)] ?? 'Application'} (${hex8(type)})`;
  }
  if (code === BCD_OBJECT_CODE.INHERIT) {
    const byGuid = INHERIT_HEADINGS[guid];
    if (byGuid) return byGuid;
    if (type === BCD_OBJECT_TYPE.INHERIT_RESUME) return 'Resume Loader Settings';
    // Other inherit objects: heading unknown [?] (bcd.md §3).
    return `Inherited Settings (${hex8(type)})`;
  }
  if (code === BCD_OBJECT_CODE.DEVICE) return 'Device options';
  return `Object (${hex8(type)})`;
}

/** A short English name of the type, independent of the GUID (for JSON `typeName`). */
export function objectTypeName(type: number, id: string): string {
  return objectHeading(type, id);
}
