// Well-known object GUIDs and the aliases bcdedit prints for them (docs/bcd.md §5).
// GUIDs are kept lower case with braces, the form bcdedit prints and the corpus stores as key names.

/** Static aliases bcdedit prints in place of these GUIDs (bcd.md §5 [C]). */
export const BCD_ALIASES: Readonly<Record<string, string>> = {
  '{9dea862c-5cdd-4e70-acc1-f32b344d4795}': '{bootmgr}',
  '{a5a30fa2-3d06-4e9f-b5f4-a01df9d1fcba}': '{fwbootmgr}',
  '{b2721d73-1db4-4c62-bf78-c548a880142d}': '{memdiag}',
  '{466f5a88-0af2-4f76-9038-095b170dc21c}': '{ntldr}',
  '{5189b25c-5558-4bf2-bca4-289b11bd29e2}': '{badmemory}',
  '{6efb52bf-1766-41db-a6b3-0ee5eff72bd7}': '{bootloadersettings}',
  '{4636856e-540f-4170-a130-a84776f4c654}': '{dbgsettings}',
  '{0ce4991b-e6b3-4b16-b23c-5e0d9250e5d9}': '{emssettings}',
  '{7ea2e1ac-2e61-4728-aaa3-896d9d0a9f0e}': '{globalsettings}',
  '{7ff607e0-4395-11db-b0de-0800200c9a66}': '{hypervisorsettings}',
  '{313e8eed-7098-4586-a9bf-309c61f8d449}': '{kerneldbgsettings}',
  // Settled against the corpus: 6 stores hold a 0x20200004 object under this GUID and every resume object
  // inherits it; phnt's `…-4a5c-4a90-…` is a typo (bcd.md §5). Pinned by test/corpus/bcd.test.ts.
  '{1afa9c49-16ab-4a5c-901b-212802da9460}': '{resumeloadersettings}',
  '{ae5534e0-a924-466c-b836-758539a3ee3a}': '{ramdiskoptions}',
};

export const BOOTMGR_GUID = '{9dea862c-5cdd-4e70-acc1-f32b344d4795}';
export const FWBOOTMGR_GUID = '{a5a30fa2-3d06-4e9f-b5f4-a01df9d1fcba}';
/** The virtual {default} GUID: a reference to it means "what {bootmgr} `default` names" (bcd.md §5 [C]). */
export const DEFAULT_GUID = '{1cae1eb7-a0df-4d4d-9851-4860e34ef535}';
/** The virtual {current} GUID: live systems only; never printed for a store file (bcd.md §5 [I]). */
export const CURRENT_GUID = '{fa926493-6f1c-4193-a414-58f0b2456d1e}';

/** Setup templates printed with the heading `Windows Setup`, OS target templates `OS Target Template` (§3). */
export const SETUP_TEMPLATE_GUIDS: ReadonlySet<string> = new Set([
  '{cbd971bf-b7b8-4885-951a-fa03044f5d71}',
  '{7254a080-1510-4e85-ac0f-e7fb3d444736}',
]);
export const OS_TARGET_TEMPLATE_GUIDS: ReadonlySet<string> = new Set([
  '{a1943bbc-ea85-487c-97c7-c9ede908a38a}',
  '{b012b84d-c47c-4ed5-b722-c0c42163e569}',
]);

const GUID_TEXT = /^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$/;

/** '{GUID}' in lower case, or null when `text` is not a braced GUID. Key names compare case-insensitively (§2). */
export function normalizeGuid(text: string): string | null {
  const t = text.trim().toLowerCase();
  return GUID_TEXT.test(t) ? t : null;
}

/**
 * The text bcdedit prints for a reference to `guid` in a store file: {default} when it is what {bootmgr}'s
 * `default` names (or the virtual {default} GUID itself), else a static alias, else the GUID; {current} is never
 * produced offline (bcd.md §5 resolution order).
 */
export function aliasFor(guid: string, defaultId: string | null): string | null {
  const g = guid.toLowerCase();
  if (g === DEFAULT_GUID || (defaultId !== null && g === defaultId)) return '{default}';
  return BCD_ALIASES[g] ?? null;
}
