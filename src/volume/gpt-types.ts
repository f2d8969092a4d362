// GPT partition type GUIDs and their names. Table: docs/boot-sectors.md §2 "GPT type GUIDs" (util-linux's type
// table and Linux efi.h); names as util-linux prints them, so a listing can be compared with `sfdisk -l`.

/** The type GUIDs the Windows boot path cares about, lower-case as ByteView.guid prints them. */
export const GPT_TYPE = {
  EFI_SYSTEM: 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b',
  MICROSOFT_RESERVED: 'e3c9e316-0b5c-4db8-817d-f92df00215ae',
  MICROSOFT_BASIC_DATA: 'ebd0a0a2-b9e5-4433-87c0-68b6b72699c7',
  WINDOWS_RECOVERY: 'de94bba4-06d1-4d40-a16a-bfd50179d6ac',
} as const;
export type GptType = (typeof GPT_TYPE)[keyof typeof GPT_TYPE];

export const GPT_TYPE_NAMES: Readonly<Record<string, string>> = {
  [GPT_TYPE.EFI_SYSTEM]: 'EFI System',
  [GPT_TYPE.MICROSOFT_RESERVED]: 'Microsoft reserved',
  [GPT_TYPE.MICROSOFT_BASIC_DATA]: 'Microsoft basic data',
  [GPT_TYPE.WINDOWS_RECOVERY]: 'Windows recovery environment',
  '5808c8aa-7e8f-42e0-85d2-e1e90434cfb3': 'Microsoft LDM metadata',
  'af9b60a0-1431-4f62-bc68-3311714a69ad': 'Microsoft LDM data',
  'e75caf8f-f680-4cee-afa3-b001e56efc2d': 'Microsoft Storage Spaces',
  '0fc63daf-8483-4772-8e79-3d69d8477de4': 'Linux filesystem',
  '0657fd6d-a4ab-43c4-84e5-0933c84b4f4f': 'Linux swap',
  'e6d6d379-f507-44c2-a23c-238f2a3df928': 'Linux LVM',
  '21686148-6449-6e6f-744e-656564454649': 'BIOS boot',
};

export function gptTypeName(guid: string): string {
  return GPT_TYPE_NAMES[guid.toLowerCase()] ?? 'unknown';
}
